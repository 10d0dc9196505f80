"""Reading a node from the CLI (issue 12 §3): doc list/get, inbox show, outbox list/retry,
with headers and an explicit "nothing found"; the officer's reason reaches the trader."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from node.cli.main import build_app
from tests.node.conftest import Network, certificate_of_origin, final_delivery, wait_for

runner = CliRunner()
REASON = "Origin criterion not met for line 2"


def cli(*args: str) -> Any:
    return runner.invoke(build_app(), list(args), env={"TRADEACCORD_API_KEY": ""})


def test_reading_documents_inbox_and_outbox(network_factory: Callable[..., Network],
                                            tmp_path: Path) -> None:
    network = network_factory(hold_for_review_types=["certificate-of-origin"])
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    trader = ["--node", sg.url, "--api-key", sg.keys["trader"]]
    officer = ["--node", cn.url, "--api-key", cn.keys["officer"]]
    operator = ["--node", sg.url, "--api-key", sg.keys["operator"]]

    # Nothing yet: said, not an empty screen.
    result = cli("doc", "list", *trader)
    assert result.exit_code == 0 and result.stdout == "no documents found\n"
    result = cli("inbox", "list", *officer)
    assert result.exit_code == 0 and result.stdout == "no documents found in the inbox\n"
    result = cli("outbox", "list", *operator)
    assert result.exit_code == 0 and result.stdout == "no messages found in the outbox\n"

    source = tmp_path / "coo.json"
    source.write_text(json.dumps(certificate_of_origin()))
    result = cli("doc", "submit", str(source), "--send-to", "CN-CUSTOMS", "--json", *trader)
    assert result.exit_code == 0, result.output
    document_id = json.loads(result.stdout)["id"]
    with sg.client("trader") as client:
        assert final_delivery(client, document_id, "CN-CUSTOMS")["outcome"] == "held-for-review"

    # The trader's list: a header, then the document.
    result = cli("doc", "list", *trader)
    header, row = result.stdout.splitlines()
    assert header.split() == ["CURSOR", "ID", "TYPE", "DIRECTION", "ISSUER", "CREATED", "STATE"]
    assert document_id in row and "CN-CUSTOMS: held-for-review" in row
    assert [d["id"] for d in json.loads(cli("doc", "list", "--json", *trader).stdout)] == \
        [document_id]
    assert cli("doc", "list", "--direction", "inbound", *trader).stdout == \
        "no documents found\n"

    # The officer reads the held document as a person would, then rejects it with a reason.
    result = cli("inbox", "list", "--outcome", "held-for-review", *officer)
    header, row = result.stdout.splitlines()
    assert header.split()[:5] == ["CURSOR", "ID", "TYPE", "FROM", "OUTCOME"]
    assert document_id in row and "held-for-review" in row
    result = cli("inbox", "show", document_id, *officer)
    assert result.exit_code == 0, result.output
    shown = result.stdout
    assert f"document {document_id} (certificate-of-origin" in shown
    assert "received from: SG-CUSTOMS" in shown and "outcome: held-for-review" in shown
    assert "content:" in shown and f"id: {document_id}" in shown
    assert '"payload"' not in shown  # readable, not the JWS
    result = cli("inbox", "reject", document_id, "--reason", REASON, "--json", *officer)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outcome"] == "rejected"
    result = cli("inbox", "show", document_id, *officer)
    assert "outcome: rejected" in result.stdout and f"reason: {REASON}" in result.stdout

    # The officer's reason reaches the trader (status and get).
    with sg.client("trader") as client:
        wait_for(lambda: client.status(document_id)["deliveries"][0]["reason"] == REASON)
    result = cli("doc", "status", document_id, *trader)
    assert result.exit_code == 0 and f"reason: {REASON}" in result.stdout
    assert "rejected" in result.stdout
    result = cli("doc", "get", document_id, *trader)
    assert result.exit_code == 0, result.output
    assert f"reason: {REASON}" in result.stdout and "content:" in result.stdout

    # --signed: the JWS exactly as stored, on stdout, to -o -, or to a file.
    with sg.client("trader") as client:
        stored = client.signed(document_id)
    result = cli("doc", "get", document_id, "--signed", *trader)
    assert result.stdout_bytes.rstrip(b"\n") == stored.rstrip(b"\n")
    assert cli("doc", "get", document_id, "--signed", "-o", "-", *trader).stdout_bytes == \
        result.stdout_bytes
    out = tmp_path / "signed.json"
    result = cli("doc", "get", document_id, "--signed", "-o", str(out), *trader)
    assert result.exit_code == 0 and out.read_bytes().rstrip(b"\n") == stored.rstrip(b"\n")
    assert cli("doc", "get", document_id, "-o", str(out), *trader).exit_code == 2

    # Refusals: exit 1 with the code (as JSON under --json).
    result = cli("doc", "get", "no-such-document", *trader)
    assert result.exit_code == 1 and "NOT_FOUND" in result.stderr
    result = cli("doc", "get", "no-such-document", "--json", *trader)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "NOT_FOUND"
    result = cli("inbox", "show", document_id, "--json", "--node", cn.url, "--api-key",
                 cn.keys["trader-other"])
    assert result.exit_code == 1 and json.loads(result.stdout)["error"]["code"] in (
        "NOT_FOUND", "FORBIDDEN")

    # The operator's outbox: the delivered envelope; a retry of it is refused.
    result = cli("outbox", "list", *operator)
    header, *rows = result.stdout.splitlines()
    assert header.split()[:4] == ["MESSAGE-ID", "KIND", "TO", "STATE"] and rows
    messages = json.loads(cli("outbox", "list", "--json", *operator).stdout)
    delivered = [m for m in messages if m["state"] == "delivered"]
    assert delivered and all(m["messageId"] in result.stdout for m in messages)
    assert cli("outbox", "list", "--state", "dead", *operator).stdout == \
        "no messages found in the outbox\n"
    result = cli("outbox", "retry", delivered[0]["messageId"], "--json", *operator)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "STATE_INVALID"
    result = cli("outbox", "retry", "no-such-message", *operator)
    assert result.exit_code == 1 and "NOT_FOUND" in result.stderr
    result = cli("outbox", "list", *trader)  # operators only
    assert result.exit_code == 1 and "FORBIDDEN" in result.stderr
