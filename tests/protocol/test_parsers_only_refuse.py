"""Every parser of untrusted input refuses with our own errors, never a foreign one.

A foreign exception (``ValueError`` from base64, ``TypeError`` from hashing a list, …) that
escapes a parser becomes an HTTP 500 at the node and a traceback in the CLI. These
properties feed arbitrary JSON values, and valid objects with one part replaced, into each
parsing constructor and assert that only ``CodedError`` subclasses escape.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.canonical import b64url_decode, b64url_encode, canonicalize
from protocol.certificates import certificate_to_der
from protocol.documents import DocumentSchemas
from protocol.envelope import Envelope, EnvelopeKind, StatusChangeNotice, build_envelope
from protocol.errors import CodedError
from protocol.jws import GeneralJWS, JWSSignature, JWSType, check_integrity, sign
from protocol.reason_codes import ReasonCode
from protocol.receipt import DocumentOutcome, Outcome, Receipt
from protocol.signed_document import CheckStatus, verify_document
from protocol.strict_json import parse_json
from tests.json_strategies import json_values, mutations

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def refuses_with_codes_only(parse: Callable[[Any], object], value: Any) -> None:
    """Call ``parse``; a refusal must be one of our coded errors (anything else escapes)."""
    with contextlib.suppress(CodedError):
        parse(value)


@pytest.fixture(scope="module")
def document(sg, at) -> GeneralJWS:
    return sign(canonicalize({"id": "doc-1", "type": "certificate-of-origin"}),
                sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at)


@pytest.fixture(scope="module")
def schemas() -> DocumentSchemas:
    return DocumentSchemas.load()


def _notice(at: dt.datetime) -> StatusChangeNotice:
    return StatusChangeNotice(document_id="doc-1", document_sha256="a" * 64,
                              outcome="accepted", reasons=(ReasonCode.REVIEW_REQUIRED,),
                              decided_at=at)


# -- regressions named after what they reproduce --------------------------------------------


def _json(data: bytes) -> Any:
    return parse_json(data)


def _resigned(jws: GeneralJWS, key: Ed25519PrivateKey, header: Any) -> GeneralJWS:
    """``jws``'s payload signed by ``key`` under ``header`` as given (any JSON value), so
    that every step of ``check_integrity`` up to the signature is reached."""
    protected = b64url_encode(canonicalize(header))
    signature = key.sign(f"{protected}.{jws.payload_b64}".encode("ascii"))
    return GeneralJWS(jws.payload_b64, (JWSSignature(protected, b64url_encode(signature)),))


def _header(jws: GeneralJWS) -> dict[str, Any]:
    header: dict[str, Any] = _json(b64url_decode(jws.signatures[0].protected_b64))
    return header


def test_x5c_with_non_ascii_character_is_refused_not_value_error(sg, document, at,
                                                                 schemas) -> None:
    good = base64.b64encode(certificate_to_der(sg.signer_cert)).decode("ascii")
    forged = _resigned(document, sg.signer_key,
                       {**_header(document), "x5c": [good[:10] + "é" + good[11:]]})
    with pytest.raises(CodedError) as caught:
        check_integrity(forged, 0, typ=JWSType.DOCUMENT)
    assert caught.value.code is ReasonCode.CERT_MALFORMED
    report = verify_document(forged.to_dict(), anchors=[sg.root], at=at, schemas=schemas)
    assert report.checks["integrity"] is CheckStatus.INVALID
    assert report.reasons[0] is ReasonCode.CERT_MALFORMED


@pytest.mark.parametrize("outcome", [["accepted"], {"accepted": True}])
def test_status_change_outcome_array_or_object_is_refused_not_type_error(at, outcome) -> None:
    body = {**_notice(at).to_dict(), "outcome": outcome}
    with pytest.raises(CodedError) as caught:
        StatusChangeNotice.from_dict(body)
    assert caught.value.code is ReasonCode.ENVELOPE_MALFORMED


# -- properties -----------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_general_jws_parse_refuses_only_with_codes(document, data) -> None:
    refuses_with_codes_only(GeneralJWS.parse, data.draw(mutations(document.to_dict())))


@FUZZ
@given(data=st.data())
def test_check_integrity_refuses_only_with_codes(sg, document, data) -> None:
    header = data.draw(mutations(_header(document)))
    try:
        jws = _resigned(document, sg.signer_key, header)
    except CodedError:
        return  # a header JCS cannot write (e.g. a non-string key): nothing to send
    refuses_with_codes_only(lambda value: check_integrity(value, 0, typ=JWSType.DOCUMENT), jws)


@FUZZ
@given(data=st.data())
def test_verify_document_reports_never_raises(sg, document, at, schemas, data) -> None:
    value = data.draw(mutations(document.to_dict()))
    report = verify_document(value, anchors=[sg.root], at=at, schemas=schemas)
    assert report.valid is (value == document.to_dict())


@FUZZ
@given(data=st.data())
def test_document_schemas_validate_refuses_only_with_codes(schemas, data) -> None:
    example = {"id": "doc-1", "type": "certificate-of-origin", "version": "1.0",
               "issuer": "SG-CUSTOMS", "issuedAt": "2025-06-01T12:00:00Z", "parties": [],
               "body": {}}
    refuses_with_codes_only(schemas.validate, data.draw(mutations(example)))


@FUZZ
@given(data=st.data())
def test_envelope_from_dict_refuses_only_with_codes(document, at, data) -> None:
    valid = build_envelope(message_id="m-1", sender="SG-CUSTOMS", recipient="CN-CUSTOMS",
                           created_at=at, ttl=dt.timedelta(hours=1),
                           documents=(document,)).to_dict()
    refuses_with_codes_only(Envelope.from_dict, data.draw(mutations(valid)))


@FUZZ
@given(data=st.data())
def test_status_change_envelope_from_dict_refuses_only_with_codes(at, data) -> None:
    valid = build_envelope(message_id="m-1", sender="SG-CUSTOMS", recipient="CN-CUSTOMS",
                           created_at=at, ttl=dt.timedelta(hours=1),
                           kind=EnvelopeKind.STATUS_CHANGE, body=_notice(at).to_dict()).to_dict()
    refuses_with_codes_only(Envelope.from_dict, data.draw(mutations(valid)))


@FUZZ
@given(data=st.data())
def test_status_change_notice_from_dict_refuses_only_with_codes(at, data) -> None:
    refuses_with_codes_only(StatusChangeNotice.from_dict,
                            data.draw(mutations(_notice(at).to_dict())))


@FUZZ
@given(data=st.data())
def test_receipt_from_dict_refuses_only_with_codes(at, data) -> None:
    valid = Receipt(receipt_id="r-1", message_id="m-1", envelope_sha256="b" * 64,
                    sender="CN-CUSTOMS", recipient="SG-CUSTOMS", received_at=at,
                    outcomes=(DocumentOutcome(document_id="doc-1", document_sha256="a" * 64,
                                              document_type="certificate-of-origin",
                                              outcome=Outcome.ACCEPTED, agreement_id="A-1",
                                              recognised_as="certificate-of-origin",
                                              registry_version=3),)).to_dict()
    refuses_with_codes_only(Receipt.from_dict, data.draw(mutations(valid)))


@FUZZ
@given(value=json_values)
def test_every_protocol_parser_refuses_any_json_value_with_codes(value) -> None:
    for parse in (GeneralJWS.parse, Envelope.from_dict, StatusChangeNotice.from_dict,
                  Receipt.from_dict):
        refuses_with_codes_only(parse, value)
