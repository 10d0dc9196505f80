"""Request and response models of the documents, inbox, verify, registry, outbox, peer and
operations routes, for ``/openapi.json`` (the declarations' models are in ``schemas``).

Request models describe bodies the routes read strictly themselves (``schemas.documented``);
response models describe answers. Response models leave extra members open (a newer node may
add members; a client ignores what it does not know); request models are closed, as the
routes refuse unknown members.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from node.api.schemas import GeneralJWSIn


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Answer(BaseModel):
    """An answer: documented members; others may follow."""


# -- documents and inbox ---------------------------------------------------------------------


class SubmitDocumentRequest(_Request):
    """A document to validate, sign and store; ``sendTo`` queues deliveries at once."""

    document: dict[str, Any] = Field(description="The document (header and body) to sign")
    sendTo: list[str] = Field(default_factory=list,
                              description="Authority ids to deliver the signed document to")


class SendRequest(_Request):
    """The authorities to deliver an outbound document to."""

    to: list[str] = Field(min_length=1)


class InboxReviewRequest(_Request):
    """An officer's decision on a held document; a rejection needs a ``reason``."""

    reason: str | None = Field(default=None, max_length=2000)


class Delivery(_Answer):
    to: str
    state: str
    messageId: str | None
    outcome: str | None
    reasons: list[str]
    agreementId: str | None
    recognisedAs: str | None
    reason: str | None = Field(description="The receiving officer's reason, if any")
    updatedAt: str
    receipt: dict[str, Any] | None = Field(description="The receiver's signed receipt (JWS)")


class DocumentView(_Answer):
    """A document as the caller may see it: outbound with its deliveries, inbound with the
    verification and recognition decision; ``signed`` (the JWS) where the route includes it."""

    cursor: int
    id: str
    sha256: str
    direction: Literal["inbound", "outbound"]
    type: str
    version: str
    issuer: str
    parties: list[str] = Field(description="Party ids named by the document")
    createdAt: str
    deliveries: list[Delivery] | None = Field(default=None, description="Outbound only")
    receivedFrom: str | None = Field(default=None, description="Inbound only")
    messageId: str | None = None
    outcome: Literal["accepted", "rejected", "held-for-review"] | None = None
    reasons: list[str] | None = None
    checks: dict[str, Any] | None = None
    agreementId: str | None = None
    recognisedAs: str | None = None
    registryVersion: int | None = None
    decidedBy: str | None = None
    decisionReason: str | None = None
    mapped: dict[str, Any] | None = None
    signed: dict[str, Any] | None = Field(default=None, description="The signed document (JWS)")


class DocumentList(_Answer):
    documents: list[DocumentView]


class SignedDocument(_Answer):
    """A JWS in JSON General Serialization, exactly as stored or produced."""

    payload: str
    signatures: list[dict[str, Any]]


# -- verify ---------------------------------------------------------------------------------------


class VerifyResult(_Answer):
    """The named checks, the reason codes and this node's recognition decision."""

    valid: bool
    profile: str | None = None
    checks: dict[str, str]
    reasons: list[str]
    messages: list[str] = Field(default_factory=list)
    document: dict[str, Any] | None = None
    signatures: list[dict[str, Any]] = Field(default_factory=list)
    recognition: dict[str, Any] | None = None


# -- registry ---------------------------------------------------------------------------------------


class AuthorityIn(BaseModel):
    """One authority in the registry's JSON form (``docs/trust-registry.md``)."""

    model_config = ConfigDict(extra="allow")

    id: str
    country: str


class ProposeRequest(_Request):
    """An agreement to draw up with a partner and sign with this authority's root."""

    agreementId: str
    partner: str
    documentTypes: list[str] = Field(min_length=1)
    recognisedAs: list[str] | None = None
    mappingIds: list[str] | None = None
    direction: Literal["both", "outbound", "inbound"] | None = None
    validFrom: str | None = None
    validUntil: str | None = None
    legalReference: str | None = None


class StatusChangeRequest(_Request):
    """Suspend, resume or terminate an agreement (signed at the node with the root key)."""

    status: Literal["suspended", "in-force", "terminated"]
    effectiveAt: str | None = None
    reason: str | None = None


class RegistrySummary(_Answer):
    version: int
    owner: str
    authorities: list[str]
    agreements: list[str]


class RegistryView(RegistrySummary):
    registry: dict[str, Any] = Field(description="The registry in its JSON form")


class RegistryChange(RegistrySummary):
    """The registry after a change; ``changed`` is false when it was already recorded."""

    changed: bool
    proposal: dict[str, Any] | None = Field(default=None,
                                            description="proposeAgreement: the signed proposal")
    agreement: dict[str, Any] | None = Field(
        default=None, description="countersignAgreement: the dual-signed agreement")


# -- outbox and audit ---------------------------------------------------------------------------------


class OutboxMessage(_Answer):
    messageId: str
    kind: str
    to: str
    state: Literal["pending", "sending", "delivered", "failed", "dead", "retired"]
    attempts: int
    nextAttemptAt: str
    lastError: str | None
    createdAt: str
    expiresAt: str
    deadLetterAt: str | None
    deliveredAt: str | None


class OutboxList(_Answer):
    messages: list[OutboxMessage]


class AuditVerification(_Answer):
    valid: bool
    events: int | None = None
    code: str | None = None
    brokenAt: int | None = None
    message: str | None = None


# -- operations and peer --------------------------------------------------------------------------


class Health(_Answer):
    status: Literal["ok"]


class Readiness(_Answer):
    status: Literal["ready", "not-ready"]
    checks: dict[str, str]


class NodeDescription(_Answer):
    authorityId: str
    country: str
    name: str
    roles: list[str]
    protocolVersion: str
    endpoints: dict[str, str]
    certificates: dict[str, str] = Field(description="PEM certificates: root, node, "
                                         "documentSigner")



# -- webhooks -------------------------------------------------------------------------------------------


class WebhookCreate(_Request):
    """A callback URL and the event types wanted (all when ``events`` is absent)."""

    url: str = Field(max_length=2000, description="An absolute http(s) URL")
    events: list[Literal["document.received", "document.decision", "document.status-changed",
                         "declaration.status"]] | None = Field(default=None, min_length=1)


class WebhookView(_Answer):
    id: str
    url: str
    events: list[str]
    owner: str = Field(description="The API key (role:keyid) that registered it")
    party: str | None = Field(description="A trader's party: only its events are sent")
    createdAt: str
    removedAt: str | None = None


class WebhookCreated(WebhookView):
    """The subscription, with its signing secret: shown this once (docs/webhooks.md)."""

    secret: str


class WebhookList(_Answer):
    webhooks: list[WebhookView]


BODY_MODELS: tuple[type[BaseModel], ...] = (
    SubmitDocumentRequest, SendRequest, InboxReviewRequest, GeneralJWSIn, AuthorityIn,
    ProposeRequest, StatusChangeRequest, WebhookCreate)
