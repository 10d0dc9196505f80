"""Two write transactions of one node on PostgreSQL never deadlock.

The audit chain's lock used to be taken when a transaction appended its events, after its
own writes. A writer that held the lock (its events appended) and then touched a row that a
second writer had just written waited for that writer, which waited for the lock:
PostgreSQL broke the cycle by failing one of them, and the request answered 503
``STORAGE_UNAVAILABLE: DeadlockDetected`` (seen in the declaration API tests). Writers now
take the writer lock at their first statement, as SQLite's ``BEGIN IMMEDIATE`` does. Two
engines stand for two processes of the node.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from node.services.apikeys import Role
from node.services.audit import append_event
from node.storage.database import make_engine, migrate, read_session, write_session
from protocol.timeutil import utc_now
from tests.node.databases import DatabaseFactory, require_postgres
from tests.node.processes import create_keys


def test_a_writer_holding_the_audit_chain_and_one_holding_a_row_do_not_deadlock(
        tmp_path: Path) -> None:
    require_postgres()
    databases = DatabaseFactory("postgresql", tmp_path)
    try:
        url = databases.new_url()
        migrate(url)
        [key] = create_keys(url, {"k": (Role.OPERATOR, None)}).values()
        key_id = key[3:].partition(".")[0]
        first, second = make_engine(url), make_engine(url)
        chain_held, failures = threading.Event(), []
        update = text("UPDATE api_key SET label = :label WHERE key_id = :key_id")

        def _holds_the_chain_then_writes_the_row() -> None:
            try:
                with write_session(first) as session:
                    append_event(session, event="test.first", actor="test", subject="s",
                                 details={}, at=utc_now())
                    chain_held.set()
                    time.sleep(0.5)  # lets the other writer reach its update (no assertion)
                    session.execute(update, {"label": "first", "key_id": key_id})
                    session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the test thread
                failures.append(exc)

        def _writes_the_row_then_appends() -> None:
            try:
                assert chain_held.wait(timeout=30)
                with write_session(second) as session:
                    session.execute(update, {"label": "second", "key_id": key_id})
                    append_event(session, event="test.second", actor="test", subject="s",
                                 details={}, at=utc_now())
                    session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the test thread
                failures.append(exc)

        threads = [threading.Thread(target=_holds_the_chain_then_writes_the_row),
                   threading.Thread(target=_writes_the_row_then_appends)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        assert not failures, failures
        with read_session(first) as session:
            label = session.execute(text("SELECT label FROM api_key WHERE key_id = :k"),
                                    {"k": key_id}).scalar_one()
            events = session.execute(text(
                "SELECT event FROM audit_event WHERE event LIKE 'test.%' ORDER BY seq")).all()
        # One after the other: the second writer waited for the first to commit.
        assert label == "second"
        assert [row[0] for row in events] == ["test.first", "test.second"]
        first.dispose()
        second.dispose()
    finally:
        databases.drop_all()
