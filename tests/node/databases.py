"""Databases for node tests: a fresh SQLite file per node, or a fresh PostgreSQL database.

``TRADEACCORD_TEST_DATABASE=postgresql`` selects PostgreSQL at 127.0.0.1:5432 (user
``postgres``). Each database gets a unique name and is dropped afterwards. When the server
is absent the PostgreSQL tests skip with a clear message — unless
``TRADEACCORD_REQUIRE_POSTGRES=1`` (as in CI), where they fail.
"""

from __future__ import annotations

import os
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


class DatabaseFactory:
    """Hands out fresh database URLs of one backend and drops them at the end."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.created: list[str] = []

    def new_url(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp_path / f'node-{uuid.uuid4().hex[:8]}.db'}"
        import psycopg

        name = f"tradeaccord_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    def drop_all(self) -> None:
        if not self.created:
            return
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                             autocommit=True) as conn:
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
