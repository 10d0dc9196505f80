"""Envelopes (node to node) and receipts: round trips, malformed input, freshness, matching."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.canonical import sha256_hex
from protocol.certificates import CertUsage
from protocol.envelope import (
    Envelope,
    EnvelopeKind,
    build_envelope,
    envelope_sha256,
    sign_envelope,
)
from protocol.errors import EnvelopeError, ProtocolError, ReceiptError
from protocol.jws import GeneralJWS, JWSType, sign, verify
from protocol.limits import Limits
from protocol.reason_codes import ReasonCode
from protocol.receipt import DocumentOutcome, Outcome, Receipt, sign_receipt
from protocol.strict_json import parse_json
from protocol.timeutil import format_time

SECOND = dt.timedelta(seconds=1)
TTL = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def documents(sg, at) -> tuple[GeneralJWS, ...]:
    return tuple(sign(f'{{"n":{n}}}'.encode(), sg.document_signer, typ=JWSType.DOCUMENT,
                      signed_at=at) for n in range(2))


@pytest.fixture(scope="module")
def envelope(documents, at) -> Envelope:
    return build_envelope(message_id="msg-0001", sender="SG-CUSTOMS", recipient="MY-CUSTOMS",
                          created_at=at, ttl=TTL, documents=documents)


def _malformed(data: Any, **options: Any) -> None:
    with pytest.raises(EnvelopeError) as info:
        Envelope.from_dict(data, **options)
    assert info.value.code is ReasonCode.ENVELOPE_MALFORMED


# -- envelopes -----------------------------------------------------------------------------------


def test_build_envelope(envelope, documents, at) -> None:
    assert (envelope.message_id, envelope.sender, envelope.recipient) == (
        "msg-0001", "SG-CUSTOMS", "MY-CUSTOMS")
    assert (envelope.created_at, envelope.expires_at) == (at, at + TTL)
    assert envelope.kind is EnvelopeKind.DOCUMENTS
    assert envelope.documents == documents
    assert envelope.to_dict()["body"] == {"documents": [d.to_dict() for d in documents]}


def test_sign_envelope_verify_and_parse_round_trip(envelope, sg, at) -> None:
    jws = sign_envelope(envelope, sg.node_signer, signed_at=at)
    verified = verify(GeneralJWS.parse(jws.to_json()), typ=JWSType.ENVELOPE, anchors=[sg.root],
                      at=at, usage=CertUsage.ENVELOPE_SIGNING)
    parsed = Envelope.from_dict(parse_json(verified.payload))
    assert parsed == envelope
    assert parsed.documents[1].payload == b'{"n":1}'
    assert envelope_sha256(jws) == sha256_hex(verified.payload)


def test_envelope_signed_by_a_document_signer_is_refused(envelope, sg, at) -> None:
    jws = sign_envelope(envelope, sg.document_signer, signed_at=at)
    with pytest.raises(ProtocolError) as info:
        verify(jws, typ=JWSType.ENVELOPE, anchors=[sg.root], at=at,
               usage=CertUsage.ENVELOPE_SIGNING)
    assert info.value.code is ReasonCode.CERT_USAGE_INVALID


def test_control_envelope(at) -> None:
    envelope = build_envelope(message_id="msg-2", sender="SG-CUSTOMS", recipient="MY-CUSTOMS",
                              created_at=at, ttl=TTL, kind=EnvelopeKind.REVOCATION,
                              body={"statement": {"payload": "e30", "signatures": []}})
    assert envelope.documents == ()
    assert Envelope.from_dict(envelope.to_dict()) == envelope
    # A revocation carries one status statement (protocol.status_statement), nothing else.
    for body in ({"documentId": "d-1", "effectiveAt": format_time(at)}, {"statement": "jws"}):
        with pytest.raises(EnvelopeError) as refused:
            build_envelope(message_id="msg-4", sender="SG-CUSTOMS", recipient="MY-CUSTOMS",
                           created_at=at, ttl=TTL, kind=EnvelopeKind.REVOCATION, body=body)
        assert refused.value.code is ReasonCode.ENVELOPE_MALFORMED
    with pytest.raises(ValueError):
        build_envelope(message_id="msg-3", sender="SG-CUSTOMS", recipient="MY-CUSTOMS",
                       created_at=at, ttl=TTL, kind=EnvelopeKind.STATUS_CHANGE)


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("messageId", ""), ("messageId", "-starts-with-dash"), ("messageId", "has space"),
        ("messageId", "x" * 129), ("messageId", "msg-1\n"), ("messageId", 1),
        ("from", "sg-customs"), ("from", "SG"), ("from", "SG-CUSTOMS\n"), ("to", None),
        ("createdAt", "2025-06-01T12:00:00"), ("createdAt", "2025-06-01T12:00:00Z\n"),
        ("createdAt", "0001-01-01T00:00:00+01:00"), ("expiresAt", "tomorrow"),
        ("kind", "gossip"), ("kind", None), ("body", []), ("body", "documents"),
    ],
    ids=lambda value: repr(value)[:24],
)
def test_malformed_member(envelope, member: str, value: Any) -> None:
    _malformed({**envelope.to_dict(), member: value})


def test_malformed_shapes(envelope, at) -> None:
    data = envelope.to_dict()
    for bad in ([data], "envelope", None):
        _malformed(bad)
    _malformed({name: value for name, value in data.items() if name != "kind"})
    _malformed({**data, "extra": 1})
    _malformed({**data, "expiresAt": data["createdAt"]})
    _malformed({**data, "expiresAt": format_time(at - SECOND)})


@pytest.mark.parametrize(
    "body",
    [{}, {"documents": []}, {"documents": {}}, {"documents": "x"}, {"documents": [{}]},
     {"documents": [{"payload": "e30", "signatures": []}]}, {"extra": 1, "documents": None}],
    ids=["empty", "no-documents", "object", "string", "empty-jws", "no-signatures", "extra"],
)
def test_malformed_documents_body(envelope, body: dict[str, Any]) -> None:
    _malformed({**envelope.to_dict(), "body": body})


def test_documents_body_with_extra_member(envelope) -> None:
    data = envelope.to_dict()
    _malformed({**data, "body": {**data["body"], "note": "hi"}})


@pytest.mark.parametrize("kind", [EnvelopeKind.DECLARATION, EnvelopeKind.CLEARANCE_DECISION])
def test_declaration_kinds_carry_documents_and_the_declaration_id(kind, documents, at) -> None:
    built = build_envelope(message_id="msg-0002", sender="SG-CUSTOMS", recipient="CN-CUSTOMS",
                           created_at=at, ttl=TTL, documents=documents, kind=kind,
                           body={"declarationId": "decl-1"})
    assert built.kind is kind and built.documents == documents
    assert built.to_dict()["body"] == {"declarationId": "decl-1",
                                       "documents": [d.to_dict() for d in documents]}
    assert Envelope.from_dict(built.to_dict()) == built


@pytest.mark.parametrize("kind", ["declaration", "clearance-decision"])
@pytest.mark.parametrize("body", [
    {"documents": "x"}, {"declarationId": "decl-1"}, {"declarationId": "decl-1", "documents": []},
    {"declarationId": 7, "documents": "x"}, {"declarationId": "bad id", "documents": []},
    {"declarationId": "decl-1", "documents": [{}], "note": 1}],
    ids=["no-id", "no-documents", "empty", "id-type", "id-form", "extra"])
def test_malformed_declaration_body(envelope, kind: str, body: dict[str, Any]) -> None:
    _malformed({**envelope.to_dict(), "kind": kind, "body": body})


def test_declaration_body_with_bad_id_form_refused(envelope) -> None:
    data = envelope.to_dict()
    _malformed({**data, "kind": "declaration",
                "body": {"declarationId": "has space", "documents": data["body"]["documents"]}})


def test_too_many_documents(envelope) -> None:
    _malformed(envelope.to_dict(), limits=Limits(max_documents_per_envelope=1))
    assert Envelope.from_dict(envelope.to_dict(), limits=Limits(max_documents_per_envelope=2))


def test_duplicate_signature_inside_a_document(envelope) -> None:
    data = envelope.to_dict()
    document = data["body"]["documents"][0]
    doubled = {**document, "signatures": document["signatures"] * 2}
    _malformed({**data, "body": {"documents": [doubled]}})


def test_check_fresh_boundaries(envelope) -> None:
    skew = dt.timedelta(seconds=Limits().max_clock_skew_seconds)
    envelope.check_fresh(envelope.expires_at)
    envelope.check_fresh(envelope.created_at - skew)
    for at in (envelope.expires_at + SECOND, envelope.created_at - skew - SECOND):
        with pytest.raises(EnvelopeError) as info:
            envelope.check_fresh(at)
        assert info.value.code is ReasonCode.MESSAGE_EXPIRED


def test_check_fresh_uses_the_configured_skew(envelope) -> None:
    at = envelope.created_at - 10 * SECOND
    envelope.check_fresh(at, Limits(max_clock_skew_seconds=10))
    with pytest.raises(EnvelopeError) as info:
        envelope.check_fresh(at, Limits(max_clock_skew_seconds=9))
    assert info.value.code is ReasonCode.MESSAGE_EXPIRED


def test_check_fresh_refuses_naive_time(envelope) -> None:
    with pytest.raises(ValueError):
        envelope.check_fresh(envelope.created_at.replace(tzinfo=None))


# -- receipts ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def receipt(at) -> Receipt:
    return Receipt(
        receipt_id="rcpt-1", message_id="msg-0001", envelope_sha256="ab" * 32,
        sender="MY-CUSTOMS", recipient="SG-CUSTOMS", received_at=at,
        outcomes=(
            DocumentOutcome(document_id="d-1", document_sha256="01" * 32,
                            document_type="certificate-of-origin", outcome=Outcome.ACCEPTED,
                            agreement_id="AGR-SG-MY-1", recognised_as="my-certificate-of-origin",
                            registry_version=7),
            DocumentOutcome(document_id="d-2", document_sha256="02" * 32,
                            document_type="phytosanitary-certificate", outcome=Outcome.REJECTED,
                            reasons=(ReasonCode.NO_AGREEMENT, ReasonCode.SCHEMA_INVALID)),
        ),
    )


def test_receipt_sign_verify_round_trip(receipt, make_authority, at) -> None:
    my = make_authority("MY-CUSTOMS")
    jws = sign_receipt(receipt, my.node_signer, signed_at=at)
    verified = verify(GeneralJWS.parse(jws.to_json()), typ=JWSType.RECEIPT, anchors=[my.root],
                      at=at, usage=CertUsage.ENVELOPE_SIGNING)
    parsed = Receipt.from_dict(parse_json(verified.payload))
    assert parsed == receipt
    assert parsed.to_dict()["outcomes"][1]["reasons"] == ["NO_AGREEMENT", "SCHEMA_INVALID"]


def test_receipt_check_matches(receipt) -> None:
    expected = {"message_id": "msg-0001", "envelope_sha256": "ab" * 32, "sender": "MY-CUSTOMS"}
    receipt.check_matches(**expected)
    for member, other in (("message_id", "msg-0002"), ("envelope_sha256", "cd" * 32),
                          ("sender", "SG-CUSTOMS")):
        with pytest.raises(ReceiptError) as info:
            receipt.check_matches(**{**expected, member: other})
        assert info.value.code is ReasonCode.RECEIPT_INVALID


def _invalid_receipt(data: Any) -> None:
    with pytest.raises(ReceiptError) as info:
        Receipt.from_dict(data)
    assert info.value.code is ReasonCode.RECEIPT_INVALID


@pytest.mark.parametrize(
    ("member", "value"),
    [("outcome", "maybe"), ("outcome", None), ("reasons", ["NOT_A_CODE"]), ("reasons", None),
     ("reasons", [["NO_AGREEMENT"]]), ("registryVersion", "7"), ("registryVersion", 1.5)],
    ids=["unknown-outcome", "null-outcome", "unknown-reason", "null-reasons", "nested-reason",
         "version-string", "version-float"],
)
def test_invalid_outcome(receipt, member: str, value: Any) -> None:
    data = receipt.to_dict()
    data["outcomes"][0][member] = value
    _invalid_receipt(data)


def test_invalid_receipt_shapes(receipt) -> None:
    data = receipt.to_dict()
    for bad in (None, [data], "receipt"):
        _invalid_receipt(bad)
    for member in data:
        _invalid_receipt({name: value for name, value in data.items() if name != member})
    for outcomes in (None, 1, ["x"], [None]):
        _invalid_receipt({**data, "outcomes": outcomes})
    for received_at in ("yesterday", None, "9999-12-31T23:59:59-01:00"):
        _invalid_receipt({**data, "receivedAt": received_at})
    outcome = dict(data["outcomes"][0])
    del outcome["documentType"]
    _invalid_receipt({**data, "outcomes": [outcome]})


# -- exception translation: only ProtocolError escapes -------------------------------------------

_PLAUSIBLE = st.sampled_from(
    ["msg-1", "msg-1\n", "SG-CUSTOMS", "MY-CUSTOMS", "sg", "2025-06-01T12:00:00Z",
     "2025-06-01T13:00:00+01:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
     "documents", "revocation", "accepted", "held-for-review", "NO_AGREEMENT", "", 0, 7, -1,
     1.5, True, None, [], {}, {"documents": []}, {"documents": [{"payload": "e30"}]},
     {"documents": ["{}"]}, ["NO_AGREEMENT"], [{}]]
)
_JUNK = st.recursive(
    st.one_of(_PLAUSIBLE, st.integers(), st.floats(allow_nan=False), st.text(max_size=6)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=4), children, max_size=3),
    max_leaves=8,
)
_ENVELOPE = st.fixed_dictionaries(
    {name: _JUNK for name in ("messageId", "from", "to", "createdAt", "expiresAt", "kind", "body")})
_OUTCOME = st.fixed_dictionaries(
    {name: _JUNK for name in ("documentId", "documentSha256", "documentType", "outcome",
                              "reasons", "agreementId", "recognisedAs", "registryVersion")})
_RECEIPT = st.fixed_dictionaries(
    {name: _JUNK for name in ("receiptId", "messageId", "envelopeSha256", "from", "to",
                              "receivedAt")} | {"outcomes": st.lists(_OUTCOME | _JUNK, max_size=2)})


@settings(max_examples=100, deadline=None)
@given(st.one_of(_ENVELOPE, _JUNK))
def test_envelope_from_dict_lets_only_protocol_errors_escape(data: Any) -> None:
    try:
        Envelope.from_dict(data)
    except ProtocolError as error:
        assert error.code is ReasonCode.ENVELOPE_MALFORMED


@settings(max_examples=100, deadline=None)
@given(st.one_of(_RECEIPT, _JUNK))
def test_receipt_from_dict_lets_only_protocol_errors_escape(data: Any) -> None:
    try:
        Receipt.from_dict(data)
    except ProtocolError as error:
        assert error.code is ReasonCode.RECEIPT_INVALID


# -- status-change notices ----------------------------------------------------------------

_NOTICE = {"documentId": "doc-1", "documentSha256": "a" * 64, "outcome": "accepted",
           "reasons": [], "decidedAt": "2026-11-22T10:00:00Z"}


def _status_change(body: object) -> dict[str, object]:
    return {"messageId": "m-1", "from": "CN-CUSTOMS", "to": "SG-CUSTOMS",
            "createdAt": "2026-11-22T10:00:00Z", "expiresAt": "2026-11-23T10:00:00Z",
            "kind": "status-change", "body": body}


def test_status_change_notice_round_trip() -> None:
    from protocol.envelope import StatusChangeNotice

    envelope = Envelope.from_dict(_status_change(_NOTICE))
    notice = StatusChangeNotice.from_dict(envelope.body)
    assert notice.to_dict() == _NOTICE


@pytest.mark.parametrize("change", [
    {"documentSha256": "A" * 64}, {"documentSha256": "a" * 63}, {"outcome": "maybe"},
    {"reasons": ["NOT_A_CODE"]}, {"reasons": "REVIEW_REQUIRED"}, {"decidedAt": "yesterday"},
    {"documentId": ""}, {"extra": 1},
], ids=["upper-hex", "short-digest", "outcome", "unknown-code", "reasons-type", "time",
        "empty-id", "extra-member"])
def test_malformed_status_change_refused(change: dict[str, object]) -> None:
    with pytest.raises(EnvelopeError) as caught:
        Envelope.from_dict(_status_change({**_NOTICE, **change}))
    assert caught.value.code is ReasonCode.ENVELOPE_MALFORMED
