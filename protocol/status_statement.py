"""Signed status statements: the issuer revokes or replaces a document it signed.

Wire form: a General JWS (``typ`` = ``tradeaccord-status+jws``) signed by the issuing
authority's **document signer** (the key that signs its documents; chained to its root),
whose payload is the RFC 8785 form of::

    {"statementId", "status", "documentId", "documentSha256", "issuer", "effectiveAt",
     "issuedAt", "reason", "replacementId", "replacementSha256"}

``status`` is ``revoked`` or ``replaced``. ``replacementId``/``replacementSha256`` name the
corrected document for ``replaced`` and are null for ``revoked``. ``documentSha256`` is the
digest of the document's signed payload (as in receipts and references), so a statement
applies to exactly one signed document. A statement is final: a document has at most one.

Rules (``verify_statement``):

1. the JWS verifies (integrity, algorithm, ``typ``) and its signer certificate chains, at the
   signing time, to the anchors the caller's resolver names for it (STATUS_INVALID with the
   underlying code in the message otherwise);
2. the authority named in the signer certificate is the statement's ``issuer``
   (STATUS_NOT_ISSUER otherwise): only the issuer may withdraw its document. Whether the
   ``issuer`` is the issuer of the document the caller holds is the caller's check.

A statement takes effect at ``effectiveAt``: a verification at a time before it still
accepts the document; at or after it, ``status_refusal`` names DOCUMENT_REVOKED or
DOCUMENT_REPLACED (point in time, as for agreements).

``StatusAnswer`` is what a node answers to ``GET /v1/status/{documentId}`` (in the spirit of
OCSP): ``{"documentId", "issuer", "status" (good | revoked | replaced | unknown),
"statement" (the issuer's signed statement, or null), "producedAt", "responder"}``, signed
by the responder's node key (``typ`` = ``tradeaccord-status-answer+jws``). The answer's
signature proves who said so and when; the statement inside proves what the issuer said.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from protocol.canonical import canonicalize
from protocol.certificates import CertUsage, authority_id_of
from protocol.errors import ProtocolError, StatusError
from protocol.jws import AnchorResolver, GeneralJWS, JWSType, Signer, sign, verify
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time, parse_time, require_aware

__all__ = [
    "MAX_STATUS_REASON",
    "AnswerStatus",
    "DocumentStatus",
    "StatusAnswer",
    "StatusStatement",
    "VerifiedStatement",
    "apply_status",
    "sign_answer",
    "sign_statement",
    "status_refusal",
    "verify_answer",
    "verify_statement",
]

MAX_STATUS_REASON = 2000  # characters of the issuer's reason
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_AUTHORITY = re.compile(r"^[A-Z]{2}-[A-Z0-9]+(-[A-Z0-9]+)*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MEMBERS = {"statementId", "status", "documentId", "documentSha256", "issuer", "effectiveAt",
            "issuedAt", "reason", "replacementId", "replacementSha256"}
_ANSWER_MEMBERS = {"documentId", "issuer", "status", "statement", "producedAt", "responder"}


class DocumentStatus(StrEnum):
    """What a status statement says of a document."""

    REVOKED = "revoked"
    REPLACED = "replaced"

    @property
    def refusal(self) -> ReasonCode:
        """The reason code a verification after the effective time refuses with."""
        return ReasonCode.DOCUMENT_REVOKED if self is DocumentStatus.REVOKED \
            else ReasonCode.DOCUMENT_REPLACED


class AnswerStatus(StrEnum):
    """A status answer: ``good`` (the responder knows the document and no statement),
    ``unknown`` (it knows neither), or the statement's status."""

    GOOD = "good"
    REVOKED = "revoked"
    REPLACED = "replaced"
    UNKNOWN = "unknown"


