"""Bad input at every endpoint that takes a body, and attacks on the peer endpoint.

Every refusal is checked three ways: the HTTP status, the reason code in the error body,
and that nothing was stored: SG's documents (with their outcomes), both registries, both
audit logs (every stored change appends an audit event) and CN's officer inbox are exactly
as before. ``POST /v1/verify`` answers a verification report rather than refusing what it
cannot parse; that report must name the reason.

The nodes run with small size limits (64 KiB documents, 256 KiB envelopes) so that oversize
bodies are cheap. One network per backend serves the module: no test here leaves a trace,
except the replay tests, which add documents of their own and look only at those.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from node.authority import AuthorityDirectory
from node.bootstrap import authority_record
from protocol.canonical import b64url_decode, b64url_encode, canonicalize
from protocol.certificates import generate_private_key, issue_node_certificate
from protocol.envelope import EnvelopeKind, build_envelope, sign_envelope
from protocol.jws import JWSType, Signer, sign
from protocol.timeutil import format_time, parse_time, utc_now
from tests.node.conftest import RunningNode, certificate_of_origin, final_delivery
from tests.node.databases import DatabaseFactory
from tests.node.shared_network import (  # noqa: F401 (fixture)
    envelope,
    issued,
    shared_databases,
    start_network,
    stop_network,
)
from trust_registry import DEFAULT_REGISTRY_LIMITS

SG_ID, CN_ID, JP_ID = "SG-CUSTOMS", "CN-CUSTOMS", "JP-CUSTOMS"
MAX_DOCUMENT_BYTES = 64 * 1024
MAX_ENVELOPE_BYTES = 256 * 1024
AGREEMENT_ID = "SG-CN-COO-2026"


@dataclass(frozen=True)
class Seed:
    sg: RunningNode
    cn: RunningNode
    jp: AuthorityDirectory  # an authority neither registry holds
    http: httpx.Client
    document_id: str        # outbound at SG
    signed: dict[str, Any]  # its signed form
    held_id: str            # inbound at SG, held for review (a wrongly accepted body releases it)


@pytest.fixture(scope="module")
def seed(shared_databases: DatabaseFactory,  # noqa: F811 (fixture)
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    base = tmp_path_factory.mktemp("bad-input")
    network = start_network(base / "net", shared_databases,
                            max_document_bytes=MAX_DOCUMENT_BYTES,
                            max_envelope_bytes=MAX_ENVELOPE_BYTES,
                            hold_for_review_types=["certificate-of-origin"],
                            worker_poll_seconds=0.2)  # the worker only has the seed to deliver
    try:
        sg, cn = network[SG_ID], network[CN_ID]
        jp = AuthorityDirectory.create(base / JP_ID, authority_id=JP_ID, country="JP",
                                       name="Japan Customs", passphrase=None, at=utc_now())
        with sg.client("trader") as trader:
            submitted = trader.submit(certificate_of_origin())
        with cn.client("officer") as officer:
            held = officer.submit({**certificate_of_origin(), "issuer": CN_ID}, send_to=[SG_ID])
            assert final_delivery(officer, held["id"], SG_ID)["outcome"] == "held-for-review"
        with httpx.Client(timeout=30) as http:
            yield Seed(sg=sg, cn=cn, jp=jp, http=http, document_id=submitted["id"],
                       signed=submitted["signed"], held_id=held["id"])
    finally:
        stop_network(network)


# -- requests and stored state --------------------------------------------------------------


def _auth(node: RunningNode, caller: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {node.keys[caller]}"} if caller else {}


def _get(seed: Seed, node: RunningNode, path: str, caller: str) -> Any:
    response = seed.http.get(node.url + path, headers=_auth(node, caller))
    assert response.status_code == 200, response.text
    return response.json()


@dataclass(frozen=True)
class Stored:
    """What a refusal must leave as it was at the node that refused: SG's documents with
    their outcomes and its registry version, or CN's officer inbox; and the node's audit
    log (every stored change appends an event to it)."""

    node: RunningNode
    state: tuple[object, ...]


def _stored(seed: Seed, node: RunningNode) -> Stored:
    if node is seed.sg:
        documents = _get(seed, node, "/v1/documents?limit=500", "officer")["documents"]
        held: tuple[object, ...] = (
            sorted((d["id"], d["direction"], d.get("outcome")) for d in documents),
            _get(seed, node, "/v1/registry", "operator")["version"])
    else:
        inbox = _get(seed, node, "/v1/inbox?limit=500", "officer")["documents"]
        held = (sorted((d["id"], d["outcome"], d["sha256"]) for d in inbox),)
    return Stored(node, (*held, _get(seed, node, "/v1/audit/verify", "operator")["events"]))


def _error(response: httpx.Response) -> dict[str, Any]:
    # RFC 9457 problem details, with the deprecated "error" object saying the same (ADR 0030).
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "instance", "code", "reasons",
                         "error"}
    assert set(body["error"]) == {"code", "message", "reasons"}
    assert body["status"] == response.status_code
    assert body["type"].endswith("#" + body["code"]) and body["code"] == body["error"]["code"]
    assert body["detail"] == body["error"]["message"]
    assert body["reasons"] == body["error"]["reasons"]
    return body["error"]  # type: ignore[no-any-return]


# -- the endpoints that take a body ---------------------------------------------------------


def _with_member(value: dict[str, Any]) -> bytes:
    return json.dumps({**value, "unexpected": True}).encode("utf-8")


@dataclass(frozen=True)
class Endpoint:
    name: str
    authority: str
    caller: str | None
    path: Callable[[Seed], str]
    limit: int
    unknown_member: Callable[[Seed], bytes]  # a body with one member too many
    unknown_code: str                         # ... and the code that refuses it
    wraps: str | None = None  # strict-JSON refusals come wrapped in this code (reasons hold both)
    report: bool = False      # answers a verification report instead of refusing (verify)

    def node(self, seed: Seed) -> RunningNode:
        return seed.sg if self.authority == SG_ID else seed.cn

    def post(self, seed: Seed, content: bytes | Iterator[bytes],
             content_type: str | None = "application/json") -> httpx.Response:
        node = self.node(seed)
        headers = _auth(node, self.caller)
        if content_type is not None:
            headers["content-type"] = content_type
        return seed.http.post(node.url + self.path(seed), content=content, headers=headers)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("submitDocument", SG_ID, "trader", lambda s: "/v1/documents", MAX_DOCUMENT_BYTES,
             lambda s: _with_member({"document": certificate_of_origin()}), "REQUEST_INVALID"),
    Endpoint("sendDocument", SG_ID, "trader", lambda s: f"/v1/documents/{s.document_id}/send",
             MAX_DOCUMENT_BYTES, lambda s: _with_member({"to": [CN_ID]}), "REQUEST_INVALID"),
    Endpoint("releaseDocument", SG_ID, "officer", lambda s: f"/v1/inbox/{s.held_id}/release",
             MAX_DOCUMENT_BYTES, lambda s: _with_member({"reason": "checked"}), "REQUEST_INVALID"),
    Endpoint("rejectDocument", SG_ID, "officer", lambda s: f"/v1/inbox/{s.held_id}/reject",
             MAX_DOCUMENT_BYTES, lambda s: _with_member({"reason": "wrong goods"}),
             "REQUEST_INVALID"),
    Endpoint("verifyDocument", SG_ID, "trader", lambda s: "/v1/verify", MAX_DOCUMENT_BYTES,
             lambda s: _with_member(s.signed), "JWS_MALFORMED", report=True),
    Endpoint("addAuthority", SG_ID, "operator", lambda s: "/v1/registry/authorities",
             MAX_DOCUMENT_BYTES, lambda s: _with_member(authority_record(s.jp).to_dict()),
             "REGISTRY_INVALID"),
    Endpoint("addAgreement", SG_ID, "operator", lambda s: "/v1/registry/agreements",
             MAX_DOCUMENT_BYTES, lambda s: _with_member(s.signed), "JWS_MALFORMED",
             wraps="AGREEMENT_INVALID"),
    Endpoint("addProposal", SG_ID, "operator", lambda s: "/v1/registry/proposals",
             MAX_DOCUMENT_BYTES, lambda s: _with_member(s.signed), "JWS_MALFORMED",
             wraps="AGREEMENT_INVALID"),
    Endpoint("changeAgreementStatus", SG_ID, "operator",
             lambda s: f"/v1/registry/agreements/{AGREEMENT_ID}/status", MAX_DOCUMENT_BYTES,
             lambda s: _with_member({"status": "suspended"}), "REQUEST_INVALID"),
    Endpoint("importSnapshot", SG_ID, "operator", lambda s: "/v1/registry/snapshots",
             DEFAULT_REGISTRY_LIMITS.max_registry_bytes, lambda s: _with_member(s.signed),
             "JWS_MALFORMED", wraps="REGISTRY_INVALID"),
    Endpoint("receiveEnvelope", CN_ID, None, lambda s: "/v1/peer/envelopes", MAX_ENVELOPE_BYTES,
             lambda s: _with_member(json.loads(_envelope(s))), "JWS_MALFORMED"),
)
ENDPOINT_IDS = [endpoint.name for endpoint in ENDPOINTS]


def _envelope(seed: Seed, **kwargs: Any) -> bytes:
    """A valid envelope from SG to CN with one fresh certificate of origin."""
    return envelope(seed.sg.directory, CN_ID, (issued(seed.sg.directory, certificate_of_origin()),),
                    **kwargs)


def _assert_refused(seed: Seed, before: Stored, response: httpx.Response,
                    status: int, code: str, *, reason: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = _error(response)
    assert error["code"] == code
    assert (reason or code) in error["reasons"]
    assert _stored(seed, before.node) == before


# -- strict JSON ----------------------------------------------------------------------------


STRICT_JSON = {
    "malformed": (b'{"document": ', "JSON_MALFORMED"),
    "duplicate-member": (b'{"reason": "a", "reason": "b"}', "JSON_DUPLICATE_MEMBER"),
    "nan": (b'{"reason": NaN}', "JSON_NON_FINITE_NUMBER"),
    "infinity": (b'{"reason": -Infinity}', "JSON_NON_FINITE_NUMBER"),
    "float-overflow": (b'{"reason": 1e400}', "JSON_NON_FINITE_NUMBER"),
    "integer-out-of-range": (b'{"reason": 9007199254740993}', "JSON_INTEGER_OUT_OF_RANGE"),
    "lone-surrogate": (b'{"reason": "\\ud800"}', "JSON_LONE_SURROGATE"),
    "not-utf8": (b'{"reason": "\xff"}', "JSON_NOT_UTF8"),
    "byte-order-mark": (b'\xef\xbb\xbf{"reason": "a"}', "JSON_NOT_UTF8"),
    "too-deep": (b'{"reason": ' + b"[" * 100 + b"]" * 100 + b"}", "JSON_TOO_DEEP"),
}


@pytest.mark.parametrize("kind", list(STRICT_JSON))
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_refuses_what_strict_json_refuses(seed: Seed, endpoint: Endpoint, kind: str) -> None:
    body, code = STRICT_JSON[kind]
    before = _stored(seed, endpoint.node(seed))
    response = endpoint.post(seed, body)
    if endpoint.report:
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["valid"] is False and report["checks"]["json"] == "INVALID"
        assert report["reasons"] == [code]
        assert _stored(seed, before.node) == before
    else:
        _assert_refused(seed, before, response, 400, endpoint.wraps or code, reason=code)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/jsonx"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_refuses_wrong_content_type(seed: Seed, endpoint: Endpoint,
                                    content_type: str | None) -> None:
    before = _stored(seed, endpoint.node(seed))
    response = endpoint.post(seed, endpoint.unknown_member(seed), content_type=content_type)
    _assert_refused(seed, before, response, 415, "CONTENT_TYPE_UNSUPPORTED")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_refuses_unknown_members(seed: Seed, endpoint: Endpoint) -> None:
    before = _stored(seed, endpoint.node(seed))
    response = endpoint.post(seed, endpoint.unknown_member(seed))
    if endpoint.report:
        assert response.status_code == 200, response.text
        assert response.json()["valid"] is False
        assert endpoint.unknown_code in response.json()["reasons"]
        assert _stored(seed, before.node) == before
    else:
        _assert_refused(seed, before, response, 400, endpoint.wraps or endpoint.unknown_code,
                        reason=endpoint.unknown_code)


# -- size -----------------------------------------------------------------------------------


def _padded(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    head, tail = b'{"padding": "', b'"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def _declared_only(endpoint: Endpoint, seed: Seed, length: int) -> tuple[int, dict[str, Any]]:
    """Send only the headers of a request declaring ``length`` body bytes; the node must
    answer from the declaration, before it reads (or waits for) any of the body."""
    node = endpoint.node(seed)
    url = urlsplit(node.url)
    head = [f"POST {endpoint.path(seed)} HTTP/1.1", f"host: {url.netloc}",
            "content-type: application/json", f"content-length: {length}",
            *(f"{k}: {v}" for k, v in _auth(node, endpoint.caller).items()), "", ""]
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall("\r\n".join(head).encode("ascii"))
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = sock.recv(65536)
            assert chunk, "the node closed the connection without answering"
            response += chunk
        header_block, _, body = response.partition(b"\r\n\r\n")
        lines = header_block.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        while len(body) < int(headers["content-length"]):
            chunk = sock.recv(65536)
            assert chunk, "the node closed the connection mid-answer"
            body += chunk
    return int(lines[0].split()[1]), json.loads(body)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_refuses_declared_oversize_body_before_reading_it(seed: Seed, endpoint: Endpoint) -> None:
    before = _stored(seed, endpoint.node(seed))
    status, body = _declared_only(endpoint, seed, endpoint.limit + 1)
    assert status == 413, body
    assert body["error"]["code"] == "JSON_TOO_LARGE"
    assert _stored(seed, before.node) == before


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.limit <= MAX_ENVELOPE_BYTES],
                         ids=[e.name for e in ENDPOINTS if e.limit <= MAX_ENVELOPE_BYTES])
def test_refuses_oversize_body(seed: Seed, endpoint: Endpoint, framing: str) -> None:
    """One byte over the limit is refused, declared or streamed (chunked framing has no
    length to check up front: the node counts while it reads)."""
    body = _padded(endpoint.limit + 1)
    before = _stored(seed, endpoint.node(seed))
    response = endpoint.post(seed, body if framing == "content-length" else _chunks(body))
    _assert_refused(seed, before, response, 413, "JSON_TOO_LARGE")


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.limit <= MAX_ENVELOPE_BYTES],
                         ids=[e.name for e in ENDPOINTS if e.limit <= MAX_ENVELOPE_BYTES])
def test_body_at_the_limit_is_not_refused_for_size(seed: Seed, endpoint: Endpoint,
                                                  framing: str) -> None:
    """At exactly the limit the body is read and judged on its content (every endpoint
    refuses ``{"padding": …}`` for what it is, and stores nothing)."""
    body = _padded(endpoint.limit)
    before = _stored(seed, endpoint.node(seed))
    response = endpoint.post(seed, body if framing == "content-length" else _chunks(body))
    assert response.status_code != 413, response.text
    if response.status_code >= 400:
        assert _error(response)["code"] != "JSON_TOO_LARGE"
    assert _stored(seed, before.node) == before


# -- document submission, sending and review ------------------------------------------------


def _submit(seed: Seed, body: dict[str, Any]) -> httpx.Response:
    return ENDPOINTS[0].post(seed, json.dumps(body).encode("utf-8"))


def _without(document: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != name}


_COO = certificate_of_origin


@pytest.mark.parametrize("document,status,code", [
    ({**_COO(), "unexpected": True}, 422, "SCHEMA_INVALID"),
    (_without(_COO(), "parties"), 422, "SCHEMA_INVALID"),
    (_without(_COO(), "body"), 422, "SCHEMA_INVALID"),
    ({**_COO(), "body": "a string"}, 422, "SCHEMA_INVALID"),
    ({**_COO(), "issuedAt": "yesterday"}, 422, "SCHEMA_INVALID"),
    ({**_COO(), "type": "no-such-type"}, 422, "DOC_TYPE_UNKNOWN"),
    ({**_COO(), "version": "99.0"}, 422, "DOC_TYPE_UNKNOWN"),
    ([_COO()], 422, "SCHEMA_INVALID"),
    ("a string", 422, "SCHEMA_INVALID"),
    ({**_COO(), "issuer": CN_ID}, 400, "ISSUER_MISMATCH"),
], ids=["unknown-member", "no-parties", "no-body", "body-not-object", "bad-issued-at",
        "unknown-type", "unknown-version", "array", "string", "other-issuer"])
def test_refuses_invalid_document(seed: Seed, document: Any, status: int, code: str) -> None:
    before = _stored(seed, seed.sg)
    _assert_refused(seed, before, _submit(seed, {"document": document}), status, code)


@pytest.mark.parametrize("body", [
    {},
    {"sendTo": [CN_ID]},
    {"document": _COO(), "sendTo": CN_ID},
    {"document": _COO(), "sendTo": [CN_ID, 7]},
    {"document": _COO(), "sendTo": ["XX-NOWHERE"]},
    {"document": _COO(), "sendTo": [SG_ID]},
    {"document": _COO(), "sendTo": [CN_ID, JP_ID]},
], ids=["empty", "no-document", "send-to-string", "send-to-number", "send-to-unknown",
        "send-to-self", "send-to-one-unknown"])
def test_refuses_invalid_submission(seed: Seed, body: dict[str, Any]) -> None:
    """Refused whole: a document whose delivery cannot be queued is not stored either."""
    before = _stored(seed, seed.sg)
    _assert_refused(seed, before, _submit(seed, body), 400, "REQUEST_INVALID")


@pytest.mark.parametrize("body", [
    {}, {"to": []}, {"to": CN_ID}, {"to": [None]}, {"to": ["XX-NOWHERE"]}, {"to": [SG_ID]},
], ids=["empty", "no-peers", "string", "null", "unknown", "self"])
def test_refuses_invalid_send(seed: Seed, body: dict[str, Any]) -> None:
    before = _stored(seed, seed.sg)
    response = ENDPOINTS[1].post(seed, json.dumps(body).encode("utf-8"))
    _assert_refused(seed, before, response, 400, "REQUEST_INVALID")


@pytest.mark.parametrize("action,body", [
    ("reject", {}),
    ("reject", {"reason": ""}),
    ("reject", {"reason": 5}),
    ("release", {"reason": ["a"]}),
    ("release", []),
], ids=["reject-no-reason", "reject-empty-reason", "reject-number", "release-list-reason",
        "release-array"])
def test_refuses_invalid_review(seed: Seed, action: str, body: Any) -> None:
    before = _stored(seed, seed.sg)
    response = seed.http.post(f"{seed.sg.url}/v1/inbox/{seed.held_id}/{action}",
                              content=json.dumps(body).encode("utf-8"),
                              headers={**_auth(seed.sg, "officer"),
                                       "content-type": "application/json"})
    _assert_refused(seed, before, response, 400, "REQUEST_INVALID")


@pytest.mark.parametrize("action", ["release", "reject"])
def test_review_body_is_read_whatever_its_framing(seed: Seed, action: str) -> None:
    """A chunked body has no Content-Length; it must still be read and judged, not taken
    for an absent body (which would release the held document on a malformed request)."""
    before = _stored(seed, seed.sg)
    response = seed.http.post(f"{seed.sg.url}/v1/inbox/{seed.held_id}/{action}",
                              content=iter([b'{"reason": ']),
                              headers={**_auth(seed.sg, "officer"),
                                       "content-type": "application/json"})
    _assert_refused(seed, before, response, 400, "JSON_MALFORMED")


@pytest.mark.parametrize("body", [
    {"status": "dormant"},
    {"status": 1},
    {"status": "suspended", "effectiveAt": "soon"},
    {"status": "suspended", "effectiveAt": 5},
    {"status": "suspended", "reason": 5},
    {"reason": "no status"},
    [],
], ids=["unknown-status", "number-status", "bad-effective-at", "number-effective-at",
        "number-reason", "no-status", "array"])
def test_refuses_invalid_status_change(seed: Seed, body: Any) -> None:
    before = _stored(seed, seed.sg)
    response = ENDPOINTS[8].post(seed, json.dumps(body).encode("utf-8"))
    _assert_refused(seed, before, response, 400, "REQUEST_INVALID")


@pytest.mark.parametrize("path", ["/v1/documents?limit=0", "/v1/documents?limit=501",
                                  "/v1/documents?direction=sideways", "/v1/inbox?outcome=maybe",
                                  "/v1/documents?after=-1"])
def test_refuses_invalid_query(seed: Seed, path: str) -> None:
    response = seed.http.get(seed.sg.url + path, headers=_auth(seed.sg, "officer"))
    assert response.status_code == 422
    assert _error(response)["code"] == "REQUEST_INVALID"


# -- the peer endpoint ----------------------------------------------------------------------


def _post_envelope(seed: Seed, body: bytes) -> httpx.Response:
    return ENDPOINTS[-1].post(seed, body)


def _fresh_node_signer(seed: Seed) -> Signer:
    """A new key with a genuine node certificate under SG's root — not the one SG's
    registry entry holds."""
    root = seed.sg.directory.root_signer(None)
    key = generate_private_key()
    certificate = issue_node_certificate(root_key=root.key, root_cert=root.certificate,
                                         public_key=key.public_key(),
                                         not_before=utc_now() - dt.timedelta(minutes=5))
    return Signer(key, (certificate,))


@pytest.mark.parametrize("forger", ["document-signer", "fresh-node-key", "root-key",
                                    "other-authority-node-key", "receiver-node-key"])
def test_rejects_forged_envelope_signature(seed: Seed, forger: str) -> None:
    signers: dict[str, Callable[[], Signer]] = {
        "document-signer": lambda: seed.sg.directory.document_signer(None),
        "fresh-node-key": lambda: _fresh_node_signer(seed),
        "root-key": lambda: seed.sg.directory.root_signer(None),
        "other-authority-node-key": lambda: seed.jp.node_signer(None),
        "receiver-node-key": lambda: seed.cn.directory.node_signer(None),
    }
    body = _envelope(seed, signer=signers[forger]())
    before = _stored(seed, seed.cn)
    _assert_refused(seed, before, _post_envelope(seed, body), 401, "ENVELOPE_SIGNATURE_INVALID")


def _changed_one_byte(value: str, at: int) -> str:
    """``value`` (base64url) with the character at ``at`` replaced by another valid one."""
    return value[:at] + ("B" if value[at] != "B" else "C") + value[at + 1:]


def _tampered(body: bytes, where: str) -> bytes:
    data = json.loads(body)
    if where == "signature":
        signature = data["signatures"][0]
        signature["signature"] = _changed_one_byte(signature["signature"], 10)
        return json.dumps(data).encode("utf-8")
    payload = json.loads(b64url_decode(data["payload"]))
    if where == "message-id":
        payload["messageId"] = payload["messageId"][:-1] + (
            "0" if payload["messageId"][-1] != "0" else "1")
    elif where == "created-at":
        payload["createdAt"] = format_time(parse_time(payload["createdAt"])
                                           - dt.timedelta(seconds=1))
    else:  # a byte of the carried document's payload
        document = payload["body"]["documents"][0]
        document["payload"] = _changed_one_byte(document["payload"], 40)
    data["payload"] = b64url_encode(canonicalize(payload))
    return json.dumps(data).encode("utf-8")


@pytest.mark.parametrize("where", ["message-id", "created-at", "document", "signature"])
def test_rejects_envelope_changed_after_signing(seed: Seed, where: str) -> None:
    body = _tampered(_envelope(seed), where)
    before = _stored(seed, seed.cn)
    _assert_refused(seed, before, _post_envelope(seed, body), 401, "ENVELOPE_SIGNATURE_INVALID")


def test_rejects_envelope_from_authority_not_in_registry(seed: Seed) -> None:
    """JP-CUSTOMS signs properly with its own keys, but CN's registry does not hold it."""
    body = envelope(seed.jp, CN_ID, (issued(seed.jp, certificate_of_origin()),))
    before = _stored(seed, seed.cn)
    _assert_refused(seed, before, _post_envelope(seed, body), 403, "SENDER_UNKNOWN")


