"""A typed client for a node's API (traders, officers, operators): ``NodeClient``.

Used by the CLI, the examples and the tests. Every refusal raises ``ClientError`` carrying
the node's reason code and HTTP status; a node that cannot be reached raises
``ConnectionProblem``. Answers are read as streams and refused (``ClientError`` with
JSON_TOO_LARGE) beyond ``max_answer_bytes``.
"""

from __future__ import annotations

import json
import ssl
import time
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from node.bounded_read import read_within_sync, with_body
from node.errors import DeliveryError
from protocol.reason_codes import ReasonCode

# Answers after which a request may be retried: the node (or a proxy in front) was briefly
# unavailable; with an idempotency key a retry cannot create anything twice.
_RETRIED_STATUSES = frozenset({502, 503, 504})
# The largest answer a node gives is its registry (GET /v1/registry): at most the registry
# size limit (256 MiB), plus room for the summary around it.
MAX_ANSWER_BYTES = 257 * 1024 * 1024


class ClientError(Exception):
    """The node refused the request."""

    def __init__(self, status: int, code: ReasonCode, message: str,
                 reasons: tuple[ReasonCode, ...]) -> None:
        super().__init__(f"{status} {code.value}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.reasons = reasons

    @property
    def codes(self) -> tuple[ReasonCode, ...]:
        return self.reasons or (self.code,)

    def diagnostics(self) -> str:
        return f"{self.code.value}: {self.message}\n  ({self.code.description})\n  HTTP {self.status}"


class ConnectionProblem(Exception):
    """The node could not be reached."""


class NodeClient:
    """Synchronous client. ``NodeClient(url, api_key)``; use as a context manager."""

    def __init__(self, base_url: str, api_key: str | None = None, *,
                 timeout: float = 30.0, transport: httpx.BaseTransport | None = None,
                 verify: ssl.SSLContext | bool = True,
                 max_answer_bytes: int = MAX_ANSWER_BYTES) -> None:
        """``verify``: an SSL context for HTTPS nodes with a private CA or mutual TLS."""
        self._max_answer_bytes = max_answer_bytes
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers,
                                  timeout=timeout, transport=transport, verify=verify)

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, *, json_body: Any = None,
                 content: bytes | None = None, params: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> httpx.Response:
        kwargs: dict[str, Any] = {"params": {k: v for k, v in (params or {}).items()
                                             if v is not None},
                                  "headers": dict(headers or {})}
        if json_body is not None:
            kwargs["content"] = json.dumps(json_body).encode("utf-8")
            kwargs["headers"]["content-type"] = "application/json"
        elif content is not None:
            kwargs["content"] = content
            kwargs["headers"]["content-type"] = "application/json"
        response = self._exchange(method, path, **kwargs)
        if response.status_code >= 400:
            raise _client_error(response)
        return response

    def _exchange(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; the answer read whole, but no larger than ``max_answer_bytes``."""
        try:
            with self._http.stream(method, path, **kwargs) as streamed:
                try:
                    body = read_within_sync(streamed, self._max_answer_bytes)
                except DeliveryError as exc:
                    raise ClientError(streamed.status_code, exc.code, exc.message, ()) from exc
                return with_body(streamed, body)
        except httpx.TransportError as exc:
            raise ConnectionProblem(f"cannot reach {self._http.base_url}: {exc}") from exc

    # -- documents (traders and officers) --
    def submit(self, document: Mapping[str, Any], send_to: list[str] | None = None, *,
               idempotency_key: str | None = None, retries: int = 2) -> dict[str, Any]:
        """Submit a document. The request carries an ``Idempotency-Key`` (``idempotency_key``,
        else a new one), so it is retried safely: after a lost connection or a 502/503/504,
        up to ``retries`` times with the same key, and the node answers a retry of a
        request it already processed as it did the first time, creating nothing."""
        body: dict[str, Any] = {"document": dict(document)}
        if send_to:
            body["sendTo"] = send_to
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        for attempt in range(retries + 1):
            try:
                return self._request("POST", "/v1/documents", json_body=body,  # type: ignore[no-any-return]
                                     headers=headers).json()
            except ConnectionProblem:
                if attempt == retries:
                    raise
            except ClientError as exc:
                if attempt == retries or exc.status not in _RETRIED_STATUSES:
                    raise
            time.sleep(min(2.0, 0.2 * 2**attempt))  # bounded by ``retries``
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def submit_batch(self, documents: list[Mapping[str, Any]],
                     send_to: list[str] | None = None) -> dict[str, Any]:
        """Submit several documents in one request (``POST /v1/documents:batch``): one
        transaction at the node, each document with its own result (``results[i]``: status
        201 with ``document``, or the refusal's status with ``error.code``). Not retried: a
        lost answer may have stored the good items (submitting them again answers CONFLICT
        for those)."""
        items: list[dict[str, Any]] = []
        for document in documents:
            item: dict[str, Any] = {"document": dict(document)}
            if send_to:
                item["sendTo"] = send_to
            items.append(item)
        return self._request("POST", "/v1/documents:batch",  # type: ignore[no-any-return]
                             json_body={"documents": items}).json()

    def send(self, document_id: str, to: list[str]) -> dict[str, Any]:
        return self._request("POST", f"/v1/documents/{document_id}/send",  # type: ignore[no-any-return]
                             json_body={"to": to}).json()

    def document(self, document_id: str, direction: str | None = None) -> dict[str, Any]:
        return self._request("GET", f"/v1/documents/{document_id}",  # type: ignore[no-any-return]
                             params={"direction": direction}).json()

    def signed(self, document_id: str, direction: str | None = None) -> bytes:
        return self._request("GET", f"/v1/documents/{document_id}/signed",
                             params={"direction": direction}).content

    def status(self, document_id: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/documents/{document_id}/status").json()  # type: ignore[no-any-return]

    def documents(self, direction: str | None = None, limit: int = 100,
                  after: int | None = None) -> list[dict[str, Any]]:
        """Documents visible to the caller, newest first; ``after``: a ``cursor`` to page
        on from."""
        return self._request("GET", "/v1/documents", params={  # type: ignore[no-any-return]
            "direction": direction, "limit": limit, "after": after}).json()["documents"]

    def inbox(self, outcome: str | None = None, limit: int = 100,
              after: int | None = None) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/inbox", params={  # type: ignore[no-any-return]
            "outcome": outcome, "limit": limit, "after": after}).json()["documents"]

    def release(self, document_id: str, reason: str | None = None) -> dict[str, Any]:
        body = {"reason": reason} if reason else {}
        return self._request("POST", f"/v1/inbox/{document_id}/release",  # type: ignore[no-any-return]
                             json_body=body).json()

    def reject(self, document_id: str, reason: str) -> dict[str, Any]:
        return self._request("POST", f"/v1/inbox/{document_id}/reject",  # type: ignore[no-any-return]
                             json_body={"reason": reason}).json()

    # -- declarations (single declaration, bilateral clearance) --
    def submit_declaration(self, package: Mapping[str, Any], to: str | None = None
                           ) -> dict[str, Any]:
        """Submit a declaration package at the exporting node; the joint status back."""
        return self._request("POST", "/v1/declarations", json_body=dict(package),  # type: ignore[no-any-return]
                             params={"to": to}).json()

    def declaration(self, declaration_id: str) -> dict[str, Any]:
        """The joint status of a declaration."""
        return self._request("GET", f"/v1/declarations/{declaration_id}").json()  # type: ignore[no-any-return]

    def declarations(self, state: str | None = None, side: str | None = None,
                     limit: int = 100, after: int | None = None) -> list[dict[str, Any]]:
        """Declarations visible to the caller, newest first."""
        return self._request("GET", "/v1/declarations", params={  # type: ignore[no-any-return]
            "state": state, "side": side, "limit": limit, "after": after}).json()["declarations"]

    def release_declaration(self, declaration_id: str, reason: str) -> dict[str, Any]:
        """Officer: release a declaration held at this node."""
        return self._request("POST", f"/v1/declarations/{declaration_id}/release",  # type: ignore[no-any-return]
                             json_body={"reason": reason}).json()

    def reject_declaration(self, declaration_id: str, reason: str) -> dict[str, Any]:
        """Officer: reject a declaration held at this node."""
        return self._request("POST", f"/v1/declarations/{declaration_id}/reject",  # type: ignore[no-any-return]
                             json_body={"reason": reason}).json()

    # -- transferable records --
    def issue_title(self, bill: Mapping[str, Any], holder: str) -> dict[str, Any]:
        """The carrier's node signs ``bill`` and its issuance to ``holder``; the record."""
        body = {"bill": dict(bill), "holder": holder}
        return self._request("POST", "/v1/titles", json_body=body).json()  # type: ignore[no-any-return]

    def title(self, record_id: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/titles/{record_id}").json()  # type: ignore[no-any-return]

    def titles(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/titles", params={  # type: ignore[no-any-return]
            "status": status, "limit": limit}).json()["titles"]

    def transfer_title(self, record_id: str, to_party: str, *, to_authority: str | None = None,
                       endorse: bool = False) -> dict[str, Any]:
        """The holder transfers (``endorse``: endorses) the title to ``to_party``, at the
        node of ``to_authority`` (default: this node)."""
        body: dict[str, Any] = {"toParty": to_party, "endorse": endorse}
        if to_authority is not None:
            body["toAuthority"] = to_authority
        return self._request("POST", f"/v1/titles/{record_id}/transfer",  # type: ignore[no-any-return]
                             json_body=body).json()

    def blank_endorse_title(self, record_id: str) -> dict[str, Any]:
        return self._request(  # type: ignore[no-any-return]
            "POST", f"/v1/titles/{record_id}/blank-endorse").json()

    def surrender_title(self, record_id: str) -> dict[str, Any]:
        return self._request(  # type: ignore[no-any-return]
            "POST", f"/v1/titles/{record_id}/surrender").json()

    def answer_surrender(self, record_id: str, *, accept: bool,
                         reason: str | None = None) -> dict[str, Any]:
        """The carrier's officer accepts or rejects a surrender."""
        if accept:
            return self._request(  # type: ignore[no-any-return]
                "POST", f"/v1/titles/{record_id}/surrender/accept").json()
        return self._request(  # type: ignore[no-any-return]
            "POST", f"/v1/titles/{record_id}/surrender/reject",
            json_body={"reason": reason} if reason else None).json()

    def export_title(self, record_id: str, fmt: str | None = None) -> bytes:
        """The signed bill and its chain (or, ``fmt`` ``dcsa-ebl-3``, the DCSA document)."""
        return self._request("GET", f"/v1/titles/{record_id}/export",
                             params={"format": fmt}).content

    def verify(self, signed: bytes) -> dict[str, Any]:
        return self._request("POST", "/v1/verify", content=signed).json()  # type: ignore[no-any-return]

    # -- registry and operations (operators) --
    def registry(self) -> dict[str, Any]:
        return self._request("GET", "/v1/registry").json()  # type: ignore[no-any-return]

    def add_authority(self, authority: Mapping[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/v1/registry/authorities",  # type: ignore[no-any-return]
                             json_body=dict(authority)).json()

    def add_agreement(self, signed_agreement: bytes) -> dict[str, Any]:
        return self._request("POST", "/v1/registry/agreements",  # type: ignore[no-any-return]
                             content=signed_agreement).json()

    def add_proposal(self, proposal: bytes) -> dict[str, Any]:
        """Record a partner's proposal (signed by its root) for countersigning."""
        return self._request("POST", "/v1/registry/proposals",  # type: ignore[no-any-return]
                             content=proposal).json()

    def countersign(self, agreement_id: str) -> dict[str, Any]:
        """Countersign a recorded proposal with this node's root; the answer holds the
        dual-signed ``agreement``."""
        return self._request(  # type: ignore[no-any-return]
            "POST", f"/v1/registry/agreements/{agreement_id}/countersign").json()

    def change_agreement_status(self, agreement_id: str, status: str,
                                reason: str | None = None) -> dict[str, Any]:
        """Suspend, resume (``in-force``) or terminate an agreement, signed at the node."""
        body: dict[str, Any] = {"status": status}
        if reason:
            body["reason"] = reason
        return self._request("POST",  # type: ignore[no-any-return]
                             f"/v1/registry/agreements/{agreement_id}/status",
                             json_body=body).json()

    def import_snapshot(self, snapshot: bytes) -> dict[str, Any]:
        return self._request("POST", "/v1/registry/snapshots", content=snapshot).json()  # type: ignore[no-any-return]

    def outbox(self, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Outbound messages (operators), newest first."""
        return self._request("GET", "/v1/outbox", params={  # type: ignore[no-any-return]
            "state": state, "limit": limit}).json()["messages"]

    def retry(self, message_id: str) -> dict[str, Any]:
        return self._request("POST", f"/v1/outbox/{message_id}/retry").json()  # type: ignore[no-any-return]

    def audit_verify(self) -> dict[str, Any]:
        return self._request("GET", "/v1/audit/verify").json()  # type: ignore[no-any-return]

    # -- webhooks (ADR 0031, docs/webhooks.md) --
    def add_webhook(self, url: str, events: list[str] | None = None) -> dict[str, Any]:
        """Register a callback URL; the answer's ``secret`` (shown only now) verifies the
        notifications' signatures."""
        body: dict[str, Any] = {"url": url}
        if events:
            body["events"] = events
        return self._request("POST", "/v1/webhooks", json_body=body).json()  # type: ignore[no-any-return]

    def webhooks(self) -> list[dict[str, Any]]:
        """The caller's webhooks (an operator: all), without secrets."""
        return self._request("GET", "/v1/webhooks").json()["webhooks"]  # type: ignore[no-any-return]

    def remove_webhook(self, webhook_id: str) -> dict[str, Any]:
        return self._request("DELETE", f"/v1/webhooks/{webhook_id}").json()  # type: ignore[no-any-return]

    def ready(self) -> dict[str, Any]:
        """The readiness report (200 ready, 503 not ready: both answer a report)."""
        return self._exchange("GET", "/readyz").json()  # type: ignore[no-any-return]

    def describe(self) -> dict[str, Any]:
        return self._request("GET", "/.well-known/tradeaccord").json()  # type: ignore[no-any-return]

    # -- revocation and replacement (node.services.lifecycle) --
    def revoke(self, document_id: str, reason: str, *, effective_at: str | None = None,
               also_to: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"reason": reason}
        if effective_at is not None:
            body["effectiveAt"] = effective_at
        if also_to:
            body["alsoTo"] = also_to
        return self._request("POST", f"/v1/documents/{document_id}/revoke",  # type: ignore[no-any-return]
                             json_body=body).json()

    def replace(self, document_id: str, reason: str, *,
                document: Mapping[str, Any] | None = None, replacement_id: str | None = None,
                effective_at: str | None = None,
                also_to: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"reason": reason}
        if document is not None:
            body["document"] = dict(document)
        if replacement_id is not None:
            body["replacementId"] = replacement_id
        if effective_at is not None:
            body["effectiveAt"] = effective_at
        if also_to:
            body["alsoTo"] = also_to
        return self._request("POST", f"/v1/documents/{document_id}/replace",  # type: ignore[no-any-return]
                             json_body=body).json()

    def statements(self, document_id: str | None = None, *, undelivered: bool = False
                   ) -> list[dict[str, Any]]:
        """Status statements held at the node, each with ``deliveries`` and ``pending``."""
        params = {"documentId": document_id, "undelivered": "true" if undelivered else None}
        return self._request("GET", "/v1/statements",  # type: ignore[no-any-return]
                             params=params).json()["statements"]

    # -- negotiations (operators) --
    def negotiations(self) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/negotiations").json()["negotiations"]  # type: ignore[no-any-return]

    def negotiation(self, agreement_id: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/negotiations/{agreement_id}").json()  # type: ignore[no-any-return]

    def propose_negotiation(self, proposal: Mapping[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/v1/negotiations",  # type: ignore[no-any-return]
                             json_body=dict(proposal)).json()

    def countersign_negotiation(self, agreement_id: str) -> dict[str, Any]:
        return self._request(  # type: ignore[no-any-return]
            "POST", f"/v1/negotiations/{agreement_id}/countersign").json()

    def decline_negotiation(self, agreement_id: str, reason: str) -> dict[str, Any]:
        return self._request("POST", f"/v1/negotiations/{agreement_id}/decline",  # type: ignore[no-any-return]
                             json_body={"reason": reason}).json()

    def negotiated_status(self, agreement_id: str, status: str, *,
                          effective_at: str | None = None, reason: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {"status": status, "reason": reason}
        if effective_at is not None:
            body["effectiveAt"] = effective_at
        return self._request("POST", f"/v1/negotiations/{agreement_id}/status",  # type: ignore[no-any-return]
                             json_body=body).json()

    def published_registry(self) -> bytes:
        """The node's signed registry snapshot (no API key needed)."""
        return self._request("GET", "/.well-known/tradeaccord/registry").content

    def evidence(self, subject_id: str, *, declaration: bool = False) -> bytes:
        """The signed evidence bundle (ZIP bytes) of a document or a declaration."""
        kind = "declarations" if declaration else "documents"
        return self._request("GET", f"/v1/evidence/{kind}/{subject_id}").content

    def status_answer(self, document_id: str, issuer: str | None = None) -> bytes:
        """The node's signed status answer (no API key needed), as received."""
        return self._request("GET", f"/v1/status/{document_id}",
                             params={"issuer": issuer}).content


def problem_of(body: Any) -> tuple[ReasonCode, str, tuple[ReasonCode, ...]]:
    """Code, message and reasons of a node's error body: RFC 9457 problem details
    (top-level ``code``/``detail``/``reasons``), or the deprecated ``error`` object of nodes
    before ADR 0030. Raises ``KeyError``/``ValueError``/``TypeError`` on anything else."""
    if not isinstance(body, dict):
        raise TypeError("an error body is a JSON object")
    if "code" in body:
        message = body.get("detail", "")
        listed = body.get("reasons", [])
    else:
        error = body["error"]
        body = error
        message = error.get("message", "")
        listed = error.get("reasons", [])
    code = ReasonCode(body["code"])
    return code, str(message), tuple(ReasonCode(r) for r in listed)


def _client_error(response: httpx.Response) -> ClientError:
    """The node's refusal, read from either error form: the legacy
    ``{"error": {"code", "message", "reasons"}}`` or RFC 9457 problem details with ``code``,
    ``reasons`` and ``detail`` as top-level members (both may be present)."""
    try:
        code, message, reasons = problem_of(response.json())
        return ClientError(response.status_code, code, message, reasons)
    except (ValueError, KeyError, TypeError, AttributeError):
        return ClientError(response.status_code, ReasonCode.INTERNAL_ERROR,
                           response.text[:200], ())