def _fail(message: str) -> StatusError:
    return StatusError(ReasonCode.STATUS_INVALID, message)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusStatement:
    """A revocation or replacement; an instance is valid (``ValueError`` on misuse)."""

    statement_id: str
    status: DocumentStatus
    document_id: str
    document_sha256: str
    issuer: str
    effective_at: dt.datetime
    issued_at: dt.datetime
    reason: str
    replacement_id: str | None = None
    replacement_sha256: str | None = None

    def __post_init__(self) -> None:
        for name in ("statement_id", "document_id"):
            if not _ID.fullmatch(getattr(self, name)):
                raise ValueError(f"{name} has a bad form")
        if not _SHA256.fullmatch(self.document_sha256):
            raise ValueError("document_sha256 must be 64 lower-case hex digits")
        if not _AUTHORITY.fullmatch(self.issuer):
            raise ValueError("issuer must be an authority id")
        require_aware(self.effective_at, "effective_at")
        require_aware(self.issued_at, "issued_at")
        if not self.reason.strip() or len(self.reason) > MAX_STATUS_REASON:
            raise ValueError(f"a reason holds 1 to {MAX_STATUS_REASON} characters")
        replacing = self.status is DocumentStatus.REPLACED
        if replacing != (self.replacement_id is not None) or \
                replacing != (self.replacement_sha256 is not None):
            raise ValueError("a replacement names its replacement (id and sha256); a "
                             "revocation names none")
        if self.replacement_id is not None and (
                not _ID.fullmatch(self.replacement_id)
                or not _SHA256.fullmatch(self.replacement_sha256 or "")):
            raise ValueError("the replacement's id or sha256 has a bad form")
        if self.replacement_id is not None and self.replacement_id == self.document_id and \
                self.replacement_sha256 == self.document_sha256:
            raise ValueError("a document cannot replace itself")

    def to_dict(self) -> dict[str, Any]:
        return {
            "statementId": self.statement_id, "status": self.status.value,
            "documentId": self.document_id, "documentSha256": self.document_sha256,
            "issuer": self.issuer, "effectiveAt": format_time(self.effective_at),
            "issuedAt": format_time(self.issued_at), "reason": self.reason,
            "replacementId": self.replacement_id, "replacementSha256": self.replacement_sha256,
        }

    @classmethod
    def from_dict(cls, data: Any) -> StatusStatement:
        """Parse a statement payload; STATUS_INVALID on any defect."""
        if not isinstance(data, Mapping) or set(data) != _MEMBERS:
            raise _fail(f"a status statement has exactly the members {sorted(_MEMBERS)}")
        try:
            for name in _MEMBERS - {"replacementId", "replacementSha256"}:
                if not isinstance(data[name], str):
                    raise TypeError(f"{name} must be a string")
            for name in ("replacementId", "replacementSha256"):
                if data[name] is not None and not isinstance(data[name], str):
                    raise TypeError(f"{name} must be a string or null")
            return cls(statement_id=data["statementId"], status=DocumentStatus(data["status"]),
                       document_id=data["documentId"], document_sha256=data["documentSha256"],
                       issuer=data["issuer"], effective_at=parse_time(data["effectiveAt"]),
                       issued_at=parse_time(data["issuedAt"]), reason=data["reason"],
                       replacement_id=data["replacementId"],
                       replacement_sha256=data["replacementSha256"])
        except (TypeError, ValueError) as exc:
            raise _fail(f"bad status statement: {exc}") from exc

    def in_effect(self, at: dt.datetime) -> bool:
        """True when ``at`` is at or after the effective time."""
        return require_aware(at, "at") >= self.effective_at


def status_refusal(statement: StatusStatement | None, at: dt.datetime) -> ReasonCode | None:
    """The refusal a verification at ``at`` meets (DOCUMENT_REVOKED, DOCUMENT_REPLACED), or
    None when there is no statement or it is not yet in effect."""
    if statement is None or not statement.in_effect(at):
        return None
    return statement.status.refusal


def sign_statement(statement: StatusStatement, signer: Signer, *,
                   signed_at: dt.datetime) -> GeneralJWS:
    """Sign the statement's canonical form with the issuer's document signer."""
    return sign(canonicalize(statement.to_dict()), signer, typ=JWSType.STATUS,
                signed_at=signed_at)


@dataclass(frozen=True, slots=True)
class VerifiedStatement:
    """A statement whose signature chains to its issuer: the evidence a node records."""

    statement: StatusStatement
    jws: GeneralJWS
    signer_authority: str
    signed_at: dt.datetime


