"""The bodies of ``title-transfer`` envelopes: what nodes exchange to move custody (ADR 0015).

An envelope of kind ``title-transfer`` (``protocol.envelope.EnvelopeKind.TITLE_TRANSFER``)
carries one of these bodies, told apart by ``message``:

``custody-request`` (custodian node → control registry)
    ``{"message", "record": <title record>}``: the whole chain, whose last entry moves
    custody (or surrenders the record) and carries the sender's signature only.
``custody-granted`` (control registry → the requesting node)
    ``{"message", "recordId", "sequence", "entry": <countersigned entry JWS>}``: the
    registry recorded the change; the sender hands custody over and refuses further action.
``custody-refused`` (control registry → the requesting node)
    ``{"message", "recordId", "sequence", "entrySha256", "reasons": [codes]}``: nothing
    changed (``TITLE_CONFLICT`` for a stale state, or the verification's code).
``custody-transfer`` (control registry → the new custodian)
    ``{"message", "record": <title record>}``: the chain ending with the countersigned
    entry that names the receiver as custodian.

``TitleMessage.from_dict`` is the one parsing constructor: exact members per message,
well-formed JWS and ids; ``TitleError(TITLE_ENTRY_INVALID)`` otherwise (JWS structure keeps
its JWS code). Signatures and chains are verified by the receiver (``verify_chain``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from protocol.errors import TitleError
from protocol.jws import GeneralJWS
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.title_entry import RECORD_ID, SHA256_HEX, TitleRecord

__all__ = ["TitleMessage", "TitleMessageKind"]

_REASON = re.compile(r"[A-Z][A-Z0-9_]{1,63}")
_MAX_REASONS = 16


class TitleMessageKind(StrEnum):
    CUSTODY_REQUEST = "custody-request"
    CUSTODY_GRANTED = "custody-granted"
    CUSTODY_REFUSED = "custody-refused"
    CUSTODY_TRANSFER = "custody-transfer"


_MEMBERS: dict[TitleMessageKind, frozenset[str]] = {
    TitleMessageKind.CUSTODY_REQUEST: frozenset({"message", "record"}),
    TitleMessageKind.CUSTODY_TRANSFER: frozenset({"message", "record"}),
    TitleMessageKind.CUSTODY_GRANTED: frozenset({"message", "recordId", "sequence", "entry"}),
    TitleMessageKind.CUSTODY_REFUSED: frozenset({"message", "recordId", "sequence",
                                                 "entrySha256", "reasons"}),
}


def _invalid(message: str) -> TitleError:
    return TitleError(ReasonCode.TITLE_ENTRY_INVALID, f"title-transfer body: {message}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TitleMessage:
    """One ``title-transfer`` body. Which members are set depends on ``kind`` (module
    docstring); build one with the ``request``/``granted``/``refused``/``transfer``
    constructors or ``from_dict``."""

    kind: TitleMessageKind
    record: TitleRecord | None = None
    record_id: str | None = None
    sequence: int | None = None
    entry: GeneralJWS | None = None
    entry_sha256: str | None = None
    reasons: tuple[ReasonCode, ...] = ()

    @classmethod
    def request(cls, record: TitleRecord) -> TitleMessage:
        return cls(kind=TitleMessageKind.CUSTODY_REQUEST, record=record)

    @classmethod
    def transfer(cls, record: TitleRecord) -> TitleMessage:
        return cls(kind=TitleMessageKind.CUSTODY_TRANSFER, record=record)

    @classmethod
    def granted(cls, *, record_id: str, sequence: int, entry: GeneralJWS) -> TitleMessage:
        return cls.from_dict({"message": TitleMessageKind.CUSTODY_GRANTED.value,
                              "recordId": record_id, "sequence": sequence,
                              "entry": entry.to_dict()})

    @classmethod
    def refused(cls, *, record_id: str, sequence: int, entry_sha256: str,
                reasons: tuple[ReasonCode, ...]) -> TitleMessage:
        return cls.from_dict({"message": TitleMessageKind.CUSTODY_REFUSED.value,
                              "recordId": record_id, "sequence": sequence,
                              "entrySha256": entry_sha256,
                              "reasons": [code.value for code in reasons]})

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.kind.value}
        if self.kind in (TitleMessageKind.CUSTODY_REQUEST, TitleMessageKind.CUSTODY_TRANSFER):
            assert self.record is not None
            data["record"] = self.record.to_dict()
            return data
        data["recordId"] = self.record_id
        data["sequence"] = self.sequence
        if self.kind is TitleMessageKind.CUSTODY_GRANTED:
            assert self.entry is not None
            data["entry"] = self.entry.to_dict()
        else:
            data["entrySha256"] = self.entry_sha256
            data["reasons"] = [code.value for code in self.reasons]
        return data

    @classmethod
    def from_dict(cls, data: Any, *, limits: Limits = DEFAULT_LIMITS) -> TitleMessage:
        if not isinstance(data, Mapping):
            raise _invalid("the body must be a JSON object")
        try:
            kind = TitleMessageKind(str(data.get("message")))
        except ValueError as exc:
            raise _invalid(f"message must be one of {[k.value for k in TitleMessageKind]}") \
                from exc
        if set(data) != _MEMBERS[kind]:
            raise _invalid(f"a {kind.value} body has exactly {sorted(_MEMBERS[kind])}")
        if kind in (TitleMessageKind.CUSTODY_REQUEST, TitleMessageKind.CUSTODY_TRANSFER):
            return cls(kind=kind, record=TitleRecord.from_dict(data["record"], limits=limits))
        record_id, sequence = data["recordId"], data["sequence"]
        if not isinstance(record_id, str) or not RECORD_ID.fullmatch(record_id):
            raise _invalid("recordId has a bad form")
        if type(sequence) is not int or sequence < 0:
            raise _invalid("sequence must be an integer ≥ 0")
        if kind is TitleMessageKind.CUSTODY_GRANTED:
            if not isinstance(data["entry"], Mapping):
                raise _invalid("entry must be a JWS object")
            entry = GeneralJWS.parse(data["entry"], limits=limits)
            return cls(kind=kind, record_id=record_id, sequence=sequence, entry=entry)
        digest, raw_reasons = data["entrySha256"], data["reasons"]
        if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest):
            raise _invalid("entrySha256 must be 64 lower-case hex digits")
        if (not isinstance(raw_reasons, list) or not 0 < len(raw_reasons) <= _MAX_REASONS
                or not all(isinstance(code, str) and _REASON.fullmatch(code)
                           for code in raw_reasons)):
            raise _invalid(f"reasons must hold 1 to {_MAX_REASONS} reason codes")
        try:
            reasons = tuple(ReasonCode(code) for code in raw_reasons)
        except ValueError as exc:
            raise _invalid(f"unknown reason code in {raw_reasons}") from exc
        return cls(kind=kind, record_id=record_id, sequence=sequence, entry_sha256=digest,
                   reasons=reasons)
