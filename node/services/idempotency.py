"""Idempotent requests: an ``Idempotency-Key`` makes a retried request answer as the first.

A client that retries after a lost answer (a timeout, a dropped connection) must not create
a second document. With a key (any 1 to 255 visible ASCII characters, unique per client;
a UUID fits) the node stores, per API key, the key, the SHA-256 of the request and the
answer, in the transaction of the work itself:

- the same key with the same request answers the stored answer again (nothing is redone);
- the same key with another request is refused (409 CONFLICT);
- a refused request stores nothing, so its retry is processed afresh.

The key's row is inserted before the work (``begin``): a concurrent request with the same
key waits on the unique index (PostgreSQL) or the write lock (SQLite), then finds the
winner's answer.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from node.errors import ConflictError, RequestError
from node.services.apikeys import Principal
from node.storage.models import IdempotencyKeyRecord
from protocol.reason_codes import ReasonCode

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[!-~]{1,255}")


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The answer the first request with this key got."""

    status_code: int
    body: Any


def check_key(value: str | None) -> str | None:
    """The header's value, or None when absent; REQUEST_INVALID when malformed."""
    if value is None:
        return None
    if not _KEY.fullmatch(value):
        raise RequestError(ReasonCode.REQUEST_INVALID,
                           f"{HEADER} must be 1 to 255 visible ASCII characters")
    return value


def _stored(session: Session, principal: Principal, key: str) -> IdempotencyKeyRecord | None:
    return session.exec(select(IdempotencyKeyRecord).where(
        IdempotencyKeyRecord.principal == principal.key_id,
        IdempotencyKeyRecord.key == key)).first()


def _answer(record: IdempotencyKeyRecord, request_sha256: str, key: str) -> StoredAnswer:
    if record.request_sha256 != request_sha256:
        raise ConflictError(ReasonCode.CONFLICT,
                            f"{HEADER} {key!r} was used for another request")
    return StoredAnswer(record.status_code, json.loads(record.response_json))


def begin(session: Session, principal: Principal, key: str, request_sha256: str,
          at: dt.datetime) -> StoredAnswer | IdempotencyKeyRecord:
    """In the caller's write transaction, before the work: the stored answer of an earlier
    request with this key (CONFLICT if that request was another), or the new key's row,
    to ``finish`` with the answer in the same transaction."""
    record = _stored(session, principal, key)
    if record is not None:
        return _answer(record, request_sha256, key)
    record = IdempotencyKeyRecord(principal=principal.key_id, key=key,
                                  request_sha256=request_sha256, status_code=0,
                                  response_json="null", created_at=at)
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        # A concurrent request with this key committed first: answer as it did.
        session.rollback()
        winner = _stored(session, principal, key)
        if winner is None:
            raise
        return _answer(winner, request_sha256, key)
    return record


def finish(session: Session, record: IdempotencyKeyRecord, status_code: int,
           body: Any) -> None:
    """Store the answer with the key (committed with the work)."""
    record.status_code = status_code
    record.response_json = json.dumps(body)
    session.add(record)
