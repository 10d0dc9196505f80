"""Request and response models of the lifecycle routes (revoke, replace, statements, status,
evidence) and of the negotiations and the published registry snapshot (pydantic; see
``node.api.schemas`` and ADR 0030).

Request models are closed (the routes refuse unknown members) and are what the routes parse
their bodies with (``parse_body``: any mismatch is ``REQUEST_INVALID``); answer models are
open, so a newer node may add members.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from node.api.models import ProposeRequest
from node.errors import RequestError
from protocol.reason_codes import ReasonCode

ModelT = TypeVar("ModelT", bound=BaseModel)
_AUTHORITY = r"^[A-Z]{2}-[A-Z0-9]+(-[A-Z0-9]+)*$"
_IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


def parse_body(model: type[ModelT], data: Any) -> ModelT:
    """``data`` (a JSON value read strictly by the route) as ``model``; REQUEST_INVALID naming
    the first member that does not fit (strict: no coercion of types)."""
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "/".join(str(part) for part in first.get("loc", ())) or "body"
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"{where}: {first.get('msg', 'invalid')}") from exc


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Answer(BaseModel):
    """An answer: documented members; others may follow."""


# -- revocation and replacement (requests) ------------------------------------------------


class RevokeRequest(_Request):
    """Revoke a document issued here: the reason (1–2000 characters, not blank), when it
    takes effect (RFC 3339, default now) and peers beyond those the document went to."""

    reason: str
    effectiveAt: str | None = None
    alsoTo: list[str] = Field(default_factory=list)


class ReplaceRequest(RevokeRequest):
    """Replace a document issued here: either ``document`` (signed here, naming the original
    in its references) or ``replacementId`` (a document issued here already)."""

    # Any here: a document that is not an object is the service's SCHEMA_INVALID (422), as
    # for every submitted document, not a body error; the schema still says "object".
    document: Any = Field(default=None, json_schema_extra={"type": "object"})
    replacementId: str | None = None


# -- negotiations (requests) -----------------------------------------------------------------


class DeclineRequest(_Request):
    """Decline a received proposal, with the reason the proposer's operator reads."""

    reason: str


class NegotiatedStatusRequest(_Request):
    """Suspend, resume or terminate a negotiated agreement here and at the partner's node."""

    status: Literal["suspended", "in-force", "terminated"]
    effectiveAt: str | None = None
    reason: str | None = None


# -- answers ---------------------------------------------------------------------------------


class JWSSignatureOut(_Answer):
    protected: str
    signature: str


class SignedJWS(_Answer):
    """A JWS in JSON General Serialization."""

    payload: str
    signatures: list[JWSSignatureOut]


class StatusAnswerSigned(SignedJWS):
    """The signed status answer (``tradeaccord-status-answer+jws``, the node key): its
    payload says ``good``, ``revoked``, ``replaced`` (with the issuer's statement) or
    ``unknown`` (``docs/lifecycle.md``)."""


class RegistrySnapshot(SignedJWS):
    """The registry this node holds, signed by its root; valid for 24 hours."""


class StatementDelivery(_Answer):
    to: str
    state: str = Field(description="pending, delivered, failed or dead")
    messageId: str
    attempts: int
    lastError: str | None
    receipt: dict[str, Any] | None


class StatementView(_Answer):
    """A revocation or replacement statement and where it has got to."""

    documentId: str
    issuer: str
    documentSha256: str
    state: str = Field(description="revoked or replaced")
    effectiveAt: str | None = None
    reason: str | None = None
    replacementId: str | None = None
    replacementSha256: str | None = None
    statementId: str | None = None
    receivedFrom: str | None = None
    recordedAt: str
    statement: dict[str, Any] = Field(description="The issuer's signed statement (JWS)")
    deliveries: list[StatementDelivery]


class StatementListItem(StatementView):
    pending: list[str] = Field(description="Peers where the statement has not arrived")


class StatementList(_Answer):
    statements: list[StatementListItem]


class NegotiationView(_Answer):
    """A negotiation proposed here or received, with the signed proposal (and agreement)."""

    agreementId: str
    partner: str
    side: str
    state: str
    reason: str | None
    createdAt: str
    updatedAt: str
    proposal: dict[str, Any]
    agreement: dict[str, Any] | None


class NegotiationList(_Answer):
    negotiations: list[NegotiationView]


class NegotiatedStatus(_Answer):
    """The agreement's status after the change."""

    agreementId: str
    status: str


BODY_MODELS: tuple[type[BaseModel], ...] = (
    RevokeRequest, ReplaceRequest, ProposeRequest, DeclineRequest, NegotiatedStatusRequest)
