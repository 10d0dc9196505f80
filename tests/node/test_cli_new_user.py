"""The CLI as a new user meets it (issue 12 §3), without a running node: --version, errors
under --json, every data command takes --json, -o -, commands before `node init`, a bad
--database-url, TRADEACCORD_AUTHORITY_DIR."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from node.authority import AuthorityDirectory
from node.cli.main import build_app, lazy_root
from protocol.timeutil import utc_now

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(build_app(), list(args), env=env)


@pytest.fixture
def authority(tmp_path: Path) -> AuthorityDirectory:
    return AuthorityDirectory.create(tmp_path / "sg", authority_id="SG-CUSTOMS", country="SG",
                                     name="Singapore Customs", passphrase=None, at=utc_now())


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The console script's code path (the lazy root's ``main``), in a fresh process."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRADEACCORD_")}
    return subprocess.run([sys.executable, "-m", "node.cli", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=120, check=False,
                          env={**base, "PYTHONPATH": str(ROOT), **(env or {})})


# -- --version ------------------------------------------------------------------------------


def test_version_prints_the_installed_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"tradeaccord {version('tradeaccord')}\n"
    assert "--version" in run_cli("--help").stdout
    assert [p.name for p in lazy_root().params] == ["version"]


# -- --json on every command that prints data ----------------------------------------------

# Commands whose output is a file, a running process or a one-line status message about a
# file they changed, not data: they take no --json.
NOT_DATA = {
    "demo", "authority init", "authority renew", "doc sign", "doc export", "doc import",
    "node init", "node serve", "node worker", "node apikey revoke",
    "registry init", "registry add-authority", "registry update-authority",
    "registry add-agreement", "registry add-status", "registry revoke",
    "registry rotate-anchor", "registry export", "registry import",
    "agreement propose", "agreement countersign", "agreement suspend", "agreement resume",
    "agreement terminate", "title export", "webhook remove", "evidence export",
}


def _commands(command: Any, path: str = "") -> list[tuple[str, Any]]:
    children = getattr(command, "commands", None)
    if children is None:
        return [(path, command)]
    found = []
    for name, child in children.items():
        found += _commands(child, f"{path} {name}".strip())
    return found


def test_every_command_that_prints_data_accepts_json() -> None:
    commands = _commands(typer.main.get_command(build_app()))
    missing = []
    for path, _command in commands:
        result = runner.invoke(build_app(), [*path.split(), "--help"])
        assert result.exit_code == 0, (path, result.output)
        if path not in NOT_DATA and "--json" not in result.stdout:
            missing.append(path)
    assert missing == []
    # The exemption list names real commands only (it shrinks as commands gain --json).
    assert {path for path, _ in commands} >= NOT_DATA
    for path in ("doc list", "doc get", "inbox show", "outbox list", "outbox retry",
                 "audit log", "audit verify", "node apikey list"):
        assert path in {p for p, _ in commands}, path


def test_a_usage_error_under_json_is_a_json_object_with_exit_2() -> None:
    result = run_cli("doc", "status", "--json")  # ID missing: click's own usage error
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stdout) == {"error": {
        "code": "USAGE", "message": "Missing argument 'ID'.", "reasons": []}}
    # Without --json: click's text on stderr.
    result = run_cli("doc", "status")
    assert result.returncode == 2 and result.stdout == "" and "Missing argument" in result.stderr


def test_an_unreachable_node_under_json_is_a_json_object_with_exit_2() -> None:
    result = run_cli("doc", "list", "--json", "--node", "http://127.0.0.1:9",
                     "--api-key", "ta_x.y")
    assert result.returncode == 2, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "USAGE" and "cannot reach" in error["message"]


def test_a_refusal_under_json_is_a_json_object_with_exit_1(tmp_path: Path) -> None:
    source = tmp_path / "doc.json"
    source.write_text("{}")
    result = cli("doc", "verify", str(source), "--anchor",
                 str(ROOT / "tests" / "data" / "nonexistent.pem"), "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "USAGE"
    anchor = tmp_path / "bad.pem"
    anchor.write_text("not a certificate")
    result = cli("doc", "verify", str(source), "--anchor", str(anchor), "--json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "CERT_MALFORMED" and error["reasons"] == ["CERT_MALFORMED"]
    assert result.stderr == ""


# -- -o - -----------------------------------------------------------------------------------


def test_dash_o_dash_writes_to_standard_output(authority: AuthorityDirectory,
                                               tmp_path: Path) -> None:
    document = json.loads((ROOT / "examples" / "documents" / "payment-record.json").read_text())
    source = tmp_path / "doc.json"
    source.write_text(json.dumps(document))
    result = cli("doc", "sign", "--authority-dir", str(authority.path), str(source), "-o", "-")
    assert result.exit_code == 0, result.output
    jws = json.loads(result.stdout)  # only the JWS on stdout; the message went to stderr
    assert set(jws) >= {"payload", "signatures"}
    assert "signed" in result.stderr and not (Path.cwd() / "-").exists()
    signed = tmp_path / "doc.jws"
    signed.write_text(result.stdout)
    result = cli("doc", "verify", str(signed), "--anchor", str(authority.path / "root.pem"))
    assert result.exit_code == 0, result.output
    result = cli("registry", "init", "--authority-dir", str(authority.path), "-o", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["owner"] == "SG-CUSTOMS"
    assert "registry of SG-CUSTOMS" in result.stderr


# -- before `node init` -----------------------------------------------------------------------


@pytest.mark.parametrize("command", [
    ["node", "apikey", "create", "--role", "officer"],
    ["node", "apikey", "list"],
    ["node", "apikey", "revoke", "abc"],
    ["audit", "verify"],
    ["audit", "log"],
], ids=lambda c: " ".join(c[:3]))
def test_commands_before_node_init_say_to_run_it(authority: AuthorityDirectory,
                                                 command: list[str]) -> None:
    result = cli(*command, "--authority-dir", str(authority.path))
    assert result.exit_code == 2, result.output
    assert "not initialised" in result.stderr and "tradeaccord node init" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (authority.path / "node.db").exists()  # nothing created on the way


def test_before_node_init_under_json(authority: AuthorityDirectory) -> None:
    result = cli("audit", "verify", "--authority-dir", str(authority.path), "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "USAGE" and "node init" in error["message"]


def test_a_missing_authority_directory_says_how_to_make_one(tmp_path: Path) -> None:
    result = cli("node", "apikey", "list", "--authority-dir", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "authority init" in result.stderr and "node init" in result.stderr
    assert not (tmp_path / "nowhere").exists()


# -- --database-url ---------------------------------------------------------------------------


@pytest.mark.parametrize("url,says", [
    ("nonsense", "not a database URL"),
    ("mysql://user@127.0.0.1/db", "'mysql' is not supported"),
    ("postgresql://user@127.0.0.1/db", "postgresql+psycopg"),
    ("sqlite://", "needs a file path"),
    ("postgresql+psycopg://user@127.0.0.1", "needs a database name"),
])
def test_a_bad_database_url_is_refused_before_it_is_saved(authority: AuthorityDirectory,
                                                          url: str, says: str) -> None:
    result = cli("node", "init", "--authority-dir", str(authority.path), "--database-url", url)
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert not (authority.path / "node.env").exists()
    assert not (authority.path / "node.db").exists()
    assert not authority.registry_path.exists()


def test_a_good_database_url_is_saved(authority: AuthorityDirectory, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    result = cli("node", "init", "--authority-dir", str(authority.path), "--database-url", url)
    assert result.exit_code == 0, result.output
    assert f"TRADEACCORD_DATABASE_URL={url}" in (authority.path / "node.env").read_text()
    assert (tmp_path / "elsewhere.db").is_file()


def test_a_bad_database_url_from_the_environment_is_refused(
        authority: AuthorityDirectory) -> None:
    result = cli("node", "init", "--authority-dir", str(authority.path),
                 env={"TRADEACCORD_DATABASE_URL": "oracle://x@y/z"})
    assert result.exit_code == 2 and "'oracle' is not supported" in result.stderr


# -- TRADEACCORD_AUTHORITY_DIR ----------------------------------------------------------------


def test_authority_dir_from_the_environment(authority: AuthorityDirectory,
                                            tmp_path: Path) -> None:
    env = {"TRADEACCORD_AUTHORITY_DIR": str(authority.path)}
    result = cli("node", "init", env=env)
    assert result.exit_code == 0, result.output
    assert (authority.path / "node.db").is_file()
    result = cli("node", "apikey", "create", "--role", "operator", env=env)
    assert result.exit_code == 0 and result.stdout.startswith("ta_")
    result = cli("audit", "verify", "--json", env=env)
    assert result.exit_code == 0 and json.loads(result.stdout) == {"valid": True, "events": 1}
    result = cli("audit", "log", "--json", env=env)
    assert [event["event"] for event in json.loads(result.stdout)] == ["apikey.created"]
    # The option wins over the environment.
    elsewhere = {"TRADEACCORD_AUTHORITY_DIR": str(tmp_path / "nowhere")}
    result = cli("audit", "verify", "--authority-dir", str(authority.path), env=elsewhere)
    assert result.exit_code == 0, result.output
    # Neither: the option is required, said as usage (exit 2).
    result = cli("audit", "verify", env={"TRADEACCORD_AUTHORITY_DIR": ""})
    assert result.exit_code == 2


def test_audit_log_pages_and_filters(authority: AuthorityDirectory) -> None:
    env = {"TRADEACCORD_AUTHORITY_DIR": str(authority.path)}
    assert cli("node", "init", env=env).exit_code == 0
    result = cli("audit", "log", env=env)
    assert result.exit_code == 0 and result.stdout == "no audit events found\n"
    for role in ("officer", "operator", "officer"):
        assert cli("node", "apikey", "create", "--role", role, env=env).exit_code == 0
    key_id = json.loads(cli("node", "apikey", "list", "--json", env=env).stdout)[0]["keyId"]
    assert cli("node", "apikey", "revoke", key_id, env=env).exit_code == 0
    result = cli("audit", "log", env=env)
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["SEQ", "AT", "EVENT", "ACTOR", "SUBJECT", "DETAILS"]
    assert [line.split()[2] for line in lines] == ["apikey.created"] * 3 + ["apikey.revoked"]
    page = json.loads(cli("audit", "log", "--limit", "2", "--json", env=env).stdout)
    assert [event["seq"] for event in page] == [1, 2]
    result = cli("audit", "log", "--limit", "2", env=env)
    assert result.stdout.splitlines()[-1] == "(more may follow: --after 2)"
    page = json.loads(cli("audit", "log", "--after", "2", "--json", env=env).stdout)
    assert [event["seq"] for event in page] == [3, 4]
    only = json.loads(cli("audit", "log", "--event", "apikey.revoked", "--json", env=env).stdout)
    assert [event["subject"] for event in only] == [f"apikey:{key_id}"]
    prefix = json.loads(cli("audit", "log", "--event", "apikey.", "--json", env=env).stdout)
    assert len(prefix) == 4
    assert json.loads(cli("audit", "log", "--subject", f"apikey:{key_id}", "--json",
                          env=env).stdout)[-1]["event"] == "apikey.revoked"
    assert json.loads(cli("audit", "log", "--since", "2999-01-01T00:00:00Z", "--json",
                          env=env).stdout) == []
    result = cli("audit", "log", "--since", "yesterday", env=env)
    assert result.exit_code == 2 and "--since" in result.stderr


# -- the plain-text views ---------------------------------------------------------------------


def test_table_has_a_header_and_says_when_nothing_was_found() -> None:
    from node.cli.views import table

    assert table([("ID", "id")], [], "no documents found") == ["no documents found"]
    assert table([("ID", "id"), ("REASONS", "reasons"), ("AS", "as")],
                 [{"id": "a", "reasons": ["X", "Y"], "as": None},
                  {"id": "longer", "reasons": [], "as": "coo"}], "none") == [
        "ID      REASONS  AS", "a       X,Y      -", "longer  -        coo"]


def test_a_document_reads_as_a_form_with_the_officers_reason() -> None:
    import base64

    from node.cli.views import document_lines

    payload = {"id": "d1", "goods": [{"line": 1, "hs": "0101"}], "exporter": {"name": "A"},
               "paid": True}
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    view = {"id": "d1", "type": "certificate-of-origin", "version": "1.0",
            "issuer": "SG-CUSTOMS", "direction": "inbound", "createdAt": "2026-12-01T00:00:00Z",
            "sha256": "ab", "receivedFrom": "SG-CUSTOMS", "outcome": "rejected",
            "reasons": ["REJECTED_BY_OFFICER"], "checks": {"integrity": "pass"},
            "recognisedAs": None, "decidedBy": "officer:1", "decisionReason": "not presented",
            "signed": {"payload": encoded, "signatures": []}}
    lines = document_lines(view)
    assert lines[0] == "document d1 (certificate-of-origin 1.0)"
    assert "  outcome: rejected REJECTED_BY_OFFICER" in lines
    assert "    integrity    pass" in lines
    assert "  reason: not presented" in lines
    content = lines[lines.index("content:") + 1:]
    assert content == ["  id: d1", "  goods:", "    [1]", "      line: 1", "      hs: 0101",
                       "  exporter:", "    name: A", "  paid: yes"]
