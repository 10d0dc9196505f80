"""``tradeaccord registry …`` and ``tradeaccord agreement …`` through the mounted CLI app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from node.authority import AuthorityDirectory
from node.cli.main import build_app
from protocol.canonical import canonicalize
from protocol.jws import JWSType, check_integrity, sign
from protocol.timeutil import utc_now
from trust_registry import AgreementStatus, TrustRegistry, recognise


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    return build_app()


@pytest.fixture(autouse=True)
def _no_passphrase(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TRADEACCORD_PASSPHRASE", raising=False)
    yield


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("authorities")
    now = utc_now()
    for authority_id, name in (("SG-CUSTOMS", "Singapore Customs"), ("CN-CUSTOMS", "GACC"),
                               ("JP-CUSTOMS", "Japan Customs")):
        AuthorityDirectory.create(base / authority_id, authority_id=authority_id,
                                  country=authority_id[:2], name=name, passphrase=None, at=now)
    return {a: base / a for a in ("SG-CUSTOMS", "CN-CUSTOMS", "JP-CUSTOMS")}


def run(app: typer.Typer, *args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(app: typer.Typer, *args: str | Path) -> Result:
    result = run(app, *args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def two_countries(app: typer.Typer, dirs: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    """SG's registry holding CN, and the SG–CN agreement countersigned and registered."""
    sg, cn = dirs["SG-CUSTOMS"], dirs["CN-CUSTOMS"]
    reg = tmp_path / "sg-reg.json"
    ok(app, "registry", "init", "--authority-dir", sg, "-o", reg,
       "--endpoint", "https://sg.example:8700")
    ok(app, "registry", "add-authority", reg, "--id", "CN-CUSTOMS", "--country", "CN",
       "--anchor", cn / "root.pem", "--node-cert", cn / "node.pem",
       "--endpoint", "https://cn.example:8700", "--role", "customs", "--role", "origin")
    proposal, agreement = tmp_path / "proposal.json", tmp_path / "agreement.json"
    ok(app, "agreement", "propose", "--authority-dir", sg, "--partner", "CN-CUSTOMS",
       "--doc-type", "certificate-of-origin", "--doc-type", "phytosanitary-certificate",
       "--agreement-id", "SG-CN-MRA-1", "--valid-from", "2020-01-01T00:00:00Z", "-o", proposal)
    ok(app, "agreement", "countersign", "--authority-dir", cn, proposal, "-o", agreement)
    ok(app, "registry", "add-agreement", reg, agreement)
    return {"reg": reg, "proposal": proposal, "agreement": agreement}


def test_two_country_flow_recognises_a_partner_document(app: typer.Typer, dirs: dict[str, Path],
                                                         two_countries: dict[str, Path]) -> None:
    registry = TrustRegistry.from_dict(json.loads(two_countries["reg"].read_text()))
    assert registry.version == 3
    record = registry.agreement("SG-CN-MRA-1")
    assert record.signed.signed_by == {"SG-CUSTOMS", "CN-CUSTOMS"}
    # A CN document, signed with CN's document signer, is recognised by SG's registry.
    signer = AuthorityDirectory.open(dirs["CN-CUSTOMS"]).document_signer(None)
    at = utc_now()
    header = {"id": "coo-1", "type": "certificate-of-origin", "version": "1.0",
              "issuer": "CN-CUSTOMS", "issuedAt": "2026-01-01T00:00:00Z"}
    jws = sign(canonicalize(header), signer, typ=JWSType.DOCUMENT, signed_at=at)
    acceptance = recognise(registry, receiver="SG-CUSTOMS", document=header,
                           evidence=check_integrity(jws, 0, typ=JWSType.DOCUMENT), at=at)
    assert acceptance.agreement_id == "SG-CN-MRA-1"


def test_add_agreement_refuses_a_proposal_and_leaves_the_registry_unchanged(
        app: typer.Typer, dirs: dict[str, Path], tmp_path: Path) -> None:
    sg = dirs["SG-CUSTOMS"]
    reg, proposal = tmp_path / "reg.json", tmp_path / "proposal.json"
    ok(app, "registry", "init", "--authority-dir", sg, "-o", reg)
    ok(app, "registry", "add-authority", reg, "--id", "CN-CUSTOMS", "--country", "CN",
       "--anchor", dirs["CN-CUSTOMS"] / "root.pem")
    ok(app, "agreement", "propose", "--authority-dir", sg, "--partner", "CN-CUSTOMS",
       "--doc-type", "certificate-of-origin", "-o", proposal)
    before = reg.read_bytes()
    result = run(app, "registry", "add-agreement", reg, proposal)
    assert result.exit_code == 1
    assert "AGREEMENT_SIGNATURE_MISSING" in result.stderr
    assert reg.read_bytes() == before


