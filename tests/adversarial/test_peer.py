"""Attacks on the peer endpoint (``POST /v1/peer/envelopes``) and on the answers a sender
takes from it (receipts).

Envelope cases are refused before anything is stored (receiving.py steps 1–6): the exact
status and code, and for signature refusals the inner protocol code in the message. Receipt
cases run the sender's delivery worker against a forged or replayed answer: the message stays
pending (or goes dead) with the code, and no delivery is marked decided.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from protocol.canonical import b64url_decode, b64url_encode, canonicalize
from protocol.envelope import (
    Envelope,
    EnvelopeKind,
    build_envelope,
    envelope_sha256,
    sign_envelope,
)
from protocol.jws import GeneralJWS, JWSType, Signer, sign
from protocol.receipt import DocumentOutcome, Outcome, Receipt, sign_receipt
from protocol.signed_document import document_sha256
from protocol.timeutil import format_time, utc_now
from tests.adversarial.corpus import (
    CN_ID,
    DAY,
    JP_ID,
    MAX_ENVELOPE_BYTES,
    SG_ID,
    Attack,
    Request,
    World,
    as_json,
    der_b64,
    edit_header,
    envelope_bytes,
    flip,
    forged_jws,
    header_of,
    ids,
    node_signer,
    rewrite,
    rsa_signer,
    run_attack,
    stored_state,
)
from tests.node.conftest import certificate_of_origin
from tests.node.shared_network import issued

PEER = "/v1/peer/envelopes"


def _to_cn(body: bytes, content_type: str | None = "application/json") -> Request:
    return Request(CN_ID, "POST", PEER, body=body, content_type=content_type)


def _signed_payload(world: World, header: dict[str, Any] | None = None, *,
                    signer: Signer | None = None, **changes: Any) -> bytes:
    """A fresh SG → CN envelope payload signed with SG's node key under ``header`` (default:
    the honest header with ``changes``)."""
    signer = signer or world.sg.node_signer(None)
    built = build_envelope(message_id=f"msg-{uuid.uuid4()}", sender=SG_ID, recipient=CN_ID,
                           created_at=utc_now(), ttl=dt.timedelta(hours=1),
                           documents=(issued(world.sg, certificate_of_origin()),))
    payload = canonicalize(built.to_dict())
    return forged_jws(payload, header or header_of(signer, JWSType.ENVELOPE, **changes),
                      signer.key)


def _payload_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[World], Request]:
    """An honest envelope whose payload is changed after signing."""
    def make(world: World) -> Request:
        def _edit(data: dict[str, Any]) -> None:
            payload = json.loads(b64url_decode(data["payload"]))
            edit(payload)
            data["payload"] = b64url_encode(canonicalize(payload))
        return _to_cn(rewrite(envelope_bytes(world), _edit))
    return make


def _unsigned_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[World], Request]:
    """An envelope whose payload is changed and then signed again by SG's node key: the
    structure is what is wrong."""
    def make(world: World) -> Request:
        built = build_envelope(message_id=f"msg-{uuid.uuid4()}", sender=SG_ID,
                               recipient=CN_ID, created_at=utc_now(), ttl=dt.timedelta(hours=1),
                               documents=(issued(world.sg, certificate_of_origin()),))
        payload = built.to_dict()
        edit(payload)
        return _to_cn(sign(canonicalize(payload), world.sg.node_signer(None),
                           typ=JWSType.ENVELOPE, signed_at=utc_now()).to_json())
    return make


def _expired_node_key(world: World) -> Signer:
    """An SG node key CN's registry holds whose certificate expired 15 days ago."""
    def make() -> Signer:
        signer = node_signer(world.sg, not_before=utc_now() - 20 * DAY, days=5)
        _register(world, signer)
        return signer
    return world.once("expired-node-key", make)  # type: ignore[no-any-return]


def _young_node_key(world: World) -> Signer:
    """An SG node key CN's registry holds, certified only yesterday."""
    def make() -> Signer:
        signer = node_signer(world.sg, not_before=utc_now() - DAY, days=30)
        _register(world, signer)
        return signer
    return world.once("young-node-key", make)  # type: ignore[no-any-return]


def _register(world: World, signer: Signer) -> None:
    world.net.install(CN_ID, lambda registry: registry.update_authority(
        SG_ID, node_certificates=(*registry.authority(SG_ID).node_certificates,
                                  signer.certificate)))


