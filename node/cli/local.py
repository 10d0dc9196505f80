"""Commands that open the node's own database (``node apikey …``, ``audit …``).

Imported only by those commands (SQLAlchemy is slow to import). Two checks a new user
meets first: a database URL the node cannot use is refused before ``node init`` saves it,
and a command run before ``node init`` says so instead of failing on a missing table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from node.cli.common import UsageProblem, load_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
"""The SQLAlchemy drivers a node runs on (psycopg 3 is the PostgreSQL driver it ships)."""


def check_database_url(url: str) -> None:
    """UsageProblem unless ``url`` parses as a SQLAlchemy URL with a supported driver."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise UsageProblem(f"--database-url {url!r} is not a database URL ({exc}); "
                           "give sqlite:///PATH or postgresql+psycopg://USER@HOST/DB") from exc
    if parsed.drivername == "postgresql":
        raise UsageProblem(f"--database-url: write postgresql+psycopg://… (the driver this "
                           f"node ships), not {parsed.drivername}://…")
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise UsageProblem(f"--database-url: driver {parsed.drivername!r} is not supported; "
                           f"use one of {', '.join(SUPPORTED_DRIVERS)}")
    if parsed.drivername.startswith("sqlite") and not parsed.database:
        raise UsageProblem("--database-url: a SQLite URL needs a file path "
                           "(sqlite:///PATH), not an in-memory database")
    if parsed.drivername.startswith("postgresql") and not parsed.database:
        raise UsageProblem("--database-url: a PostgreSQL URL needs a database name "
                           "(postgresql+psycopg://USER@HOST/DB)")


def _not_initialised(authority_dir: Path) -> UsageProblem:
    return UsageProblem(f"the node in {authority_dir} is not initialised: run "
                        f"`tradeaccord node init --authority-dir {authority_dir}` first")


@contextmanager
def node_engine(authority_dir: Path) -> Iterator[Engine]:
    """The engine of an initialised node's database, disposed on exit; UsageProblem (exit 2)
    naming ``node init`` when the directory, database or schema is not there yet."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from node.storage.database import make_engine, storage_errors

    if not authority_dir.is_dir():
        raise UsageProblem(f"{authority_dir} is not an authority directory: create it with "
                           "`tradeaccord authority init`, then run `tradeaccord node init`")
    url = load_settings(authority_dir).resolved_database_url(authority_dir)
    check_database_url(url)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and not Path(str(parsed.database)).is_file():
        raise _not_initialised(authority_dir)  # before connecting: that would create it
    engine = make_engine(url)
    try:
        with storage_errors(), engine.connect() as connection:
            migrated = inspect(connection).has_table("alembic_version")
        if not migrated:
            raise _not_initialised(authority_dir)
        yield engine
    finally:
        engine.dispose()
