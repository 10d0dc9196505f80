"""One conformance run: the kit's state against one node, and the helpers scenarios use.

``KitRun.open`` reads the node's description (``/.well-known/tradeaccord``: authority id,
root and node certificates), creates the kit's authority, starts its peer endpoint and
installs the kit's registry entry at the node through the operator API (``POST
/v1/registry/authorities``, the operator key): that is how the synthetic authority gets into
the node's registry. Scenarios then talk to the node's peer endpoint (as a sending peer),
to its API (operator: registry; officer: submit, release, status) and watch the kit's own
peer endpoint (as a receiving peer).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from node.authority import AuthorityDirectory
from node.client import NodeClient
from node.conformance.peer import (
    KIT_AUTHORITY,
    Answer,
    KitAuthority,
    PeerServer,
    PeerState,
    wait_for,
)
from protocol.certificates import CertUsage, load_certificate_pem
from protocol.envelope import EnvelopeKind, build_envelope, sign_envelope
from protocol.errors import CodedError
from protocol.jws import GeneralJWS, JWSType, Signer, verify
from protocol.limits import Limits
from protocol.receipt import Receipt
from protocol.signed_document import sign_document
from protocol.timeutil import format_time, utc_now

_ONE_SIGNATURE = Limits(max_signatures=1)
ENVELOPE_TTL = dt.timedelta(hours=1)


class KitProblem(Exception):
    """The run cannot go on (the node is unreachable, refuses the kit's registry entry…)."""


@dataclass(frozen=True, slots=True)
class KitOptions:
    """What ``tradeaccord conformance run`` was given."""

    node_url: str
    operator_key: str
    officer_key: str
    workdir: Path
    peer_host: str = "127.0.0.1"
    peer_port: int = 0
    timeout: float = 60.0
    hold_type: str | None = None


@dataclass
class PeerAnswer:
    """The node's answer to an envelope the kit sent."""

    status: int
    code: str | None
    body: bytes
    duplicate: str | None

    def receipt(self, run: KitRun) -> Receipt:
        return run.verify_receipt(self.body)


@dataclass
class KitRun:
    """Everything a scenario needs. Build with ``open``; ``close`` stops the endpoint."""

    options: KitOptions
    kit: KitAuthority
    stranger: KitAuthority
    node_id: str
    node_root: x509.Certificate
    node_certificate: x509.Certificate
    state: PeerState
    server: PeerServer
    http: httpx.Client
    operator: NodeClient
    officer: NodeClient
    agreement_id: str
    notes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, options: KitOptions) -> KitRun:
        at = utc_now()
        http = httpx.Client(base_url=options.node_url.rstrip("/"), timeout=30)
        try:
            described = http.get("/.well-known/tradeaccord")
            described.raise_for_status()
            info = described.json()
            node_id = str(info["authorityId"])
            node_root = load_certificate_pem(info["certificates"]["root"].encode("ascii"))
            node_cert = load_certificate_pem(info["certificates"]["node"].encode("ascii"))
        except (httpx.HTTPError, KeyError, TypeError, ValueError, CodedError) as exc:
            http.close()
            raise KitProblem(f"cannot read {options.node_url}/.well-known/tradeaccord: "
                             f"{exc}") from exc
        run_tag = uuid.uuid4().hex[:8].upper()
        # Certificates from an hour ago, so that an envelope "created" in the past (the
        # expired-message scenario) is still signed inside their validity.
        made = at - dt.timedelta(hours=1)
        kit = KitAuthority.create(options.workdir, at=made)
        # Same authority id, another root: what a forger with its own CA would send.
        stranger = KitAuthority(AuthorityDirectory.create(
            options.workdir / "stranger", authority_id=KIT_AUTHORITY, country="AQ",
            name="Not the conformance kit", roles=("customs", "origin"), passphrase=None,
            at=made))
        agreement_id = f"AQ-CONFORMANCE-{run_tag}"
        state = PeerState(kit=kit, node_id=node_id, node_root=node_root,
                          node_certificate=node_cert, agreement_id=agreement_id)
        server = PeerServer(state, host=options.peer_host, port=options.peer_port)
        server.start()
        return cls(options=options, kit=kit, stranger=stranger, node_id=node_id,
                   node_root=node_root, node_certificate=node_cert, state=state,
                   server=server, http=http,
                   operator=NodeClient(options.node_url, options.operator_key),
                   officer=NodeClient(options.node_url, options.officer_key),
                   agreement_id=agreement_id)

    def close(self) -> None:
        self.server.stop()
        self.http.close()
        self.operator.close()
        self.officer.close()

    # -- documents and envelopes the kit sends ------------------------------------------

    def document(self, doc_type: str = "certificate-of-origin",
                 edit: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """A fresh document of the kit's authority (from the packaged demo data)."""
        raw = resources.files("node.demo").joinpath("data", f"{doc_type}.json").read_text("utf-8")
        document: dict[str, Any] = json.loads(raw)
        document.update(id=f"conformance-{uuid.uuid4()}", issuer=self.kit.authority_id,
                        issuedAt=format_time(utc_now().replace(microsecond=0)))
        if edit is not None:
            edit(document)
        return document

    def sign(self, document: Mapping[str, Any], signer: Signer | None = None,
             signed_at: dt.datetime | None = None) -> GeneralJWS:
        return sign_document(document, signer or self.kit.document_signer,
                             signed_at=signed_at or utc_now())

    def envelope(self, documents: tuple[GeneralJWS, ...], *, message_id: str | None = None,
                 sender: str | None = None, recipient: str | None = None,
                 created_at: dt.datetime | None = None, ttl: dt.timedelta = ENVELOPE_TTL,
                 signer: Signer | None = None, kind: EnvelopeKind = EnvelopeKind.DOCUMENTS,
                 body: Mapping[str, Any] | None = None) -> bytes:
        created = created_at or utc_now()
        envelope = build_envelope(message_id=message_id or str(uuid.uuid4()),
                                  sender=sender or self.kit.authority_id,
                                  recipient=recipient or self.node_id, created_at=created,
                                  ttl=ttl, documents=documents, kind=kind, body=body)
        return sign_envelope(envelope, signer or self.kit.node_signer,
                             signed_at=created).to_json()

    def post(self, body: bytes, content_type: str = "application/json") -> PeerAnswer:
        """POST ``body`` to the node's peer endpoint."""
        response = self.http.post("/v1/peer/envelopes", content=body,
                                  headers={"content-type": content_type})
        code = None
        if response.status_code != 200:
            try:
                answer = response.json()
                # RFC 9457 problem details; the "error" object of nodes before ADR 0030.
                code = str(answer["code"] if "code" in answer else answer["error"]["code"])
            except (ValueError, KeyError, TypeError):
                code = None
        return PeerAnswer(response.status_code, code, response.content,
                          response.headers.get("tradeaccord-duplicate"))

    def verify_receipt(self, body: bytes) -> Receipt:
        """A receipt as a sender must check it: signed by the node certificate the node
        published, under its root, typ receipt; parsed strictly."""
        at = utc_now()
        jws = GeneralJWS.parse(body, limits=_ONE_SIGNATURE)
        verified = verify(jws, typ=JWSType.RECEIPT, anchors=[self.node_root], at=at,
                          usage=CertUsage.ENVELOPE_SIGNING, limits=_ONE_SIGNATURE)
        if verified.signatures[0].integrity.leaf != self.node_certificate:
            raise KitProblem("the receipt is not signed by the node certificate the node "
                             "publishes")
        return Receipt.from_dict(jws.payload_json())

    def send_documents(self, *documents: GeneralJWS) -> tuple[PeerAnswer, Receipt | None]:
        answer = self.post(self.envelope(tuple(documents)))
        return answer, answer.receipt(self) if answer.status == 200 else None

    # -- the node's side ------------------------------------------------------------------

    def node_sends(self, doc_type: str = "commercial-invoice", *,
                   document_id: str | None = None) -> str:
        """Ask the node (officer) to sign one of its documents and send it to the kit;
        return the document id."""
        raw = resources.files("node.demo").joinpath("data", f"{doc_type}.json").read_text("utf-8")
        document = copy.deepcopy(json.loads(raw))
        document.pop("issuer", None)
        document.pop("issuedAt", None)
        document["id"] = document_id or f"conformance-{uuid.uuid4()}"
        submitted = self.officer.submit(document, send_to=[self.kit.authority_id])
        return str(submitted["id"])

    def node_sends_planned(self, answers: tuple[Answer, ...],
                           doc_type: str = "commercial-invoice") -> str:
        """``node_sends``, with the kit's answers to it planned first."""
        document_id = f"conformance-{uuid.uuid4()}"
        self.state.plan(document_id, *answers)
        return self.node_sends(doc_type, document_id=document_id)

    def delivery(self, document_id: str) -> dict[str, Any] | None:
        """The node's delivery of ``document_id`` to the kit, or None."""
        for delivery in self.officer.status(document_id)["deliveries"]:
            if delivery["to"] == self.kit.authority_id:
                return dict(delivery)
        return None

    def settled_delivery(self, document_id: str, *, leave: tuple[str, ...] = ("pending",)
                         ) -> dict[str, Any] | None:
        """Wait (bounded) until the delivery's state is not in ``leave``."""
        def settled() -> dict[str, Any] | None:
            found = self.delivery(document_id)
            return found if found is not None and found["state"] not in leave else None

        result: dict[str, Any] | None = wait_for(settled, timeout=self.options.timeout)
        return result
