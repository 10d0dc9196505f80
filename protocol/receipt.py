"""The signed receipt: proof of delivery and of the receiver's decision (as AS4 receipts).

Wire form: a General JWS (``typ`` = ``tradeaccord-receipt+jws``) signed by the receiving
node's key, whose payload is the RFC 8785 form of::

    {"receiptId", "messageId", "envelopeSha256", "from", "to", "receivedAt",
     "outcomes": [{"documentId", "documentSha256", "documentType", "outcome",
                   "reasons", "agreementId", "recognisedAs", "registryVersion"}]}

``from`` is the receiver (the receipt's signer), ``to`` the original sender. ``outcome`` is
``accepted``, ``rejected`` or ``held-for-review``; ``reasons`` lists reason codes (empty
for a plain acceptance). ``agreementId``/``recognisedAs``/``registryVersion`` are null
unless the document was recognised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from protocol.canonical import canonicalize
from protocol.envelope import AUTHORITY_ID
from protocol.errors import ReceiptError
from protocol.jws import GeneralJWS, JWSType, Signer, sign
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time, parse_time


class Outcome(StrEnum):
    """The receiver's decision on one document."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    HELD_FOR_REVIEW = "held-for-review"


_OUTCOME_MEMBERS = {"documentId", "documentSha256", "documentType", "outcome", "reasons",
                    "agreementId", "recognisedAs", "registryVersion"}
_RECEIPT_MEMBERS = {"receiptId", "messageId", "envelopeSha256", "from", "to", "receivedAt",
                    "outcomes"}


def _fail(message: str) -> ReceiptError:
    return ReceiptError(ReasonCode.RECEIPT_INVALID, message)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string")
    return value


def _optional_text(value: Any, name: str) -> str | None:
    return None if value is None else _text(value, name)


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("an array is expected")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentOutcome:
    """The decision on one document of an envelope."""

    document_id: str
    document_sha256: str
    document_type: str
    outcome: Outcome
    reasons: tuple[ReasonCode, ...] = ()
    agreement_id: str | None = None
    recognised_as: str | None = None
    registry_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "documentId": self.document_id,
            "documentSha256": self.document_sha256,
            "documentType": self.document_type,
            "outcome": self.outcome.value,
            "reasons": [code.value for code in self.reasons],
            "agreementId": self.agreement_id,
            "recognisedAs": self.recognised_as,
            "registryVersion": self.registry_version,
        }

    @classmethod
    def from_dict(cls, data: Any) -> DocumentOutcome:
        if not isinstance(data, Mapping) or set(data) != _OUTCOME_MEMBERS:
            raise _fail(f"an outcome has exactly the members {sorted(_OUTCOME_MEMBERS)}")
        try:
            reasons = tuple(ReasonCode(_text(code, "reason")) for code in _list(data["reasons"]))
            version = data["registryVersion"]
            if version is not None and (type(version) is not int or version < 0):
                raise ValueError("registryVersion must be a non-negative integer or null")
            return cls(
                document_id=_text(data["documentId"], "documentId"),
                document_sha256=_text(data["documentSha256"], "documentSha256"),
                document_type=_text(data["documentType"], "documentType"),
                outcome=Outcome(data["outcome"]),
                reasons=reasons,
                agreement_id=_optional_text(data["agreementId"], "agreementId"),
                recognised_as=_optional_text(data["recognisedAs"], "recognisedAs"),
                registry_version=version,
            )
        except (TypeError, ValueError) as exc:
            raise _fail(f"bad outcome: {exc}") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """A receipt's content (the signature is checked by the caller)."""

    receipt_id: str
    message_id: str
    envelope_sha256: str
    sender: str  # the receiver of the envelope, who signs the receipt
    recipient: str  # the original sender
    received_at: dt.datetime
    outcomes: tuple[DocumentOutcome, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "receiptId": self.receipt_id,
            "messageId": self.message_id,
            "envelopeSha256": self.envelope_sha256,
            "from": self.sender,
            "to": self.recipient,
            "receivedAt": format_time(self.received_at),
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Receipt:
        if not isinstance(data, Mapping) or set(data) != _RECEIPT_MEMBERS:
            raise _fail(f"a receipt has exactly the members {sorted(_RECEIPT_MEMBERS)}")
        try:
            sender, recipient = _text(data["from"], "from"), _text(data["to"], "to")
            if not AUTHORITY_ID.fullmatch(sender) or not AUTHORITY_ID.fullmatch(recipient):
                raise ValueError("from and to must be authority ids")
            return cls(
                receipt_id=_text(data["receiptId"], "receiptId"),
                message_id=_text(data["messageId"], "messageId"),
                envelope_sha256=_text(data["envelopeSha256"], "envelopeSha256"),
                sender=sender,
                recipient=recipient,
                received_at=parse_time(data["receivedAt"]),
                outcomes=tuple(DocumentOutcome.from_dict(item)
                               for item in _list(data["outcomes"])),
            )
        except (TypeError, ValueError) as exc:
            raise _fail(f"bad receipt: {exc}") from exc

    def check_matches(self, *, message_id: str, envelope_sha256: str, sender: str) -> None:
        """RECEIPT_INVALID unless the receipt answers this message, from this peer."""
        if (self.message_id, self.envelope_sha256, self.sender) != (
            message_id, envelope_sha256, sender
        ):
            raise _fail("the receipt does not answer this message from this peer")


def sign_receipt(receipt: Receipt, signer: Signer, *, signed_at: dt.datetime) -> GeneralJWS:
    """Sign the receipt's canonical form with the receiving node's key."""
    return sign(canonicalize(receipt.to_dict()), signer, typ=JWSType.RECEIPT, signed_at=signed_at)
