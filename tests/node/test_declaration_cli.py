"""``tradeaccord declaration …``: the CLI contract (exit codes 0 / 1 / 2, the ``--json`` form).

Against the exporting and importing customs nodes running in this process (real HTTP).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from node.cli.main import build_app
from node.demo import network as pilot
from node.demo.packages import Consignment, commercial_documents, package
from tests.node.databases import DatabaseFactory
from tests.node.shared_network import SharedNetwork, start_network, stop_network

runner = CliRunner()
AGREEMENTS = tuple(a for a in pilot.AGREEMENTS
                   if {a.proposer, a.partner} == {"SG-CUSTOMS", "CN-CUSTOMS"})


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedNetwork]:
    network = start_network(tmp_path_factory.mktemp("net"),
                            DatabaseFactory("sqlite", tmp_path_factory.mktemp("db")),
                            authorities=(pilot.SG_CUSTOMS, pilot.CN_CUSTOMS),
                            agreements=AGREEMENTS)
    try:
        yield network
    finally:
        stop_network(network)


def cli(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(build_app(), [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result.exit_code, result.output


def at(net: SharedNetwork, authority: str, role: str) -> list[str]:
    node = net[authority]
    return ["--node", node.url, "--api-key", node.keys[role]]


def package_file(tmp_path: Path, change: Any = None) -> Path:
    consignment = Consignment()
    commercial_documents(consignment, {"commercial-invoice": change} if change else None)
    path = tmp_path / "package.json"
    path.write_text(json.dumps(package(consignment, importing="CN-CUSTOMS", certificates=[])))
    return path


def _reprice(document: dict[str, Any]) -> None:
    document["body"]["totalAmount"] = 1.0


def test_submit_status_list_json_contract(net: SharedNetwork, tmp_path: Path) -> None:
    code, output = cli("declaration", "submit", package_file(tmp_path), "--to", "CN-CUSTOMS",
                       *at(net, "SG-CUSTOMS", "trader"))
    assert code == 0, output
    declaration_id = output.strip().splitlines()[0]
    deadline = time.monotonic() + 30
    while True:
        code, output = cli("declaration", "status", declaration_id, "--json",
                           *at(net, "SG-CUSTOMS", "trader"))
        assert code == 0, output
        status = json.loads(output)
        if status["import"]["decision"] != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for key in ("id", "state", "export", "forwarding", "import", "timeline"):
        assert key in status
    assert set(status["export"]) >= {"decision", "reasons", "findings"}
    assert "state" in status["forwarding"]
    assert set(status["import"]) >= {"authority", "decision", "reasons", "preference"}
    assert set(status["import"]["preference"]) >= {"claimed", "eligible", "reasons"}
    assert all(set(entry) >= {"at", "event", "by"} for entry in status["timeline"])
    assert status["export"]["decision"] in ("pending", "released", "held", "rejected")
    # No certificates: released at export, held at import for the plants.
    assert (status["export"]["decision"], status["import"]["decision"]) == ("released", "held")
    code, output = cli("declaration", "status", declaration_id, *at(net, "SG-CUSTOMS", "trader"))
    assert code == 0 and "CERTIFICATE_MISSING" in output and "timeline:" in output
    code, output = cli("declaration", "list", "--json", *at(net, "SG-CUSTOMS", "trader"))
    assert code == 0 and declaration_id in [d["id"] for d in json.loads(output)]
    code, output = cli("declaration", "list", *at(net, "SG-CUSTOMS", "trader"))
    assert code == 0 and output.splitlines()[0].startswith("ID") and declaration_id in output
    code, output = cli("declaration", "list", *at(net, "SG-CUSTOMS", "trader-other"))
    assert (code, output.strip()) == (0, "no declarations found")


def test_officer_release_and_reject_at_either_node(net: SharedNetwork, tmp_path: Path) -> None:
    code, output = cli("declaration", "submit", package_file(tmp_path, _reprice),
                       "--to", "CN-CUSTOMS", *at(net, "SG-CUSTOMS", "trader"))
    declaration_id = output.strip().splitlines()[0]
    code, output = cli("declaration", "status", declaration_id, "--json",
                       *at(net, "SG-CUSTOMS", "trader"))
    assert json.loads(output)["state"] == "export-held"
    code, output = cli("declaration", "release", declaration_id, *at(net, "SG-CUSTOMS", "trader"),
                       "--reason", "mine")
    assert code == 1 and "FORBIDDEN" in output
    code, output = cli("declaration", "release", declaration_id, "--reason", "checked",
                       *at(net, "SG-CUSTOMS", "officer"))
    assert (code, output.strip()) == (0, f"{declaration_id}: forwarding")
    code, output = cli("declaration", "reject", declaration_id, "--reason", "too late",
                       *at(net, "SG-CUSTOMS", "officer"))
    assert code == 1 and "STATE_INVALID" in output
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        code, output = cli("declaration", "status", declaration_id, "--json",
                           *at(net, "CN-CUSTOMS", "officer"))
        if code == 0 and json.loads(output)["state"] == "import-held":
            break
        time.sleep(0.1)
    code, output = cli("declaration", "reject", declaration_id, "--reason", "no certificate",
                       *at(net, "CN-CUSTOMS", "officer"), "--json")
    assert code == 0 and json.loads(output)["state"] == "import-rejected"


@pytest.mark.parametrize("args", [
    ("declaration", "submit"),                                     # no file
    ("declaration", "submit", "/nonexistent/package.json"),        # unreadable
    ("declaration", "release", "some-id"),                         # no --reason
    ("declaration", "status"),                                     # no id
], ids=["no-file", "unreadable", "no-reason", "no-id"])
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    code, _output = cli(*args, "--api-key", "ta_x.y", "--node", "http://127.0.0.1:9")
    assert code == 2


def test_unreachable_node_exits_2(tmp_path: Path) -> None:
    code, output = cli("declaration", "list", "--node", "http://127.0.0.1:9",
                       "--api-key", "ta_x.y")
    assert code == 2 and "cannot reach" in output


def test_not_json_package_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"packageFormat": 1, "packageFormat": 2}')
    code, output = cli("declaration", "submit", bad, "--node", "http://127.0.0.1:9",
                       "--api-key", "ta_x.y")
    assert code == 2 and "JSON_DUPLICATE_MEMBER" in output


def test_refused_package_exits_1_with_code(net: SharedNetwork, tmp_path: Path) -> None:
    path = package_file(tmp_path)
    data = json.loads(path.read_text())
    data["declaration"]["document"]["references"][0]["sha256"] = "0" * 64
    path.write_text(json.dumps(data))
    code, output = cli("declaration", "submit", path, *at(net, "SG-CUSTOMS", "trader"))
    assert code == 1 and "REFERENCE_MISMATCH" in output
