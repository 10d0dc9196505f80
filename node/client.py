"""A typed client for a node's API (traders, officers, operators): ``NodeClient``.

Used by the CLI, the examples and the tests. Every refusal raises ``ClientError`` carrying
the node's reason code and HTTP status; a node that cannot be reached raises
``ConnectionProblem``.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from protocol.reason_codes import ReasonCode


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
                 verify: ssl.SSLContext | bool = True) -> None:
        """``verify``: an SSL context for HTTPS nodes with a private CA or mutual TLS."""
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
                 ) -> httpx.Response:
        kwargs: dict[str, Any] = {"params": {k: v for k, v in (params or {}).items()
                                             if v is not None}}
        if json_body is not None:
            kwargs["content"] = json.dumps(json_body).encode("utf-8")
            kwargs["headers"] = {"content-type": "application/json"}
        elif content is not None:
            kwargs["content"] = content
            kwargs["headers"] = {"content-type": "application/json"}
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ConnectionProblem(f"cannot reach {self._http.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise _client_error(response)
        return response

    # -- documents (traders and officers) --
    def submit(self, document: Mapping[str, Any], send_to: list[str] | None = None
               ) -> dict[str, Any]:
        body: dict[str, Any] = {"document": dict(document)}
        if send_to:
            body["sendTo"] = send_to
        return self._request("POST", "/v1/documents", json_body=body).json()  # type: ignore[no-any-return]

    def send(self, document_id: str, to: list[str]) -> dict[str, Any]:
        return self._request("POST", f"/v1/documents/{document_id}/send",
                             json_body={"to": to}).json()  # type: ignore[no-any-return]

    def document(self, document_id: str, direction: str | None = None) -> dict[str, Any]:
        return self._request("GET", f"/v1/documents/{document_id}",
                             params={"direction": direction}).json()  # type: ignore[no-any-return]

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
        try:
            response = self._http.get("/readyz")
        except httpx.TransportError as exc:
            raise ConnectionProblem(f"cannot reach {self._http.base_url}: {exc}") from exc
        return response.json()  # type: ignore[no-any-return]

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
