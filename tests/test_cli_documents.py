"""The documented CLI contract for documents: authority init, doc sign, doc verify.

Every example document is signed by the authority it names as issuer and verified; the
refusals named by the foundation issue (duplicate member, one-byte change, alg none, unknown
root) each exit 1 with their own code; and ``doc verify --registry --as`` runs recognition.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from node.cli.main import build_app
from protocol.canonical import b64url_decode, b64url_encode
from tests.json_strategies import mutations

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples" / "documents").glob("*.json"))
runner = CliRunner()


def cli(*args: object) -> tuple[int, str]:
    result = runner.invoke(build_app(), [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def authorities(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("authorities")
    dirs = {}
    # China's customs (GACC) also issues certificates of origin and plant health certificates.
    for authority_id, country, roles in (("SG-CUSTOMS", "SG", ("customs",)),
                                         ("SG-CHAMBER", "SG", ("origin",)),
                                         ("SG-NPPO", "SG", ("plant-protection",)),
                                         ("CN-CUSTOMS", "CN", ("customs", "origin",
                                                               "plant-protection")),
                                         ("JP-CUSTOMS", "JP", ("customs",))):
        directory = base / authority_id
        role_options = [part for role in roles for part in ("--role", role)]
        code, output = cli("authority", "init", "--id", authority_id, "--country", country,
                           "--name", f"{authority_id} authority", *role_options,
                           "--dir", directory, "--insecure-plaintext-keys")
        assert code == 0, output
        dirs[authority_id] = directory
    return dirs


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_signs_and_verifies(example: Path, authorities: dict[str, Path],
                                          tmp_path: Path) -> None:
    issuer = authorities[json.loads(example.read_text())["issuer"]]
    signed = tmp_path / "signed.json"
    code, output = cli("doc", "sign", "--authority-dir", issuer, example, "-o", signed)
    assert code == 0, output
    code, output = cli("doc", "verify", signed, "--anchor", issuer / "root.pem", "--json",
                       "--profile", "strict")
    report = json.loads(output)
    assert code == 0 and report["valid"] is True
    assert report["profile"] == "strict"
    assert report["checks"] == {"json": "VALID", "integrity": "VALID", "chain": "VALID",
                                "schema": "VALID", "codes": "VALID", "arithmetic": "VALID"}


@pytest.fixture
def signed(authorities: dict[str, Path], tmp_path: Path) -> Path:
    out = tmp_path / "coo.json"
    code, output = cli("doc", "sign", "--authority-dir", authorities["SG-CHAMBER"],
                       EXAMPLES[[p.stem for p in EXAMPLES].index("certificate-of-origin")],
                       "-o", out)
    assert code == 0, output
    return out


def _verify(path: Path, anchor: Path) -> tuple[int, dict[str, object]]:
    code, output = cli("doc", "verify", path, "--anchor", anchor, "--json")
    return code, json.loads(output)


def test_rejects_duplicate_member(signed: Path, authorities: dict[str, Path],
                                  tmp_path: Path) -> None:
    text = signed.read_text().strip()
    bad = tmp_path / "dup.json"
    bad.write_text(text[:-1] + ',"payload":"e30"}')
    code, report = _verify(bad, authorities["SG-CHAMBER"] / "root.pem")
    assert code == 1 and report["reasons"] == ["JSON_DUPLICATE_MEMBER"]


def test_rejects_one_byte_change(signed: Path, authorities: dict[str, Path],
                                 tmp_path: Path) -> None:
    jws = json.loads(signed.read_text())
    payload = bytearray(b64url_decode(jws["payload"]))
    payload[payload.index(b"RCEP")] = ord("X")  # one byte inside the signed document
    jws["payload"] = b64url_encode(bytes(payload))
    bad = tmp_path / "changed.json"
    bad.write_text(json.dumps(jws))
    code, report = _verify(bad, authorities["SG-CHAMBER"] / "root.pem")
    assert code == 1 and report["reasons"] == ["SIGNATURE_INVALID"]
    assert report["checks"]["integrity"] == "INVALID"


def test_rejects_alg_none(signed: Path, authorities: dict[str, Path], tmp_path: Path) -> None:
    jws = json.loads(signed.read_text())
    header = json.loads(b64url_decode(jws["signatures"][0]["protected"]))
    header["alg"] = "none"
    jws["signatures"][0] = {"protected": b64url_encode(json.dumps(header).encode()),
                            "signature": b64url_encode(b"\x00")}
    bad = tmp_path / "none.json"
    bad.write_text(json.dumps(jws))
    code, report = _verify(bad, authorities["SG-CHAMBER"] / "root.pem")
    assert code == 1 and report["reasons"] == ["ALG_NOT_ALLOWED"]


def test_rejects_chain_from_unknown_root(signed: Path, authorities: dict[str, Path]) -> None:
    code, report = _verify(signed, authorities["JP-CUSTOMS"] / "root.pem")
    assert code == 1 and report["reasons"] == ["CHAIN_UNTRUSTED"]
    assert report["checks"]["integrity"] == "VALID" and report["checks"]["chain"] == "INVALID"


def test_usage_and_unreadable_input_exit_2(authorities: dict[str, Path], tmp_path: Path) -> None:
    assert cli("doc", "verify", tmp_path / "missing.json", "--anchor",
               authorities["SG-CUSTOMS"] / "root.pem")[0] == 2
    assert cli("doc", "verify", tmp_path / "missing.json")[0] == 2  # no anchor, no registry
    assert cli("doc", "sign", "--authority-dir", authorities["SG-CUSTOMS"],
               tmp_path / "missing.json", "-o", tmp_path / "x.json")[0] == 2


def test_sign_refuses_another_issuer_and_schema_violations(authorities: dict[str, Path],
                                                           tmp_path: Path) -> None:
    document = json.loads(EXAMPLES[0].read_text())
    document["issuer"] = "CN-CUSTOMS"
    source = tmp_path / "other.json"
    source.write_text(json.dumps(document))
    code, output = cli("doc", "sign", "--authority-dir", authorities["SG-CUSTOMS"], source,
                       "-o", tmp_path / "x.json")
    assert code == 1 and "ISSUER_MISMATCH" in output
    document["issuer"] = "SG-CUSTOMS"
    document["body"]["unexpected"] = True
    source.write_text(json.dumps(document))
    code, output = cli("doc", "sign", "--authority-dir", authorities["SG-CUSTOMS"], source,
                       "-o", tmp_path / "x.json")
    assert code == 1 and "SCHEMA_INVALID" in output and not (tmp_path / "x.json").exists()


def test_verify_with_registry_runs_recognition(authorities: dict[str, Path],
                                               tmp_path: Path) -> None:
    sg, cn = authorities["SG-CUSTOMS"], authorities["CN-CUSTOMS"]
    reg = tmp_path / "sg-registry.json"
    assert cli("registry", "init", "--authority-dir", sg, "-o", reg)[0] == 0
    assert cli("registry", "add-authority", reg, "--id", "CN-CUSTOMS", "--country", "CN",
               "--anchor", cn / "root.pem", "--node-cert", cn / "node.pem",
               "--role", "customs", "--role", "origin", "--role", "plant-protection")[0] == 0
    proposal, agreement = tmp_path / "proposal.json", tmp_path / "agreement.json"
    assert cli("agreement", "propose", "--authority-dir", cn, "--partner", "SG-CUSTOMS",
               "--doc-type", "certificate-of-origin", "--agreement-id", "CN-SG-COO",
               "-o", proposal)[0] == 0
    code, output = cli("registry", "add-agreement", reg, proposal)
    assert code == 1 and "AGREEMENT_SIGNATURE_MISSING" in output
    assert cli("agreement", "countersign", "--authority-dir", sg, proposal,
               "-o", agreement)[0] == 0
    assert cli("registry", "add-agreement", reg, agreement)[0] == 0
    outputs = {}
    for doc_type in ("certificate-of-origin", "phytosanitary-certificate"):
        document = json.loads(EXAMPLES[[p.stem for p in EXAMPLES].index(doc_type)].read_text())
        del document["issuer"]  # doc sign fills in the signing authority
        source, out = tmp_path / f"{doc_type}.json", tmp_path / f"{doc_type}.jws"
        source.write_text(json.dumps(document))
        assert cli("doc", "sign", "--authority-dir", cn, source, "-o", out)[0] == 0
        outputs[doc_type] = out
    code, output = cli("doc", "verify", outputs["certificate-of-origin"], "--registry", reg,
                       "--as", "SG-CUSTOMS", "--json")
    report = json.loads(output)
    assert code == 0 and report["valid"] is True
    recognition = report["recognition"]
    assert (recognition["agreementId"], recognition["recognisedAs"]) == (
        "CN-SG-COO", "certificate-of-origin")
    assert recognition["registryVersion"] == json.loads(reg.read_text())["version"]
    code, output = cli("doc", "verify", outputs["phytosanitary-certificate"], "--registry", reg,
                       "--as", "SG-CUSTOMS", "--json")
    report = json.loads(output)
    assert code == 1 and report["recognition"]["reasons"] == ["DOC_TYPE_NOT_COVERED"]
    # Point in time: before the agreement existed, nothing was recognised.
    code, output = cli("doc", "verify", outputs["certificate-of-origin"], "--registry", reg,
                       "--as", "SG-CUSTOMS", "--at", "2020-01-01T00:00:00Z", "--json")
    assert code == 1
    assert cli("doc", "verify", outputs["certificate-of-origin"], "--registry", reg)[0] == 2




# -- any input: exit 1 with a reason code, never a traceback --------------------------------


def _verify_bytes(data: bytes, anchor: Path, directory: Path) -> tuple[int, dict[str, object]]:
    source = directory / "input.json"
    source.write_bytes(data)
    result = runner.invoke(build_app(), ["doc", "verify", str(source), "--anchor", str(anchor),
                                         "--json"])
    # CliRunner turns an uncaught exception into exit code 1: it must not be one.
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result.exit_code, json.loads(result.output)


def test_doc_verify_x5c_with_non_ascii_character_exits_1_with_reason_code(
        signed: Path, authorities: dict[str, Path], tmp_path: Path) -> None:
    jws = json.loads(signed.read_text())
    header = json.loads(b64url_decode(jws["signatures"][0]["protected"]))
    header["x5c"][0] = header["x5c"][0][:10] + "é" + header["x5c"][0][11:]
    jws["signatures"][0]["protected"] = b64url_encode(json.dumps(header).encode())
    code, report = _verify_bytes(json.dumps(jws).encode(),
                                 authorities["SG-CHAMBER"] / "root.pem", tmp_path)
    assert code == 1 and report["reasons"] == ["CERT_MALFORMED"]


@pytest.fixture(scope="module")
def signed_once(authorities: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
                ) -> dict[str, object]:
    out = tmp_path_factory.mktemp("signed") / "coo.json"
    code, output = cli("doc", "sign", "--authority-dir", authorities["SG-CHAMBER"],
                       EXAMPLES[[p.stem for p in EXAMPLES].index("certificate-of-origin")],
                       "-o", out)
    assert code == 0, output
    return json.loads(out.read_text())  # type: ignore[no-any-return]


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_doc_verify_exits_with_a_reason_code_never_a_traceback(
        signed_once: dict[str, object], authorities: dict[str, Path],
        tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    value = data.draw(mutations(signed_once) | st.binary(max_size=64).map(_raw))
    raw = value.data if isinstance(value, _raw) else json.dumps(value).encode()
    code, report = _verify_bytes(raw, authorities["SG-CHAMBER"] / "root.pem",
                                 tmp_path_factory.mktemp("fuzz"))
    assert (code, report["valid"]) in ((0, True), (1, False))
    assert code == 0 or report["reasons"]


class _raw:
    """Bytes to write as they are (not as JSON)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
