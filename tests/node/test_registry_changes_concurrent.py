"""Registry changes made at once by two API processes sharing one database all apply.

Each change reads the registry in force, edits it and installs version N+1. Two processes
on one PostgreSQL database (an operator's change here, a partner's countersignature there)
both read N and both built N+1; one lost the ``registry_state_pkey`` race with a 500.
A write session takes the node's writer lock at its first statement (ADR 0036), so they
apply in turn, each over the other's result.
Two ``NodeContext`` objects on one database stand for the two processes.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlmodel import select

from node.context import NodeContext
from node.pilot import setup_network
from node.storage.database import read_session, write_session
from node.storage.models import AuditEventRecord, RegistryStateRecord
from protocol.timeutil import utc_now
from tests.node.conftest import CN, COO_AGREEMENT, SG, fast_settings
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401 (fixture)

CHANGES = 12  # per process


def test_concurrent_registry_changes_from_two_processes_all_apply(
        tmp_path: Path, database_factory: DatabaseFactory) -> None:  # noqa: F811 (fixture)
    directories = setup_network(tmp_path / "net", (SG, CN),
                                {SG.authority_id: "http://127.0.0.1:9001",
                                 CN.authority_id: "http://127.0.0.1:9002"},
                                (COO_AGREEMENT,), at=utc_now())
    directory = directories[SG.authority_id].path
    url = database_factory.new_url()
    processes = [NodeContext.build(fast_settings(directory, url)) for _ in range(2)]
    try:
        start = processes[0].registry.current().version
        go = threading.Barrier(len(processes))
        failures: list[BaseException] = []

        def _changes(ctx: NodeContext, index: int) -> None:
            go.wait(timeout=30)
            try:
                for change in range(CHANGES):
                    with write_session(ctx.engine) as session:
                        current = ctx.registry.current(session)
                        updated = current.update_authority(
                            CN.authority_id,
                            endpoints=[f"http://127.0.0.1:{10000 + index * 100 + change}"])
                        ctx.registry.install(session, updated, actor=f"process-{index}")
                        session.commit()
                    ctx.registry.after_commit(updated)
            except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                failures.append(exc)

        threads = [threading.Thread(target=_changes, args=(ctx, index))
                   for index, ctx in enumerate(processes)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures
        with read_session(processes[0].engine) as session:
            versions = sorted(session.exec(select(RegistryStateRecord.version)).all())
            installs = session.exec(select(AuditEventRecord).where(
                AuditEventRecord.event == "registry.installed")).all()
        # Every change applied, in turn, each over the other's: no version lost or doubled.
        assert versions[-2 * CHANGES:] == list(range(start + 1, start + 2 * CHANGES + 1))
        assert len(installs) == len(versions)
        assert processes[1].registry.current().version == start + 2 * CHANGES
    finally:
        for ctx in processes:
            ctx.close()