def _status_change(world: World, notice: dict[str, Any], *, sender: str = CN_ID) -> Request:
    """A status-change envelope from CN to SG about ``notice``, signed by CN's node key."""
    directory = world.cn if sender == CN_ID else world.jp
    built = build_envelope(message_id=f"msg-{uuid.uuid4()}", sender=sender, recipient=SG_ID,
                           created_at=utc_now(), ttl=dt.timedelta(hours=1),
                           kind=EnvelopeKind.STATUS_CHANGE, body=notice)
    body = sign_envelope(built, directory.node_signer(None), signed_at=utc_now()).to_json()
    return Request(SG_ID, "POST", PEER, body=body)


def _notice(world: World, document_id: str | None = None, sha256: str | None = None,
            outcome: str = "rejected") -> dict[str, Any]:
    return {"documentId": document_id or world.sent_id,
            "documentSha256": sha256 or document_sha256(GeneralJWS.parse(world.sent_signed)),
            "outcome": outcome, "reasons": ["REVIEW_REQUIRED"],
            "decidedAt": format_time(utc_now())}


def _raw_status_change(world: World, body: dict[str, Any]) -> Request:
    """A status-change envelope with a body ``build_envelope`` would refuse, signed by CN."""
    now = utc_now()
    payload = {"messageId": f"msg-{uuid.uuid4()}", "from": CN_ID, "to": SG_ID,
               "createdAt": format_time(now), "expiresAt": format_time(now + DAY),
               "kind": "status-change", "body": body}
    return Request(SG_ID, "POST", PEER, body=sign(
        canonicalize(payload), world.cn.node_signer(None), typ=JWSType.ENVELOPE,
        signed_at=now).to_json())


def _reused_message_id(world: World) -> Request:
    message_id = f"msg-{uuid.uuid4()}"
    first = world.net.request(CN_ID, "POST", PEER, content=envelope_bytes(
        world, message_id=message_id), headers={"content-type": "application/json"})
    assert first.status_code == 200, first.text
    return _to_cn(envelope_bytes(world, message_id=message_id))


def _sg_document_of_cn(world: World) -> Request:
    """A delivered status change about CN's own held document — addressed by CN to SG for a
    document SG never sent to CN."""
    return _status_change(world, _notice(world, document_id=world.held_id, sha256="0" * 64))


def _rsa_header(world: World, alg: str) -> Request:
    _key, certificate = rsa_signer(world)
    signer = world.sg.node_signer(None)
    header = header_of(signer, JWSType.ENVELOPE, alg=alg, x5c=[der_b64(certificate)])
    return _to_cn(_signed_payload(world, header, signer=signer))


def _two_signatures(world: World) -> Request:
    body = envelope_bytes(world)
    data = json.loads(body)
    data["signatures"].append(dict(data["signatures"][0]))
    return _to_cn(as_json(data))


def _x5c(world: World, x5c: list[str]) -> Request:
    signer = world.sg.node_signer(None)
    return _to_cn(_signed_payload(world, header_of(signer, JWSType.ENVELOPE, x5c=x5c),
                                  signer=signer))


_SIG = "ENVELOPE_SIGNATURE_INVALID"

