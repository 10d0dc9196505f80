"""API keys for people and systems: ``ta_<keyid>.<secret>``, stored as SHA-256 of the secret.

The secret has 256 bits of entropy, so a plain hash (not a password hash) is enough; it is
compared in constant time. A key is shown once, at creation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, select

from node.errors import AuthError, ConflictError, NotFoundError, RequestError
from node.storage.models import ApiKeyRecord
from protocol.reason_codes import ReasonCode


class Role(StrEnum):
    TRADER = "trader"
    OFFICER = "officer"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    key_id: str
    role: Role
    party: str | None

    @property
    def name(self) -> str:
        return f"{self.role.value}:{self.key_id}"


def create_api_key(session: Session, *, role: Role, party: str | None, label: str | None,
                   at: dt.datetime) -> str:
    """Store a new key and return it (the only time the secret is available)."""
    if role is Role.TRADER and not party:
        raise RequestError(ReasonCode.REQUEST_INVALID, "a trader key needs --party")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    session.add(ApiKeyRecord(key_id=key_id, secret_sha256=hashlib.sha256(secret.encode())
                             .hexdigest(), role=role.value, party=party, label=label,
                             created_at=at))
    return f"ta_{key_id}.{secret}"


def list_api_keys(session: Session) -> list[ApiKeyRecord]:
    """Every key (without secrets: only their hashes are stored), oldest first."""
    return list(session.exec(select(ApiKeyRecord).order_by(ApiKeyRecord.pk)).all())  # type: ignore[arg-type]


def revoke_api_key(session: Session, key_id: str, at: dt.datetime) -> ApiKeyRecord:
    """Revoke a key from now on; NOT_FOUND for an unknown id, STATE_INVALID if revoked."""
    record = session.exec(select(ApiKeyRecord).where(ApiKeyRecord.key_id == key_id)).first()
    if record is None:
        raise NotFoundError(ReasonCode.NOT_FOUND, f"no API key {key_id}")
    if record.revoked_at is not None:
        raise ConflictError(ReasonCode.STATE_INVALID, f"API key {key_id} is already revoked")
    record.revoked_at = at
    session.add(record)
    return record


def authenticate(session: Session, presented: str | None) -> Principal:
    """The principal for a presented key; AUTH_REQUIRED for a missing, unknown or bad key."""
    if not presented or not presented.startswith("ta_") or "." not in presented:
        raise AuthError(ReasonCode.AUTH_REQUIRED, "present an API key: Authorization: Bearer ta_…")
    key_id, _, secret = presented[3:].partition(".")
    record = session.exec(select(ApiKeyRecord).where(ApiKeyRecord.key_id == key_id)).first()
    digest = hashlib.sha256(secret.encode()).hexdigest()
    if record is None or record.revoked_at is not None or not hmac.compare_digest(
        digest, record.secret_sha256
    ):
        raise AuthError(ReasonCode.AUTH_REQUIRED, "unknown, revoked or malformed API key")
    return Principal(key_id=record.key_id, role=Role(record.role), party=record.party)
