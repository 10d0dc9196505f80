"""Databases for node tests: a fresh SQLite file per node, or a fresh PostgreSQL database.

``TRADEACCORD_TEST_DATABASE=postgresql`` selects PostgreSQL at 127.0.0.1:5432 (user
``postgres``). Each database gets a unique name and is dropped afterwards. When the server
is absent the PostgreSQL tests skip with a clear message — unless
``TRADEACCORD_REQUIRE_POSTGRES=1`` (as in CI), where they fail.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path

import pytest

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_available() -> str | None:
    """None when reachable, else the reason."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                             connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at 127.0.0.1:5432 is not reachable ({exc.__class__.__name__})"


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if os.environ.get("TRADEACCORD_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"TRADEACCORD_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@functools.cache
def _template(backend: str) -> str:
    """A database at the newest schema revision, made once per test process, that fresh
    databases are copied from (``new_url(migrated=True)``): running the migrations costs
    more than most tests that need a node. Removed when the process exits."""
    from node.storage.database import migrate

    if backend == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="tradeaccord-template-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        path = directory / "template.db"
        migrate(f"sqlite:///{path}")
        return str(path)
    import psycopg

    name = f"tradeaccord_template_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    atexit.register(_drop, name)
    migrate(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")  # NullPool: no session left
    return name


def _drop(name: str) -> None:
    import psycopg

    with contextlib.suppress(psycopg.Error), psycopg.connect(_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class DatabaseFactory:
    """Hands out fresh database URLs of one backend and drops them at the end."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.created: list[str] = []

    def new_url(self, *, migrated: bool = False) -> str:
        """A fresh, empty database; with ``migrated``, one already at the newest revision
        (a copy of this process's template: the node's own ``migrate`` finds nothing to do)."""
        if self.backend == "sqlite":
            path = self.tmp_path / f"node-{uuid.uuid4().hex[:8]}.db"
            if migrated:
                with contextlib.closing(sqlite3.connect(_template("sqlite"))) as source, \
                        contextlib.closing(sqlite3.connect(path)) as copy:
                    source.backup(copy)
            return f"sqlite:///{path}"
        import psycopg

        name = f"tradeaccord_test_{uuid.uuid4().hex[:12]}"
        template = f' TEMPLATE "{_template("postgresql")}"' if migrated else ""
        with psycopg.connect(_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{template}')
        self.created.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    def drop_all(self) -> None:
        if not self.created:
            return
        import psycopg

        with psycopg.connect(_ADMIN_DSN, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_factory(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    backend = request.param
    if backend == "postgresql":
        require_postgres()
    factory = DatabaseFactory(backend, tmp_path)
    yield factory
    factory.drop_all()
