"""The schema is owned by the migrations: they match the models, and upgrade in place."""

from __future__ import annotations

import datetime as dt

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import node.storage.models  # noqa: F401  (registers the tables)
from node.storage.database import alembic_config, make_engine, migrate
from tests.node.databases import DatabaseFactory


def test_migrations_match_the_models(database_factory: DatabaseFactory) -> None:
    url = database_factory.new_url()
    migrate(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_upgrade_in_place_keeps_data(database_factory: DatabaseFactory) -> None:
    url = database_factory.new_url()
    command.upgrade(alembic_config(url), "0001")
    engine = make_engine(url)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC).replace(tzinfo=None)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO document (document_id, sha256, direction, doc_type, doc_version, "
                "issuer, parties, signed_bytes, created_at, reasons, checks) VALUES ('d-1', "
                "'00', 'outbound', 'certificate-of-origin', '1.0', 'SG-CUSTOMS', '[]', :b, "
                ":t, '[]', '{}')"), {"b": b"{}", "t": now})
            connection.execute(text(
                "INSERT INTO delivery (document_pk, peer, state, reasons, created_at, "
                "updated_at) VALUES (1, 'CN-CUSTOMS', 'delivered', '[]', :t, :t)"), {"t": now})
        assert "peer_decided_at" not in {c["name"] for c in inspect(engine).get_columns(
            "delivery")}
        engine.dispose()
        migrate(url)  # what node init/serve/worker run at start
        engine = make_engine(url)
        with engine.connect() as connection:
            row = connection.execute(text(
                "SELECT peer, state, peer_decided_at FROM delivery")).one()
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert tuple(row) == ("CN-CUSTOMS", "delivered", None)
        assert version == ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    finally:
        engine.dispose()
