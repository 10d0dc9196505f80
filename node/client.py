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

    def documents(self, direction: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/documents", params={"direction": direction,  # type: ignore[no-any-return]
                                                             "limit": limit}).json()["documents"]

    def inbox(self, outcome: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/inbox", params={"outcome": outcome,  # type: ignore[no-any-return]
                                                         "limit": limit}).json()["documents"]

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

    def outbox(self, state: str | None = None) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/outbox", params={"state": state}).json()["messages"]  # type: ignore[no-any-return]

    def retry(self, message_id: str) -> dict[str, Any]:
        return self._request("POST", f"/v1/outbox/{message_id}/retry").json()  # type: ignore[no-any-return]

    def audit_verify(self) -> dict[str, Any]:
        return self._request("GET", "/v1/audit/verify").json()  # type: ignore[no-any-return]

    def ready(self) -> dict[str, Any]:
        """The readiness report (200 ready, 503 not ready: both answer a report)."""
        return self._exchange("GET", "/readyz").json()  # type: ignore[no-any-return]

    def describe(self) -> dict[str, Any]:
        return self._request("GET", "/.well-known/tradeaccord").json()  # type: ignore[no-any-return]


def _client_error(response: httpx.Response) -> ClientError:
    try:
        error = response.json()["error"]
        code = ReasonCode(error["code"])
        reasons = tuple(ReasonCode(r) for r in error.get("reasons", []))
        return ClientError(response.status_code, code, str(error.get("message", "")), reasons)
    except (ValueError, KeyError, TypeError):
        return ClientError(response.status_code, ReasonCode.INTERNAL_ERROR,
                           response.text[:200], ())
