"""The attack corpus's shared part: the world the attacks run against, what they may not
change, and the forgeries they are made of.

A case is an :class:`Attack`: a readable id (the attack, said plainly), the request it
makes, and what the node must answer: an exact HTTP status (4xx, never 5xx) and an exact
reason code. Each test file holds a table of cases for one surface (``test_offline``,
``test_peer``, ``test_registry``, ``test_api_routes``) and runs every case the same way:
snapshot everything stored, send, check the answer, check the snapshot is unchanged.
``test_corpus_size`` counts the tables (at least 100 cases).

Cases of later features go in their own tables here, picked up by the count:
:data:`TITLE_CASES` (transferable records) and :data:`REVOCATION_CASES` (revocation,
replacement and negotiation, through the API and the peer endpoint), both run by
``test_lifecycle``. Add a test file per feature that runs its table with :func:`run_attack`,
as the files here do.

The world: two in-process nodes (SG-CUSTOMS, CN-CUSTOMS; ``tests/node/inprocess.py``) with
one certificate of origin SG issued and delivered to CN, and one CN sent to SG that SG
holds for review; plus JP-CUSTOMS, an authority with genuine keys that neither registry
knows, and SG-IMPOSTOR, a look-alike of SG-CUSTOMS (the same names, other keys).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine, MetaData, select

from node.authority import AuthorityDirectory
from protocol.canonical import b64url_decode, b64url_encode, canonicalize
from protocol.certificates import (
    KeyAlgorithm,
    PrivateKey,
    certificate_to_der,
    generate_private_key,
    issue_document_signer,
    issue_node_certificate,
)
from protocol.envelope import EnvelopeKind, build_envelope, sign_envelope
from protocol.jws import GeneralJWS, JWSType, Signer, jwk_thumbprint, sign, sign_raw
from protocol.signed_document import document_sha256
from protocol.status_statement import DocumentStatus, StatusStatement, sign_statement
from protocol.timeutil import format_time, utc_now
from tests.node.conftest import CN, COO_AGREEMENT, SG, certificate_of_origin
from tests.node.databases import DatabaseFactory
from tests.node.inprocess import InProcessNetwork
from tests.node.shared_network import issued
from trust_registry.agreements import STATUS_FORMAT

SG_ID, CN_ID, JP_ID = SG.authority_id, CN.authority_id, "JP-CUSTOMS"
AGREEMENT_ID = COO_AGREEMENT.agreement_id
MAX_DOCUMENT_BYTES = 64 * 1024
MAX_ENVELOPE_BYTES = 256 * 1024
DAY = dt.timedelta(days=1)


# -- the world ------------------------------------------------------------------------------


@dataclass
class World:
    """The nodes, the outsiders' keys, and the seeded objects the attacks aim at."""

    net: InProcessNetwork
    jp: AuthorityDirectory          # genuine keys, unknown to both registries
    impostor: AuthorityDirectory    # SG-CUSTOMS's names, other keys (a look-alike root)
    sent_id: str                    # SG → CN, accepted at CN
    sent_signed: dict[str, Any]     # its signed form
    held_id: str                    # CN → SG, held for review at SG
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def sg(self) -> AuthorityDirectory:
        return self.net[SG_ID].directory

    @property
    def cn(self) -> AuthorityDirectory:
        return self.net[CN_ID].directory

    def once(self, name: str, make: Callable[[], Any]) -> Any:
        """``make()`` the first time ``name`` is asked for (keys are slow to make)."""
        if name not in self.cache:
            self.cache[name] = make()
        return self.cache[name]