ENVELOPE_CASES: tuple[Attack, ...] = (
    # -- forged signatures: the right names, the wrong key
    Attack("forged-by-sender-document-signer-key",
           lambda w: _to_cn(envelope_bytes(w, signer=w.sg.document_signer(None))), 401, _SIG),
    Attack("forged-by-sender-root-key",
           lambda w: _to_cn(envelope_bytes(w, signer=w.sg.root_signer(None))), 401, _SIG),
    Attack("forged-by-genuine-node-cert-not-in-registry",
           lambda w: _to_cn(envelope_bytes(w, signer=node_signer(
               w.sg, not_before=utc_now() - dt.timedelta(minutes=5), days=30))), 401, _SIG),
    Attack("forged-by-unknown-authority-node-key",
           lambda w: _to_cn(envelope_bytes(w, signer=w.jp.node_signer(None))), 401, _SIG),
    Attack("forged-by-receiver-own-node-key",
           lambda w: _to_cn(envelope_bytes(w, signer=w.cn.node_signer(None))), 401, _SIG),
    Attack("forged-under-look-alike-root-same-names-other-key",
           lambda w: _to_cn(envelope_bytes(w, signer=w.impostor.node_signer(None))), 401, _SIG),
    Attack("look-alike-root-own-envelope-claiming-sender",
           lambda w: _to_cn(envelope_bytes(w, sender=w.impostor)), 401, _SIG),
    # -- changed after signing
    Attack("payload-message-id-changed-after-signing",
           _payload_edit(lambda p: p.update(messageId=f"msg-{uuid.uuid4()}")), 401, _SIG),
    Attack("payload-created-at-changed-after-signing",
           _payload_edit(lambda p: p.update(createdAt=format_time(
               utc_now() - dt.timedelta(seconds=30)))), 401, _SIG),
    Attack("payload-recipient-swapped-after-signing",
           _payload_edit(lambda p: p.update(to=CN_ID, **{"from": SG_ID},
                                            expiresAt=format_time(utc_now() + 2 * DAY))),
           401, _SIG),
    Attack("carried-document-changed-after-signing",
           _payload_edit(lambda p: p["body"]["documents"][0].update(
               payload=flip(p["body"]["documents"][0]["payload"], 40))), 401, _SIG),
    Attack("signature-byte-changed",
           lambda w: _to_cn(rewrite(envelope_bytes(w), lambda d: d["signatures"][0].update(
               signature=flip(d["signatures"][0]["signature"])))), 401, _SIG),
    Attack("protected-header-changed-after-signing",
           lambda w: _to_cn(edit_header(envelope_bytes(w), lambda h: h.update(
               sigT=format_time(utc_now() - dt.timedelta(seconds=5))))), 401, _SIG),
    Attack("signature-stripped",
           lambda w: _to_cn(rewrite(envelope_bytes(w), lambda d: d.update(signatures=[]))),
           400, "JWS_MALFORMED"),
    Attack("two-signatures-on-one-envelope", _two_signatures, 400, "JWS_TOO_MANY_SIGNATURES"),
    # -- algorithm and key-type confusion (refused before any key is used)
    Attack("alg-none",
           lambda w: _to_cn(_signed_payload(w, alg="none")), 401, _SIG),
    Attack("alg-hs256-with-public-key-as-secret",
           lambda w: _to_cn(_signed_payload(w, alg="HS256")), 401, _SIG),
    Attack("alg-rs256-claimed",
           lambda w: _to_cn(_signed_payload(w, alg="RS256")), 401, _SIG),
    Attack("alg-es256-claimed-for-ed25519-key",
           lambda w: _to_cn(_signed_payload(w, alg="ES256")), 401, _SIG),
    Attack("kty-rsa-certificate-claiming-eddsa", lambda w: _rsa_header(w, "EdDSA"), 401, _SIG),
    Attack("kty-rsa-certificate-claiming-rs256", lambda w: _rsa_header(w, "RS256"), 401, _SIG),
    Attack("kid-of-another-key",
           lambda w: _to_cn(_signed_payload(w, kid=w.cn.node_signer(None).kid)), 401, _SIG),
    Attack("typ-document-passed-as-envelope",
           lambda w: _to_cn(_signed_payload(w, typ=JWSType.DOCUMENT)), 401, _SIG),
    Attack("typ-receipt-passed-as-envelope",
           lambda w: _to_cn(_signed_payload(w, typ=JWSType.RECEIPT)), 401, _SIG),
    Attack("header-jku-pointing-elsewhere",
           lambda w: _to_cn(_signed_payload(w, jku="http://127.0.0.1:1/keys")), 401, _SIG),
    Attack("header-crit-names-unknown-extension",
           lambda w: _to_cn(_signed_payload(w, crit=["exp"])), 401, _SIG),
    Attack("unprotected-header-member",
           lambda w: _to_cn(rewrite(envelope_bytes(w), lambda d: d["signatures"][0].update(
               header={"kid": "x"}))), 400, "JWS_MALFORMED"),
    Attack("signing-time-a-day-ahead",
           lambda w: _to_cn(_signed_payload(w, sigT=format_time(utc_now() + DAY))), 401, _SIG),
    Attack("signing-time-not-a-time",
           lambda w: _to_cn(_signed_payload(w, sigT="yesterday")), 401, _SIG),
    # -- x5c tricks
    Attack("x5c-non-ascii", lambda w: _x5c(w, ["MIIB\u00e9"]), 401, _SIG),
    Attack("x5c-not-base64", lambda w: _x5c(w, ["not base64!"]), 401, _SIG),
    Attack("x5c-base64-of-garbage", lambda w: _x5c(w, ["AAAA"]), 401, _SIG),
    Attack("x5c-empty-array", lambda w: _x5c(w, []), 401, _SIG),
    Attack("x5c-root-first", lambda w: _x5c(w, [der_b64(w.sg.root_signer(None).certificate)]),
           401, _SIG),
    Attack("x5c-look-alike-node-cert-then-genuine-root",
           lambda w: _to_cn(_signed_payload(w, signer=w.impostor.node_signer(None), x5c=[
               *w.impostor.node_signer(None).x5c,
               der_b64(w.sg.root_signer(None).certificate)])), 401, _SIG),
    Attack("x5c-chain-too-long",
           lambda w: _x5c(w, list(w.sg.node_signer(None).x5c) * 12), 401, _SIG),
    # -- time: node keys and message validity
    Attack("expired-node-key-claiming-past-signing-time",
           lambda w: _to_cn(envelope_bytes(w, signer=_expired_node_key(w),
                                           created_at=utc_now() - 18 * DAY,
                                           signed_at=utc_now() - 18 * DAY, ttl=60 * DAY)),
           401, _SIG),
    Attack("expired-node-key-honest-times",
           lambda w: _to_cn(envelope_bytes(w, signer=_expired_node_key(w))), 401, _SIG),
    Attack("node-key-claiming-creation-before-its-certificate",
           lambda w: _to_cn(envelope_bytes(w, signer=_young_node_key(w),
                                           created_at=utc_now() - 2 * DAY, ttl=3 * DAY)),
           401, _SIG),
    Attack("expired-envelope",
           lambda w: _to_cn(envelope_bytes(w, created_at=utc_now() - dt.timedelta(minutes=10),
                                           ttl=dt.timedelta(minutes=1))), 400, "MESSAGE_EXPIRED"),
    Attack("envelope-created-an-hour-ahead",
           lambda w: _to_cn(envelope_bytes(w, created_at=utc_now() + dt.timedelta(hours=1),
                                           signed_at=utc_now())), 400, "MESSAGE_EXPIRED"),
    # -- addressing and senders
    Attack("addressed-to-the-sender-itself",
           lambda w: _to_cn(envelope_bytes(w, recipient=SG_ID)), 421, "WRONG_RECIPIENT"),
    Attack("addressed-to-a-third-authority",
           lambda w: _to_cn(envelope_bytes(w, recipient=JP_ID)), 421, "WRONG_RECIPIENT"),
    Attack("sender-not-in-registry",
           lambda w: _to_cn(envelope_bytes(w, sender=w.jp)), 403, "SENDER_UNKNOWN"),
    # -- replay with other content
    Attack("message-id-reused-for-other-content", _reused_message_id, 409, "MESSAGE_DUPLICATE"),
    # -- structure
    Attack("payload-unknown-member", _unsigned_edit(lambda p: p.update(priority="high")),
           400, "ENVELOPE_MALFORMED"),
    Attack("payload-without-expiry", _unsigned_edit(lambda p: p.pop("expiresAt")),
           400, "ENVELOPE_MALFORMED"),
    Attack("payload-expiry-before-creation",
           _unsigned_edit(lambda p: p.update(expiresAt=format_time(utc_now() - DAY))),
           400, "ENVELOPE_MALFORMED"),
    Attack("payload-no-documents", _unsigned_edit(lambda p: p["body"].update(documents=[])),
           400, "ENVELOPE_MALFORMED"),
    Attack("payload-document-not-a-jws",
           _unsigned_edit(lambda p: p["body"].update(documents=[{"payload": 5}])),
           400, "ENVELOPE_MALFORMED"),
    Attack("payload-message-id-with-newline",
           _unsigned_edit(lambda p: p.update(messageId="msg-1\n")), 400, "ENVELOPE_MALFORMED"),
    Attack("payload-kind-unknown", _unsigned_edit(lambda p: p.update(kind="exfiltrate")),
           400, "ENVELOPE_MALFORMED"),
    Attack("title-transfer-body-not-a-title-message",
           _unsigned_edit(lambda p: p.update(kind="title-transfer", body={"note": "x"})),
           400, "TITLE_ENTRY_INVALID"),
    Attack("payload-an-array",
           lambda w: _to_cn(forged_jws(b"[1]", header_of(w.sg.node_signer(None),
                                                         JWSType.ENVELOPE),
                                       w.sg.node_signer(None).key)), 400, "ENVELOPE_MALFORMED"),
    Attack("not-a-jws-at-all", lambda w: _to_cn(b'{"hello": "world"}'), 400, "JWS_MALFORMED"),
    Attack("strict-json-duplicate-member",
           lambda w: _to_cn(b'{"payload": "e30", "payload": "e30", "signatures": []}'),
           400, "JSON_DUPLICATE_MEMBER"),
    Attack("oversized-envelope",
           lambda w: _to_cn(b'{"p": "' + b"a" * MAX_ENVELOPE_BYTES + b'"}'), 413, "JSON_TOO_LARGE"),
    Attack("wrong-content-type",
           lambda w: _to_cn(envelope_bytes(w), content_type="text/plain"), 415,
           "CONTENT_TYPE_UNSUPPORTED"),
    # -- status changes (control envelopes from CN to SG)
    Attack("status-change-for-a-document-never-sent-to-that-peer", _sg_document_of_cn,
           404, "NOT_FOUND"),
    Attack("status-change-with-a-wrong-digest",
           lambda w: _status_change(w, _notice(w, sha256="f" * 64)), 404, "NOT_FOUND"),
    Attack("status-change-of-an-accepted-delivery",
           lambda w: _status_change(w, _notice(w)), 409, "STATE_INVALID"),
    Attack("status-change-from-unknown-authority",
           lambda w: _status_change(w, _notice(w), sender=JP_ID), 403, "SENDER_UNKNOWN"),
    Attack("status-change-outcome-an-array",
           lambda w: _raw_status_change(w, {**_notice(w), "outcome": ["accepted"]}),
           400, "ENVELOPE_MALFORMED"),
    Attack("status-change-outcome-an-object",
           lambda w: _raw_status_change(w, {**_notice(w), "outcome": {"a": 1}}),
           400, "ENVELOPE_MALFORMED"),
    Attack("status-change-unknown-reason-code",
           lambda w: _raw_status_change(w, {**_notice(w), "reasons": ["BECAUSE"]}),
           400, "ENVELOPE_MALFORMED"),
)

