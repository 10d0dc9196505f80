"""Transferable records between real node processes (``python -m node.cli node serve``).

- A → B → C: issued at the carrier's node (the control registry, A), endorsed to a bank at
  SG-CUSTOMS (B), endorsed from there to a bank at CN-CUSTOMS (C) through the registry's
  countersignature; the exported record verifies offline at the end.
- The control registry SIGKILLed while a custody change is under way, then restarted: the
  record ends with exactly one custodian, and the change went through once.
- Two concurrent transfers of one record through two API processes sharing one PostgreSQL
  database: exactly one succeeds, the chain has one successor of the issuance.

Every wait is bounded; nothing asserts on timing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from node.client import ClientError, NodeClient
from node.pilot import setup_network
from node.services.apikeys import Role
from protocol.documents import DocumentSchemas
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from protocol.timeutil import utc_now
from protocol.title_entry import TitleRecord
from tests.node.databases import DatabaseFactory, require_postgres
from tests.node.processes import (
    FAST,
    NodeProcess,
    create_keys,
    free_port,
    wait_until,
    write_node_env,
)
from tests.node.titles_support import (
    AUTHORITIES,
    CARRIER_NODE,
    CN_BANK,
    CN_NODE,
    PARTIES,
    SG_BANK,
    SG_NODE,
    SHIPPER,
    STRANGER,
    bill,
)
from trust_registry import TrustRegistry, verify_title

pytestmark = pytest.mark.slow
WAIT = 60.0


@dataclass
class Titles:
    nodes: dict[str, NodeProcess]
    keys: dict[str, dict[str, str]]
    extra: list[NodeProcess] = field(default_factory=list)

    def client(self, authority: str, caller: str, node: NodeProcess | None = None
               ) -> NodeClient:
        return NodeClient((node or self.nodes[authority]).url, self.keys[authority][caller],
                          timeout=20)

    def view(self, authority: str, record_id: str) -> dict[str, Any]:
        with self.client(authority, "officer") as client:
            return client.title(record_id)

    def wait_status(self, authority: str, record_id: str, status: str) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            try:
                view = self.view(authority, record_id)
            except ClientError:
                return None
            return view if view["status"] == status else None

        return wait_until(reached, timeout=WAIT,  # type: ignore[return-value]
                          what=f"{record_id} {status} at {authority}")

    def issue(self, holder: str = SHIPPER) -> str:
        with self.client(CARRIER_NODE, "officer") as client:
            return str(client.issue_title(bill(), holder)["id"])


@pytest.fixture
def titles_factory(tmp_path: Path) -> Iterator[Callable[..., Titles]]:
    made: list[Titles] = []

    def _make(database_urls: dict[str, str] | None = None) -> Titles:
        ports = {spec.authority_id: free_port() for spec in AUTHORITIES}
        urls = {aid: f"http://127.0.0.1:{port}" for aid, port in ports.items()}
        directories = setup_network(tmp_path / "net", AUTHORITIES, urls, (), at=utc_now())
        keys: dict[str, dict[str, str]] = {}
        for aid, directory in directories.items():
            url = (database_urls or {}).get(aid, f"sqlite:///{directory.path / 'node.db'}")
            write_node_env(directory.path, {**FAST, "TRADEACCORD_DATABASE_URL": url})
            keys[aid] = create_keys(url, {"officer": (Role.OFFICER, None), **{
                party: (Role.TRADER, party) for party in PARTIES}})
        titles = Titles({aid: NodeProcess(aid, directories[aid].path, ports[aid])
                         for aid in directories}, keys)
        made.append(titles)
        for node in titles.nodes.values():
            node.serve()
        return titles

    yield _make
    for titles in made:
        for node in [*titles.extra, *titles.nodes.values()]:
            node.stop()


def _registry(titles: Titles, authority: str) -> TrustRegistry:
    path = titles.nodes[authority].directory / "registry.json"
    return TrustRegistry.from_dict(parse_json(path.read_bytes(), max_bytes=64 * 1024 * 1024))


def _single_custodian(titles: Titles, record_id: str, expected: str) -> None:
    """Exactly one node holds the record in custody (shows it active), and every node that
    holds it names that custodian."""
    views = {}
    for authority in titles.nodes:
        try:
            views[authority] = titles.view(authority, record_id)
        except ClientError as error:
            assert error.code is ReasonCode.NOT_FOUND
    active = [authority for authority, view in views.items() if view["status"] == "active"]
    assert active == [expected], views
    assert {view["custodian"] for view in views.values()} == {expected}


def test_three_node_chain_verified_offline(titles_factory: Callable[..., Titles],
                                           tmp_path: Path) -> None:
    titles = titles_factory()
    record_id = titles.issue()
    with titles.client(CARRIER_NODE, SHIPPER) as client:
        client.transfer_title(record_id, SG_BANK, to_authority=SG_NODE, endorse=True)
    titles.wait_status(SG_NODE, record_id, "active")
    with titles.client(SG_NODE, SG_BANK) as client:
        assert client.transfer_title(record_id, CN_BANK, to_authority=CN_NODE,
                                     endorse=True)["status"] in ("pending-custody",
                                                                 "transferred-away")
    titles.wait_status(CN_NODE, record_id, "active")
    titles.wait_status(SG_NODE, record_id, "transferred-away")
    _single_custodian(titles, record_id, CN_NODE)
    with titles.client(CN_NODE, CN_BANK) as client:
        exported = client.export_title(record_id)
    evidence = verify_title(TitleRecord.parse(exported), registry=_registry(titles, CN_NODE),
                            at=utc_now(), schemas=DocumentSchemas.load())
    assert (evidence.holder, evidence.custodian, evidence.status.value) == (
        CN_BANK, CN_NODE, "active")
    assert [(item.by, item.countersigned_by) for item in evidence.history] == [
        (CARRIER_NODE, None), (CARRIER_NODE, None), (SG_NODE, CARRIER_NODE)]


def test_control_registry_killed_mid_transfer(titles_factory: Callable[..., Titles]) -> None:
    titles = titles_factory()
    record_id = titles.issue()
    with titles.client(CARRIER_NODE, SHIPPER) as client:
        client.transfer_title(record_id, SG_BANK, to_authority=SG_NODE, endorse=True)
    titles.wait_status(SG_NODE, record_id, "active")
    carrier = titles.nodes[CARRIER_NODE]
    with titles.client(SG_NODE, SG_BANK) as client:
        client.transfer_title(record_id, CN_BANK, to_authority=CN_NODE, endorse=True)
    carrier.kill()  # wherever the registry was in its work: before, during or after it
    # While the registry is down nothing moves on the custodian's side but the request.
    assert titles.view(SG_NODE, record_id)["status"] in ("pending-custody", "transferred-away")
    carrier.serve()
    titles.wait_status(CN_NODE, record_id, "active")
    titles.wait_status(SG_NODE, record_id, "transferred-away")
    _single_custodian(titles, record_id, CN_NODE)
    view = titles.view(CARRIER_NODE, record_id)
    assert [item["action"] for item in view["history"]] == ["ISSUE", "ENDORSE", "ENDORSE"]


def test_registry_down_before_the_request_moves_nothing_until_it_is_back(
        titles_factory: Callable[..., Titles]) -> None:
    titles = titles_factory()
    record_id = titles.issue()
    with titles.client(CARRIER_NODE, SHIPPER) as client:
        client.transfer_title(record_id, SG_BANK, to_authority=SG_NODE, endorse=True)
    titles.wait_status(SG_NODE, record_id, "active")
    carrier = titles.nodes[CARRIER_NODE]
    carrier.kill()
    with titles.client(SG_NODE, SG_BANK) as client:
        assert client.transfer_title(record_id, CN_BANK, to_authority=CN_NODE,
                                     endorse=True)["status"] == "pending-custody"
    with titles.client(SG_NODE, SG_BANK) as client, pytest.raises(ClientError) as refused:
        client.transfer_title(record_id, STRANGER, endorse=True)
    assert refused.value.code is ReasonCode.TITLE_CONFLICT
    with pytest.raises(ClientError) as unknown:
        titles.view(CN_NODE, record_id)
    assert unknown.value.code is ReasonCode.NOT_FOUND
    carrier.serve()
    titles.wait_status(CN_NODE, record_id, "active")
    _single_custodian(titles, record_id, CN_NODE)


def _race(titles: Titles, record_id: str,
          attempts: list[tuple[NodeProcess, str]]) -> list[object]:
    """Each (API process, new holder) transfers ``record_id`` at once; the outcomes."""
    outcomes: list[object] = []
    barrier = threading.Barrier(len(attempts), timeout=30)

    def attempt(node: NodeProcess, to: str) -> None:
        with titles.client(CARRIER_NODE, SHIPPER, node) as client:
            barrier.wait()
            try:
                outcomes.append(client.transfer_title(record_id, to, endorse=True))
            except ClientError as error:
                outcomes.append(error)

    threads = [threading.Thread(target=attempt, args=pair) for pair in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.postgres
def test_concurrent_transfers_on_postgresql_exactly_one_wins(
        titles_factory: Callable[..., Titles], tmp_path: Path) -> None:
    require_postgres()
    databases = DatabaseFactory("postgresql", tmp_path / "pg")
    titles: Titles | None = None
    try:
        titles = titles_factory({CARRIER_NODE: databases.new_url()})
        carrier = titles.nodes[CARRIER_NODE]
        second = NodeProcess(CARRIER_NODE, carrier.directory, free_port(), name="api2")
        titles.extra.append(second)
        second.serve(worker=False)
        for _ in range(4):  # a few records: several chances for a true race
            record_id = titles.issue()
            outcomes = _race(titles, record_id, [(carrier, SG_BANK), (second, STRANGER)])
            won = [o for o in outcomes if isinstance(o, dict)]
            lost = [o for o in outcomes if isinstance(o, ClientError)]
            assert (len(won), len(lost)) == (1, 1), outcomes
            assert lost[0].code in (ReasonCode.TITLE_CONFLICT, ReasonCode.TITLE_NOT_HOLDER)
            assert 400 <= lost[0].status < 500
            view = titles.view(CARRIER_NODE, record_id)
            assert [item["action"] for item in view["history"]] == ["ISSUE", "ENDORSE"]
            assert view["holder"] == won[0]["holder"]
    finally:
        if titles is not None:  # stop the processes before their database goes
            for node in [*titles.extra, *titles.nodes.values()]:
                node.stop()
        databases.drop_all()
