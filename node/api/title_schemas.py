"""Request and response models of ``/v1/titles`` (pydantic; see ``node.api.schemas``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_PARTY = r"^[A-Z]{2}-[A-Z0-9]{2,10}-[A-Z0-9][A-Z0-9./-]{0,49}$"
_AUTHORITY = r"^[A-Z]{2}-[A-Z0-9]+(-[A-Z0-9]+)*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TitleIssueRequest(_Model):
    """A bill of lading for this carrier's node to sign, and its first holder."""

    bill: dict[str, Any]
    holder: str = Field(pattern=_PARTY)


class TitleTransferRequest(_Model):
    """The holder passes the title: to ``toParty``, at the node of ``toAuthority`` (default:
    this node); ``endorse`` for an order bill's endorsement."""

    toParty: str = Field(pattern=_PARTY)
    toAuthority: str | None = Field(default=None, pattern=_AUTHORITY)
    endorse: bool = False


class TitleRejectRequest(_Model):
    """The carrier's reason for rejecting a surrender (optional)."""

    reason: str | None = Field(default=None, min_length=1, max_length=256)


class TitleHistoryItem(_Model):
    sequence: int
    action: str
    from_: str = Field(alias="from")
    to: str
    at: str
    by: str
    custodian: str
    countersignedBy: str | None


class TitlePending(_Model):
    sequence: int
    action: str
    to: str
    custodian: str
    at: str


class TitleView(_Model):
    """A transferable record as this node shows it (its chain verified on every read)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str
    transportDocumentReference: str
    billSha256: str
    status: str
    holder: str
    custodian: str
    controlRegistry: str
    isToOrder: bool
    endorsee: str | None
    blankEndorsed: bool
    sequence: int
    head: str
    countersignaturePending: bool
    history: list[TitleHistoryItem]
    pending: TitlePending | None
    lastRefusal: list[str] | None
    updatedAt: str


class TitleSummary(_Model):
    id: str
    transportDocumentReference: str
    status: str
    holder: str
    custodian: str
    controlRegistry: str
    sequence: int
    updatedAt: str


class TitleList(_Model):
    titles: list[TitleSummary]


BODY_MODELS = (TitleIssueRequest, TitleTransferRequest, TitleRejectRequest)


class TitleRecordExport(BaseModel):
    """``tradeaccord-title-record-1.0``: the signed bill and every recorded title entry, as
    JWS General Serialization objects, for offline ``doc verify`` (with ``format=dcsa-ebl-3``
    the answer is instead a DCSA eBL 3.0 TransportDocument)."""

    model_config = ConfigDict(extra="allow")

    format: str
    bill: dict[str, Any]
    entries: list[dict[str, Any]]