# Inner codes the message of a signature refusal must name (the JWS or chain check that
# failed): the 401 hides nothing from the operator reading the sender's log.
INNER = {
    "alg-none": "ALG_NOT_ALLOWED", "alg-hs256-with-public-key-as-secret": "ALG_NOT_ALLOWED",
    "alg-rs256-claimed": "ALG_NOT_ALLOWED", "alg-es256-claimed-for-ed25519-key":
    "ALG_KEY_MISMATCH", "kty-rsa-certificate-claiming-eddsa": "ALG_NOT_ALLOWED",
    "kty-rsa-certificate-claiming-rs256": "ALG_NOT_ALLOWED", "kid-of-another-key":
    "KID_MISMATCH", "typ-document-passed-as-envelope": "TYP_MISMATCH",
    "typ-receipt-passed-as-envelope": "TYP_MISMATCH", "header-jku-pointing-elsewhere":
    "JWS_HEADER_INVALID", "header-crit-names-unknown-extension": "CRIT_UNSUPPORTED",
    "signing-time-a-day-ahead": "SIGNING_TIME_INVALID", "signing-time-not-a-time":
    "SIGNING_TIME_INVALID", "x5c-non-ascii": "CERT_MALFORMED", "x5c-not-base64":
    "CERT_MALFORMED", "x5c-base64-of-garbage": "CERT_MALFORMED", "x5c-empty-array":
    "JWS_HEADER_INVALID", "x5c-chain-too-long": "CHAIN_TOO_LONG",
    "expired-node-key-claiming-past-signing-time": "CERT_EXPIRED",
    "expired-node-key-honest-times": "CERT_EXPIRED", "signature-byte-changed":
    "SIGNATURE_INVALID", "protected-header-changed-after-signing": "SIGNATURE_INVALID",
}


