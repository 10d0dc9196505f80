"""The node-to-node envelope: one signed message carrying documents or a control message.

Wire form: a General JWS (``typ`` = ``tradeaccord-envelope+jws``) signed by the sending
node's key, whose payload is the RFC 8785 form of::

    {"messageId", "from", "to", "createdAt", "expiresAt", "kind", "body"}

``kind`` ``documents``: ``body`` is ``{"documents": [<General JWS>, …]}`` — each document
keeps its own issuer signatures and its exact signed bytes.

``kind`` ``status-change``: the receiver of a document tells its sender of a later decision
(an officer released or rejected a document held for review). ``body`` is
``{"documentId", "documentSha256", "outcome", "reasons": [codes], "decidedAt"}`` and, when
the officer gave one, ``"reason"``: the officer's reason in plain words, for the sender.

``kind`` ``declaration``: the exporting customs forwards a released declaration to the
importing customs: ``body`` is ``{"declarationId", "documents": [<General JWS>, …]}`` — the
export declaration, its supporting documents, its certificates (each with its issuer's
signed bytes, whoever the issuer) and the export clearance decision.

``kind`` ``clearance-decision``: the importing customs answers with its signed import
clearance decision: ``body`` is ``{"declarationId", "documents": [<General JWS>, …]}``, where
``declarationId`` is the id of the export declaration decided on.

Every kind that carries ``documents`` has each document decided on its own (integrity,
chain, schema, recognition) and answered in the receipt.

``kind`` ``revocation``: an issuer's signed status statement (``protocol.status_statement``:
the document revoked, or replaced by a corrected one) travelling to a node that holds the
document, from its issuer or from a node that forwarded the document: ``body`` is
``{"statement": <General JWS>}``. The statement keeps the issuer's signature whoever relays it.

``kind`` ``agreement-proposal``: an agreement negotiated node to node: ``body`` is
``{"action": "propose" | "countersigned" | "declined" | "status", "agreementId", "jws",
"reason"}`` (``node.services.negotiation``); the signed agreement or status change inside is
verified by the receiver's trust registry.

``kind`` ``title-transfer``: a transferable record's custody messages; ``body`` is one
``protocol.title_messages.TitleMessage`` (ADR 0015 §8), answered with a receipt without
document outcomes.

Every kind is handled by a node; a body its kind does not define is refused.

The envelope digest (``envelope_sha256``) is the SHA-256 of the signed payload bytes; the
receipt names it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from protocol.canonical import canonicalize, sha256_hex
from protocol.errors import EnvelopeError, ProtocolError
from protocol.jws import GeneralJWS, JWSType, Signer, sign
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time, parse_time, require_aware

AUTHORITY_ID = re.compile(r"^[A-Z]{2}-[A-Z0-9]+(-[A-Z0-9]+)*$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


class EnvelopeKind(StrEnum):
    """What an envelope carries."""

    DOCUMENTS = "documents"
    REVOCATION = "revocation"
    STATUS_CHANGE = "status-change"
    TITLE_TRANSFER = "title-transfer"
    AGREEMENT_PROPOSAL = "agreement-proposal"
    DECLARATION = "declaration"
    CLEARANCE_DECISION = "clearance-decision"


#: Kinds whose body carries signed documents (decided one by one, answered in the receipt),
#: each with the other body members it needs besides ``documents``.
DOCUMENT_KINDS: Mapping[EnvelopeKind, frozenset[str]] = MappingProxyType({
    EnvelopeKind.DOCUMENTS: frozenset(),
    EnvelopeKind.DECLARATION: frozenset({"declarationId"}),
    EnvelopeKind.CLEARANCE_DECISION: frozenset({"declarationId"}),
})


_MEMBERS = {"messageId", "from", "to", "createdAt", "expiresAt", "kind", "body"}


def _fail(message: str) -> EnvelopeError:
    return EnvelopeError(ReasonCode.ENVELOPE_MALFORMED, message)


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """A parsed, structurally valid envelope (its signature is checked by the caller)."""

    message_id: str
    sender: str
    recipient: str
    created_at: dt.datetime
    expires_at: dt.datetime
    kind: EnvelopeKind
    body: Mapping[str, Any]
    documents: tuple[GeneralJWS, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "from": self.sender,
            "to": self.recipient,
            "createdAt": format_time(self.created_at),
            "expiresAt": format_time(self.expires_at),
            "kind": self.kind.value,
            "body": dict(self.body),
        }

    @classmethod
    def from_dict(cls, data: Any, *, limits: Limits = DEFAULT_LIMITS) -> Envelope:
        """Validate the structure of an envelope payload; ``EnvelopeError`` on any defect."""
        if not isinstance(data, Mapping):
            raise _fail("the envelope payload must be a JSON object")
        if set(data) != _MEMBERS:
            raise _fail(f"expected members {sorted(_MEMBERS)}, found {sorted(data)}")
        for name in ("messageId", "from", "to", "createdAt", "expiresAt", "kind"):
            if not isinstance(data[name], str):
                raise _fail(f"{name} must be a string")
        if not MESSAGE_ID.fullmatch(data["messageId"]):  # fullmatch: "$" admits a final \n
            raise _fail("messageId has a bad form")
        for name in ("from", "to"):
            if not AUTHORITY_ID.fullmatch(data[name]):
                raise _fail(f"{name} is not an authority id")
        try:
            created_at = parse_time(data["createdAt"])
            expires_at = parse_time(data["expiresAt"])
            kind = EnvelopeKind(data["kind"])
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        if expires_at <= created_at:
            raise _fail("expiresAt must be after createdAt")
        body = data["body"]
        if not isinstance(body, Mapping):
            raise _fail("body must be an object")
        documents: tuple[GeneralJWS, ...] = ()
        if kind is EnvelopeKind.STATUS_CHANGE:
            StatusChangeNotice.from_dict(body)
        if kind is EnvelopeKind.REVOCATION and (
                set(body) != {"statement"} or not isinstance(body["statement"], Mapping)):
            raise _fail("a revocation envelope has body {statement} with a JWS object")
        extra = DOCUMENT_KINDS.get(kind)
        if extra is not None:
            raw = body.get("documents")
            if set(body) != {"documents", *extra} or not isinstance(raw, list) or not raw:
                members = ", ".join(sorted(extra | {"documents"}))
                raise _fail(f"a {kind.value} envelope has body {{{members}}} with a non-empty "
                            "documents array of JWS")
            for name in extra:
                if not isinstance(body[name], str) or not MESSAGE_ID.fullmatch(body[name]):
                    raise _fail(f"{name} has a bad form")
            if len(raw) > limits.max_documents_per_envelope:
                raise _fail(f"{len(raw)} documents exceed {limits.max_documents_per_envelope}")
            parsed = []
            for index, item in enumerate(raw):
                if not isinstance(item, Mapping):
                    raise _fail(f"documents[{index}] must be a JWS object")
                try:
                    parsed.append(GeneralJWS.parse(item, limits=limits))
                except ProtocolError as exc:
                    raise _fail(f"documents[{index}]: {exc.code.value}: {exc.message}") from exc
            documents = tuple(parsed)
        return cls(
            message_id=data["messageId"],
            sender=data["from"],
            recipient=data["to"],
            created_at=created_at,
            expires_at=expires_at,
            kind=kind,
            body=body,
            documents=documents,
        )

    def check_fresh(self, at: dt.datetime, limits: Limits = DEFAULT_LIMITS) -> None:
        """MESSAGE_EXPIRED when ``at`` is past ``expiresAt`` or before ``createdAt`` − skew."""
        require_aware(at, "at")
        skew = dt.timedelta(seconds=limits.max_clock_skew_seconds)
        if at > self.expires_at:
            raise EnvelopeError(ReasonCode.MESSAGE_EXPIRED,
                                f"expired at {format_time(self.expires_at)}")
        if self.created_at > at + skew:
            raise EnvelopeError(ReasonCode.MESSAGE_EXPIRED,
                                f"created in the future ({format_time(self.created_at)})")


_NOTICE_MEMBERS = {"documentId", "documentSha256", "outcome", "reasons", "decidedAt"}
MAX_NOTICE_REASON = 2000  # characters of an officer's reason in a status-change notice
_OUTCOMES = {"accepted", "rejected", "held-for-review"}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChangeNotice:
    """The body of a ``status-change`` envelope: a later decision on a received document."""

    document_id: str
    document_sha256: str
    outcome: str
    reasons: tuple[ReasonCode, ...]
    decided_at: dt.datetime
    reason: str | None = None  # the officer's words; absent from the wire when None

    def __post_init__(self) -> None:
        if self.reason is not None and not 0 < len(self.reason) <= MAX_NOTICE_REASON:
            raise ValueError(f"a notice reason holds 1 to {MAX_NOTICE_REASON} characters")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "documentId": self.document_id, "documentSha256": self.document_sha256,
            "outcome": self.outcome, "reasons": [code.value for code in self.reasons],
            "decidedAt": format_time(self.decided_at)}
        if self.reason is not None:
            data["reason"] = self.reason
        return data

    @classmethod
    def from_dict(cls, data: Any) -> StatusChangeNotice:
        if not isinstance(data, Mapping) or set(data) - {"reason"} != _NOTICE_MEMBERS:
            raise _fail(f"a status-change body has exactly {sorted(_NOTICE_MEMBERS)} "
                        "and optionally reason")
        reason = data.get("reason")
        if reason is not None and (not isinstance(reason, str)
                                   or not 0 < len(reason) <= MAX_NOTICE_REASON):
            raise _fail(f"reason is a string of 1 to {MAX_NOTICE_REASON} characters")
        document_id, digest, outcome = data["documentId"], data["documentSha256"], data["outcome"]
        if not isinstance(document_id, str) or not MESSAGE_ID.fullmatch(document_id):
            raise _fail("documentId has a bad form")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise _fail("documentSha256 must be 64 lower-case hex digits")
        if not isinstance(outcome, str) or outcome not in _OUTCOMES:  # a list is unhashable
            raise _fail(f"outcome must be one of {sorted(_OUTCOMES)}")
        raw_reasons = data["reasons"]
        if not isinstance(raw_reasons, list):
            raise _fail("reasons must be an array of reason codes")
        try:
            reasons = tuple(ReasonCode(code) for code in raw_reasons)
            decided_at = parse_time(data["decidedAt"])
        except (ValueError, TypeError) as exc:
            raise _fail(f"status-change: {exc}") from exc
        return cls(document_id=document_id, document_sha256=digest, outcome=outcome,
                   reasons=reasons, decided_at=decided_at, reason=reason)


def build_envelope(
    *,
    message_id: str,
    sender: str,
    recipient: str,
    created_at: dt.datetime,
    ttl: dt.timedelta,
    documents: tuple[GeneralJWS, ...] = (),
    kind: EnvelopeKind = EnvelopeKind.DOCUMENTS,
    body: Mapping[str, Any] | None = None,
) -> Envelope:
    """Assemble an envelope (validated by round-tripping through ``from_dict``).

    For the kinds that carry documents, ``documents`` fill ``body["documents"]`` and ``body``
    holds the kind's other members (``declarationId``)."""
    require_aware(created_at, "created_at")
    if kind in DOCUMENT_KINDS:
        body = {**(body or {}), "documents": [document.to_dict() for document in documents]}
    elif body is None:
        raise ValueError("a control envelope needs a body")
    data = {
        "messageId": message_id,
        "from": sender,
        "to": recipient,
        "createdAt": format_time(created_at),
        "expiresAt": format_time(created_at + ttl),
        "kind": kind.value,
        "body": dict(body),
    }
    return Envelope.from_dict(data)


def sign_envelope(envelope: Envelope, signer: Signer, *, signed_at: dt.datetime) -> GeneralJWS:
    """Sign the envelope's canonical form with the sending node's key."""
    return sign(canonicalize(envelope.to_dict()), signer, typ=JWSType.ENVELOPE,
                signed_at=signed_at)


def envelope_sha256(jws: GeneralJWS) -> str:
    """The envelope digest named by receipts: SHA-256 of the signed payload bytes."""
    return sha256_hex(jws.payload)