def build_world(base: Path, databases: DatabaseFactory) -> World:
    # Keys and agreements made 30 days ago: room for node certificates that have expired.
    net = InProcessNetwork(base / "net", databases, created_at=utc_now() - 30 * DAY,
                           settings={SG_ID: {"hold_for_review_types": ["certificate-of-origin"]}},
                           max_document_bytes=MAX_DOCUMENT_BYTES,
                           max_envelope_bytes=MAX_ENVELOPE_BYTES)
    try:
        sent = net.request(SG_ID, "POST", "/v1/documents", caller="trader",
                           json={"document": certificate_of_origin(), "sendTo": [CN_ID]})
        assert sent.status_code == 201, sent.text
        held = net.request(CN_ID, "POST", "/v1/documents", caller="officer",
                           json={"document": {**certificate_of_origin(), "issuer": CN_ID},
                                 "sendTo": [SG_ID]})
        assert held.status_code == 201, held.text
        assert net.deliver(SG_ID) == 1 and net.deliver(CN_ID) == 1
        inbox = net.request(SG_ID, "GET", "/v1/inbox", caller="officer").json()["documents"]
        assert [(d["id"], d["outcome"]) for d in inbox] == [(held.json()["id"],
                                                              "held-for-review")]
        jp = AuthorityDirectory.create(base / JP_ID, authority_id=JP_ID, country="JP",
                                       name="Japan Customs", passphrase=None, at=utc_now())
        impostor = AuthorityDirectory.create(base / "impostor", authority_id=SG_ID,
                                             country=SG.country, name=SG.name, passphrase=None,
                                             at=utc_now())
        return World(net, jp, impostor, sent.json()["id"], sent.json()["signed"],
                     held.json()["id"])
    except BaseException:
        net.close()
        raise


# -- what an attack may not change ----------------------------------------------------------


