"""Several node processes starting together on a fresh database all come up.

A deployment with several API processes and workers starts them at once against an empty
PostgreSQL database: each runs the migrations and seeds the registry from
``registry.json``. Both steps read, then write; without a lock a process lost a unique-key
race (``registry_state_pkey``, or the migration's own tables) and crashed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from node.pilot import setup_network
from node.storage.database import make_engine, read_session
from node.storage.models import RegistryStateRecord
from protocol.timeutil import utc_now
from tests.node.conftest import CN, COO_AGREEMENT, SG
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401 (fixture)
from tests.node.processes import ROOT, clean_env, write_node_env

STARTS = 4
# Each process imports everything, waits for the start signal (bounded), then does what
# ``node serve`` and ``node worker`` do first: build the node context.
START = """
import pathlib, sys, time
from node.context import NodeContext
from node.settings import load_settings
go, deadline = pathlib.Path(sys.argv[2]), time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.002)
context = NodeContext.build(load_settings(pathlib.Path(sys.argv[1])))
print(context.registry.current().version)
context.close()
"""


@pytest.mark.slow
def test_concurrent_first_start_on_a_fresh_database_brings_every_process_up(
        tmp_path: Path, database_factory: DatabaseFactory) -> None:  # noqa: F811 (fixture)
    url = database_factory.new_url()
    directories = setup_network(tmp_path / "net", (SG, CN), {}, (COO_AGREEMENT,), at=utc_now())
    directory = directories[SG.authority_id].path
    write_node_env(directory, {"TRADEACCORD_DATABASE_URL": url})
    go = tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", START, str(directory), str(go)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=clean_env(), cwd=ROOT) for _ in range(STARTS)]
    go.touch()
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr.decode()[-3000:]
    versions = {stdout.decode().strip() for stdout, _ in outputs}
    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            installed = list(session.exec(select(RegistryStateRecord.version)).all())
    finally:
        engine.dispose()
    assert len(versions) == 1 and installed == [int(versions.pop())]  # installed once
