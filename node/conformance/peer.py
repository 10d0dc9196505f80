"""The kit's synthetic peer: its authority (keys made for the run) and its peer endpoint.

``KitAuthority`` is a fresh authority directory (plaintext keys in the kit's work
directory, thrown away after the run). ``PeerServer`` serves ``POST /v1/peer/envelopes``
on 127.0.0.1 the way the protocol says a receiver must, except that a scenario decides the
answer: it queues ``Answer``s for a document id (``plan``), which are given in order, one
per envelope that carries that document (503 then 429 then a signed receipt, say). Every
envelope received is verified (signed by the node certificate the node published, addressed
to the kit) and recorded with its bytes, so a scenario can check that a retry sent the same
bytes. A ``status-change`` envelope is recorded and answered with a receipt with no
outcomes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from node.authority import AuthorityDirectory
from node.bootstrap import authority_record
from protocol.certificates import CertUsage
from protocol.envelope import Envelope, EnvelopeKind, envelope_sha256
from protocol.errors import CodedError
from protocol.jws import GeneralJWS, JWSType, Signer, verify
from protocol.limits import Limits
from protocol.reason_codes import ReasonCode
from protocol.receipt import DocumentOutcome, Outcome, Receipt, sign_receipt
from protocol.timeutil import utc_now

KIT_AUTHORITY = "AQ-CONFORMANCE-KIT"
"""The kit's authority id (AQ: a real ISO 3166-1 code that no customs administration uses)."""
_ONE_SIGNATURE = Limits(max_signatures=1)


@dataclass(frozen=True, slots=True)
class KitAuthority:
    """The kit's authority: directory, signers, and its registry entry for the node."""

    directory: AuthorityDirectory

    @classmethod
    def create(cls, workdir: Path, *, at: dt.datetime,
               authority_id: str = KIT_AUTHORITY) -> KitAuthority:
        directory = AuthorityDirectory.create(
            workdir / "kit-authority", authority_id=authority_id, country=authority_id[:2],
            name="TradeAccord conformance kit",
            roles=("customs", "origin", "plant-protection", "transferable-records"),
            passphrase=None, at=at)
        return cls(directory)

    @property
    def authority_id(self) -> str:
        return self.directory.authority_id

    @property
    def document_signer(self) -> Signer:
        return self.directory.document_signer(None)

    @property
    def node_signer(self) -> Signer:
        return self.directory.node_signer(None)

    @property
    def root_signer(self) -> Signer:
        return self.directory.root_signer(None)

    def registry_entry(self, endpoint: str) -> dict[str, Any]:
        """The JSON form of the kit's registry entry (``POST /v1/registry/authorities``)."""
        return authority_record(self.directory, endpoint=endpoint).to_dict()


@dataclass(frozen=True, slots=True)
class Answer:
    """How the kit answers one envelope: an HTTP refusal (``status`` ≠ 200, with ``code``)
    or a signed receipt whose outcome for the planned document is ``outcome``."""

    status: int = 200
    code: ReasonCode | None = None
    outcome: Outcome = Outcome.ACCEPTED
    reasons: tuple[ReasonCode, ...] = ()


@dataclass(frozen=True, slots=True)
class Received:
    """One envelope the kit's endpoint received (verified), and what it answered."""

    message_id: str
    kind: str
    body: bytes
    envelope: Envelope
    answered: int
    at: dt.datetime


@dataclass
class PeerState:
    """What the endpoint needs and what it saw (shared with the scenarios, under a lock)."""

    kit: KitAuthority
    node_id: str
    node_root: x509.Certificate
    node_certificate: x509.Certificate
    agreement_id: str
    plans: dict[str, deque[Answer]] = field(default_factory=lambda: defaultdict(deque))
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, document_id: str, *answers: Answer) -> None:
        with self.lock:
            self.plans[document_id].extend(answers)

    def envelopes_for(self, document_id: str) -> list[Received]:
        """The document envelopes received that carry ``document_id`` (in order)."""
        with self.lock:
            return [r for r in self.received if document_id in _document_ids(r.envelope)]

    def status_changes(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.kind == EnvelopeKind.STATUS_CHANGE.value]