@pytest.mark.parametrize("attack", ENVELOPE_CASES, ids=ids(ENVELOPE_CASES))
def test_peer_endpoint_refuses(world: World, attack: Attack) -> None:
    response = run_attack(world, attack)
    if attack.id in INNER:
        assert INNER[attack.id] in response.json()["detail"], response.text


# -- receipts: what the sender takes as proof of delivery -----------------------------------


def _receipt_for(request: httpx.Request, signer: Signer, *, sender: str = CN_ID,
                 message_id: str | None = None, envelope_digest: str | None = None,
                 outcome: Outcome = Outcome.ACCEPTED) -> bytes:
    jws = GeneralJWS.parse(request.content)
    envelope = Envelope.from_dict(jws.payload_json())
    outcomes = tuple(DocumentOutcome(
        document_id=document.payload_json()["id"], document_sha256=document_sha256(document),
        document_type="certificate-of-origin", outcome=outcome)
        for document in envelope.documents)
    receipt = Receipt(receipt_id=str(uuid.uuid4()),
                      message_id=message_id or envelope.message_id,
                      envelope_sha256=envelope_digest or envelope_sha256(jws), sender=sender,
                      recipient=SG_ID, received_at=utc_now(), outcomes=outcomes)
    return sign_receipt(receipt, signer, signed_at=utc_now()).to_json()


