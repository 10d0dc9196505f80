"""Engine construction, sessions and schema migrations.

SQLite (the embedded default) runs in WAL mode with a busy timeout; write transactions start
with ``BEGIN IMMEDIATE`` so that two writers never deadlock on a lock upgrade. PostgreSQL
(``postgresql+psycopg://…``) is the scale-out engine: several API and worker processes share
it; their write transactions start by taking the writer lock (``WRITER_LOCK``), so that, as on
SQLite, a node's writers run one at a time and never deadlock, while reads run alongside.
The schema is owned by Alembic migrations in ``node/migrations``; ``migrate`` brings any
database to the newest revision.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from node.errors import StorageError
from protocol.reason_codes import ReasonCode

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# PostgreSQL advisory lock keys, one per read-then-write that the processes of a node sharing
# one database must take in turn (constants shared by every process).
MIGRATION_LOCK = 0x7A_0D19
# Every write transaction, from its first statement: the audit chain orders every write of
# the node, so writers run one at a time, as on SQLite (BEGIN IMMEDIATE).
WRITER_LOCK = 0x7A_0D17
# A writer waits at most this long for the writer lock, then fails (503) instead of hanging.
_WRITER_LOCK_TIMEOUT = "30s"
_WRITE = "tradeaccord_write"
_LOCK = "tradeaccord_write_lock"


def make_engine(url: str) -> Engine:
    """Build the engine for ``url`` with the pragmas and pool this node needs."""
    if url.startswith("sqlite"):
        # Writers of this process queue on a lock instead of SQLite's busy handler, which
        # sleeps in steps of up to 100 ms and made contended commits slow and unfair.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30,
                                                  "isolation_level": None},
                               execution_options={_LOCK: threading.Lock()})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            # The driver runs in autocommit mode; we issue BEGIN ourselves so writers take
            # the lock up front (IMMEDIATE) instead of failing to upgrade a read lock.
            write = connection.get_execution_options().get(_WRITE, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)

    @event.listens_for(engine, "begin")
    def _on_begin_postgresql(connection: Any) -> None:
        # A writer takes the writer lock before it writes anything. Taken later (when the
        # audit chain is appended, after the transaction's own inserts and updates), two
        # writers deadlocked: one held the lock and waited for a row the other had written,
        # the other held that row and waited for the lock.
        if connection.get_execution_options().get(_WRITE, False):
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{_WRITER_LOCK_TIMEOUT}'")
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")

    return engine


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session for a transaction that writes (BEGIN IMMEDIATE on SQLite, after the
    process's write lock). Use it as a context manager; it closes the session."""
    lock = engine.get_execution_options().get(_LOCK)
    with lock if lock is not None else nullcontext(), Session(
            engine.execution_options(**{_WRITE: True}), expire_on_commit=False) as session:
        yield session


def read_session(engine: Engine) -> Session:
    """A session for reads."""
    return Session(engine, expire_on_commit=False)


@contextmanager
def storage_errors() -> Iterator[None]:
    """Translate a lost database into ``StorageError`` (503), chained."""
    try:
        yield
    except OperationalError as exc:
        raise StorageError(ReasonCode.STORAGE_UNAVAILABLE,
                           f"database unavailable: {exc.orig.__class__.__name__}") from exc


def advisory_lock(connection: Connection | Session, key: int) -> None:
    """Wait for PostgreSQL's transaction-scoped advisory lock ``key`` (released at commit or
    rollback). On SQLite a write transaction (BEGIN IMMEDIATE) already holds the database's
    one write lock, so there is nothing to take."""
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    if bind.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Upgrade the database at ``url`` to the newest schema revision (idempotent)."""
    command.upgrade(alembic_config(url), "head")


def database_is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
