"""Batch submission for traders' systems: up to ``batch_max_documents`` documents in one
request, one transaction, each with its own result.

Two halves, so that the CPU-bound work holds no database lock:

1. ``sign_batch`` (no storage): per item, the request shape, the receiving authorities,
   preparation, validation, the issuer's role, the trader's party and the signature. A
   refused item gets its reason code; an id given twice in the batch refuses the later item
   (CONFLICT).
2. ``store_batch`` (the caller's write transaction): one query finds the ids already held
   (those items are refused, CONFLICT), then every good item's document, its deliveries
   and the audit events are added and flushed together, as a single submission would store
   them.

An item's states: ``SIGNED`` after step 1, then ``STORED`` or ``REFUSED``; a refused item
changes nothing stored.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from node.context import NodeContext
from node.errors import ConflictError, RequestError, http_status
from node.services.apikeys import Principal, Role
from node.services.documents import (
    DocumentView,
    SignedSubmission,
    check_peers,
    held_outbound,
    require_role,
    sign_submission,
    store_submissions,
)
from protocol.errors import CodedError
from protocol.reason_codes import ReasonCode

ITEM_MEMBERS = frozenset({"document", "sendTo"})


class ItemState(enum.Enum):
    SIGNED = "signed"
    STORED = "stored"
    REFUSED = "refused"


@dataclass(slots=True)
class BatchItem:
    """One item of a batch and what became of it."""

    index: int
    state: ItemState
    submission: SignedSubmission | None = None
    send_to: tuple[str, ...] = ()
    code: ReasonCode | None = None
    message: str | None = None
    view: dict[str, Any] | None = None

    def refuse(self, error: CodedError) -> None:
        self.state = ItemState.REFUSED
        self.code = error.code
        self.message = error.message
        self.submission = None

    def result(self) -> dict[str, Any]:
        """The item's answer: ``201`` with the document, or its refusal's status and code."""
        if self.state is ItemState.STORED:
            return {"index": self.index, "status": 201, "document": self.view}
        assert self.code is not None
        return {"index": self.index, "status": http_status(self.code),
                "error": {"code": self.code.value, "message": self.message or ""}}


def _item_shape(value: Any) -> tuple[Any, list[str]]:
    if not isinstance(value, dict):
        raise RequestError(ReasonCode.REQUEST_INVALID, "an item must be a JSON object")
    unknown = set(value) - ITEM_MEMBERS
    if unknown:
        raise RequestError(ReasonCode.REQUEST_INVALID, f"unknown members: {sorted(unknown)}")
    if "document" not in value:
        raise RequestError(ReasonCode.REQUEST_INVALID, "missing members: ['document']")
    send_to = value.get("sendTo", [])
    if not isinstance(send_to, list) or not all(isinstance(v, str) for v in send_to):
        raise RequestError(ReasonCode.REQUEST_INVALID, "a list of authority ids is expected")
    return value["document"], send_to


def check_batch(ctx: NodeContext, principal: Principal, items: Any) -> Sequence[Any]:
    """The request as a whole: the caller's role, and 1 to ``batch_max_documents`` items."""
    require_role(principal, Role.TRADER, Role.OFFICER)
    if not isinstance(items, list) or not items:
        raise RequestError(ReasonCode.REQUEST_INVALID, "documents: a non-empty list is expected")
    limit = ctx.settings.batch_max_documents
    if len(items) > limit:
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"{len(items)} documents in one batch; at most {limit}")
    return items


def sign_batch(ctx: NodeContext, principal: Principal, items: Sequence[Any],
               at: dt.datetime) -> list[BatchItem]:
    """Step 1 (no storage): every item signed, or refused with its reason code."""
    registry = ctx.registry.current()
    batch: list[BatchItem] = []
    first_index: dict[str, int] = {}
    for index, value in enumerate(items):
        item = BatchItem(index, ItemState.SIGNED)
        try:
            document, send_to = _item_shape(value)
            peers = check_peers(ctx, registry, send_to) if send_to else []
            submission = sign_submission(ctx, principal, document, at, registry)
            if submission.document_id in first_index:
                raise ConflictError(ReasonCode.CONFLICT,
                                    f"document {submission.document_id} is also item "
                                    f"{first_index[submission.document_id]} of this batch")
            first_index[submission.document_id] = index
            item.submission, item.send_to = submission, tuple(peers)
        except CodedError as error:
            item.refuse(error)
        batch.append(item)
    return batch


def store_batch(ctx: NodeContext, session: Session, principal: Principal,
                batch: list[BatchItem], at: dt.datetime) -> list[BatchItem]:
    """Step 2, in the caller's transaction (it commits): the signed items stored with their
    deliveries and audit events; those whose id is already held refused (CONFLICT)."""
    signed = [item for item in batch if item.state is ItemState.SIGNED]
    held = held_outbound(session, [item.submission.document_id for item in signed
                                   if item.submission is not None])
    fresh: list[BatchItem] = []
    for item in signed:
        assert item.submission is not None
        if item.submission.document_id in held:
            item.refuse(ConflictError(ReasonCode.CONFLICT,
                                      f"document {item.submission.document_id} already exists"))
        else:
            fresh.append(item)
    stored = store_submissions(ctx, session, principal,
                               [(item.submission, item.send_to) for item in fresh
                                if item.submission is not None], at)
    for item, (record, deliveries) in zip(fresh, stored, strict=True):
        item.state = ItemState.STORED
        item.view = DocumentView(record, deliveries, {}).to_dict()
    return batch
