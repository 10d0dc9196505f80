"""``tradeaccord title …`` and ``doc verify``/``doc import`` of records: the CLI contract
(exit codes 0 / 1 refusal / 2 usage, the ``--json`` form), against the carrier's node,
SG-CUSTOMS and CN-CUSTOMS running in this process (real HTTP, delivery workers running).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from node.cli.main import build_app
from node.services.apikeys import Role
from tests.node.databases import DatabaseFactory
from tests.node.processes import create_keys, wait_until
from tests.node.shared_network import SharedNetwork, start_network, stop_network
from tests.node.titles_support import (
    AUTHORITIES,
    CARRIER,
    CARRIER_NODE,
    CN_BANK,
    CN_NODE,
    PARTIES,
    SG_BANK,
    SG_NODE,
    SHIPPER,
    bill,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedNetwork]:
    network = start_network(tmp_path_factory.mktemp("net"),
                            DatabaseFactory("sqlite", tmp_path_factory.mktemp("db")),
                            authorities=AUTHORITIES)
    try:
        for node in network.nodes.values():
            node.keys.update(create_keys(node.settings.database_url or "", {
                party: (Role.TRADER, party) for party in PARTIES}))
        yield network
    finally:
        stop_network(network)


def cli(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(build_app(), [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result.exit_code, result.output


def at(net: SharedNetwork, authority: str, caller: str) -> list[str]:
    node = net[authority]
    return ["--node", node.url, "--api-key", node.keys[caller]]


def shown(net: SharedNetwork, authority: str, record_id: str) -> dict[str, Any]:
    code, output = cli("title", "show", record_id, "--json", *at(net, authority, "officer"))
    assert code == 0, output
    return dict(json.loads(output))


def wait_status(net: SharedNetwork, authority: str, record_id: str, status: str) -> None:
    def reached() -> bool:
        code, output = cli("title", "show", record_id, "--json",
                           *at(net, authority, "officer"))
        return code == 0 and json.loads(output)["status"] == status

    wait_until(reached, timeout=30, what=f"{record_id} {status} at {authority}")


def bill_file(tmp_path: Path, reference: str | None = None) -> Path:
    path = tmp_path / f"bl-{reference or 'x'}.json"
    path.write_text(json.dumps(bill(reference)), "utf-8")
    return path


def test_title_commands_across_three_nodes(net: SharedNetwork, tmp_path: Path) -> None:
    path = bill_file(tmp_path, "SMLNCLI0001")
    code, output = cli("title", "issue", path, "--holder", SHIPPER,
                       *at(net, CARRIER_NODE, "officer"))
    assert code == 0, output
    record_id = output.strip()
    code, output = cli("title", "issue", path, "--holder", SHIPPER,
                       *at(net, CARRIER_NODE, "officer"))
    assert (code, "CONFLICT" in output) == (1, True), output
    code, output = cli("title", "transfer", record_id, "--to-party", SG_BANK,
                       "--to-authority", SG_NODE, "--endorse", "--json",
                       *at(net, CARRIER_NODE, SHIPPER))
    assert code == 0, output
    assert json.loads(output)["status"] == "transferred-away"
    wait_status(net, SG_NODE, record_id, "active")
    code, output = cli("title", "transfer", record_id, "--to-party", CN_BANK,
                       "--to-authority", CN_NODE, "--endorse", *at(net, SG_NODE, SG_BANK))
    assert code == 0, output
    wait_status(net, CN_NODE, record_id, "active")
    wait_status(net, SG_NODE, record_id, "transferred-away")
    # The stale holder at the node that handed custody over is refused.
    code, output = cli("title", "transfer", record_id, "--to-party", SHIPPER, "--endorse",
                       *at(net, SG_NODE, SG_BANK))
    assert (code, "TITLE_SIGNER_NOT_CUSTODIAN" in output) == (1, True), output
    view = shown(net, CN_NODE, record_id)
    assert {"id", "status", "holder", "custodian", "controlRegistry", "history"} <= set(view)
    assert (view["holder"], view["custodian"], view["controlRegistry"]) == (
        CN_BANK, CN_NODE, CARRIER_NODE)
    assert [(h["action"], h["from"], h["to"], h["by"]) for h in view["history"]] == [
        ("ISSUE", CARRIER, SHIPPER, CARRIER_NODE), ("ENDORSE", SHIPPER, SG_BANK, CARRIER_NODE),
        ("ENDORSE", SG_BANK, CN_BANK, SG_NODE)]
    code, output = cli("title", "show", record_id, *at(net, CN_NODE, "officer"))
    assert code == 0 and "countersigned by SG-CARRIER" in output, output

    # Export, and verify offline against a registry file.
    exported = tmp_path / "record.json"
    code, output = cli("title", "export", record_id, "-o", exported,
                       *at(net, CN_NODE, CN_BANK))
    assert code == 0, output
    registry = net[CN_NODE].directory.registry_path
    code, output = cli("doc", "verify", exported, "--registry", registry, "--as", CN_NODE,
                       "--json")
    assert code == 0, output
    report = json.loads(output)
    assert (report["valid"], report["record"]["holder"]) == (True, CN_BANK)
    code, output = cli("doc", "verify", exported, "--registry", registry, "--as", CN_NODE)
    assert code == 0 and CN_BANK in output, output
    record = json.loads(exported.read_text("utf-8"))
    record["entries"][1], record["entries"][2] = record["entries"][2], record["entries"][1]
    reordered = tmp_path / "reordered.json"
    reordered.write_text(json.dumps(record), "utf-8")
    code, output = cli("doc", "verify", reordered, "--registry", registry, "--as", CN_NODE,
                       "--json")
    assert code == 1, output
    assert json.loads(output)["reasons"] == ["TITLE_CHAIN_BROKEN"]
    code, output = cli("doc", "verify", exported, "--as", CN_NODE, "--anchor",
                       net[CN_NODE].directory.path / "root.pem")
    assert code == 2, output

    # DCSA eBL 3.0 out and back in.
    dcsa = tmp_path / "dcsa.json"
    code, output = cli("title", "export", record_id, "-o", dcsa, "--format", "dcsa-ebl-3",
                       *at(net, CN_NODE, "officer"))
    assert code == 0, output
    code, output = cli("doc", "import", dcsa, "--format", "dcsa-ebl-3")
    assert code == 0, output
    imported = json.loads(output)
    assert imported["id"] == record_id
    assert imported["body"]["transportDocumentReference"] == "SMLNCLI0001"

    # Surrender at CN, accepted by the carrier's officer; then nothing more.
    code, output = cli("title", "surrender", record_id, *at(net, CN_NODE, CN_BANK))
    assert code == 0, output
    wait_status(net, CARRIER_NODE, record_id, "surrendered")
    code, output = cli("title", "accept", record_id, "--json",
                       *at(net, CARRIER_NODE, "officer"))
    assert (code, json.loads(output)["status"]) == (0, "accomplished"), output
    code, output = cli("title", "accept", record_id, *at(net, CARRIER_NODE, "officer"))
    assert (code, "TITLE_RECORD_INACTIVE" in output) == (1, True), output


def test_usage_errors_exit_2(net: SharedNetwork, tmp_path: Path) -> None:
    keys = at(net, CARRIER_NODE, "officer")
    assert cli("title", "issue", bill_file(tmp_path), "--holder", "not a party", *keys)[0] == 2
    assert cli("title", "issue", tmp_path / "missing.json", "--holder", SHIPPER, *keys)[0] == 2
    assert cli("title", "show", "bad id!", *keys)[0] == 2
    assert cli("title", "transfer", "x", *keys)[0] == 2  # --to-party is required
    assert cli("title", "show", "x", "--node", "http://127.0.0.1:9",
               "--api-key", net[CARRIER_NODE].keys["officer"])[0] == 2


def test_refusals_exit_1(net: SharedNetwork, tmp_path: Path) -> None:
    code, output = cli("title", "issue", bill_file(tmp_path), "--holder", SHIPPER,
                       *at(net, SG_NODE, "officer"))
    assert (code, "ISSUER_ROLE_MISSING" in output) == (1, True), output
    code, output = cli("title", "show", "no-such-record", *at(net, CARRIER_NODE, "officer"))
    assert (code, "NOT_FOUND" in output) == (1, True), output
    code, output = cli("title", "issue", bill_file(tmp_path, "SMLNCLI0002"), "--holder",
                       SHIPPER, *at(net, CARRIER_NODE, "officer"))
    # The carrier party sees the bill but does not hold it.
    code, output = cli("title", "transfer", output.strip(), "--to-party", SG_BANK,
                       *at(net, CARRIER_NODE, CARRIER))
    assert (code, "TITLE_NOT_HOLDER" in output) == (1, True), output