def test_agreement_show_reports_signatures(app: typer.Typer, two_countries: dict[str, Path],
                                           tmp_path: Path) -> None:
    result = ok(app, "agreement", "show", two_countries["proposal"], "--json")
    summary = json.loads(result.stdout)
    assert summary["missing"] == ["CN-CUSTOMS"]
    assert [s["party"] for s in summary["signatures"]] == ["SG-CUSTOMS"]
    result = ok(app, "agreement", "show", two_countries["agreement"], "--registry",
                two_countries["reg"])
    assert "both roots signed" in result.stdout
    # A tampered signature is reported invalid, exit 1.
    data = json.loads(two_countries["agreement"].read_text())
    data["signatures"][1]["signature"] = data["signatures"][0]["signature"]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    result = run(app, "agreement", "show", tampered, "--json")
    assert result.exit_code == 1
    rows = json.loads(result.stdout)["signatures"]
    assert [row["valid"] for row in rows] == [True, False]
    assert rows[1]["reason"] == "SIGNATURE_INVALID"


def test_registry_show_prints_tables(app: typer.Typer, two_countries: dict[str, Path]) -> None:
    result = ok(app, "registry", "show", two_countries["reg"])
    for text in ("SG-CUSTOMS (owner)", "CN-CUSTOMS", "SG-CN-MRA-1", "in-force", "Authorities",
                 "Agreements"):
        assert text in result.stdout
    assert json.loads(ok(app, "registry", "show", two_countries["reg"], "--json").stdout)[
        "version"] == 3


def test_export_import_refuses_rollback_and_leaves_the_registry_unchanged(
        app: typer.Typer, dirs: dict[str, Path], two_countries: dict[str, Path],
        tmp_path: Path) -> None:
    reg, snapshot = two_countries["reg"], tmp_path / "snapshot.json"
    ok(app, "registry", "export", reg, "--authority-dir", dirs["SG-CUSTOMS"], "--expires-in", "7",
       "-o", snapshot)
    older = tmp_path / "older.json"
    older.write_bytes(reg.read_bytes())
    ok(app, "registry", "revoke", reg, "--authority", "CN-CUSTOMS",
       "--cert", dirs["CN-CUSTOMS"] / "signer.pem", "--effective", "2030-01-01T00:00:00Z",
       "--reason", "keyCompromise")
    before = reg.read_bytes()
    result = run(app, "registry", "import", reg, snapshot)
    assert result.exit_code == 1
    assert "REGISTRY_ROLLBACK" in result.stderr
    assert reg.read_bytes() == before
    # The older copy imports the snapshot of the same version: nothing to do.
    assert "already at version 3" in ok(app, "registry", "import", older, snapshot).stdout
    # And a newer snapshot is imported.
    newer_snapshot = tmp_path / "newer.json"
    ok(app, "registry", "export", reg, "--authority-dir", dirs["SG-CUSTOMS"], "-o", newer_snapshot)
    ok(app, "registry", "import", older, newer_snapshot)
    assert json.loads(older.read_text())["version"] == 4


def test_export_by_another_authority_is_refused(app: typer.Typer, dirs: dict[str, Path],
                                                two_countries: dict[str, Path],
                                                tmp_path: Path) -> None:
    result = run(app, "registry", "export", two_countries["reg"], "--authority-dir",
                 dirs["CN-CUSTOMS"], "-o", tmp_path / "s.json")
    assert result.exit_code == 1
    assert "REGISTRY_SIGNER_UNTRUSTED" in result.stderr
    assert not (tmp_path / "s.json").exists()


def test_import_of_a_snapshot_signed_by_another_authority_is_refused(
        app: typer.Typer, dirs: dict[str, Path], two_countries: dict[str, Path],
        tmp_path: Path) -> None:
    cn_reg, snapshot = tmp_path / "cn-reg.json", tmp_path / "cn-snapshot.json"
    ok(app, "registry", "init", "--authority-dir", dirs["CN-CUSTOMS"], "-o", cn_reg)
    for _ in range(5):  # a high version, to pass for "newer"
        ok(app, "registry", "revoke", cn_reg, "--authority", "CN-CUSTOMS",
           "--cert", dirs["CN-CUSTOMS"] / "signer.pem", "--effective",
           f"2030-01-0{_ + 1}T00:00:00Z")
    ok(app, "registry", "export", cn_reg, "--authority-dir", dirs["CN-CUSTOMS"], "-o", snapshot)
    before = two_countries["reg"].read_bytes()
    result = run(app, "registry", "import", two_countries["reg"], snapshot)
    assert result.exit_code == 1
    assert "REGISTRY_SIGNER_UNTRUSTED" in result.stderr
    assert two_countries["reg"].read_bytes() == before