def stored_state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a node's database (the corpus's tables are small): a
    refused request must leave this exactly as it was — row counts, registry versions,
    document and delivery states, the audit chain's head."""
    metadata = MetaData()
    metadata.reflect(engine)
    state: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = connection.execute(select(table)).all()
            state[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return state


# -- one case -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What an attack sends: to ``node``, as ``caller`` (an API key name, or nobody)."""

    node: str
    method: str
    path: str
    caller: str | None = None
    body: bytes | None = None
    content_type: str | None = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Attack:
    """One named attack: the request it makes and the exact refusal it must meet."""

    id: str
    make: Callable[[World], Request]
    status: int
    code: str
    reason: str | None = None  # a further code the answer's ``reasons`` must hold


def run_attack(world: World, attack: Attack) -> httpx.Response:
    """Send ``attack``'s request; assert the status (a 4xx), the error body with the code,
    and that nothing stored changed at either node. Returns the answer for further checks."""
    assert 400 <= attack.status < 500, "a refusal is a 4xx"
    request = attack.make(world)
    before = {aid: stored_state(node.ctx.engine) for aid, node in world.net.nodes.items()}
    headers = dict(request.headers)
    if request.content_type is not None and request.body is not None:
        headers["content-type"] = request.content_type
    response = world.net.request(request.node, request.method, request.path,
                                 caller=request.caller, headers=headers, content=request.body)
    assert response.status_code < 500, response.text
    assert response.status_code == attack.status, response.text
    # RFC 9457 problem details (ADR 0030), with the deprecated ``error`` member alike.
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert body["status"] == attack.status, body
    assert body["type"].endswith(f"#{attack.code}"), body
    assert body["code"] == attack.code, body
    assert (attack.reason or attack.code) in body["reasons"], body
    assert body["error"]["code"] == attack.code, body
    assert body["error"]["reasons"] == body["reasons"], body
    after = {aid: stored_state(node.ctx.engine) for aid, node in world.net.nodes.items()}
    assert after == before, "a refused request changed what is stored"
    return response


def ids(cases: tuple[Attack, ...]) -> list[str]:
    return [case.id for case in cases]


# -- forgeries ------------------------------------------------------------------------------


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def forged_jws(payload: bytes, header: Mapping[str, Any], key: PrivateKey) -> bytes:
    """A General JWS over ``payload`` with exactly ``header`` as its protected header,
    signed by ``key`` (whatever the header claims)."""
    protected, payload_b64, signature = sign_raw(header, payload, key)
    return as_json({"payload": payload_b64,
                    "signatures": [{"protected": protected, "signature": signature}]})


def header_of(signer: Signer, typ: str, /, *, signed_at: dt.datetime | None = None,
              **changes: Any) -> dict[str, Any]:
    """The protected header ``signer`` would write, with ``changes`` (None removes)."""
    header: dict[str, Any] = {"alg": signer.alg, "kid": signer.kid, "x5c": list(signer.x5c),
                              "typ": typ, "sigT": format_time(signed_at or utc_now())}
    for name, value in changes.items():
        if value is None:
            header.pop(name, None)
        else:
            header[name] = value
    return header


def rewrite(jws_bytes: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """The JWS JSON with ``edit`` applied to its parsed container (no re-signing)."""
    data = json.loads(jws_bytes)
    edit(data)
    return as_json(data)


def edit_header(jws_bytes: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """The first signature's protected header edited in place (its signature now wrong)."""
    def _edit(data: dict[str, Any]) -> None:
        header = json.loads(b64url_decode(data["signatures"][0]["protected"]))
        edit(header)
        data["signatures"][0]["protected"] = b64url_encode(canonicalize(header))
    return rewrite(jws_bytes, _edit)


def flip(text: str, at: int = 10) -> str:
    """``text`` (base64url) with one character replaced by another valid one."""
    return text[:at] + ("B" if text[at] != "B" else "C") + text[at + 1:]


def document_payload(world: World, issuer: str = SG_ID, **changes: Any) -> dict[str, Any]:
    """A fresh certificate of origin as ``issuer`` would sign it."""
    return {**certificate_of_origin(), "id": str(uuid.uuid4()), "issuer": issuer,
            "issuedAt": format_time(utc_now().replace(microsecond=0)), **changes}


def rsa_signer(world: World) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """An RSA key in a self-issued certificate naming SG-CUSTOMS (kty RSA is not allowed)."""
    def _make() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SG-CUSTOMS signer")])
        now = utc_now()
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(key.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - DAY).not_valid_after(now + DAY)
                       .sign(key, hashes.SHA256()))
        return key, certificate
    return world.once("rsa", _make)  # type: ignore[no-any-return]


def der_b64(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate_to_der(certificate)).decode("ascii")


def p256_document_signer(world: World, directory: AuthorityDirectory) -> Signer:
    """A P-256 document signer certified by ``directory``'s root (ES256, allowed)."""
    root = directory.root_signer(None)
    key = generate_private_key(KeyAlgorithm.P256)
    certificate = issue_document_signer(root_key=root.key, root_cert=root.certificate,
                                        public_key=key.public_key(), not_before=utc_now() - DAY)
    return Signer(key, (certificate,))


def node_signer(directory: AuthorityDirectory, *, not_before: dt.datetime,
                days: int) -> Signer:
    """A further node key of ``directory``'s authority, certified by its root."""
    root = directory.root_signer(None)
    key = generate_private_key()
    certificate = issue_node_certificate(root_key=root.key, root_cert=root.certificate,
                                         public_key=key.public_key(), not_before=not_before,
                                         days=days)
    return Signer(key, (certificate,))


def envelope_bytes(world: World, *, sender: AuthorityDirectory | None = None,
                   recipient: str = CN_ID, signer: Signer | None = None,
                   documents: tuple[GeneralJWS, ...] | None = None,
                   message_id: str | None = None, created_at: dt.datetime | None = None,
                   signed_at: dt.datetime | None = None,
                   ttl: dt.timedelta = dt.timedelta(hours=1)) -> bytes:
    """A documents envelope (SG → CN by default) carrying a fresh certificate of origin."""
    sender = sender or world.sg
    built = build_envelope(
        message_id=message_id or f"msg-{uuid.uuid4()}", sender=sender.authority_id,
        recipient=recipient, created_at=created_at or utc_now(), ttl=ttl,
        documents=documents if documents is not None else
        (issued(sender, certificate_of_origin()),))
    return sign_envelope(built, signer or sender.node_signer(None),
                         signed_at=signed_at or utc_now()).to_json()


def kid_of(key: PrivateKey) -> str:
    return jwk_thumbprint(key.public_key())


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)



# -- revocation, replacement and negotiation (issue 9); transferable records -----------------
# Run by test_lifecycle.py; counted by test_corpus_size. The world's SG → CN certificate of
# origin is the target: its issuer is SG, CN holds it, no statement exists for it yet.


def _api(node: str, method: str, path: str, caller: str | None,
         body: Any = None, raw: bytes | None = None) -> Request:
    return Request(node, method, path, caller=caller,
                   body=raw if raw is not None else (None if body is None else as_json(body)))


def _sent_sha256(world: World) -> str:
    return str(world.once("sent-sha256", lambda: document_sha256(
        GeneralJWS.parse(world.sent_signed))))


def _statement(world: World, *, issuer: str = SG_ID, document_id: str | None = None,
               sha256: str | None = None, status: DocumentStatus = DocumentStatus.REVOKED,
               replacement_id: str | None = None) -> StatusStatement:
    now = utc_now()
    replaced = status is DocumentStatus.REPLACED
    return StatusStatement(
        statement_id=str(uuid.uuid4()), status=status,
        document_id=document_id or world.sent_id,
        document_sha256=sha256 or _sent_sha256(world), issuer=issuer, effective_at=now,
        issued_at=now, reason="issued in error",
        replacement_id=(replacement_id or "corrected-id") if replaced else None,
        replacement_sha256="0" * 64 if replaced else None)


def _signed_statement(world: World, signer: Signer | None = None, **changes: Any) -> bytes:
    """A statement signed by SG's document signer (or ``signer``), as JSON."""
    return sign_statement(_statement(world, **changes), signer or world.sg.document_signer(None),
                          signed_at=utc_now()).to_json()


def _peer(world: World, kind: EnvelopeKind, body: dict[str, Any], *,
          sender: AuthorityDirectory | None = None, recipient: str = CN_ID,
          message_id: str | None = None) -> Request:
    """An envelope of ``kind`` with ``body``, signed by ``sender``'s node key (SG)."""
    sender = sender or world.sg
    built = build_envelope(message_id=message_id or f"msg-{uuid.uuid4()}",
                           sender=sender.authority_id, recipient=recipient,
                           created_at=utc_now(), ttl=dt.timedelta(hours=1), kind=kind, body=body)
    signed = sign_envelope(built, sender.node_signer(None), signed_at=utc_now())
    return Request(recipient, "POST", "/v1/peer/envelopes", body=signed.to_json())


def _revocation(world: World, statement: bytes | Any, **kwargs: Any) -> Request:
    value = json.loads(statement) if isinstance(statement, bytes) else statement
    return _peer(world, EnvelopeKind.REVOCATION, {"statement": value}, **kwargs)


def _tampered_statement(world: World) -> bytes:
    def _edit(data: dict[str, Any]) -> None:
        payload = json.loads(b64url_decode(data["payload"]))
        payload["reason"] = "changed in transit"
        data["payload"] = b64url_encode(canonicalize(payload))
    return rewrite(_signed_statement(world), _edit)


def _proposal_envelope(world: World, action: str, agreement_id: str, *,
                       jws: Any = None, reason: str | None = None) -> Request:
    return _peer(world, EnvelopeKind.AGREEMENT_PROPOSAL,
                 {"action": action, "agreementId": agreement_id, "jws": jws, "reason": reason})


_REVOKE = "/v1/documents/{id}/revoke"
_REPLACE = "/v1/documents/{id}/replace"

REVOCATION_CASES: tuple[Attack, ...] = (
    # -- at the issuing node's API
    Attack("revoke-as-trader", lambda w: _api(SG_ID, "POST", _REVOKE.format(id=w.sent_id),
                                              "trader", {"reason": "x"}), 403, "FORBIDDEN"),
    Attack("revoke-anonymously", lambda w: _api(SG_ID, "POST", _REVOKE.format(id=w.sent_id),
                                                None, {"reason": "x"}), 401, "AUTH_REQUIRED"),
    Attack("revoke-unknown-document",
           lambda w: _api(SG_ID, "POST", _REVOKE.format(id="no-such-document"), "officer",
                          {"reason": "x"}), 404, "NOT_FOUND"),
    Attack("revoke-at-a-node-that-did-not-issue-it",
           lambda w: _api(CN_ID, "POST", _REVOKE.format(id=w.sent_id), "officer",
                          {"reason": "x"}), 403, "STATUS_NOT_ISSUER"),
    Attack("revoke-without-a-reason",
           lambda w: _api(SG_ID, "POST", _REVOKE.format(id=w.sent_id), "officer", {}),
           400, "REQUEST_INVALID"),
    Attack("revoke-with-a-blank-reason",
           lambda w: _api(SG_ID, "POST", _REVOKE.format(id=w.sent_id), "officer",
                          {"reason": "   "}), 400, "REQUEST_INVALID"),
    Attack("revoke-with-a-local-time",
           lambda w: _api(SG_ID, "POST", _REVOKE.format(id=w.sent_id), "officer",
                          {"reason": "x", "effectiveAt": "2026-12-01T10:00:00"}),
           400, "REQUEST_INVALID"),
    Attack("revoke-telling-an-unknown-authority",
           lambda w: _api(SG_ID, "POST", _REVOKE.format(id=w.sent_id), "officer",
                          {"reason": "x", "alsoTo": [JP_ID]}), 400, "REQUEST_INVALID"),
    Attack("revoke-with-an-unknown-member",
           lambda w: _api(SG_ID, "POST", _REVOKE.format(id=w.sent_id), "officer",
                          {"reason": "x", "status": "good"}), 400, "REQUEST_INVALID"),
    Attack("revoke-with-a-reason-that-is-not-a-string",
           lambda w: _api(SG_ID, "POST", _REVOKE.format(id=w.sent_id), "officer",
                          {"reason": ["x"]}), 400, "REQUEST_INVALID"),
    Attack("revoke-body-not-an-object",
           lambda w: _api(SG_ID, "POST", _REVOKE.format(id=w.sent_id), "officer", ["x"]),
           400, "REQUEST_INVALID"),
    Attack("replace-naming-an-unknown-replacement",
           lambda w: _api(SG_ID, "POST", _REPLACE.format(id=w.sent_id), "officer",
                          {"reason": "x", "replacementId": "no-such-document"}),
           404, "NOT_FOUND"),
    Attack("replace-with-a-document-and-an-id",
           lambda w: _api(SG_ID, "POST", _REPLACE.format(id=w.sent_id), "officer",
                          {"reason": "x", "replacementId": w.sent_id,
                           "document": certificate_of_origin()}), 400, "REQUEST_INVALID"),
    Attack("replace-by-itself",
           lambda w: _api(SG_ID, "POST", _REPLACE.format(id=w.sent_id), "officer",
                          {"reason": "x", "replacementId": w.sent_id}),
           400, "REQUEST_INVALID"),
    Attack("replace-naming-another-node's-document",
           lambda w: _api(SG_ID, "POST", _REPLACE.format(id=w.sent_id), "officer",
                          {"reason": "x", "replacementId": w.held_id}),
           404, "NOT_FOUND"),
    Attack("replace-with-an-id-that-is-not-a-string",
           lambda w: _api(SG_ID, "POST", _REPLACE.format(id=w.sent_id), "officer",
                          {"reason": "x", "replacementId": 7}), 400, "REQUEST_INVALID"),
    Attack("replace-with-a-document-naming-another-digest",
           lambda w: _api(SG_ID, "POST", _REPLACE.format(id=w.sent_id), "officer",
                          {"reason": "x", "document": {**certificate_of_origin(), "references": [
                              {"id": w.sent_id, "type": "certificate-of-origin",
                               "sha256": "0" * 64}]}}), 422, "REFERENCE_MISMATCH"),
    Attack("replace-with-a-document-reusing-the-original-id",
           lambda w: _api(SG_ID, "POST", _REPLACE.format(id=w.sent_id), "officer",
                          {"reason": "x", "document": {**certificate_of_origin(),
                                                       "id": w.sent_id}}), 409, "CONFLICT"),
    Attack("list-statements-as-trader",
           lambda w: _api(SG_ID, "GET", "/v1/statements", "trader"), 403, "FORBIDDEN"),
    Attack("status-answer-for-a-malformed-id",
           lambda w: _api(CN_ID, "GET", "/v1/status/bad%20id", None), 422, "REQUEST_INVALID"),
    Attack("evidence-export-as-trader",
           lambda w: _api(SG_ID, "GET", f"/v1/evidence/documents/{w.sent_id}", "trader"),
           403, "FORBIDDEN"),
    # -- statements arriving at a receiving node (the peer endpoint)
    Attack("revocation-signed-by-a-non-issuer",
           lambda w: _revocation(w, _signed_statement(w, w.cn.document_signer(None))),
           403, "STATUS_NOT_ISSUER"),
    Attack("revocation-by-a-node-naming-itself-issuer",
           lambda w: _revocation(w, _signed_statement(w, w.cn.document_signer(None),
                                                      issuer=CN_ID),
                                 sender=w.cn, recipient=SG_ID), 403, "STATUS_NOT_ISSUER"),
    Attack("revocation-for-another-digest",
           lambda w: _revocation(w, _signed_statement(w, sha256="1" * 64)),
           400, "STATUS_INVALID"),
    Attack("revocation-tampered-in-transit",
           lambda w: _revocation(w, _tampered_statement(w)), 400, "STATUS_INVALID"),
    Attack("revocation-that-is-no-statement",
           lambda w: _revocation(w, sign(canonicalize({"hello": 1}),
                                         w.sg.document_signer(None), typ=JWSType.STATUS,
                                         signed_at=utc_now()).to_json()),
           400, "STATUS_INVALID"),
    Attack("revocation-body-not-a-jws", lambda w: _raw_revocation(w, "not a jws"),
           400, "ENVELOPE_MALFORMED"),
    Attack("revocation-replayed-under-a-delivered-message-id",
           lambda w: _revocation(w, _signed_statement(w),
                                 message_id=_delivered_message_id(w)), 409,
           "MESSAGE_DUPLICATE"),
    # -- negotiations
    Attack("propose-negotiation-as-officer",
           lambda w: _api(SG_ID, "POST", "/v1/negotiations", "officer",
                          {"agreementId": "SG-JP-NEW", "partner": JP_ID,
                           "documentTypes": ["certificate-of-origin"]}), 403, "FORBIDDEN"),
    Attack("propose-negotiation-without-types",
           lambda w: _api(SG_ID, "POST", "/v1/negotiations", "operator",
                          {"agreementId": "SG-CN-NEW", "partner": CN_ID}),
           400, "REQUEST_INVALID"),
    Attack("propose-negotiation-with-an-unknown-member",
           lambda w: _api(SG_ID, "POST", "/v1/negotiations", "operator",
                          {"agreementId": "SG-CN-NEW", "partner": CN_ID,
                           "documentTypes": ["certificate-of-origin"], "signedBy": SG_ID}),
           400, "REQUEST_INVALID"),
    Attack("propose-negotiation-reusing-an-agreement-id",
           lambda w: _api(SG_ID, "POST", "/v1/negotiations", "operator",
                          {"agreementId": AGREEMENT_ID, "partner": CN_ID,
                           "documentTypes": ["certificate-of-origin"]}), 400,
           "AGREEMENT_INVALID", reason="CONFLICT"),
    Attack("countersign-an-unknown-negotiation",
           lambda w: _api(SG_ID, "POST", "/v1/negotiations/no-such-agreement/countersign",
                          "operator"), 404, "NOT_FOUND"),
    Attack("decline-with-a-blank-reason",
           lambda w: _api(SG_ID, "POST", "/v1/negotiations/no-such-agreement/decline",
                          "operator", {"reason": " "}), 400, "REQUEST_INVALID"),
    Attack("negotiated-status-to-an-unknown-state",
           lambda w: _api(SG_ID, "POST", f"/v1/negotiations/{AGREEMENT_ID}/status",
                          "operator", {"status": "revoked"}), 400, "REQUEST_INVALID"),
    Attack("negotiated-status-for-an-agreement-not-negotiated",
           lambda w: _api(SG_ID, "POST", "/v1/negotiations/no-such-agreement/status",
                          "operator", {"status": "suspended"}), 400, "NO_AGREEMENT"),
    Attack("peer-status-change-for-another-agreement",
           lambda w: _proposal_envelope(w, "status", "SG-JP-OTHER",
                                        jws=_status_change(w, "SG-JP-OTHER")),
           400, "NO_AGREEMENT"),
    Attack("peer-status-change-carrying-a-document",
           lambda w: _proposal_envelope(w, "status", AGREEMENT_ID, jws=w.sent_signed),
           400, "AGREEMENT_INVALID"),
    Attack("peer-proposal-with-an-unknown-action",
           lambda w: _proposal_envelope(w, "approve", "SG-CN-NEW", jws=w.sent_signed),
           400, "ENVELOPE_MALFORMED"),
    Attack("peer-decline-carrying-a-jws",
           lambda w: _proposal_envelope(w, "declined", "SG-CN-NEW", jws=w.sent_signed),
           400, "ENVELOPE_MALFORMED"),
)


def _raw_revocation(world: World, statement: Any) -> Request:
    """A revocation envelope signed by SG's node whatever its body (no builder checks)."""
    now = utc_now()
    built = {"messageId": f"msg-{uuid.uuid4()}", "from": SG_ID, "to": CN_ID,
             "createdAt": format_time(now), "expiresAt": format_time(now + dt.timedelta(hours=1)),
             "kind": EnvelopeKind.REVOCATION.value, "body": {"statement": statement}}
    signed = sign(canonicalize(built), world.sg.node_signer(None), typ=JWSType.ENVELOPE,
                  signed_at=now)
    return Request(CN_ID, "POST", "/v1/peer/envelopes", body=signed.to_json())


def _status_change(world: World, agreement_id: str) -> dict[str, Any]:
    """SG's root-signed suspension of ``agreement_id`` (an agreement CN does not hold)."""
    now = utc_now()
    payload = {"agreementFormat": STATUS_FORMAT, "agreementId": agreement_id,
               "agreementSha256": "0" * 64, "status": "suspended",
               "effectiveAt": format_time(now), "party": SG_ID, "reason": ""}
    return sign(canonicalize(payload), world.sg.root_signer(None), typ=JWSType.AGREEMENT,
                signed_at=now).to_dict()


def _delivered_message_id(world: World) -> str:
    """The id of the envelope SG delivered to CN when the world was built."""
    outbox = world.net.request(SG_ID, "GET", "/v1/outbox?state=delivered",
                               caller="operator").json()["messages"]
    return str(outbox[0]["messageId"])


_RECORD = "/v1/titles/{id}"

TITLE_CASES: tuple[Attack, ...] = (
    Attack("title-read-anonymously",
           lambda w: _api(SG_ID, "GET", _RECORD.format(id="no-such-record"), None),
           401, "AUTH_REQUIRED"),
    Attack("title-read-unknown-record",
           lambda w: _api(SG_ID, "GET", _RECORD.format(id="no-such-record"), "trader"),
           404, "NOT_FOUND"),
    Attack("title-list-as-operator",
           lambda w: _api(SG_ID, "GET", "/v1/titles", "operator"), 403, "FORBIDDEN"),
    Attack("title-issue-without-a-holder",
           lambda w: _api(SG_ID, "POST", "/v1/titles", "officer", {"bill": {}}),
           400, "REQUEST_INVALID"),
    Attack("title-issue-with-a-malformed-holder",
           lambda w: _api(SG_ID, "POST", "/v1/titles", "officer",
                          {"bill": {}, "holder": "nobody"}), 400, "REQUEST_INVALID"),
    Attack("title-transfer-of-an-unknown-record",
           lambda w: _api(SG_ID, "POST", _RECORD.format(id="no-such-record") + "/transfer",
                          "trader", {"toParty": "SG-UEN-201912345A"}), 404, "NOT_FOUND"),
    Attack("title-transfer-to-a-malformed-party",
           lambda w: _api(SG_ID, "POST", _RECORD.format(id="no-such-record") + "/transfer",
                          "trader", {"toParty": "anyone"}), 400, "REQUEST_INVALID"),
    Attack("title-surrender-of-an-unknown-record",
           lambda w: _api(SG_ID, "POST", _RECORD.format(id="no-such-record") + "/surrender",
                          "trader"), 404, "NOT_FOUND"),
    Attack("title-transfer-envelope-that-is-no-title-message",
           lambda w: _peer(w, EnvelopeKind.TITLE_TRANSFER, {"hello": 1}),
           400, "TITLE_ENTRY_INVALID"),
)