@pytest.mark.parametrize("recipient", [SG_ID, JP_ID])
def test_rejects_envelope_addressed_to_another_node(seed: Seed, recipient: str) -> None:
    body = envelope(seed.sg.directory, recipient,
                    (issued(seed.sg.directory, certificate_of_origin()),))
    before = _stored(seed, seed.cn)
    _assert_refused(seed, before, _post_envelope(seed, body), 421, "WRONG_RECIPIENT")


@pytest.mark.parametrize("created,ttl", [
    (-dt.timedelta(minutes=10), dt.timedelta(minutes=1)),
    (-dt.timedelta(minutes=10), dt.timedelta(minutes=9, seconds=58)),
    (dt.timedelta(hours=1), dt.timedelta(hours=1)),
], ids=["expired", "expired-just-now", "created-in-the-future"])
def test_rejects_stale_envelope(seed: Seed, created: dt.timedelta, ttl: dt.timedelta) -> None:
    body = _envelope(seed, created_at=utc_now() + created, ttl=ttl)
    before = _stored(seed, seed.cn)
    _assert_refused(seed, before, _post_envelope(seed, body), 400, "MESSAGE_EXPIRED")


def test_rejects_envelope_with_unknown_member(seed: Seed) -> None:
    built = build_envelope(message_id=f"msg-{uuid.uuid4()}", sender=SG_ID, recipient=CN_ID,
                           created_at=utc_now(), ttl=dt.timedelta(hours=1),
                           documents=(issued(seed.sg.directory, certificate_of_origin()),))
    payload = canonicalize({**built.to_dict(), "priority": "high"})
    body = sign(payload, seed.sg.directory.node_signer(None), typ=JWSType.ENVELOPE,
                signed_at=utc_now()).to_json()
    before = _stored(seed, seed.cn)
    _assert_refused(seed, before, _post_envelope(seed, body), 400, "ENVELOPE_MALFORMED")