def test_suspend_and_send_the_statement_to_the_partner(app: typer.Typer, dirs: dict[str, Path],
                                                       two_countries: dict[str, Path],
                                                       tmp_path: Path) -> None:
    sg, cn = dirs["SG-CUSTOMS"], dirs["CN-CUSTOMS"]
    cn_reg, statement = tmp_path / "cn-reg.json", tmp_path / "suspension.json"
    ok(app, "registry", "init", "--authority-dir", cn, "-o", cn_reg)
    ok(app, "registry", "add-authority", cn_reg, "--id", "SG-CUSTOMS", "--country", "SG",
       "--anchor", sg / "root.pem")
    ok(app, "registry", "add-agreement", cn_reg, two_countries["agreement"])
    ok(app, "agreement", "suspend", "--authority-dir", sg, two_countries["reg"],
       "--agreement-id", "SG-CN-MRA-1", "--reason", "audit", "-o", statement)
    ok(app, "registry", "add-status", cn_reg, statement)
    for path in (two_countries["reg"], cn_reg):
        record = TrustRegistry.from_dict(json.loads(path.read_text())).agreement("SG-CN-MRA-1")
        assert record.status_at(utc_now()) is AgreementStatus.SUSPENDED
    # CN may not resume what SG suspended.
    result = run(app, "agreement", "resume", "--authority-dir", cn, cn_reg,
                 "--agreement-id", "SG-CN-MRA-1", "--effective", "2099-01-01T00:00:00Z")
    assert result.exit_code == 1
    assert "STATE_INVALID" in result.stderr
    ok(app, "agreement", "resume", "--authority-dir", sg, two_countries["reg"],
       "--agreement-id", "SG-CN-MRA-1", "--effective", "2099-01-01T00:00:00Z")


def test_usage_errors_and_unreadable_input_exit_2(app: typer.Typer, dirs: dict[str, Path],
                                                  two_countries: dict[str, Path],
                                                  tmp_path: Path) -> None:
    reg = two_countries["reg"]
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    cases = [
        ("registry", "show", tmp_path / "missing.json"),
        ("registry", "import", reg, garbage),
        ("registry", "add-authority", reg, "--id", "JP-CUSTOMS", "--country", "JP",
         "--anchor", not_pem),
        ("registry", "revoke", reg, "--authority", "CN-CUSTOMS", "--cert",
         dirs["CN-CUSTOMS"] / "signer.pem", "--effective", "yesterday"),
        ("registry", "add-agreement", reg),  # missing argument
        ("agreement", "propose", "--authority-dir", dirs["SG-CUSTOMS"], "--partner", "CN-CUSTOMS",
         "--doc-type", "a", "--doc-type", "b", "--recognised-as", "x", "--recognised-as", "y",
         "--recognised-as", "z", "-o", tmp_path / "p.json"),
        ("registry", "init", "--authority-dir", dirs["SG-CUSTOMS"], "-o", reg),  # exists
    ]
    before = reg.read_bytes()
    for args in cases:
        assert run(app, *args).exit_code == 2, args
    assert reg.read_bytes() == before


def test_refusals_exit_1_with_the_reason_code(app: typer.Typer, dirs: dict[str, Path],
                                              two_countries: dict[str, Path]) -> None:
    reg = two_countries["reg"]
    cases = [
        (("registry", "add-authority", reg, "--id", "CN-CUSTOMS", "--country", "CN",
          "--anchor", dirs["JP-CUSTOMS"] / "root.pem"), "REGISTRY_INVALID"),
        (("registry", "revoke", reg, "--authority", "KR-CUSTOMS", "--cert",
          dirs["CN-CUSTOMS"] / "signer.pem", "--effective", "2030-01-01T00:00:00Z"),
         "ISSUER_UNKNOWN"),
        (("agreement", "terminate", "--authority-dir", dirs["SG-CUSTOMS"], reg,
          "--agreement-id", "NOPE"), "NO_AGREEMENT"),
        (("agreement", "suspend", "--authority-dir", dirs["SG-CUSTOMS"], reg,
          "--agreement-id", "SG-CN-MRA-1", "--effective", "2020-01-01T00:00:00Z"),
         "AGREEMENT_INVALID"),  # retroactive
    ]
    before = reg.read_bytes()
    for args, code in cases:
        result = run(app, *args)
        assert result.exit_code == 1, (args, result.output)
        assert code in result.stderr, (args, result.stderr)
    assert reg.read_bytes() == before