Answer = Callable[[World, httpx.Request], httpx.Response]


def _ok(content: bytes) -> httpx.Response:
    return httpx.Response(200, content=content, headers={"content-type": "application/json"})


def _genuine_receipt(world: World) -> bytes:
    """CN's genuine receipt for an earlier message (made before any snapshot is taken)."""
    def make() -> bytes:
        answer = world.net.request(CN_ID, "POST", PEER, content=envelope_bytes(world),
                                   headers={"content-type": "application/json"})
        assert answer.status_code == 200, answer.text
        return answer.content
    return world.once("genuine-receipt", make)  # type: ignore[no-any-return]


def _replayed_receipt(world: World, request: httpx.Request) -> httpx.Response:
    """CN's genuine receipt for an earlier message, answered again for this one."""
    return _ok(_genuine_receipt(world))


@dataclass(frozen=True)
class ReceiptAttack:
    id: str
    answer: Answer
    code: str        # the outbox message's lastError starts with it
    inner: str = ""  # ... and names this


RECEIPT_CASES: tuple[ReceiptAttack, ...] = (
    ReceiptAttack("receipt-forged-by-sender-own-node-key",
                  lambda w, r: _ok(_receipt_for(r, w.sg.node_signer(None))), "RECEIPT_INVALID"),
    ReceiptAttack("receipt-forged-by-peer-document-signer",
                  lambda w, r: _ok(_receipt_for(r, w.cn.document_signer(None))),
                  "RECEIPT_INVALID"),
    ReceiptAttack("receipt-forged-under-unknown-authority",
                  lambda w, r: _ok(_receipt_for(r, w.jp.node_signer(None))), "RECEIPT_INVALID"),
    ReceiptAttack("receipt-replayed-from-another-message", _replayed_receipt, "RECEIPT_INVALID"),
    ReceiptAttack("receipt-naming-another-envelope-digest",
                  lambda w, r: _ok(_receipt_for(r, w.cn.node_signer(None),
                                                envelope_digest="0" * 64)), "RECEIPT_INVALID"),
    ReceiptAttack("receipt-naming-another-message-id",
                  lambda w, r: _ok(_receipt_for(r, w.cn.node_signer(None),
                                                message_id=f"msg-{uuid.uuid4()}")),
                  "RECEIPT_INVALID"),
    ReceiptAttack("receipt-claiming-another-sender",
                  lambda w, r: _ok(_receipt_for(r, w.cn.node_signer(None), sender=JP_ID)),
                  "RECEIPT_INVALID"),
    ReceiptAttack("receipt-signature-byte-changed",
                  lambda w, r: _ok(rewrite(_receipt_for(r, w.cn.node_signer(None)),
                                           lambda d: d["signatures"][0].update(
                                               signature=flip(d["signatures"][0]["signature"])))),
                  "RECEIPT_INVALID", "SIGNATURE_INVALID"),
    ReceiptAttack("receipt-typ-envelope",
                  lambda w, r: _ok(r.content), "RECEIPT_INVALID", "TYP_MISMATCH"),
    ReceiptAttack("receipt-not-json", lambda w, r: _ok(b"<html>ok</html>"), "RECEIPT_INVALID"),
)


