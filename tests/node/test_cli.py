"""The node-facing CLI commands against a real node: exit codes 0 / 1 / 2 and their output."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from node.authority import AuthorityDirectory
from node.cli.main import build_app
from node.services.apikeys import revoke_api_key
from node.services.audit import append_event
from node.storage.database import make_engine, write_session
from protocol.timeutil import utc_now
from tests.node.conftest import Network, final_delivery

runner = CliRunner()


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(build_app(), list(args), env=env)
    return result.exit_code, result.output


@pytest.fixture
def authority(tmp_path: Path) -> AuthorityDirectory:
    return AuthorityDirectory.create(tmp_path / "sg", authority_id="SG-CUSTOMS", country="SG",
                                     name="Singapore Customs", passphrase=None, at=utc_now())


def test_node_init_creates_database_and_registry(authority: AuthorityDirectory) -> None:
    code, output = cli("node", "init", "--authority-dir", str(authority.path),
                       "--endpoint", "http://127.0.0.1:8700")
    assert code == 0, output
    assert (authority.path / "node.db").is_file()
    registry = json.loads(authority.registry_path.read_text())
    assert registry["owner"] == "SG-CUSTOMS" and registry["version"] == 1
    before = authority.registry_path.read_bytes()
    code, _ = cli("node", "init", "--authority-dir", str(authority.path))
    assert code == 0 and authority.registry_path.read_bytes() == before  # idempotent


def test_apikey_create(authority: AuthorityDirectory) -> None:
    assert cli("node", "init", "--authority-dir", str(authority.path))[0] == 0
    code, output = cli("node", "apikey", "create", "--authority-dir", str(authority.path),
                       "--role", "officer")
    assert code == 0 and output.strip().startswith("ta_")
    code, output = cli("node", "apikey", "create", "--authority-dir", str(authority.path),
                       "--role", "trader")
    assert code == 1 and "REQUEST_INVALID" in output
    code, output = cli("node", "apikey", "create", "--authority-dir", str(authority.path),
                       "--role", "king")
    assert code == 2
    code, output = cli("node", "apikey", "list", "--authority-dir", str(authority.path))
    [header, line] = output.strip().splitlines()
    key_id = line.split()[0]
    assert header.split()[:3] == ["KEY-ID", "ROLE", "PARTY"]
    assert code == 0 and "officer" in line and "active" in line
    assert cli("node", "apikey", "revoke", key_id, "--authority-dir", str(authority.path))[0] == 0
    code, output = cli("node", "apikey", "list", "--authority-dir", str(authority.path))
    assert "revoked" in output
    code, output = cli("node", "apikey", "revoke", key_id, "--authority-dir", str(authority.path))
    assert code == 1 and "STATE_INVALID" in output
    code, output = cli("node", "apikey", "revoke", "nope", "--authority-dir", str(authority.path))
    assert code == 1 and "NOT_FOUND" in output


def test_audit_verify_names_the_first_broken_entry(authority: AuthorityDirectory) -> None:
    assert cli("node", "init", "--authority-dir", str(authority.path))[0] == 0
    engine = make_engine(f"sqlite:///{authority.path / 'node.db'}")
    with write_session(engine) as session:
        for n in range(3):
            append_event(session, event="test.event", actor="test", subject=f"thing:{n}",
                         details={"n": n}, at=utc_now())
        session.commit()
    engine.dispose()
    code, output = cli("audit", "verify", "--authority-dir", str(authority.path))
    assert code == 0 and "intact: 3 events" in output
    with sqlite3.connect(authority.path / "node.db") as db:
        db.execute("""UPDATE audit_event SET details = '{"n":20}' WHERE seq = 2""")
    code, output = cli("audit", "verify", "--authority-dir", str(authority.path))
    assert code == 1
    assert "AUDIT_CHAIN_BROKEN" in output and "seq: 2" in output
    with sqlite3.connect(authority.path / "node.db") as db:
        db.execute("""UPDATE audit_event SET details = '{"n":1}' WHERE seq = 2""")
        db.execute("DELETE FROM audit_event WHERE seq = 2")
    code, output = cli("audit", "verify", "--authority-dir", str(authority.path))
    assert code == 1 and "seq: 2" in output


def test_documents_through_the_cli(network: Network, tmp_path: Path) -> None:
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    document = json.loads((Path(__file__).parents[2] / "examples" / "documents" /
                           "certificate-of-origin.json").read_text())
    document.pop("id")
    document.pop("issuer")  # SG-CHAMBER's document; here the SG-CUSTOMS node signs it
    source = tmp_path / "coo.json"
    source.write_text(json.dumps(document))
    trader = ["--node", sg.url, "--api-key", sg.keys["trader"]]
    code, output = cli("doc", "submit", str(source), *trader)
    assert code == 0, output
    document_id = output.strip()
    code, output = cli("doc", "send", document_id, "--to", "CN-CUSTOMS", *trader)
    assert code == 0 and "CN-CUSTOMS" in output
    with sg.client("trader") as client:
        final_delivery(client, document_id, "CN-CUSTOMS")
    code, output = cli("doc", "status", document_id, "--json", *trader)
    status = json.loads(output)
    assert code == 0 and status["deliveries"][0]["outcome"] == "accepted"
    code, output = cli("inbox", "list", "--json", "--node", cn.url,
                       "--api-key", cn.keys["officer"])
    assert code == 0 and [d["id"] for d in json.loads(output)] == [document_id]
    # A refusal: exit 1 with its code. An unknown document: NOT_FOUND.
    code, output = cli("doc", "status", "no-such-document", *trader)
    assert code == 1 and "NOT_FOUND" in output
    code, output = cli("doc", "send", document_id, "--to", "JP-CUSTOMS", *trader)
    assert code == 1 and "REQUEST_INVALID" in output
    # Usage and connection problems: exit 2.
    code, output = cli("doc", "status", document_id, "--node", sg.url,
                       env={"TRADEACCORD_API_KEY": ""})
    assert code == 2
    code, output = cli("doc", "status", document_id, "--node", "http://127.0.0.1:9",
                       "--api-key", sg.keys["trader"])
    assert code == 2 and "cannot reach" in output
    # A revoked key is refused from the next request on.
    engine = make_engine(str(sg.settings.database_url))
    with write_session(engine) as session:
        revoke_api_key(session, sg.keys["trader"][3:].partition(".")[0], utc_now())
        session.commit()
    engine.dispose()
    code, output = cli("doc", "status", document_id, *trader)
    assert code == 1 and "AUTH_REQUIRED" in output


def test_renew_signer_and_node_certificates(authority: AuthorityDirectory, tmp_path: Path) -> None:
    old_signer = authority.signer_certificate
    code, output = cli("authority", "renew", "--dir", str(authority.path),
                       "--certificate", "signer")
    assert code == 0, output
    renewed = AuthorityDirectory.open(authority.path)
    assert renewed.signer_certificate.serial_number != old_signer.serial_number
    assert (authority.path / f"signer-{old_signer.serial_number:x}.pem").is_file()
    # The new signer signs documents that verify against the same root.
    document = json.loads((Path(__file__).parents[2] / "examples" / "documents" /
                           "payment-record.json").read_text())
    source, out = tmp_path / "doc.json", tmp_path / "doc.jws"
    source.write_text(json.dumps(document))
    assert cli("doc", "sign", "--authority-dir", str(authority.path), str(source),
               "-o", str(out))[0] == 0
    assert cli("doc", "verify", str(out), "--anchor", str(authority.path / "root.pem"))[0] == 0
    # A new node certificate, registered with update-authority.
    reg = tmp_path / "reg.json"
    assert cli("registry", "init", "--authority-dir", str(authority.path), "-o", str(reg))[0] == 0
    assert cli("authority", "renew", "--dir", str(authority.path), "--certificate", "node")[0] == 0
    code, output = cli("registry", "update-authority", str(reg), "--id", "SG-CUSTOMS",
                       "--node-cert", str(authority.path / "node.pem"),
                       "--endpoint", "https://sg.example:8700")
    assert code == 0, output
    entry = json.loads(reg.read_text())["authorities"][0]
    assert entry["endpoints"] == ["https://sg.example:8700"] and len(entry["nodeCertificates"]) == 1
    assert cli("authority", "renew", "--dir", str(authority.path), "--certificate", "root")[0] == 2
    assert cli("registry", "update-authority", str(reg), "--id", "SG-CUSTOMS")[0] == 2
    code, output = cli("registry", "update-authority", str(reg), "--id", "XX-NONE",
                       "--name", "x")
    assert code == 1 and "ISSUER_UNKNOWN" in output


def test_serve_refuses_an_unreachable_database(authority: AuthorityDirectory) -> None:
    assert cli("node", "init", "--authority-dir", str(authority.path))[0] == 0
    code, output = cli("node", "serve", "--authority-dir", str(authority.path), "--port", "9",
                       env={"TRADEACCORD_DATABASE_URL":
                            "postgresql+psycopg://nobody@127.0.0.1:9/none"})
    assert code == 1 and "STORAGE_UNAVAILABLE" in output
    code, output = cli("node", "serve", "--authority-dir", str(authority.path), "--port", "9",
                       env={"TRADEACCORD_DATABASE_URL": "nonsense://"})
    assert code == 1 and "CONFIG_INVALID" in output


def test_standalone_worker_serves_its_metrics(authority: AuthorityDirectory) -> None:
    import os
    import subprocess
    import sys

    import httpx

    from tests.node.processes import free_port, wait_until

    assert cli("node", "init", "--authority-dir", str(authority.path))[0] == 0
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEACCORD_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "node", "worker", "--authority-dir",
         str(authority.path), "--metrics-port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        def scrape() -> str | None:
            if process.poll() is not None:
                raise AssertionError(f"the worker exited with {process.returncode}")
            try:
                return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.TransportError:
                return None

        text = str(wait_until(scrape, timeout=90, what="worker metrics"))
        assert "tradeaccord_outbox_depth" in text
        assert "tradeaccord_delivery_attempts_total" in text
    finally:
        process.terminate()
        process.wait(timeout=30)
