"""Attacks on every API route: no or forged credentials, the wrong role, another trader's
objects, bad bodies, bad path and query parameters, and state changes out of turn.

Each is refused with its exact status and code, and nothing stored changes at either node.
(Strict-JSON, size and content-type refusals of every body-taking route are covered route
by route in ``tests/node/test_bad_input.py``; here each kind appears once per surface.)
"""

from __future__ import annotations

import pytest

from tests.adversarial.corpus import (
    CN_ID,
    MAX_DOCUMENT_BYTES,
    SG_ID,
    Attack,
    Request,
    World,
    as_json,
    ids,
    run_attack,
)
from tests.node.conftest import certificate_of_origin

BEYOND_64_BITS = "99999999999999999999999"


def _get(path: str, caller: str | None = "officer", node: str = SG_ID,
         headers: dict[str, str] | None = None) -> Request:
    return Request(node, "GET", path, caller=caller, headers=headers or {})


def _post(path: str, body: bytes | None, caller: str | None = "officer", node: str = SG_ID,
          content_type: str | None = "application/json",
          headers: dict[str, str] | None = None) -> Request:
    return Request(node, "POST", path, caller=caller, body=body, content_type=content_type,
                   headers=headers or {})


def _submit(body: object, caller: str = "trader", **kwargs: object) -> Request:
    return _post("/v1/documents", as_json(body), caller, **kwargs)  # type: ignore[arg-type]


def _delivered_message(world: World) -> str:
    outbox = world.net.request(SG_ID, "GET", "/v1/outbox?state=delivered",
                               caller="operator").json()["messages"]
    return str(outbox[0]["messageId"])


_FORGED_KEY = {"authorization": "Bearer ta_0000000000000000.not-a-real-secret"}
_BASIC = {"authorization": "Basic b2ZmaWNlcjpvZmZpY2Vy"}

