"""Signed documents: ``verify_document`` reports named checks (json, integrity, chain, schema)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from protocol.canonical import b64url_encode, canonicalize, sha256_hex
from protocol.documents import DocumentSchemas
from protocol.jws import GeneralJWS, JWSType, add_signature, sign
from protocol.reason_codes import ReasonCode
from protocol.signed_document import (
    CHECK_NAMES,
    CheckStatus,
    DocumentVerification,
    document_sha256,
    sign_document,
    verify_document,
)
from protocol.timeutil import format_time

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "documents" / "certificate-of-origin.json"

VALID, INVALID, SKIPPED = CheckStatus.VALID, CheckStatus.INVALID, CheckStatus.SKIPPED


@pytest.fixture(scope="module")
def schemas() -> DocumentSchemas:
    return DocumentSchemas.load()


@pytest.fixture(scope="module")
def document(schemas) -> dict[str, Any]:
    """A schema-valid certificate of origin (the shipped example), issued here by SG-CUSTOMS,
    the authority these tests sign with (the example names SG-CHAMBER)."""
    assert EXAMPLE.is_file(), f"the shipped example document {EXAMPLE} is missing"
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["issuer"] = "SG-CUSTOMS"
    schemas.validate(document)
    return document


def _checks(result: DocumentVerification) -> tuple[CheckStatus, ...]:
    """The four checks of the container and the schema (the content checks of the
    validation profile are tested in test_content_checks.py)."""
    return tuple(result.checks[name] for name in CHECK_NAMES[:4])


def _verify(data: Any, anchors: list[Any], at: dt.datetime, schemas: DocumentSchemas,
            ) -> DocumentVerification:
    return verify_document(data, anchors=anchors, at=at, schemas=schemas)


def test_valid_document(authority, document, schemas, at) -> None:
    jws = sign_document(document, authority.document_signer, signed_at=at)
    for data in (jws, jws.to_json(), jws.to_dict()):
        result = _verify(data, [authority.root], at, schemas)
        assert _checks(result) == (VALID, VALID, VALID, VALID)
        assert result.valid and result.reasons == []
        assert result.document == document
        assert [chain.anchor for chain in result.chains] == [authority.root]
    summary = result.summary()
    assert summary["valid"] is True
    assert summary["checks"] == {**dict.fromkeys(CHECK_NAMES, "VALID"), "arithmetic": "DISABLED"}
    assert summary["profile"] == "standard"
    assert summary["document"] == {"id": document["id"], "type": "certificate-of-origin",
                                   "issuer": "SG-CUSTOMS", "sha256": document_sha256(jws)}
    assert summary["signatures"] == [{
        "kid": authority.document_signer.kid, "alg": authority.document_signer.alg,
        "signedAt": format_time(at), "subject": authority.signer_cert.subject.rfc4514_string()}]


def test_signed_bytes_are_the_canonical_form(sg, document, at) -> None:
    jws = sign_document(document, sg.document_signer, signed_at=at)
    assert jws.payload == canonicalize(document)
    assert document_sha256(jws) == sha256_hex(canonicalize(document))


def test_payload_one_byte_change(sg, document, schemas, at) -> None:
    jws = sign_document(document, sg.document_signer, signed_at=at)
    payload = jws.payload.replace(b"Orchid", b"Orchis", 1)
    assert len(payload) == len(jws.payload) and payload != jws.payload
    tampered = GeneralJWS(b64url_encode(payload), jws.signatures)
    result = _verify(tampered.to_json(), [sg.root], at, schemas)
    assert _checks(result) == (VALID, INVALID, SKIPPED, VALID)
    assert result.reasons == [ReasonCode.SIGNATURE_INVALID]
    assert not result.valid


def test_unknown_root(sg, stranger, document, schemas, at) -> None:
    jws = sign_document(document, sg.document_signer, signed_at=at)
    result = _verify(jws.to_json(), [stranger.root], at, schemas)
    assert _checks(result) == (VALID, VALID, INVALID, VALID)
    assert result.reasons == [ReasonCode.CHAIN_UNTRUSTED]


def test_duplicate_member_in_the_container(sg, document, schemas, at) -> None:
    jws = sign_document(document, sg.document_signer, signed_at=at)
    text = jws.to_json()
    duplicated = text[:-1] + b',"payload":' + json.dumps(jws.payload_b64).encode() + b"}"
    result = _verify(duplicated, [sg.root], at, schemas)
    assert _checks(result) == (INVALID, SKIPPED, SKIPPED, SKIPPED)
    assert result.reasons == [ReasonCode.JSON_DUPLICATE_MEMBER]
    assert result.jws is None and result.summary()["document"]["sha256"] is None


def test_duplicate_member_in_the_payload(sg, schemas, at) -> None:
    jws = sign(b'{"id":"a","id":"b"}', sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at)
    result = _verify(jws, [sg.root], at, schemas)
    # The signature holds over the bytes as received; the payload itself is refused.
    assert _checks(result) == (VALID, VALID, VALID, INVALID)
    assert result.reasons == [ReasonCode.JSON_DUPLICATE_MEMBER]


def test_tampered_payload_reports_the_signature_first(sg, document, schemas, at) -> None:
    jws = sign_document(document, sg.document_signer, signed_at=at)
    text = jws.to_json().replace(b'"payload":"e', b'"payload":"f', 1)
    result = _verify(text, [sg.root], at, schemas)
    assert result.checks["integrity"] is INVALID and result.checks["chain"] is SKIPPED
    assert result.reasons[0] is ReasonCode.SIGNATURE_INVALID


@pytest.mark.parametrize("data", [b"", b"\xff", b"[]", b'{"payload":"e30"}', b"{" * 10_000])
def test_junk_is_reported_not_raised(sg, schemas, at, data: bytes) -> None:
    result = _verify(data, [sg.root], at, schemas)
    assert result.checks["json"] is INVALID and not result.valid
    assert len(result.reasons) == 1


def test_schema_violation(sg, document, schemas, at) -> None:
    broken = copy.deepcopy(document)
    del broken["issuer"]
    result = _verify(sign_document(broken, sg.document_signer, signed_at=at), [sg.root], at,
                     schemas)
    assert _checks(result) == (VALID, VALID, VALID, INVALID)
    assert result.reasons == [ReasonCode.SCHEMA_INVALID]


def test_several_failures_are_all_reported(sg, stranger, document, schemas, at) -> None:
    broken = {**document, "type": "no-such-type"}
    result = _verify(sign_document(broken, sg.document_signer, signed_at=at), [stranger.root],
                     at, schemas)
    assert _checks(result) == (VALID, VALID, INVALID, INVALID)
    assert result.reasons == [ReasonCode.CHAIN_UNTRUSTED, ReasonCode.DOC_TYPE_UNKNOWN]


def test_endorsed_document(sg, sg_p256, document, schemas, at) -> None:
    jws = add_signature(sign_document(document, sg.document_signer, signed_at=at),
                        sg_p256.document_signer, typ=JWSType.DOCUMENT, signed_at=at)
    result = _verify(jws.to_json(), [sg.root, sg_p256.root], at, schemas)
    assert result.valid
    assert [chain.anchor for chain in result.chains] == [sg.root, sg_p256.root]


def test_node_key_cannot_sign_documents(sg, document, schemas, at) -> None:
    result = _verify(sign_document(document, sg.node_signer, signed_at=at), [sg.root], at, schemas)
    assert _checks(result) == (VALID, VALID, INVALID, VALID)
    assert result.reasons == [ReasonCode.CERT_USAGE_INVALID]


def test_future_signing_time(sg, document, schemas, at) -> None:
    later = at + dt.timedelta(hours=1)
    result = _verify(sign_document(document, sg.document_signer, signed_at=later), [sg.root], at,
                     schemas)
    assert _checks(result) == (VALID, INVALID, SKIPPED, VALID)
    assert result.reasons == [ReasonCode.SIGNING_TIME_INVALID]


def test_two_signatures_by_one_key(sg, document, schemas, at) -> None:
    one = sign_document(document, sg.document_signer, signed_at=at)
    two = sign_document(document, sg.document_signer, signed_at=at - dt.timedelta(seconds=1))
    both = {"payload": one.payload_b64,
            "signatures": [one.signatures[0].to_dict(), two.signatures[0].to_dict()]}
    result = _verify(both, [sg.root], at, schemas)
    assert result.checks["integrity"] is INVALID
    assert result.reasons == [ReasonCode.JWS_DUPLICATE_SIGNATURE]


def test_receipt_typ_is_refused(sg, document, schemas, at) -> None:
    jws = sign(canonicalize(document), sg.document_signer, typ=JWSType.RECEIPT, signed_at=at)
    result = _verify(jws, [sg.root], at, schemas)
    assert result.reasons == [ReasonCode.TYP_MISMATCH]


def test_naive_time_is_misuse(sg, document, schemas, at) -> None:
    jws = sign_document(document, sg.document_signer, signed_at=at)
    with pytest.raises(ValueError):
        _verify(jws, [sg.root], at.replace(tzinfo=None), schemas)
