"""Evidence bundles: exported by a node, re-checked offline, refused when one byte changes.

SG-CUSTOMS issues a certificate of origin that CN-CUSTOMS recognises, then revokes it with
effect a day later; CN-CUSTOMS exports the evidence of its decision.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evidence import EvidenceError, verify_bundle
from node.cli.main import build_app
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time, utc_now
from tests.node.conftest import certificate_of_origin
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401 (fixture)
from tests.node.inprocess import InProcessNetwork

SG, CN = "SG-CUSTOMS", "CN-CUSTOMS"
LATER = dt.timedelta(days=1)


def _json(body: Any) -> dict[str, Any]:
    return {"content": json.dumps(body).encode(), "headers": {"content-type": "application/json"}}


@pytest.fixture
def exported(tmp_path: Path, database_factory: DatabaseFactory  # noqa: F811 (fixture)
             ) -> Iterator[tuple[InProcessNetwork, str, bytes, dt.datetime]]:
    net = InProcessNetwork(tmp_path / "net", database_factory)
    try:
        issued = net.request(SG, "POST", "/v1/documents", caller="officer",
                             **_json({"document": certificate_of_origin(), "sendTo": [CN]}))
        document_id = issued.json()["id"]
        net.deliver(SG)
        effective = (utc_now() + LATER).replace(microsecond=0)
        revoked = net.request(SG, "POST", f"/v1/documents/{document_id}/revoke",
                              caller="officer",
                              **_json({"reason": "issued in error",
                                       "effectiveAt": format_time(effective)}))
        assert revoked.status_code == 201, revoked.text
        net.deliver(SG)
        response = net.request(CN, "GET", f"/v1/evidence/documents/{document_id}",
                               caller="officer")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/zip"
        yield net, document_id, response.content, effective
    finally:
        net.close()


def _rewrite(bundle: bytes, change: Any) -> bytes:
    """The bundle with ``change(files)`` applied, as a well-formed ZIP (valid CRCs)."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        files = {info.filename: archive.read(info) for info in archive.infolist()}
    change(files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_bundle_verifies_offline_and_says_what_it_proves(
        exported: tuple[InProcessNetwork, str, bytes, dt.datetime]) -> None:
    _net, document_id, bundle, effective = exported
    report = verify_bundle(bundle, at=utc_now())
    assert report.producer == CN and report.subject == {"kind": "document", "id": document_id}
    [document] = report.documents
    assert document["id"] == document_id and document["status"] == "revoked"
    assert document["inEffectAt"] is True  # before the effective time: still holding
    text = "\n".join(report.proves)
    assert "received message" in text and "accepted under SG-CN-COO-2026" in text
    assert "audit entries" in text and "still holding" in text
    later = verify_bundle(bundle, at=effective + dt.timedelta(seconds=1))
    assert later.documents[0]["inEffectAt"] is False
    assert "no longer holds" in "\n".join(later.proves)


def _names(bundle: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return archive.namelist()


def test_one_byte_changed_is_refused_naming_the_file(
        exported: tuple[InProcessNetwork, str, bytes, dt.datetime]) -> None:
    _net, _id, bundle, _effective = exported
    [document] = [n for n in _names(bundle) if n.startswith("documents/")]

    def flip(files: dict[str, bytes]) -> None:
        content = bytearray(files[document])
        content[len(content) // 2] ^= 0x01
        files[document] = bytes(content)

    with pytest.raises(EvidenceError) as refused:
        verify_bundle(_rewrite(bundle, flip), at=utc_now())
    assert (refused.value.code, refused.value.path) == (ReasonCode.EVIDENCE_TAMPERED, document)
    # The same byte changed in place in the archive: its CRC no longer matches.
    raw = bytearray(bundle)
    marker = raw.find(b'"payload"', raw.find(document.encode()))
    raw[marker + 15] ^= 0x01
    with pytest.raises(EvidenceError) as refused:
        verify_bundle(bytes(raw), at=utc_now())
    assert refused.value.code is ReasonCode.EVIDENCE_TAMPERED and refused.value.path


@pytest.mark.parametrize("case", ["manifest", "added", "removed", "audit", "not-a-zip"])
def test_bundle_changes_are_refused(exported: tuple[InProcessNetwork, str, bytes, dt.datetime],
                                    case: str) -> None:
    _net, _id, bundle, _effective = exported

    def change(files: dict[str, bytes]) -> None:
        if case == "manifest":
            signed = json.loads(files["manifest.jws"])
            signed["signatures"][0]["signature"] = "A" + signed["signatures"][0]["signature"][1:]
            files["manifest.jws"] = json.dumps(signed).encode()
        elif case == "added":
            files["documents/extra.jws"] = b"{}"
        elif case == "removed":
            del files["decisions.json"]
        elif case == "audit":
            files["audit.json"] = files["audit.json"].replace(b'"actor"', b'"actor" ', 1)

    data = b"PK not a zip" if case == "not-a-zip" else _rewrite(bundle, change)
    expected = {"manifest": (ReasonCode.EVIDENCE_INVALID, "manifest.jws"),
                "added": (ReasonCode.EVIDENCE_TAMPERED, "documents/extra.jws"),
                "removed": (ReasonCode.EVIDENCE_TAMPERED, "decisions.json"),
                "audit": (ReasonCode.EVIDENCE_TAMPERED, "audit.json"),
                "not-a-zip": (ReasonCode.EVIDENCE_INVALID, "")}[case]
    with pytest.raises(EvidenceError) as refused:
        verify_bundle(data, at=utc_now())
    assert (refused.value.code, refused.value.path) == expected


def test_export_refusals(exported: tuple[InProcessNetwork, str, bytes, dt.datetime]) -> None:
    net, document_id, _bundle, _effective = exported
    for caller, path, status, code in (
            ("trader", f"/v1/evidence/documents/{document_id}", 403, "FORBIDDEN"),
            ("operator", f"/v1/evidence/documents/{document_id}", 403, "FORBIDDEN"),
            ("officer", "/v1/evidence/documents/no-such-doc", 404, "NOT_FOUND"),
            ("officer", "/v1/evidence/declarations/no-such-declaration", 404, "NOT_FOUND")):
        response = net.request(CN, "GET", path, caller=caller)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)


def test_cli_verify(exported: tuple[InProcessNetwork, str, bytes, dt.datetime],
                   tmp_path: Path) -> None:
    _net, _id, bundle, _effective = exported
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    good.write_bytes(bundle)
    bad.write_bytes(_rewrite(bundle, lambda files: files.__setitem__(
        "decisions.json", files["decisions.json"] + b" ")))
    runner = CliRunner()
    ok = runner.invoke(build_app(), ["evidence", "verify", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "VALID" in ok.output and "It proves:" in ok.output
    refused = runner.invoke(build_app(), ["evidence", "verify", str(bad)])
    assert refused.exit_code == 1
    assert "EVIDENCE_TAMPERED" in refused.output and "decisions.json" in refused.output
