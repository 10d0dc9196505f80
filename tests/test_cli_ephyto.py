"""``doc export --file … --format ephyto-sps`` and ``doc import … --format ephyto-sps``.

Offline: a signed example exports to XML valid against the shipped schema; the XML imports
back to the signed payload and signs again; hostile, malformed or tampered input exits 1
with its reason code and never a traceback; usage mistakes exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from node.cli.main import build_app
from protocol.canonical import b64url_decode, b64url_encode
from protocol.interop.ephyto import XSD_DIRECTORY

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "documents" / "phytosanitary-certificate.json"
SAMPLE = ROOT / "tests" / "data" / "ephyto" / "re-export-certificate.xml"
runner = CliRunner()


def cli(*args: object) -> tuple[int, str]:
    result = runner.invoke(build_app(), [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("authority") / "SG-NPPO"
    code, output = cli("authority", "init", "--id", "SG-NPPO", "--country", "SG",
                       "--name", "SG-NPPO authority", "--dir", directory,
                       "--role", "plant-protection", "--insecure-plaintext-keys")
    assert code == 0, output
    return directory


@pytest.fixture
def signed(authority: Path, tmp_path: Path) -> Path:
    out = tmp_path / "phyto.jws"
    code, output = cli("doc", "sign", "--authority-dir", authority, EXAMPLE, "-o", out)
    assert code == 0, output
    return out


def test_export_import_sign_round_trip(signed: Path, authority: Path, tmp_path: Path) -> None:
    xml = tmp_path / "phyto.xml"
    code, output = cli("doc", "export", "--file", signed, "--format", "ephyto-sps", "-o", xml)
    assert code == 0, output
    schema = etree.XMLSchema(etree.parse(str(XSD_DIRECTORY / "ippc-hub" / "ephyto-hub.xsd")))
    assert schema.validate(etree.parse(str(xml))), schema.error_log
    back = tmp_path / "phyto.json"
    code, output = cli("doc", "import", xml, "--format", "ephyto-sps", "-o", back)
    assert code == 0, output
    payload = json.loads(b64url_decode(json.loads(signed.read_bytes())["payload"]))
    assert json.loads(back.read_text(encoding="utf-8")) == payload
    code, output = cli("doc", "sign", "--authority-dir", authority, back, "-o",
                       tmp_path / "again.jws")
    assert code == 0, output


def test_export_to_standard_output(signed: Path) -> None:
    code, output = cli("doc", "export", "--file", signed, "--format", "ephyto-sps")
    assert code == 0 and "<rsm:SPSCertificate" in output and "SG-PC-2026-118452" in output


def test_import_a_foreign_certificate_to_standard_output() -> None:
    code, output = cli("doc", "import", SAMPLE, "--format", "ephyto-sps", "--issuer", "NL-NVWA")
    document = json.loads(output)
    assert code == 0 and document["issuer"] == "NL-NVWA"
    assert document["body"]["certificateNumber"] == "NL-RE-2026-004417"


@pytest.mark.parametrize(("content", "reason"), [
    pytest.param(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                 b"<r>&x;</r>", "XML_MALFORMED", id="external-entity"),
    pytest.param(b"<rsm:SPSCertificate", "XML_MALFORMED", id="not-well-formed"),
    pytest.param(b"<invoice/>", "EPHYTO_INVALID", id="wrong-root"),
    pytest.param(SAMPLE.read_bytes().replace(b"<ram:ModeCode>4</ram:ModeCode>", b""),
                 "EPHYTO_INVALID", id="schema-invalid"),
])
def test_bad_xml_is_refused_with_its_code(tmp_path: Path, content: bytes, reason: str) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(content)
    code, output = cli("doc", "import", bad, "--format", "ephyto-sps")
    assert code == 1 and reason in output
    assert "Traceback" not in output and "root:" not in output


def test_tampered_signed_file_is_refused(signed: Path, tmp_path: Path) -> None:
    jws = json.loads(signed.read_bytes())
    payload = json.loads(b64url_decode(jws["payload"]))
    payload["body"]["placeOfIssue"] = "Elsewhere"
    jws["payload"] = b64url_encode(json.dumps(payload).encode())
    tampered = tmp_path / "tampered.jws"
    tampered.write_text(json.dumps(jws))
    code, output = cli("doc", "export", "--file", tampered, "--format", "ephyto-sps")
    assert code == 1 and "SIGNATURE_INVALID" in output


def test_another_document_type_is_refused(authority: Path, tmp_path: Path) -> None:
    out, source = tmp_path / "invoice.jws", tmp_path / "invoice.json"
    invoice = json.loads((ROOT / "examples" / "documents" / "commercial-invoice.json").read_text())
    del invoice["issuer"]  # doc sign fills in the signing authority
    source.write_text(json.dumps(invoice))
    assert cli("doc", "sign", "--authority-dir", authority, source, "-o", out)[0] == 0
    code, output = cli("doc", "export", "--file", out, "--format", "ephyto-sps")
    assert code == 1 and "EPHYTO_INVALID" in output


@pytest.mark.parametrize("args", [
    pytest.param(("doc", "export", "--format", "ephyto-sps"), id="export-neither-id-nor-file"),
    pytest.param(("doc", "export", "some-id", "--file", "x.jws", "--format", "ephyto-sps"),
                 id="export-both-id-and-file"),
    pytest.param(("doc", "export", "--file", "x.jws"), id="export-without-format"),
    pytest.param(("doc", "import", SAMPLE, "--format", "pdf"), id="unknown-format"),
    pytest.param(("doc", "import", "/nonexistent/file.xml", "--format", "ephyto-sps"),
                 id="unreadable-file"),
])
def test_usage_mistakes_exit_2(args: tuple[object, ...]) -> None:
    assert cli(*args)[0] == 2


def test_oversized_xml_is_refused_before_reading(tmp_path: Path) -> None:
    from protocol.limits import DEFAULT_LIMITS

    big = tmp_path / "big.xml"
    big.write_bytes(b" " * (DEFAULT_LIMITS.max_xml_bytes + 1))
    code, output = cli("doc", "import", big, "--format", "ephyto-sps")
    assert code == 1 and "XML_MALFORMED" in output
