"""Title chains: the state of a transferable record, and verifying its whole history.

``verify_chain`` checks a signed bill and its ordered title entries (``protocol.title_entry``)
and returns :class:`TitleEvidence` (holder, custodian, status, history) or raises
``TitleError`` (or the ``JWSError``/``CertificateError`` of a bad signature) with a reason
code. Who a key belongs to is decided by a :class:`TitleTrust` the caller passes: in
production ``trust_registry.titles.RegistryTitleTrust`` (the registry says whether a
certificate is a node key of an authority, and whether the issuer holds the
``transferable-records`` role). See ``docs/decisions/0015-transferable-records.md``.

Steps of ``verify_chain`` (each block of code carries its number):

1. Inputs: ``at`` is aware; 1 to ``limits.max_title_entries`` entries
   (``TITLE_CHAIN_BROKEN`` for none: a record without its issuance).
2. The bill: one signature (``JWS_TOO_MANY_SIGNATURES``) that verifies over the payload as
   received (JWS codes); the payload is a valid ``bill-of-lading`` (``SCHEMA_INVALID``,
   ``DOC_TYPE_UNKNOWN``) whose ``issuer`` the signer certificate names (``ISSUER_MISMATCH``);
   ``trust.check_issuer`` (the registry: chain, revocation, ``ISSUER_ROLE_MISSING``).
3. Integrity of every entry: every signature verifies over the payload as received, by
   distinct keys, signed not after ``at`` plus skew (JWS codes); the payload is a canonical
   title entry (``TITLE_ENTRY_INVALID``). Any changed byte of any entry fails here.
4. Links, over the whole chain before any entry's meaning: each entry names the bill's id,
   does not repeat an earlier entry (``TITLE_ENTRY_REPLAYED``), has sequence = its position,
   ``previous`` = the digest of the entry before (of the bill for the first), a time not
   before the entry before (nor, for the first, before the bill's signing time) — else
   ``TITLE_CHAIN_BROKEN`` (reordered, spliced, truncated at the start, forked) — and a time
   not after ``at`` plus skew (``TITLE_ENTRY_INVALID``). ``known_head``, when given, must
   be the digest of one of the entries (``TITLE_CHAIN_BROKEN``: truncated or forked).
5. For each entry in order, the state machine (:meth:`TitleState.apply`):

   a. signature 0 is by the node in custody before the entry — for ``ISSUE``, the control
      registry (``TITLE_SIGNER_NOT_CUSTODIAN``), and ``trust.check_node`` accepts it;
   b. a second signature, if any, is the control registry's countersignature, on an entry
      whose first signer is another node; no third (``TITLE_ENTRY_INVALID``); trusted as in a;
   c. the record admits the action: nothing after ``accomplished``, and only the carrier's
      answer while ``surrendered`` (``TITLE_RECORD_INACTIVE``);
   d. the acting party is the holder — for ``ISSUE``, the bill's carrier party
      (``TITLE_NOT_HOLDER``);
   e. the action fits (``TITLE_ENTRY_INVALID``): endorsements only on an order bill; a
      transfer of an order bill only to its endorsee unless blank-endorsed; a surrender
      hands the record to the carrier at the control registry; an answer only to a pending
      surrender, a rejection returning it to the surrendering holder and node; no entry
      that changes nothing;
   f. a change of custody carries the control registry's signature
      (``TITLE_COUNTERSIGNATURE_MISSING``), except for the last entry when
      ``allow_pending_countersignature`` (the control registry checking a request it is
      about to countersign).

6. Return the evidence.

``require_extension`` is the control registry's singularity rule: a candidate chain must
extend the chain it recorded; a second successor of a recorded entry is ``TITLE_CONFLICT``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from protocol.certificates import authority_id_of
from protocol.documents import DocumentSchemas
from protocol.errors import JWSError, TitleError
from protocol.jws import GeneralJWS, IntegrityEvidence, JWSType, check_integrity
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.signed_document import document_sha256
from protocol.timeutil import format_time, require_aware
from protocol.title_entry import (
    TitleAction,
    TitleEntry,
    TitleRecord,
    entry_sha256,
)

__all__ = [
    "HistoryItem",
    "TitleEvidence",
    "TitleState",
    "TitleStatus",
    "TitleTrust",
    "require_extension",
    "verify_chain",
    "verify_record",
]

BILL_OF_LADING = "bill-of-lading"


class TitleStatus(StrEnum):
    """A record's status. ``transferred-away`` is a node's view of a record whose custody it
    handed to another node (:meth:`TitleEvidence.status_for`); the chain itself is one of
    the other three."""

    ACTIVE = "active"
    SURRENDERED = "surrendered"
    ACCOMPLISHED = "accomplished"
    TRANSFERRED_AWAY = "transferred-away"


class TitleTrust(Protocol):
    """Who a certificate belongs to: the caller's trust decisions (the registry's, in
    production). Each method returns ``None`` or raises a ``ProtocolError`` with a code."""

    def check_issuer(self, evidence: IntegrityEvidence, issuer: str) -> None:
        """The bill's signature is by a document signer of ``issuer`` (trusted at its
        signing time, not revoked), and ``issuer`` may issue transferable records."""

    def check_node(self, evidence: IntegrityEvidence, authority: str) -> None:
        """The entry signature is by a node key of ``authority`` (trusted at its signing
        time, not revoked)."""


def _fail(code: ReasonCode, message: str, **context: Any) -> TitleError:
    return TitleError(code, message, **context)


# -- the state machine --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TitleState:
    """A record's title state after some prefix of its chain (before ``ISSUE``: ``sequence``
    −1, ``head`` the bill's digest, no holder). Immutable; :meth:`apply` returns the next.

    ``endorsee`` is the party an order bill is endorsed to (``None`` once blank-endorsed or
    for a straight bill); ``surrendered_from`` the (holder, custodian) a pending surrender
    came from.
    """

    record_id: str
    control_registry: str
    carrier: str
    to_order: bool
    sequence: int = -1
    head: str
    at: dt.datetime
    status: TitleStatus = TitleStatus.ACTIVE
    holder: str | None = None
    custodian: str | None = None
    endorsee: str | None = None
    blank_endorsed: bool = False
    surrendered_from: tuple[str, str] | None = None

    @classmethod
    def initial(cls, document: Mapping[str, Any], *, bill_sha256: str,
                signed_at: dt.datetime) -> TitleState:
        """The state of a signed bill before its issuance entry. ``document`` is a valid
        ``bill-of-lading`` (the carrier is its party with role ``carrier``)."""
        carriers = [party["id"] for party in document["parties"] if party["role"] == "carrier"]
        if len(carriers) != 1:
            raise _fail(ReasonCode.TITLE_ENTRY_INVALID,
                        "a transferable record names exactly one carrier party",
                        carriers=carriers)
        return cls(record_id=document["id"], control_registry=document["issuer"],
                   carrier=carriers[0], to_order=bool(document["body"]["isToOrder"]),
                   head=bill_sha256, at=signed_at)

    @property
    def issued(self) -> bool:
        return self.sequence >= 0

    def next_entry(self, action: TitleAction, *, acting_holder: str, holder: str,
                   custodian: str, at: dt.datetime, reason: str | None = None) -> TitleEntry:
        """The entry that would follow this state (sequence and ``previous`` filled in). It
        is not checked: pass it to :meth:`apply` (which the signer does before signing)."""
        return TitleEntry(record_id=self.record_id, sequence=self.sequence + 1, action=action,
                          acting_holder=acting_holder, holder=holder, custodian=custodian,
                          at=at, previous=self.head, reason=reason)

    def link(self, entry: TitleEntry) -> None:
        """Step 4 for one entry: it follows this state (record id, sequence, previous, time).
        ``TITLE_CHAIN_BROKEN`` if not."""
        where = {"sequence": entry.sequence}
        if entry.record_id != self.record_id:
            raise _fail(ReasonCode.TITLE_CHAIN_BROKEN,
                        f"the entry names record {entry.record_id}, not {self.record_id}", **where)
        if entry.sequence != self.sequence + 1:
            raise _fail(ReasonCode.TITLE_CHAIN_BROKEN,
                        f"sequence {entry.sequence} where {self.sequence + 1} follows", **where)
        if entry.previous != self.head:
            raise _fail(ReasonCode.TITLE_CHAIN_BROKEN,
                        "previous is not the digest of the entry before (of the bill for the "
                        "first)", **where)
        if entry.at < self.at:
            raise _fail(ReasonCode.TITLE_CHAIN_BROKEN,
                        f"the entry's time {format_time(entry.at)} is before the previous "
                        f"{format_time(self.at)}", **where)

    def apply(self, entry: TitleEntry, *, digest: str, signers: Sequence[str],
              countersignature_pending: bool = False) -> TitleState:
        """Steps 4–5 for one entry signed by the nodes of ``signers`` (authority ids, in
        signature order, whose keys the caller has verified); return the state after it.

        ``countersignature_pending``: the entry may lack the control registry's
        countersignature on a custody change (the registry checks a request with it).
        """
        self.link(entry)
        where = {"sequence": entry.sequence, "action": entry.action.value}
        action = entry.action
        # Step 5a: the node in custody signs
        expected_signer = self.custodian if self.issued else self.control_registry
        if not signers or signers[0] != expected_signer:
            raise _fail(ReasonCode.TITLE_SIGNER_NOT_CUSTODIAN,
                        f"signed by {signers[0] if signers else 'nobody'}; the node in custody "
                        f"is {expected_signer}'s", **where)
        # Step 5b: only the control registry countersigns, and only another node's entry
        if len(signers) > 2 or (len(signers) == 2 and (
                signers[1] != self.control_registry or signers[0] == self.control_registry)):
            raise _fail(ReasonCode.TITLE_ENTRY_INVALID,
                        f"signers {list(signers)}: the custodian's node, then at most the "
                        f"control registry {self.control_registry}", **where)
        # Step 5c: the record admits an action
        if self.status is TitleStatus.ACCOMPLISHED or (
                self.status is TitleStatus.SURRENDERED and action not in (
                TitleAction.SURRENDER_ACCEPTED, TitleAction.SURRENDER_REJECTED)):
            raise _fail(ReasonCode.TITLE_RECORD_INACTIVE,
                        f"the record is {self.status.value}; {action.value} is not admitted",
                        **where)
        # Step 5d: only the holder acts
        actor = self.holder if self.issued else self.carrier
        if entry.acting_holder != actor:
            raise _fail(ReasonCode.TITLE_NOT_HOLDER,
                        f"{entry.acting_holder} acts, but the holder is {actor}", **where)
        # Step 5e: the action fits the record
        state = self._after(entry, where)
        # Step 5f: a custody change is recorded by the control registry
        moved = entry.custodian != (self.custodian if self.issued else self.control_registry)
        if moved and self.control_registry not in signers and not countersignature_pending:
            raise _fail(ReasonCode.TITLE_COUNTERSIGNATURE_MISSING,
                        f"custody moves from {self.custodian} to {entry.custodian} without the "
                        f"countersignature of {self.control_registry}", **where)
        return dataclasses.replace(state, sequence=entry.sequence, head=digest, at=entry.at,
                                   holder=entry.holder, custodian=entry.custodian)

    def _after(self, entry: TitleEntry, where: dict[str, Any]) -> TitleState:
        """Step 5e: the state fields an action changes (holder and custodian are set by the
        caller), or ``TITLE_ENTRY_INVALID``."""
        action = entry.action

        def invalid(message: str) -> TitleError:
            return _fail(ReasonCode.TITLE_ENTRY_INVALID, message, **where)

        if action is TitleAction.ISSUE:
            return dataclasses.replace(self, endorsee=entry.holder if self.to_order else None)
        if action is TitleAction.SURRENDER_ACCEPTED or action is TitleAction.SURRENDER_REJECTED:
            if self.status is not TitleStatus.SURRENDERED or self.surrendered_from is None:
                raise invalid(f"{action.value} answers a pending surrender; none is pending")
            if action is TitleAction.SURRENDER_ACCEPTED:
                if (entry.holder, entry.custodian) != (self.holder, self.custodian):
                    raise invalid("an accepted surrender leaves the record with the carrier")
                return dataclasses.replace(self, status=TitleStatus.ACCOMPLISHED,
                                           surrendered_from=None)
            if (entry.holder, entry.custodian) != self.surrendered_from:
                raise invalid("a rejected surrender returns the record to the holder and node "
                              f"it came from, {self.surrendered_from}")
            return dataclasses.replace(self, status=TitleStatus.ACTIVE, surrendered_from=None)
        if action is TitleAction.SURRENDER_FOR_DELIVERY:
            if (entry.holder, entry.custodian) != (self.carrier, self.control_registry):
                raise invalid(f"a surrender hands the record to the carrier {self.carrier} at "
                              f"the control registry {self.control_registry}")
            assert self.holder is not None and self.custodian is not None  # issued
            return dataclasses.replace(self, status=TitleStatus.SURRENDERED,
                                       surrendered_from=(self.holder, self.custodian))
        if action is TitleAction.ENDORSE or action is TitleAction.BLANK_ENDORSE:
            if not self.to_order:
                raise invalid(f"{action.value} needs an order bill (isToOrder); this one is "
                              "straight")
            if action is TitleAction.BLANK_ENDORSE:
                if self.blank_endorsed:
                    raise invalid("the bill is already blank-endorsed")
                if (entry.holder, entry.custodian) != (self.holder, self.custodian):
                    raise invalid("a blank endorsement keeps the holder and the custodian")
                return dataclasses.replace(self, endorsee=None, blank_endorsed=True)
            if entry.holder == entry.acting_holder:
                raise invalid("an endorsement names another party as the new holder")
            return dataclasses.replace(self, endorsee=entry.holder, blank_endorsed=False)
        # TRANSFER
        if (entry.holder, entry.custodian) == (self.holder, self.custodian):
            raise invalid("the transfer changes neither the holder nor the custodian")
        if self.to_order and not self.blank_endorsed and entry.holder != self.endorsee:
            raise invalid(f"an order bill endorsed to {self.endorsee} passes to another party "
                          "by endorsement (ENDORSE), or by transfer once blank-endorsed")
        return self

    def check_signer(self, authority: str) -> None:
        """A node about to sign the next entry: ``TITLE_SIGNER_NOT_CUSTODIAN`` unless
        ``authority`` holds custody (the node that handed custody away refuses)."""
        expected = self.custodian if self.issued else self.control_registry
        if authority != expected:
            raise _fail(ReasonCode.TITLE_SIGNER_NOT_CUSTODIAN,
                        f"{authority} does not hold custody of {self.record_id}; "
                        f"{expected} does", custodian=expected)


# -- evidence -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryItem:
    """One entry as ``title show`` lists it."""

    sequence: int
    action: TitleAction
    from_party: str
    to_party: str
    at: dt.datetime
    by: str
    custodian: str
    countersigned_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"sequence": self.sequence, "action": self.action.value,
                "from": self.from_party, "to": self.to_party, "at": format_time(self.at),
                "by": self.by, "custodian": self.custodian,
                "countersignedBy": self.countersigned_by}


@dataclass(frozen=True, slots=True, kw_only=True)
class TitleEvidence:
    """A verified record: the bill, its state after the whole chain, and the history."""

    record: TitleRecord
    document: Mapping[str, Any]
    bill_sha256: str
    state: TitleState
    history: tuple[HistoryItem, ...]
    entry_digests: tuple[str, ...]
    countersignature_pending: bool = False

    @property
    def record_id(self) -> str:
        return self.state.record_id

    @property
    def control_registry(self) -> str:
        return self.state.control_registry

    @property
    def holder(self) -> str:
        assert self.state.holder is not None  # verified chains hold an ISSUE entry
        return self.state.holder

    @property
    def custodian(self) -> str:
        assert self.state.custodian is not None
        return self.state.custodian

    @property
    def status(self) -> TitleStatus:
        return self.state.status

    @property
    def head(self) -> str:
        """The digest of the last entry."""
        return self.state.head

    def status_for(self, authority: str) -> TitleStatus:
        """The status as ``authority``'s node shows it: ``transferred-away`` for a record it
        no longer holds in custody (unless accomplished: then nobody holds it)."""
        if self.status is not TitleStatus.ACCOMPLISHED and authority != self.custodian:
            return TitleStatus.TRANSFERRED_AWAY
        return self.status

    def summary(self, viewer: str | None = None) -> dict[str, Any]:
        """The JSON form of ``title show --json`` (``viewer``: the node showing it)."""
        status = self.status if viewer is None else self.status_for(viewer)
        return {
            "id": self.record_id,
            "transportDocumentReference": self.document["body"]["transportDocumentReference"],
            "billSha256": self.bill_sha256,
            "status": status.value,
            "holder": self.holder,
            "custodian": self.custodian,
            "controlRegistry": self.control_registry,
            "isToOrder": self.state.to_order,
            "endorsee": self.state.endorsee,
            "blankEndorsed": self.state.blank_endorsed,
            "sequence": self.state.sequence,
            "head": self.head,
            "countersignaturePending": self.countersignature_pending,
            "history": [item.to_dict() for item in self.history],
        }


# -- verification -------------------------------------------------------------------------


def _signer_authority(evidence: IntegrityEvidence) -> str:
    return authority_id_of(evidence.leaf) or ""


def verify_chain(
    bill: GeneralJWS,
    entries: Sequence[GeneralJWS],
    *,
    trust: TitleTrust,
    at: dt.datetime,
    schemas: DocumentSchemas,
    limits: Limits = DEFAULT_LIMITS,
    known_head: str | None = None,
    allow_pending_countersignature: bool = False,
) -> TitleEvidence:
    """Verify ``bill`` and its ``entries`` at ``at``; return evidence or raise (see the
    module docstring for the numbered steps)."""
    # Step 1: inputs
    require_aware(at, "at")
    skew = dt.timedelta(seconds=limits.max_clock_skew_seconds)
    if not entries:
        raise _fail(ReasonCode.TITLE_CHAIN_BROKEN, "the chain has no entry (no issuance)")
    if len(entries) > limits.max_title_entries:
        raise _fail(ReasonCode.TITLE_ENTRY_INVALID,
                    f"{len(entries)} entries exceed the limit of {limits.max_title_entries}")

    # Step 2: the bill, its issuer and the issuer's trust
    if len(bill.signatures) != 1:
        raise JWSError(ReasonCode.JWS_TOO_MANY_SIGNATURES,
                       "a transferable record's bill carries its issuer's signature only")
    bill_evidence = check_integrity(bill, 0, typ=JWSType.DOCUMENT, limits=limits)
    if bill_evidence.signed_at > at + skew:
        raise JWSError(ReasonCode.SIGNING_TIME_INVALID,
                       f"the bill was signed at {format_time(bill_evidence.signed_at)}, after "
                       f"{format_time(at)}")
    document = bill.payload_json(limits)
    schemas.validate(document)
    if document["type"] != BILL_OF_LADING:
        raise TitleError(ReasonCode.SCHEMA_INVALID,
                         f"a transferable record is a {BILL_OF_LADING}, not a {document['type']}")
    issuer = document["issuer"]
    if _signer_authority(bill_evidence) != issuer:
        raise TitleError(ReasonCode.ISSUER_MISMATCH,
                         f"the bill names {issuer} but its signer certificate names "
                         f"{_signer_authority(bill_evidence)}")
    trust.check_issuer(bill_evidence, issuer)
    bill_digest = document_sha256(bill)

    # Step 3: integrity of every entry
    parsed: list[tuple[TitleEntry, tuple[IntegrityEvidence, ...]]] = []
    for position, jws in enumerate(entries):
        evidence = tuple(check_integrity(jws, index, typ=JWSType.TITLE_ENTRY, limits=limits)
                         for index in range(len(jws.signatures)))
        if len({item.kid for item in evidence}) != len(evidence):
            raise JWSError(ReasonCode.JWS_DUPLICATE_SIGNATURE,
                           f"entry {position}: one key signed twice")
        for item in evidence:
            if item.signed_at > at + skew:
                raise JWSError(ReasonCode.SIGNING_TIME_INVALID,
                               f"entry {position} signed at {format_time(item.signed_at)}, "
                               f"after {format_time(at)}")
        parsed.append((TitleEntry.from_jws(jws, limits=limits), evidence))

    # Step 4: links over the whole chain
    state = TitleState.initial(document, bill_sha256=bill_digest,
                               signed_at=bill_evidence.signed_at)
    digests = [entry_sha256(jws) for jws in entries]
    probe = state
    seen: set[str] = set()
    for position, (entry, _) in enumerate(parsed):
        if digests[position] in seen:
            raise _fail(ReasonCode.TITLE_ENTRY_REPLAYED,
                        f"entry {position} repeats an earlier entry", sequence=entry.sequence)
        seen.add(digests[position])
        if position == 0 and entry.action is not TitleAction.ISSUE:
            raise _fail(ReasonCode.TITLE_CHAIN_BROKEN,
                        "the chain does not start with the ISSUE entry (truncated)")
        probe.link(entry)
        if entry.at > at + skew:
            raise _fail(ReasonCode.TITLE_ENTRY_INVALID,
                        f"entry {position} is dated {format_time(entry.at)}, after "
                        f"{format_time(at)}", sequence=entry.sequence)
        probe = dataclasses.replace(probe, sequence=entry.sequence, head=digests[position],
                                    at=entry.at)
    if known_head is not None and known_head not in seen:
        raise _fail(ReasonCode.TITLE_CHAIN_BROKEN,
                    "the chain lacks an entry known to be in the record's history "
                    "(truncated or forked)", known_head=known_head)

    # Step 5: the state machine, entry by entry, with the signers' trust
    history: list[HistoryItem] = []
    last = len(parsed) - 1
    for position, (entry, evidence) in enumerate(parsed):
        signers = [_signer_authority(item) for item in evidence]
        state = state.apply(entry, digest=digests[position], signers=signers,
                            countersignature_pending=allow_pending_countersignature
                            and position == last)
        for item, authority in zip(evidence, signers, strict=True):
            trust.check_node(item, authority)
        history.append(HistoryItem(
            sequence=entry.sequence, action=entry.action, from_party=entry.acting_holder,
            to_party=entry.holder, at=entry.at, by=signers[0], custodian=entry.custodian,
            countersigned_by=signers[1] if len(signers) > 1 else None))

    # Step 6: evidence
    pending = (allow_pending_countersignature
               and state.control_registry not in [_signer_authority(item)
                                                  for item in parsed[last][1]])
    return TitleEvidence(record=TitleRecord(bill, tuple(entries)), document=document,
                         bill_sha256=bill_digest, state=state, history=tuple(history),
                         entry_digests=tuple(digests), countersignature_pending=pending)


def verify_record(record: TitleRecord, *, trust: TitleTrust, at: dt.datetime,
                  schemas: DocumentSchemas, limits: Limits = DEFAULT_LIMITS,
                  known_head: str | None = None) -> TitleEvidence:
    """``verify_chain`` over an exported :class:`TitleRecord`."""
    return verify_chain(record.bill, record.entries, trust=trust, at=at, schemas=schemas,
                        limits=limits, known_head=known_head)


# -- the control registry's singularity rule ---------------------------------------------


def require_extension(known: Sequence[str], candidate: Sequence[str]) -> int:
    """How many entries ``candidate`` adds to ``known`` (entry digests, in order).

    The control registry holds one chain per record (``known``) and accepts a candidate
    chain only as its extension. Refusals:

    - the same chain again: ``TITLE_ENTRY_REPLAYED`` (a replayed request; the registry may
      answer it with what it answered the first time);
    - a prefix of ``known``: ``TITLE_CHAIN_BROKEN`` (truncated: the sender is behind);
    - another successor of a recorded entry: ``TITLE_CONFLICT`` (a second change from a
      stale state: a double transfer);
    - another first entry: ``TITLE_CHAIN_BROKEN`` (another record or a forged issuance).
    """
    for index, digest in enumerate(known):
        if index >= len(candidate):
            raise _fail(ReasonCode.TITLE_CHAIN_BROKEN,
                        f"the chain stops at entry {len(candidate) - 1}; {len(known)} entries "
                        "are recorded (truncated)")
        if candidate[index] != digest:
            if index == 0:
                raise _fail(ReasonCode.TITLE_CHAIN_BROKEN,
                            "the chain does not start with the recorded issuance")
            raise _fail(ReasonCode.TITLE_CONFLICT,
                        f"entry {index} differs from the recorded one: a second change from "
                        f"the state after entry {index - 1}", sequence=index)
    if len(candidate) == len(known):
        raise _fail(ReasonCode.TITLE_ENTRY_REPLAYED, "the chain adds nothing to the recorded one")
    return len(candidate) - len(known)