def _document_ids(envelope: Envelope) -> list[str]:
    ids = []
    for document in envelope.documents:
        try:
            payload = document.payload_json()
        except CodedError:
            continue
        if isinstance(payload, dict) and isinstance(payload.get("id"), str):
            ids.append(payload["id"])
    return ids


def _refusal(status: int, code: ReasonCode, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code.value, "message": message,
                                   "reasons": [code.value]}}, status_code=status)


def build_peer_app(state: PeerState) -> Starlette:
    """The kit's peer endpoint as an ASGI app."""

    async def receive(request: Request) -> Response:
        body = await request.body()
        return await asyncio.to_thread(_answer, state, body)

    return Starlette(routes=[Route("/v1/peer/envelopes", receive, methods=["POST"])])


def _answer(state: PeerState, body: bytes) -> Response:
    at = utc_now()
    try:
        jws = GeneralJWS.parse(body, limits=_ONE_SIGNATURE)
        verified = verify(jws, typ=JWSType.ENVELOPE, anchors=[state.node_root], at=at,
                          usage=CertUsage.ENVELOPE_SIGNING, limits=_ONE_SIGNATURE)
        envelope = Envelope.from_dict(jws.payload_json())
    except CodedError as error:
        return _refusal(401, ReasonCode.ENVELOPE_SIGNATURE_INVALID, error.message)
    if verified.signatures[0].integrity.leaf != state.node_certificate:
        return _refusal(401, ReasonCode.ENVELOPE_SIGNATURE_INVALID, "not the node certificate")
    if envelope.recipient != state.kit.authority_id:
        return _refusal(421, ReasonCode.WRONG_RECIPIENT, f"addressed to {envelope.recipient}")
    ids = _document_ids(envelope)
    with state.lock:
        plan = state.plans.get(ids[0]) if ids else None
        answer = plan.popleft() if plan else Answer()
        state.received.append(Received(envelope.message_id, envelope.kind.value, body,
                                       envelope, answer.status, at))
    if answer.status != 200:
        code = answer.code or ReasonCode.INTERNAL_ERROR
        return _refusal(answer.status, code, "answered so by the conformance scenario")
    outcomes = []
    for parsed in envelope.documents:
        payload = parsed.payload_json()
        recognised = answer.outcome is not Outcome.REJECTED
        outcomes.append(DocumentOutcome(
            document_id=str(payload.get("id", "")), document_sha256=envelope_sha256(parsed),
            document_type=str(payload.get("type", "")), outcome=answer.outcome,
            reasons=answer.reasons, agreement_id=state.agreement_id if recognised else None,
            recognised_as=str(payload.get("type")) if recognised else None,
            registry_version=1 if recognised else None))
    receipt = Receipt(receipt_id=str(uuid.uuid4()), message_id=envelope.message_id,
                      envelope_sha256=envelope_sha256(jws), sender=state.kit.authority_id,
                      recipient=envelope.sender, received_at=at, outcomes=tuple(outcomes))
    signed = sign_receipt(receipt, state.kit.node_signer, signed_at=at)
    return Response(signed.to_json(), media_type="application/json",
                    headers={"TradeAccord-Duplicate": "false"})


class PeerServer:
    """The peer endpoint served by uvicorn in a thread on 127.0.0.1 (``with`` stops it)."""

    def __init__(self, state: PeerState, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host = host
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(build_peer_app(state), log_level="warning", access_log=False,
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True, name="conformance-peer")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the conformance kit's peer endpoint did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=15)
        self.sock.close()


def wait_for(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy or ``timeout`` passes (then the
    last value). Bounded."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
