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

from node.errors import AuthError, RequestError
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
