"""Title entries and title records: the wire objects of a transferable record (ADR 0015).

A **title entry** is one step of a transferable record's title history. Its wire form is a
General JWS (``typ`` ``tradeaccord-title-entry+jws``) over the RFC 8785 bytes of::

    {"version": 1, "recordId", "sequence", "action", "actingHolder", "holder",
     "custodian", "at", "previous"[, "reason"]}

- ``recordId``: the signed bill's document ``id``.
- ``sequence``: 0 for the ``ISSUE`` entry, then one more per entry.
- ``action``: a :class:`TitleAction`.
- ``actingHolder``: the party (trader id) that acts: the holder before the entry; for
  ``ISSUE`` the bill's carrier party.
- ``holder``: the party that holds the title after the entry.
- ``custodian``: the authority whose node holds custody of the record after the entry.
- ``at``: the time of the action (RFC 3339, UTC).
- ``previous``: lower-case hex SHA-256 of the previous entry's signed payload; for ``ISSUE``,
  of the signed bill's payload (the bill's document digest).
- ``reason``: free text, only on ``SURRENDER_REJECTED`` (optional).

Signatures (checked by ``protocol.title_chain.verify_chain``): ``signatures[0]`` by the node
of the authority in custody before the entry, on the holder's behalf (for ``ISSUE``, the
issuing node, which is the record's *control registry*); ``signatures[1]``, only when the
entry moves custody to another node and ``signatures[0]`` is not the control registry's,
the control registry's countersignature over the same payload. Entry payloads are RFC 8785
bytes (one entry, one byte form), so an entry's digest names it.

A **title record** (``TitleRecord``) is what ``title export`` writes and offline
verification reads: ``{"format": "tradeaccord-title-record-1.0", "bill": <JWS>,
"entries": [<JWS>, …]}``.

Both constructors (``TitleEntry.from_dict``, ``TitleRecord.from_dict``) refuse unknown or
missing members and bad values with ``TitleError(TITLE_ENTRY_INVALID)``; JWS structure
defects keep their JWS codes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from protocol.canonical import canonicalize, sha256_hex
from protocol.errors import ProtocolError, TitleError
from protocol.jws import GeneralJWS, JWSType, Signer, add_signature, sign
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from protocol.timeutil import format_time, parse_time, require_aware

__all__ = [
    "ENTRY_VERSION",
    "TITLE_RECORD_FORMAT",
    "TitleAction",
    "TitleEntry",
    "TitleRecord",
    "countersign_entry",
    "entry_sha256",
    "sign_entry",
]

ENTRY_VERSION = 1
TITLE_RECORD_FORMAT = "tradeaccord-title-record-1.0"

RECORD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
PARTY_ID = re.compile(r"[A-Z]{2}-[A-Z0-9]{2,10}-[A-Z0-9][A-Z0-9./-]{0,49}")
AUTHORITY_ID = re.compile(r"[A-Z]{2}-[A-Z0-9]+(-[A-Z0-9]+)*")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_REASON = 256

_REQUIRED = ("version", "recordId", "sequence", "action", "actingHolder", "holder", "custodian",
             "at", "previous")
_OPTIONAL = ("reason",)


class TitleAction(StrEnum):
    """What a title entry does (the DCSA PINT transaction actions, for one ledger-free chain)."""

    ISSUE = "ISSUE"
    TRANSFER = "TRANSFER"
    ENDORSE = "ENDORSE"
    BLANK_ENDORSE = "BLANK_ENDORSE"
    SURRENDER_FOR_DELIVERY = "SURRENDER_FOR_DELIVERY"
    SURRENDER_ACCEPTED = "SURRENDER_ACCEPTED"
    SURRENDER_REJECTED = "SURRENDER_REJECTED"


def _invalid(message: str, **context: Any) -> TitleError:
    return TitleError(ReasonCode.TITLE_ENTRY_INVALID, message, **context)


def _text(data: Mapping[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    value = data[name]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _invalid(f"{name} must match {pattern.pattern}, found {str(value)[:80]!r}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class TitleEntry:
    """One title entry's content (its signatures live in the JWS that carries it).

    An instance that exists is well-formed: ids match their patterns, ``sequence`` is 0
    exactly for ``ISSUE``, ``at`` is aware, ``reason`` appears only on a rejected surrender.
    Construct with keywords (checked) or ``from_dict`` (wire form).
    """

    record_id: str
    sequence: int
    action: TitleAction
    acting_holder: str
    holder: str
    custodian: str
    at: dt.datetime
    previous: str
    reason: str | None = None

    def __post_init__(self) -> None:
        require_aware(self.at, "at")
        object.__setattr__(self, "action", TitleAction(self.action))
        for name, pattern in (("record_id", RECORD_ID), ("acting_holder", PARTY_ID),
                              ("holder", PARTY_ID), ("custodian", AUTHORITY_ID),
                              ("previous", SHA256_HEX)):
            value = getattr(self, name)
            if not isinstance(value, str) or not pattern.fullmatch(value):
                raise _invalid(f"{name} must match {pattern.pattern}, found {str(value)[:80]!r}")
        if type(self.sequence) is not int or not 0 <= self.sequence <= 2**53 - 1:
            raise _invalid(f"sequence must be an integer ≥ 0, found {self.sequence!r}")
        if (self.sequence == 0) != (self.action is TitleAction.ISSUE):
            raise _invalid("sequence 0 is the ISSUE entry, and ISSUE is sequence 0 only",
                           sequence=self.sequence, action=self.action.value)
        if self.reason is not None:
            if self.action is not TitleAction.SURRENDER_REJECTED:
                raise _invalid("reason is allowed on SURRENDER_REJECTED only")
            if not isinstance(self.reason, str) or not 0 < len(self.reason) <= MAX_REASON:
                raise _invalid(f"reason holds 1 to {MAX_REASON} characters")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": ENTRY_VERSION,
            "recordId": self.record_id,
            "sequence": self.sequence,
            "action": self.action.value,
            "actingHolder": self.acting_holder,
            "holder": self.holder,
            "custodian": self.custodian,
            "at": format_time(self.at),
            "previous": self.previous,
        }
        if self.reason is not None:
            data["reason"] = self.reason
        return data

    def canonical(self) -> bytes:
        """The RFC 8785 bytes that ``sign_entry`` signs."""
        return canonicalize(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any) -> TitleEntry:
        """Parse the wire form; ``TitleError(TITLE_ENTRY_INVALID)`` on any defect."""
        if not isinstance(data, Mapping):
            raise _invalid("a title entry is a JSON object")
        missing = set(_REQUIRED) - set(data)
        unknown = set(data) - set(_REQUIRED) - set(_OPTIONAL)
        if missing or unknown:
            raise _invalid(f"title entry members: missing {sorted(missing)}, "
                           f"unknown {sorted(unknown)}")
        if type(data["version"]) is not int or data["version"] != ENTRY_VERSION:
            raise _invalid(f"version must be {ENTRY_VERSION}")
        try:
            action = TitleAction(data["action"])
        except ValueError as exc:
            raise _invalid(f"unknown action {str(data['action'])[:40]!r}") from exc
        at_text = data["at"]
        try:
            at = parse_time(at_text)
        except ValueError as exc:
            raise _invalid(f"at: {exc}") from exc
        if not isinstance(at_text, str) or at_text != format_time(at):
            raise _invalid("at must be an RFC 3339 UTC time ending in Z, in its shortest form")
        reason = data.get("reason")
        if "reason" in data and not isinstance(reason, str):
            raise _invalid("reason must be a string")
        return cls(
            record_id=_text(data, "recordId", RECORD_ID),
            sequence=data["sequence"],
            action=action,
            acting_holder=_text(data, "actingHolder", PARTY_ID),
            holder=_text(data, "holder", PARTY_ID),
            custodian=_text(data, "custodian", AUTHORITY_ID),
            at=at,
            previous=_text(data, "previous", SHA256_HEX),
            reason=reason,
        )

    @classmethod
    def from_jws(cls, jws: GeneralJWS, *, limits: Limits = DEFAULT_LIMITS) -> TitleEntry:
        """The entry a JWS carries: strict I-JSON, valid, and in RFC 8785 form (one entry has
        one byte form). Signatures are not checked here."""
        try:
            data = jws.payload_json(limits)
        except ProtocolError as exc:
            raise _invalid(f"the entry payload is not strict JSON: {exc.code.value}") from exc
        entry = cls.from_dict(data)
        if entry.canonical() != jws.payload:
            raise _invalid("the entry payload is not in RFC 8785 canonical form")
        return entry


def entry_sha256(jws: GeneralJWS) -> str:
    """An entry's digest (what the next entry's ``previous`` names): SHA-256 of its payload."""
    return sha256_hex(jws.payload)


def sign_entry(entry: TitleEntry, node_signer: Signer, *, signed_at: dt.datetime) -> GeneralJWS:
    """Sign ``entry`` with the key of the node in custody (``signatures[0]``)."""
    return sign(entry.canonical(), node_signer, typ=JWSType.TITLE_ENTRY, signed_at=signed_at)


def countersign_entry(jws: GeneralJWS, registry_node_signer: Signer, *,
                      signed_at: dt.datetime) -> GeneralJWS:
    """The control registry's countersignature (``signatures[1]``) on a custody change.

    The entry must carry exactly the custodian's signature (``ValueError`` otherwise: the
    caller verifies the request first); a key that already signed is refused
    (``JWS_DUPLICATE_SIGNATURE``).
    """
    if len(jws.signatures) != 1:
        raise ValueError("countersign an entry that carries exactly the custodian's signature")
    return add_signature(jws, registry_node_signer, typ=JWSType.TITLE_ENTRY, signed_at=signed_at)


@dataclass(frozen=True, slots=True)
class TitleRecord:
    """A signed bill and its title chain, as exported and verified offline.

    Parsed structurally (``from_dict``/``parse``): JWS containers well-formed, at least one
    entry, at most ``limits.max_title_entries``. Nothing is verified here.
    """

    bill: GeneralJWS
    entries: tuple[GeneralJWS, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.bill, GeneralJWS) or not all(
                isinstance(entry, GeneralJWS) for entry in self.entries):
            raise TypeError("a TitleRecord holds GeneralJWS objects")
        object.__setattr__(self, "entries", tuple(self.entries))

    def to_dict(self) -> dict[str, Any]:
        return {"format": TITLE_RECORD_FORMAT, "bill": self.bill.to_dict(),
                "entries": [entry.to_dict() for entry in self.entries]}

    def to_json(self) -> bytes:
        return canonicalize(self.to_dict())

    def with_entry(self, entry: GeneralJWS) -> TitleRecord:
        """This record with one more entry at the end (the caller verifies the result)."""
        return TitleRecord(self.bill, (*self.entries, entry))

    @classmethod
    def from_dict(cls, data: Any, *, limits: Limits = DEFAULT_LIMITS) -> TitleRecord:
        if not isinstance(data, Mapping) or set(data) != {"format", "bill", "entries"}:
            raise _invalid("a title record has exactly the members format, bill and entries")
        if data["format"] != TITLE_RECORD_FORMAT:
            raise _invalid(f"format must be {TITLE_RECORD_FORMAT!r}")
        raw = data["entries"]
        if not isinstance(raw, list) or not raw:
            raise TitleError(ReasonCode.TITLE_CHAIN_BROKEN,
                             "a title record holds at least its ISSUE entry")
        if len(raw) > limits.max_title_entries:
            raise _invalid(f"{len(raw)} entries exceed the limit of {limits.max_title_entries}")
        bill = GeneralJWS.parse(data["bill"], limits=limits) if isinstance(
            data["bill"], Mapping) else _not_jws("bill")
        entries = tuple(
            GeneralJWS.parse(item, limits=limits) if isinstance(item, Mapping)
            else _not_jws(f"entries[{index}]") for index, item in enumerate(raw))
        return cls(bill, entries)

    @classmethod
    def parse(cls, data: bytes | str, *, limits: Limits = DEFAULT_LIMITS) -> TitleRecord:
        """Parse exported bytes: strict I-JSON bounded by ``max_title_entries`` documents."""
        budget = limits.max_document_bytes * (limits.max_title_entries + 1)
        return cls.from_dict(parse_json(data, max_bytes=budget, max_depth=limits.max_depth),
                             limits=limits)


def _not_jws(where: str) -> GeneralJWS:
    raise _invalid(f"{where} must be a JWS object")


def digests(entries: Sequence[GeneralJWS]) -> tuple[str, ...]:
    """The digests of ``entries``, in order."""
    return tuple(entry_sha256(entry) for entry in entries)