def verify_statement(data: bytes | GeneralJWS | Mapping[str, Any], *,
                     anchors: AnchorResolver, at: dt.datetime,
                     limits: Limits = DEFAULT_LIMITS) -> VerifiedStatement:
    """Rules 1–2 of the module docstring; a ``StatusError`` on any refusal."""
    try:
        jws = data if isinstance(data, GeneralJWS) else GeneralJWS.parse(data, limits=limits)
        if len(jws.signatures) != 1:
            raise _fail("a status statement carries exactly one signature")
        # Rule 1
        verified = verify(jws, typ=JWSType.STATUS, anchors=anchors, at=at,
                          usage=CertUsage.DOCUMENT_SIGNING, limits=limits)
        statement = StatusStatement.from_dict(verified.payload_json(limits))
    except StatusError:
        raise
    except ProtocolError as exc:
        raise StatusError(ReasonCode.STATUS_INVALID,
                          f"the statement does not verify: {exc.code.value}: {exc.message}",
                          cause=exc.code.value) from exc
    # Rule 2
    integrity = verified.signatures[0].integrity
    signer = authority_id_of(integrity.leaf) or ""
    if signer != statement.issuer:
        raise StatusError(ReasonCode.STATUS_NOT_ISSUER,
                          f"the statement names issuer {statement.issuer} but is signed by "
                          f"{signer or 'an unnamed key'}", document_id=statement.document_id)
    return VerifiedStatement(statement, jws, signer, integrity.signed_at)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusAnswer:
    """A node's signed answer to a status question (see the module docstring)."""

    document_id: str
    issuer: str | None
    status: AnswerStatus
    statement: GeneralJWS | None
    produced_at: dt.datetime
    responder: str

    def __post_init__(self) -> None:
        require_aware(self.produced_at, "produced_at")
        has_statement = self.status in (AnswerStatus.REVOKED, AnswerStatus.REPLACED)
        if has_statement != (self.statement is not None):
            raise ValueError("a revoked or replaced answer carries its statement; no other")

    def to_dict(self) -> dict[str, Any]:
        return {"documentId": self.document_id, "issuer": self.issuer,
                "status": self.status.value,
                "statement": self.statement.to_dict() if self.statement else None,
                "producedAt": format_time(self.produced_at), "responder": self.responder}

    @classmethod
    def from_dict(cls, data: Any, *, limits: Limits = DEFAULT_LIMITS) -> StatusAnswer:
        if not isinstance(data, Mapping) or set(data) != _ANSWER_MEMBERS:
            raise _fail(f"a status answer has exactly the members {sorted(_ANSWER_MEMBERS)}")
        try:
            raw = data["statement"]
            statement = None if raw is None else GeneralJWS.parse(raw, limits=limits)
            issuer = data["issuer"]
            if issuer is not None and not isinstance(issuer, str):
                raise TypeError("issuer must be a string or null")
            if not isinstance(data["documentId"], str) or not isinstance(data["responder"], str):
                raise TypeError("documentId and responder are strings")
            return cls(document_id=data["documentId"], issuer=issuer,
                       status=AnswerStatus(data["status"]), statement=statement,
                       produced_at=parse_time(data["producedAt"]), responder=data["responder"])
        except ProtocolError as exc:
            raise _fail(f"bad status answer: {exc.code.value}: {exc.message}") from exc
        except (TypeError, ValueError) as exc:
            raise _fail(f"bad status answer: {exc}") from exc


def sign_answer(answer: StatusAnswer, signer: Signer, *, signed_at: dt.datetime) -> GeneralJWS:
    """Sign the answer's canonical form with the responder's node key."""
    return sign(canonicalize(answer.to_dict()), signer, typ=JWSType.STATUS_ANSWER,
                signed_at=signed_at)


def verify_answer(data: bytes | Mapping[str, Any], *, anchors: AnchorResolver, at: dt.datetime,
                  limits: Limits = DEFAULT_LIMITS) -> StatusAnswer:
    """The answer's node signature, chained (at ``at``) to the anchors the resolver names
    for it and made by the responder it names; STATUS_INVALID otherwise. The statement
    inside is checked separately (``verify_statement``)."""
    try:
        jws = GeneralJWS.parse(data, limits=limits)
        verified = verify(jws, typ=JWSType.STATUS_ANSWER, anchors=anchors, at=at,
                          usage=CertUsage.ENVELOPE_SIGNING, limits=limits, chain_at=at)
        answer = StatusAnswer.from_dict(verified.payload_json(limits), limits=limits)
    except StatusError:
        raise
    except ProtocolError as exc:
        raise StatusError(ReasonCode.STATUS_INVALID,
                          f"the status answer does not verify: {exc.code.value}: "
                          f"{exc.message}") from exc
    signer = authority_id_of(verified.signatures[0].integrity.leaf) or ""
    if signer != answer.responder:
        raise _fail(f"the answer names responder {answer.responder} but is signed by "
                    f"{signer or 'an unnamed key'}")
    return answer


def apply_status(report: Mapping[str, Any], statement: StatusStatement | None,
                 at: dt.datetime) -> dict[str, Any]:
    """A verification report (``DocumentVerification.summary()`` form) with the document's
    status added: check ``status`` VALID (no statement, or not yet in effect at ``at``) or
    INVALID with DOCUMENT_REVOKED / DOCUMENT_REPLACED, and a ``status`` member. The
    statement must concern the report's document (same id, issuer and digest) — the caller
    verified it; a statement for another document is misuse (``ValueError``)."""
    document = report.get("document") or {}
    if statement is not None and (
            statement.document_id, statement.issuer, statement.document_sha256) != (
            document.get("id"), document.get("issuer"), document.get("sha256")):
        raise ValueError("the statement concerns another document than the report")
    result = {**report, "checks": {**report.get("checks", {})},
              "reasons": list(report.get("reasons", []))}
    refusal = status_refusal(statement, at)
    result["checks"]["status"] = "INVALID" if refusal else "VALID"
    result["status"] = {"state": "active"} if statement is None else {
        "state": statement.status.value, "effectiveAt": format_time(statement.effective_at),
        "reason": statement.reason, "replacementId": statement.replacement_id,
        "statementId": statement.statement_id, "inEffect": refusal is not None}
    if refusal is not None:
        result["valid"] = False
        result["reasons"] = list(dict.fromkeys([*result["reasons"], refusal.value]))
    return result