CASES: tuple[Attack, ...] = (
    # -- no credentials, forged credentials
    *(Attack(f"anonymous-{name}", make, 401, "AUTH_REQUIRED") for name, make in (
        ("lists-documents", lambda w: _get("/v1/documents", None)),
        ("reads-a-document", lambda w: _get(f"/v1/documents/{w.sent_id}", None)),
        ("reads-signed-bytes", lambda w: _get(f"/v1/documents/{w.sent_id}/signed", None)),
        ("reads-status", lambda w: _get(f"/v1/documents/{w.sent_id}/status", None)),
        ("lists-inbox", lambda w: _get("/v1/inbox", None)),
        ("lists-outbox", lambda w: _get("/v1/outbox", None)),
        ("verifies-audit-log", lambda w: _get("/v1/audit/verify", None)),
        ("reads-registry", lambda w: _get("/v1/registry", None)),
        ("lists-declarations", lambda w: _get("/v1/declarations", None)),
        ("submits-a-document", lambda w: _submit({"document": certificate_of_origin()},
                                                 None)),  # type: ignore[arg-type]
        ("asks-to-verify", lambda w: _post("/v1/verify", as_json(w.sent_signed), None)),
        ("releases-held-document", lambda w: _post(f"/v1/inbox/{w.held_id}/release", None,
                                                   None)),
    )),
    Attack("forged-api-key", lambda w: _get("/v1/documents", None, headers=_FORGED_KEY), 401,
           "AUTH_REQUIRED"),
    Attack("basic-auth-instead-of-bearer",
           lambda w: _get("/v1/documents", None, headers=_BASIC), 401, "AUTH_REQUIRED"),
    Attack("api-key-of-the-other-node",
           lambda w: _get("/v1/documents", None, headers={
               "authorization": f"Bearer {w.net[CN_ID].keys['officer']}"}), 401,
           "AUTH_REQUIRED"),
    # -- the wrong role
    Attack("trader-lists-outbox", lambda w: _get("/v1/outbox", "trader"), 403, "FORBIDDEN"),
    Attack("trader-verifies-audit-log", lambda w: _get("/v1/audit/verify", "trader"), 403,
           "FORBIDDEN"),
    Attack("trader-releases-held-document",
           lambda w: _post(f"/v1/inbox/{w.held_id}/release", None, "trader"), 403, "FORBIDDEN"),
    Attack("trader-rejects-held-document",
           lambda w: _post(f"/v1/inbox/{w.held_id}/reject", as_json({"reason": "x"}), "trader"),
           403, "FORBIDDEN"),
    Attack("officer-retries-a-message",
           lambda w: _post(f"/v1/outbox/{_delivered_message(w)}/retry", None), 403,
           "FORBIDDEN"),
    Attack("trader-retries-a-message",
           lambda w: _post(f"/v1/outbox/{_delivered_message(w)}/retry", None, "trader"), 403,
           "FORBIDDEN"),
    # -- another trader's objects
    Attack("other-trader-reads-document",
           lambda w: _get(f"/v1/documents/{w.sent_id}", "trader-other"), 404, "NOT_FOUND"),
    Attack("other-trader-reads-signed-bytes",
           lambda w: _get(f"/v1/documents/{w.sent_id}/signed", "trader-other"), 404,
           "NOT_FOUND"),
    Attack("other-trader-reads-status",
           lambda w: _get(f"/v1/documents/{w.sent_id}/status", "trader-other"), 404,
           "NOT_FOUND"),
    Attack("other-trader-sends-document",
           lambda w: _post(f"/v1/documents/{w.sent_id}/send", as_json({"to": [CN_ID]}),
                           "trader-other"), 404, "NOT_FOUND"),
    Attack("trader-submits-for-another-issuer",
           lambda w: _submit({"document": {**certificate_of_origin(), "issuer": CN_ID}}), 400,
           "ISSUER_MISMATCH"),
    # -- path and query parameters
    Attack("documents-cursor-beyond-64-bits",
           lambda w: _get(f"/v1/documents?after={BEYOND_64_BITS}"), 422, "REQUEST_INVALID"),
    Attack("inbox-cursor-beyond-64-bits",
           lambda w: _get(f"/v1/inbox?after={BEYOND_64_BITS}"), 422, "REQUEST_INVALID"),
    Attack("documents-negative-cursor", lambda w: _get("/v1/documents?after=-1"), 422,
           "REQUEST_INVALID"),
    Attack("documents-limit-zero", lambda w: _get("/v1/documents?limit=0"), 422,
           "REQUEST_INVALID"),
    Attack("documents-limit-huge", lambda w: _get("/v1/documents?limit=100000"), 422,
           "REQUEST_INVALID"),
    Attack("documents-unknown-direction", lambda w: _get("/v1/documents?direction=sideways"),
           422, "REQUEST_INVALID"),
    Attack("inbox-unknown-outcome", lambda w: _get("/v1/inbox?outcome=maybe"), 422,
           "REQUEST_INVALID"),
    Attack("outbox-unknown-state", lambda w: _get("/v1/outbox?state=exploded", "operator"),
           422, "REQUEST_INVALID"),
    Attack("document-id-with-path-traversal",
           lambda w: _get("/v1/documents/..%2F..%2Fetc%2Fpasswd"), 404, "NOT_FOUND"),
    Attack("document-id-too-long", lambda w: _get(f"/v1/documents/{'a' * 300}"), 422,
           "REQUEST_INVALID"),
    Attack("unknown-document", lambda w: _get("/v1/documents/no-such-document"), 404,
           "NOT_FOUND"),
    Attack("unknown-declaration", lambda w: _get("/v1/declarations/no-such-declaration"), 404,
           "NOT_FOUND"),
    Attack("unknown-route", lambda w: _get("/v1/secrets"), 404, "NOT_FOUND"),
    Attack("wrong-method-on-a-route", lambda w: Request(SG_ID, "DELETE", "/v1/documents",
                                                       caller="officer"), 405,
           "REQUEST_INVALID"),
    # -- state changes out of turn
    Attack("release-unknown-document",
           lambda w: _post("/v1/inbox/no-such-document/release", None), 404, "NOT_FOUND"),
    Attack("release-an-outbound-document",
           lambda w: _post(f"/v1/inbox/{w.sent_id}/release", None), 404, "NOT_FOUND"),
    Attack("retry-a-delivered-message",
           lambda w: _post(f"/v1/outbox/{_delivered_message(w)}/retry", None, "operator"),
           409, "STATE_INVALID"),
    Attack("retry-unknown-message",
           lambda w: _post("/v1/outbox/no-such-message/retry", None, "operator"), 404,
           "NOT_FOUND"),
    Attack("reject-with-empty-reason",
           lambda w: _post(f"/v1/inbox/{w.held_id}/reject", as_json({"reason": ""})), 400,
           "REQUEST_INVALID"),
    Attack("send-to-self",
           lambda w: _post(f"/v1/documents/{w.sent_id}/send", as_json({"to": [SG_ID]}),
                           "trader"), 400, "REQUEST_INVALID"),
    # -- bodies
    Attack("submit-unknown-document-type",
           lambda w: _submit({"document": {**certificate_of_origin(), "type": "no-such"}}), 422,
           "DOC_TYPE_UNKNOWN"),
    Attack("submit-schema-invalid",
           lambda w: _submit({"document": {**certificate_of_origin(), "body": []}}), 422,
           "SCHEMA_INVALID"),
    Attack("submit-x5c-like-non-ascii-in-id",
           lambda w: _submit({"document": certificate_of_origin("\u00e9t\u00e9")}), 422,
           "SCHEMA_INVALID"),
    Attack("submit-with-oversized-idempotency-key",
           lambda w: _submit({"document": certificate_of_origin()},
                             headers={"idempotency-key": "k" * 1000}), 400, "REQUEST_INVALID"),
    Attack("submit-declared-oversize",
           lambda w: _post("/v1/documents", b'{"p": "' + b"a" * MAX_DOCUMENT_BYTES + b'"}',
                           "trader"), 413, "JSON_TOO_LARGE"),
    Attack("submit-as-form-data",
           lambda w: _post("/v1/documents", b"document=x", "trader",
                           content_type="application/x-www-form-urlencoded"), 415,
           "CONTENT_TYPE_UNSUPPORTED"),
    Attack("declaration-bad-body",
           lambda w: _post("/v1/declarations", as_json({"declaration": 5}), "trader"), 400,
           "REQUEST_INVALID"),
    Attack("declaration-not-json",
           lambda w: _post("/v1/declarations", b"{", "trader"), 400, "JSON_MALFORMED"),
)


@pytest.mark.parametrize("attack", CASES, ids=ids(CASES))
def test_api_route_refuses(world: World, attack: Attack) -> None:
    run_attack(world, attack)
