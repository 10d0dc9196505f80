"""Alembic environment: runs migrations against the URL set by node.storage.database."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import engine_from_config, event, pool
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import node.storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from node.storage.database import MIGRATION_LOCK, advisory_lock

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    section = config.get_section(config.config_ini_section, {})
    sqlite = section.get("sqlalchemy.url", "").startswith("sqlite")
    connectable = engine_from_config(
        section,
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
        # SQLite: the driver in autocommit mode, so that the BEGIN below is ours; and as long
        # a wait for another process's migration as the node's engine allows (30 s).
        connect_args={"isolation_level": None, "timeout": 30} if sqlite else {},
    )
    if sqlite:
        @event.listens_for(connectable, "connect")
        def _wal(dbapi_connection: Any, _record: Any) -> None:
            # WAL from the database's creation on (as the node's engine sets it): switching
            # a database to WAL later needs it unlocked, which fails while another process
            # starting at the same moment is migrating it.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(connectable, "begin")
        def _begin_immediate(connection: Connection) -> None:
            # The database's write lock from the first statement on: processes starting
            # together on a fresh database migrate one after the other.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    with connectable.connect() as connection, connection.begin():
        # One transaction around every migration (the version check included), serialised
        # across processes: SQLite by BEGIN IMMEDIATE, PostgreSQL by an advisory lock.
        advisory_lock(connection, MIGRATION_LOCK)
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():  # within ours: alembic leaves the commit to it
            context.run_migrations()


run_migrations()