def _sg_message(world: World, document_id: str) -> dict[str, Any]:
    status = world.net.request(SG_ID, "GET", f"/v1/documents/{document_id}/status",
                               caller="trader").json()
    outbox = world.net.request(SG_ID, "GET", "/v1/outbox?limit=500", caller="operator")
    messages = [m for m in outbox.json()["messages"]
                if m["messageId"] in {d.get("messageId") for d in status["deliveries"]}]
    assert len(messages) == 1, (status, outbox.json())
    return {"status": status, "message": messages[0]}


def _drain(world: World) -> None:
    """Deliver what is pending at SG for real, so the next case's pass sends only its own
    message (bounded: the backoff in these tests is at most half a second)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        outbox = world.net.request(SG_ID, "GET", "/v1/outbox?state=pending", caller="operator")
        if not [m for m in outbox.json()["messages"] if m["state"] == "pending"]:
            return
        world.net.deliver(SG_ID)
        time.sleep(0.1)
    raise AssertionError("SG's outbox did not drain")


@pytest.mark.parametrize("attack", RECEIPT_CASES, ids=[case.id for case in RECEIPT_CASES])
def test_sender_refuses_receipt(world: World, attack: ReceiptAttack) -> None:
    """The sender keeps the message pending with the code; no delivery is decided, and the
    receiver (which never saw the message) stores nothing."""
    submitted = world.net.request(SG_ID, "POST", "/v1/documents", caller="trader",
                                  json={"document": certificate_of_origin(), "sendTo": [CN_ID]})
    assert submitted.status_code == 201, submitted.text
    document_id = submitted.json()["id"]
    _genuine_receipt(world)
    cn_before = stored_state(world.net[CN_ID].ctx.engine)
    routes = world.net[SG_ID].routes
    routes.handler = lambda request: attack.answer(world, request)
    try:
        world.net.deliver(SG_ID)
    finally:
        routes.handler = None
    found = _sg_message(world, document_id)
    assert stored_state(world.net[CN_ID].ctx.engine) == cn_before
    _drain(world)
    message = found["message"]
    assert message["state"] == "pending", message
    assert (message["lastError"] or "").startswith(attack.code), message
    assert attack.inner in message["lastError"], message
    assert [d["state"] for d in found["status"]["deliveries"]] == ["pending"]
    assert [d.get("outcome") for d in found["status"]["deliveries"]] == [None]


def test_unsigned_4xx_from_the_path_ends_the_message_failed_but_decides_nothing(
        world: World) -> None:
    """Error answers are unsigned: a 4xx forged on the path ends the message ``failed`` with
    the code its body names, and no document outcome is recorded. The operator's retry sends
    the same message again; it is delivered, and the receiver holds the document once."""
    submitted = world.net.request(SG_ID, "POST", "/v1/documents", caller="trader",
                                  json={"document": certificate_of_origin(), "sendTo": [CN_ID]})
    assert submitted.status_code == 201, submitted.text
    document_id = submitted.json()["id"]
    cn_before = stored_state(world.net[CN_ID].ctx.engine)
    forged = {"error": {"code": "SENDER_UNKNOWN", "message": "forged on the path",
                        "reasons": ["SENDER_UNKNOWN"]}}
    routes = world.net[SG_ID].routes
    routes.handler = lambda request: httpx.Response(403, json=forged)
    try:
        world.net.deliver(SG_ID)
    finally:
        routes.handler = None
    found = _sg_message(world, document_id)
    assert found["message"]["state"] == "failed", found
    assert found["message"]["lastError"].startswith("SENDER_UNKNOWN"), found
    assert [d.get("outcome") for d in found["status"]["deliveries"]] == [None]
    assert stored_state(world.net[CN_ID].ctx.engine) == cn_before
    retried = world.net.request(
        SG_ID, "POST", f"/v1/outbox/{found['message']['messageId']}/retry", caller="operator")
    assert retried.status_code == 200, retried.text
    _drain(world)
    status = world.net.request(SG_ID, "GET", f"/v1/documents/{document_id}/status",
                               caller="trader").json()
    assert [(d["state"], d["outcome"]) for d in status["deliveries"]] == [
        ("delivered", "accepted")]
    inbox = world.net.request(CN_ID, "GET", "/v1/inbox?limit=500", caller="officer").json()
    assert [d["id"] for d in inbox["documents"]].count(document_id) == 1
