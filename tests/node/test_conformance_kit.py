"""CI runs the conformance kit against our own node: a real ``tradeaccord node serve``
process, and ``tradeaccord conformance run`` (a second process) in both directions. Every
scenario must pass; the report is the kit's own JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from node.authority import AuthorityDirectory
from node.bootstrap import initial_registry
from node.cli.main import build_app
from node.pilot import write_registry
from node.services.apikeys import Role
from protocol.timeutil import utc_now
from tests.node.processes import (
    FAST,
    ROOT,
    NodeProcess,
    clean_env,
    create_keys,
    free_port,
    write_node_env,
)

HOLD_TYPE = "phytosanitary-certificate"


@pytest.fixture
def node(tmp_path: Path):
    directory = AuthorityDirectory.create(
        tmp_path / "SG-CUSTOMS", authority_id="SG-CUSTOMS", country="SG",
        name="Singapore Customs", roles=("customs",), passphrase=None, at=utc_now())
    port = free_port()
    write_registry(directory.registry_path,
                   initial_registry(directory, endpoint=f"http://127.0.0.1:{port}"))
    database = f"sqlite:///{directory.path / 'node.db'}"
    write_node_env(directory.path, {**FAST, "TRADEACCORD_DATABASE_URL": database,
                                    "TRADEACCORD_HOLD_FOR_REVIEW_TYPES": json.dumps([HOLD_TYPE]),
                                    "TRADEACCORD_DELIVERY_MAX_ATTEMPTS": "20"})
    keys = create_keys(database, {"operator": (Role.OPERATOR, None),
                                  "officer": (Role.OFFICER, None)})
    process = NodeProcess("SG-CUSTOMS", directory.path, port=port)
    process.serve()
    try:
        yield process, keys
    finally:
        process.stop()


def _kit(url: str, keys: dict[str, str], report: Path, *extra: str
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", "conformance", "run", "--node", url,
         "--operator-key", keys["operator"], "--officer-key", keys["officer"],
         "--report", str(report), "--timeout", "60", *extra],
        capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=600, check=False)


@pytest.mark.slow
def test_every_scenario_passes_against_our_node(node, tmp_path: Path) -> None:
    process, keys = node
    report_file = tmp_path / "report.json"
    done = _kit(process.url, keys, report_file, "--hold-type", HOLD_TYPE)
    report = json.loads(report_file.read_text("utf-8"))
    failed = [(s["id"], s["expected"], s["observed"]) for s in report["scenarios"]
              if s["result"] != "pass"]
    assert failed == [], done.stdout + done.stderr + process.tail()
    assert done.returncode == 0
    assert report["format"] == "tradeaccord-conformance-report/1"
    assert report["nodeAuthority"] == "SG-CUSTOMS"
    assert report["summary"]["failed"] == report["summary"]["skipped"] == 0
    sides = {s["side"] for s in report["scenarios"]}
    assert sides == {"registry", "sender", "receiver"}
    for scenario in report["scenarios"]:
        assert set(scenario) == {"id", "side", "title", "expected", "observed", "result",
                                 "detail"}


@pytest.mark.slow
def test_one_direction_and_a_skipped_scenario(node, tmp_path: Path) -> None:
    process, keys = node
    report_file = tmp_path / "report.json"
    done = _kit(process.url, keys, report_file, "--as-receiver")
    report = json.loads(report_file.read_text("utf-8"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert {s["side"] for s in report["scenarios"]} == {"registry", "receiver"}
    assert report["summary"]["failed"] == 0


def test_usage_problems_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TRADEACCORD_CONFORMANCE_OPERATOR_KEY", "TRADEACCORD_CONFORMANCE_OFFICER_KEY"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    report = tmp_path / "report.json"
    no_keys = runner.invoke(build_app(), ["conformance", "run", "--node", "http://127.0.0.1:1",
                                          "--report", str(report)])
    assert no_keys.exit_code == 2
    unreachable = runner.invoke(build_app(), [
        "conformance", "run", "--node", f"http://127.0.0.1:{free_port()}", "--report", str(report),
        "--operator-key", "ta_x.y", "--officer-key", "ta_x.y", "--workdir", str(tmp_path)])
    assert unreachable.exit_code == 2
    assert "well-known" in unreachable.output
    assert not report.exists()


def test_docs_table_lists_every_scenario_in_order() -> None:
    """docs/conformance.md's scenario table is the kit's ``SCENARIOS``: id, side, title and
    expected observation, in the order they run."""
    from node.conformance.scenarios import SCENARIOS

    text = (ROOT / "docs" / "conformance.md").read_text("utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")
            and line.count(" | ") == 3 and line.endswith("}` |")]
    assert rows == [f"| `{s.id}` | {s.side.value} | {s.title} | "
                    f"`{json.dumps(dict(s.expected))}` |" for s in SCENARIOS]


def test_lifecycle_and_title_scenarios_are_in_the_kit() -> None:
    """Issue 13 §4: revocation and transferable-record scenarios, each refusal with its code."""
    from node.conformance.scenarios import SCENARIOS

    codes = {s.id: s.expected.get("code") for s in SCENARIOS}
    assert codes["sender-revocation-not-issuer"] == "STATUS_NOT_ISSUER"
    assert codes["sender-statement-malformed"] == "STATUS_INVALID"
    assert codes["sender-title-countersignature-missing"] == "TITLE_COUNTERSIGNATURE_MISSING"
    assert codes["sender-title-chain-broken"] == "TITLE_CHAIN_BROKEN"
    assert codes["sender-title-not-a-message"] == "TITLE_ENTRY_INVALID"
    assert codes["sender-title-replayed"] == "TITLE_ENTRY_REPLAYED"
    assert {"sender-revocation", "sender-replacement", "sender-title-transfer"} <= set(codes)