def test_rejects_title_transfer_envelope_with_a_body_that_is_no_title_message(
        seed: Seed) -> None:
    """Every envelope kind is taken now; a body its kind does not define is refused with the
    kind's own code, before anything is stored."""
    built = build_envelope(message_id=f"msg-{uuid.uuid4()}", sender=SG_ID, recipient=CN_ID,
                           created_at=utc_now(), ttl=dt.timedelta(hours=1),
                           kind=EnvelopeKind.TITLE_TRANSFER, body={"note": "not here"})
    body = sign_envelope(built, seed.sg.directory.node_signer(None), signed_at=utc_now()).to_json()
    before = _stored(seed, seed.cn)
    _assert_refused(seed, before, _post_envelope(seed, body), 400, "TITLE_ENTRY_INVALID")


def _inbox_entries(seed: Seed, document_id: str) -> list[dict[str, Any]]:
    inbox = _get(seed, seed.cn, "/v1/inbox?limit=500", "officer")["documents"]
    return [d for d in inbox if d["id"] == document_id]


def test_rejects_replayed_envelope(seed: Seed) -> None:
    """A replay within the envelope's window stores nothing new and answers with the very
    receipt the first delivery got (byte for byte), marked as a duplicate."""
    document = issued(seed.sg.directory, certificate_of_origin())
    document_id = json.loads(document.payload)["id"]
    body = envelope(seed.sg.directory, CN_ID, (document,))
    first = _post_envelope(seed, body)
    assert first.status_code == 200, first.text
    assert first.headers["tradeaccord-duplicate"] == "false"
    after_first = _stored(seed, seed.cn)
    # The same bytes, and the same signed envelope serialised with other whitespace.
    for replay in (body, json.dumps(json.loads(body), indent=2).encode("utf-8")):
        again = _post_envelope(seed, replay)
        assert again.status_code == 200, again.text
        assert again.headers["tradeaccord-duplicate"] == "true"
        assert again.content == first.content
    assert _stored(seed, seed.cn) == after_first
    assert len(_inbox_entries(seed, document_id)) == 1


def test_rejects_message_id_reused_for_other_content(seed: Seed) -> None:
    message_id = f"msg-{uuid.uuid4()}"
    first = _post_envelope(seed, _envelope(seed, message_id=message_id))
    assert first.status_code == 200, first.text
    other = issued(seed.sg.directory, certificate_of_origin())
    body = envelope(seed.sg.directory, CN_ID, (other,), message_id=message_id)
    before = _stored(seed, seed.cn)
    _assert_refused(seed, before, _post_envelope(seed, body), 409, "MESSAGE_DUPLICATE")
    assert _inbox_entries(seed, json.loads(other.payload)["id"]) == []
