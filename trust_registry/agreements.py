"""Bilateral mutual-recognition agreements: content, root signatures, status history.

An agreement's content (:class:`Agreement`) is signed as RFC 8785 canonical JSON in a General
JWS (``typ`` ``tradeaccord-agreement+jws``) by the parties' **root** keys: each signature's
``x5c`` is exactly ``[root certificate]`` and is validated with ``CertUsage.ROOT_SIGNING``
against that party's anchors (the registry does that part, see ``registry.py``).

Payload (``agreementFormat`` ``tradeaccord-agreement-1.0``)::

    {"agreementFormat", "agreementId", "parties": [A, B], "legalReference",
     "validFrom", "validUntil" (null = open-ended),
     "scope": [{"documentType", "from", "to", "recognisedAs", "mappingId" (nullable),
                "minimumReliability" (a reliability profile, may be {})}, …]}

A status change (:class:`StatusChange`) is a separate JWS with the same ``typ``, one
signature by a party root, payload (``agreementFormat`` ``tradeaccord-agreement-status-1.0``)::

    {"agreementFormat", "agreementId", "agreementSha256", "status", "effectiveAt", "party",
     "reason"}

``agreementSha256`` binds it to the exact signed agreement bytes. The ``agreementFormat``
member keeps an agreement and a status change from passing for one another.

Rules (``AgreementError``, code ``AGREEMENT_INVALID`` unless named):

1. Content: two distinct parties; ``validUntil`` null or later than ``validFrom``; 1 to
   ``max_scope_items`` scope items; each item's ``from`` and ``to`` are the two parties (one
   each); types and mapping ids match their patterns; no two items share
   ``(documentType, from, to)``. Unknown members are refused.
2. Signatures: at most two, each verifying over the payload as received, each by a root
   certificate (``x5c`` of length 1) that names a party (a non-party signature is refused),
   at most one per party and per key, none signed after the check time plus the allowed
   clock skew.
3. One party's signature is a *proposal*; both make the agreement (``AGREEMENT_SIGNATURE_MISSING``
   where both are required). The agreement is in force from ``max(validFrom, the later
   signature's signing time)``: never before both roots signed.
4. Time windows are half-open: in force at ``t`` iff ``in_force_from ≤ t < validUntil`` and
   the status at ``t`` is ``in-force``.
5. Status history: ``in-force → suspended → in-force (resumed) …`` and ``in-force |
   suspended → terminated`` (final). Either party may suspend or terminate; only the party
   that suspended may resume (``STATE_INVALID`` otherwise). A change needs a dual-signed
   agreement (``AGREEMENT_NOT_IN_FORCE``), takes effect no earlier than it was signed and
   no earlier than the agreement's countersignature (no retroactive change), and strictly
   after the previous change.
6. The status at ``t`` is the status of the last change effective at or before ``t``,
   ``in-force`` when none. (See ``docs/decisions/0006-agreement-time-rules.md`` for how a
   decision combines the signing time and the decision time.)
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cryptography import x509

from protocol.canonical import canonicalize, sha256_hex
from protocol.certificates import authority_id_of
from protocol.errors import ProtocolError
from protocol.jws import (
    GeneralJWS,
    IntegrityEvidence,
    JWSType,
    Signer,
    add_signature,
    check_integrity,
    sign,
)
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from protocol.timeutil import format_time, require_aware
from trust_registry.errors import AgreementError, TrustError
from trust_registry.model import (
    AGREEMENT_ID_PATTERN,
    AUTHORITY_ID_PATTERN,
    DEFAULT_REGISTRY_LIMITS,
    DOC_TYPE_PATTERN,
    END_OF_TIME,
    MAPPING_ID_PATTERN,
    AgreementId,
    AuthorityId,
    DocType,
    JsonObject,
    RegistryLimits,
    is_self_signed_ca,
)
from trust_registry.reliability import ReliabilityProfile

AGREEMENT_FORMAT = "tradeaccord-agreement-1.0"
STATUS_FORMAT = "tradeaccord-agreement-status-1.0"
SHA256_HEX_LENGTH = 64


class AgreementStatus(StrEnum):
    """The status of an agreement at a point in time."""

    PROPOSED = "proposed"
    IN_FORCE = "in-force"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class Direction(StrEnum):
    """Which way documents flow, seen from the proposing authority."""

    BOTH = "both"
    OUTBOUND = "outbound"  # the proposer issues, the partner receives
    INBOUND = "inbound"  # the partner issues, the proposer receives


def _fail(message: str, code: ReasonCode = ReasonCode.AGREEMENT_INVALID, **context: Any) -> AgreementError:
    return AgreementError(code, message, **context)


def _reader(value: Any, where: str, *, required: Sequence[str], optional: Sequence[str] = ()) -> JsonObject:
    return JsonObject.of(
        value,
        where,
        required=required,
        optional=optional,
        code=ReasonCode.AGREEMENT_INVALID,
        error=AgreementError,
    )


# -- content --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ScopeItem:
    """Documents of ``document_type`` issued by ``issuer`` (``from``) and received by
    ``receiver`` (``to``) are recognised as the receiver's ``recognised_as``, provided the
    issuer's declared reliability meets ``minimum_reliability``."""

    document_type: DocType
    issuer: AuthorityId
    receiver: AuthorityId
    recognised_as: DocType
    mapping_id: str | None = None
    minimum_reliability: ReliabilityProfile = field(default_factory=lambda: ReliabilityProfile({}))

    def __post_init__(self) -> None:
        for name in ("document_type", "recognised_as"):
            value = getattr(self, name)
            if not isinstance(value, str) or not DOC_TYPE_PATTERN.match(value) or len(value) > 64:
                raise _fail(f"{name} {value!r} is not a document type name")
        for name in ("issuer", "receiver"):
            value = getattr(self, name)
            if not isinstance(value, str) or not AUTHORITY_ID_PATTERN.match(value):
                raise _fail(f"scope {name} {value!r} is not an authority id")
        if self.mapping_id is not None and (
            not isinstance(self.mapping_id, str) or not MAPPING_ID_PATTERN.match(self.mapping_id)
        ):
            raise _fail(f"mappingId {self.mapping_id!r} is not a mapping id")
        if not isinstance(self.minimum_reliability, ReliabilityProfile):
            raise TypeError("minimum_reliability must be a ReliabilityProfile")

    def to_dict(self) -> dict[str, Any]:
        return {
            "documentType": self.document_type,
            "from": self.issuer,
            "to": self.receiver,
            "recognisedAs": self.recognised_as,
            "mappingId": self.mapping_id,
            "minimumReliability": self.minimum_reliability.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "scope item") -> ScopeItem:
        reader = _reader(
            data,
            where,
            required=("documentType", "from", "to", "recognisedAs", "mappingId", "minimumReliability"),
        )
        try:
            minimum = ReliabilityProfile.from_dict(reader.obj("minimumReliability"))
        except TrustError as exc:
            raise _fail(f"{where}.minimumReliability: {exc.message}") from exc
        return cls(
            document_type=DocType(reader.text("documentType", pattern=DOC_TYPE_PATTERN, max_length=64)),
            issuer=AuthorityId(reader.text("from", pattern=AUTHORITY_ID_PATTERN, max_length=64)),
            receiver=AuthorityId(reader.text("to", pattern=AUTHORITY_ID_PATTERN, max_length=64)),
            recognised_as=DocType(reader.text("recognisedAs", pattern=DOC_TYPE_PATTERN, max_length=64)),
            mapping_id=reader.optional_text("mappingId", pattern=MAPPING_ID_PATTERN, max_length=128),
            minimum_reliability=minimum,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement:
    """The signed content of an agreement (rule 1)."""

    agreement_id: AgreementId
    parties: tuple[AuthorityId, AuthorityId]
    legal_reference: str
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    scope: tuple[ScopeItem, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "parties", tuple(self.parties))
        object.__setattr__(self, "scope", tuple(self.scope))
        if not isinstance(self.agreement_id, str) or not AGREEMENT_ID_PATTERN.match(self.agreement_id):
            raise _fail(f"agreementId {self.agreement_id!r} has a bad form")
        if len(self.parties) != 2 or self.parties[0] == self.parties[1]:
            raise _fail("an agreement has exactly two distinct parties")
        for party in self.parties:
            if not isinstance(party, str) or not AUTHORITY_ID_PATTERN.match(party):
                raise _fail(f"party {party!r} is not an authority id")
        if not isinstance(self.legal_reference, str) or not 0 < len(self.legal_reference) <= 1_000:
            raise _fail("legalReference holds 1 to 1000 characters")
        require_aware(self.valid_from, "valid_from")
        if self.valid_until is not None:
            require_aware(self.valid_until, "valid_until")
            if self.valid_until <= self.valid_from:
                raise _fail("validUntil must be later than validFrom")
        if not self.scope:
            raise _fail("an agreement needs at least one scope item")
        seen: set[tuple[str, str, str]] = set()
        for index, item in enumerate(self.scope):
            if not isinstance(item, ScopeItem):
                raise TypeError("scope items must be ScopeItem")
            if {item.issuer, item.receiver} != set(self.parties):
                raise _fail(f"scope[{index}] must flow from one party to the other")
            key = (item.document_type, item.issuer, item.receiver)
            if key in seen:
                raise _fail(f"scope[{index}] repeats {item.document_type} {item.issuer}→{item.receiver}")
            seen.add(key)

    def partner_of(self, party: str) -> AuthorityId:
        """The other party; ``ValueError`` if ``party`` is not one."""
        if party not in self.parties:
            raise ValueError(f"{party} is not a party")
        return self.parties[1] if self.parties[0] == party else self.parties[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "agreementFormat": AGREEMENT_FORMAT,
            "agreementId": self.agreement_id,
            "parties": list(self.parties),
            "legalReference": self.legal_reference,
            "validFrom": format_time(self.valid_from),
            "validUntil": None if self.valid_until is None else format_time(self.valid_until),
            "scope": [item.to_dict() for item in self.scope],
        }

    def payload(self) -> bytes:
        """The RFC 8785 bytes that the parties sign."""
        return canonicalize(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any, *, limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS) -> Agreement:
        reader = _reader(
            data,
            "agreement",
            required=(
                "agreementFormat",
                "agreementId",
                "parties",
                "legalReference",
                "validFrom",
                "validUntil",
                "scope",
            ),
        )
        if reader.obj("agreementFormat") != AGREEMENT_FORMAT:
            raise reader.fail(f"agreementFormat must be {AGREEMENT_FORMAT!r}")
        parties = reader.array("parties", min_items=2, max_items=2)
        if not all(isinstance(p, str) and AUTHORITY_ID_PATTERN.match(p) for p in parties):
            raise reader.fail("parties must be two authority ids")
        scope = reader.array("scope", min_items=1, max_items=limits.max_scope_items)
        return cls(
            agreement_id=AgreementId(reader.text("agreementId", pattern=AGREEMENT_ID_PATTERN)),
            parties=(AuthorityId(parties[0]), AuthorityId(parties[1])),
            legal_reference=reader.text("legalReference", max_length=limits.max_text),
            valid_from=reader.time("validFrom"),
            valid_until=reader.optional_time("validUntil"),
            scope=tuple(ScopeItem.from_dict(item, where=f"scope[{i}]") for i, item in enumerate(scope)),
        )


def build_scope(
    *,
    proposer: AuthorityId,
    partner: AuthorityId,
    document_types: Sequence[DocType],
    recognised_as: Sequence[DocType] = (),
    mapping_ids: Sequence[str | None] = (),
    direction: Direction = Direction.BOTH,
    minimum_reliability: ReliabilityProfile | None = None,
) -> tuple[ScopeItem, ...]:
    """Scope items for the common case: each type recognised as itself (or as the
    ``recognised_as`` given at the same position), in ``direction`` as seen by the proposer.

    ``recognised_as`` and ``mapping_ids`` are empty, hold one value for every type, or hold
    one value per type (``ValueError`` otherwise).
    """
    types = list(document_types)
    if not types:
        raise ValueError("at least one document type")
    if len(set(types)) != len(types):
        raise ValueError("a document type is named twice")

    def spread(values: Sequence[Any], what: str) -> list[Any]:
        if not values:
            return [None] * len(types)
        if len(values) == 1:
            return list(values) * len(types)
        if len(values) != len(types):
            raise ValueError(f"give one {what}, or one per document type ({len(types)})")
        return list(values)

    targets = spread(recognised_as, "recognised-as type")
    mappings = spread(mapping_ids, "mapping id")
    flows: list[tuple[AuthorityId, AuthorityId]] = []
    if direction in (Direction.BOTH, Direction.OUTBOUND):
        flows.append((proposer, partner))
    if direction in (Direction.BOTH, Direction.INBOUND):
        flows.append((partner, proposer))
    minimum = minimum_reliability if minimum_reliability is not None else ReliabilityProfile({})
    return tuple(
        ScopeItem(
            document_type=doc_type,
            issuer=issuer,
            receiver=receiver,
            recognised_as=target or doc_type,
            mapping_id=mapping,
            minimum_reliability=minimum,
        )
        for doc_type, target, mapping in zip(types, targets, mappings, strict=True)
        for issuer, receiver in flows
    )


# -- signatures -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PartySignature:
    """One party's root signature, integrity checked (trust in the root is the registry's)."""

    party: AuthorityId
    signed_at: dt.datetime
    certificate: x509.Certificate
    evidence: IntegrityEvidence = field(compare=False, repr=False)


def _root_signatures(
    jws: GeneralJWS,
    parties: Sequence[str],
    *,
    at: dt.datetime | None,
    limits: Limits,
    max_signatures: int,
) -> tuple[PartySignature, ...]:
    """Rule 2 for any root-signed agreement object."""
    if len(jws.signatures) > max_signatures:
        raise _fail(f"{len(jws.signatures)} signatures; at most {max_signatures} expected")
    signatures: list[PartySignature] = []
    for index in range(len(jws.signatures)):
        try:
            evidence = check_integrity(jws, index, typ=JWSType.AGREEMENT, limits=limits)
        except ProtocolError as exc:
            raise AgreementError(
                ReasonCode.AGREEMENT_INVALID,
                f"signature {index}: {exc.code.value}: {exc.message}",
                more_codes=(exc.code,),
            ) from exc
        if evidence.intermediates:
            raise _fail(f"signature {index}: a root signature's x5c holds the root only")
        party = authority_id_of(evidence.leaf)
        if party is None or party not in parties:
            raise _fail(f"signature {index} is by {party}, not a party ({', '.join(parties)})", signer=party)
        if any(s.party == party for s in signatures):
            raise _fail(f"{party} signed twice")
        if any(s.evidence.kid == evidence.kid for s in signatures):
            raise _fail(f"signature {index} repeats another party's key: one key cannot "
                        "stand for both parties")
        if at is not None and evidence.signed_at > at + dt.timedelta(seconds=limits.max_clock_skew_seconds):
            raise AgreementError(
                ReasonCode.AGREEMENT_INVALID,
                f"{party} signed at {format_time(evidence.signed_at)}, in the future",
                more_codes=(ReasonCode.SIGNING_TIME_INVALID,),
            )
        signatures.append(PartySignature(party=AuthorityId(party), signed_at=evidence.signed_at,
                                         certificate=evidence.leaf, evidence=evidence))
    return tuple(signatures)


def _parse_payload(jws: GeneralJWS, limits: Limits) -> Any:
    try:
        return parse_json(jws.payload, max_bytes=limits.max_document_bytes, max_depth=limits.max_depth)
    except ProtocolError as exc:
        raise AgreementError(
            ReasonCode.AGREEMENT_INVALID, f"payload: {exc.message}", more_codes=(exc.code,)
        ) from exc


def _as_jws(data: GeneralJWS | Mapping[str, Any] | bytes | str, limits: Limits) -> GeneralJWS:
    if isinstance(data, GeneralJWS):
        return data
    try:
        return GeneralJWS.parse(data, limits=limits)
    except ProtocolError as exc:
        raise AgreementError(
            ReasonCode.AGREEMENT_INVALID, f"not a General JWS: {exc.message}", more_codes=(exc.code,)
        ) from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedAgreement:
    """An agreement and its (one or two) party root signatures, integrity checked.

    Build with :meth:`parse`; trust in each root is checked by the registry.
    """

    jws: GeneralJWS
    agreement: Agreement
    signatures: tuple[PartySignature, ...]

    @classmethod
    def parse(
        cls,
        data: GeneralJWS | Mapping[str, Any] | bytes | str,
        *,
        at: dt.datetime | None = None,
        limits: Limits = DEFAULT_LIMITS,
        registry_limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS,
    ) -> SignedAgreement:
        """Parse and check rules 1 and 2 (``at``: refuse signatures later than ``at`` + skew)."""
        if at is not None:
            require_aware(at, "at")
        jws = _as_jws(data, limits)
        agreement = Agreement.from_dict(_parse_payload(jws, limits), limits=registry_limits)
        signatures = _root_signatures(jws, agreement.parties, at=at, limits=limits, max_signatures=2)
        return cls(jws=jws, agreement=agreement, signatures=signatures)

    @property
    def agreement_id(self) -> AgreementId:
        return self.agreement.agreement_id

    @property
    def sha256(self) -> str:
        """SHA-256 of the signed payload bytes (what a status change names)."""
        return sha256_hex(self.jws.payload)

    @property
    def signed_by(self) -> frozenset[AuthorityId]:
        return frozenset(s.party for s in self.signatures)

    @property
    def missing(self) -> tuple[AuthorityId, ...]:
        """Parties whose root has not signed yet."""
        return tuple(p for p in self.agreement.parties if p not in self.signed_by)

    @property
    def is_dual_signed(self) -> bool:
        return not self.missing

    @property
    def countersigned_at(self) -> dt.datetime | None:
        """The later signing time when both parties signed, else ``None``."""
        return max(s.signed_at for s in self.signatures) if self.is_dual_signed else None

    @property
    def in_force_from(self) -> dt.datetime | None:
        """``max(validFrom, countersigned_at)`` (rule 3), ``None`` for a proposal."""
        countersigned = self.countersigned_at
        return None if countersigned is None else max(self.agreement.valid_from, countersigned)

    def require_dual_signed(self) -> None:
        """``AGREEMENT_SIGNATURE_MISSING`` unless both parties' roots signed."""
        if self.missing:
            raise AgreementError(
                ReasonCode.AGREEMENT_SIGNATURE_MISSING,
                f"agreement {self.agreement_id} lacks the root signature of {', '.join(self.missing)}",
                agreement=self.agreement_id,
            )

    def to_dict(self) -> dict[str, Any]:
        return self.jws.to_dict()


def _signer_party(signer: Signer, agreement: Agreement) -> AuthorityId:
    party = authority_id_of(signer.certificate)
    if party not in agreement.parties:
        raise _fail(f"the signer {party} is not a party of {agreement.agreement_id}")
    if len(signer.chain) != 1 or not is_self_signed_ca(signer.certificate,
                                                                 verify_signature=False):
        raise ValueError("agreements are signed by a root Signer (chain = the root certificate)")
    return AuthorityId(party)


def propose_agreement(agreement: Agreement, root_signer: Signer, *, signed_at: dt.datetime) -> GeneralJWS:
    """The first party's root signature over the agreement: a proposal."""
    _signer_party(root_signer, agreement)
    return sign(agreement.payload(), root_signer, typ=JWSType.AGREEMENT, signed_at=signed_at)


def countersign_agreement(
    proposal: GeneralJWS | Mapping[str, Any] | bytes | str,
    root_signer: Signer,
    *,
    signed_at: dt.datetime,
    limits: Limits = DEFAULT_LIMITS,
) -> GeneralJWS:
    """Add the other party's root signature (refuses a non-party or a party that signed)."""
    signed = SignedAgreement.parse(proposal, limits=limits)
    party = _signer_party(root_signer, signed.agreement)
    if party in signed.signed_by:
        raise _fail(f"{party} has already signed {signed.agreement_id}")
    try:
        return add_signature(signed.jws, root_signer, typ=JWSType.AGREEMENT, signed_at=signed_at)
    except ProtocolError as exc:
        raise AgreementError(ReasonCode.AGREEMENT_INVALID, exc.message, more_codes=(exc.code,)) from exc


# -- status changes -------------------------------------------------------------------------


_CHANGE_STATUSES = (AgreementStatus.IN_FORCE, AgreementStatus.SUSPENDED, AgreementStatus.TERMINATED)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChange:
    """A party root's signed statement: from ``effective_at`` on, the agreement is ``status``."""

    jws: GeneralJWS
    agreement_id: AgreementId
    agreement_sha256: str
    status: AgreementStatus
    effective_at: dt.datetime
    party: AuthorityId
    reason: str
    signature: PartySignature

    @classmethod
    def parse(
        cls,
        data: GeneralJWS | Mapping[str, Any] | bytes | str,
        *,
        at: dt.datetime | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> StatusChange:
        """Parse a status-change JWS; check its one signature's integrity and its party."""
        if at is not None:
            require_aware(at, "at")
        jws = _as_jws(data, limits)
        reader = _reader(
            _parse_payload(jws, limits),
            "status change",
            required=(
                "agreementFormat",
                "agreementId",
                "agreementSha256",
                "status",
                "effectiveAt",
                "party",
                "reason",
            ),
        )
        if reader.obj("agreementFormat") != STATUS_FORMAT:
            raise reader.fail(f"agreementFormat must be {STATUS_FORMAT!r}")
        try:
            status = AgreementStatus(reader.text("status"))
        except ValueError as exc:
            raise reader.fail("status must be in-force, suspended or terminated") from exc
        if status not in _CHANGE_STATUSES:
            raise reader.fail("status must be in-force, suspended or terminated")
        digest = reader.text("agreementSha256", max_length=SHA256_HEX_LENGTH)
        if len(digest) != SHA256_HEX_LENGTH or digest.strip("0123456789abcdef"):
            raise reader.fail("agreementSha256 is 64 lower-case hex digits")
        party = AuthorityId(reader.text("party", pattern=AUTHORITY_ID_PATTERN, max_length=64))
        (signature,) = _root_signatures(jws, (party,), at=at, limits=limits, max_signatures=1)
        return cls(
            jws=jws,
            agreement_id=AgreementId(reader.text("agreementId", pattern=AGREEMENT_ID_PATTERN)),
            agreement_sha256=digest,
            status=status,
            effective_at=reader.time("effectiveAt"),
            party=party,
            reason=reader.text("reason", allow_empty=True),
            signature=signature,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.jws.to_dict()


def sign_status_change(
    signed: SignedAgreement,
    root_signer: Signer,
    *,
    status: AgreementStatus,
    effective_at: dt.datetime,
    signed_at: dt.datetime,
    reason: str = "",
) -> GeneralJWS:
    """A party root's signed status change for ``signed`` (checked when a registry applies it)."""
    require_aware(effective_at, "effective_at")
    if status not in _CHANGE_STATUSES:
        raise ValueError("a status change sets in-force, suspended or terminated")
    party = _signer_party(root_signer, signed.agreement)
    payload = {
        "agreementFormat": STATUS_FORMAT,
        "agreementId": signed.agreement_id,
        "agreementSha256": signed.sha256,
        "status": status.value,
        "effectiveAt": format_time(effective_at),
        "party": party,
        "reason": reason,
    }
    return sign(canonicalize(payload), root_signer, typ=JWSType.AGREEMENT, signed_at=signed_at)


# -- the record the registry keeps ----------------------------------------------------------


_REFUSAL_FOR_STATUS = {
    AgreementStatus.SUSPENDED: ReasonCode.AGREEMENT_SUSPENDED,
    AgreementStatus.TERMINATED: ReasonCode.AGREEMENT_TERMINATED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreementRecord:
    """An agreement as a registry holds it: the signed agreement and its status history.

    Signature trust is checked by the registry before a record is built or extended; the
    record applies rules 3 to 6 (time and status) and answers for any time ``t``.
    """

    signed: SignedAgreement
    status_changes: tuple[StatusChange, ...] = ()
    # Precomputed for the decision's hot path.
    _in_force_from: dt.datetime | None = field(init=False, repr=False, compare=False)
    _countersigned_at: dt.datetime = field(init=False, repr=False, compare=False)
    _until: dt.datetime = field(init=False, repr=False, compare=False)
    _change_times: tuple[dt.datetime, ...] = field(init=False, repr=False, compare=False)
    _change_refusals: tuple[ReasonCode | None, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status_changes", tuple(self.status_changes))
        previous: StatusChange | None = None
        for change in self.status_changes:
            if not isinstance(change, StatusChange):
                raise TypeError("status_changes must hold StatusChange values")
            _check_transition(self.signed, previous, change)
            previous = change
        agreement = self.signed.agreement
        object.__setattr__(self, "_in_force_from", self.signed.in_force_from)
        object.__setattr__(self, "_countersigned_at", self.signed.countersigned_at or END_OF_TIME)
        object.__setattr__(self, "_until", agreement.valid_until or END_OF_TIME)
        object.__setattr__(self, "_change_times", tuple(c.effective_at for c in self.status_changes))
        object.__setattr__(self, "_change_refusals",
                           tuple(_REFUSAL_FOR_STATUS.get(c.status) for c in self.status_changes))

    @property
    def agreement(self) -> Agreement:
        return self.signed.agreement

    @property
    def agreement_id(self) -> AgreementId:
        return self.signed.agreement.agreement_id

    @property
    def is_dual_signed(self) -> bool:
        return self._in_force_from is not None

    @property
    def in_force_from(self) -> dt.datetime | None:
        return self._in_force_from

    def refusal_at(self, at: dt.datetime) -> ReasonCode | None:
        """``None`` when the agreement is in force at ``at``, else the reason (rules 3–6).

        Order: never dual-signed (NOT_IN_FORCE); before validFrom (NOT_YET_VALID); at or
        after validUntil (EXPIRED); before the countersignature (NOT_IN_FORCE: only proposed
        then); suspended or terminated at ``at``.
        """
        if self._in_force_from is None:
            return ReasonCode.AGREEMENT_NOT_IN_FORCE
        if at < self.signed.agreement.valid_from:
            return ReasonCode.AGREEMENT_NOT_YET_VALID
        if at >= self._until:
            return ReasonCode.AGREEMENT_EXPIRED
        if at < self._countersigned_at:
            return ReasonCode.AGREEMENT_NOT_IN_FORCE
        times = self._change_times
        if times:
            position = bisect.bisect_right(times, at)
            if position:
                return self._change_refusals[position - 1]
        return None

    def status_at(self, at: dt.datetime) -> AgreementStatus:
        """The status at ``at`` (``proposed`` before both roots signed)."""
        require_aware(at, "at")
        if self._in_force_from is None or at < self._countersigned_at:
            return AgreementStatus.PROPOSED
        position = bisect.bisect_right(self._change_times, at)
        return self.status_changes[position - 1].status if position else AgreementStatus.IN_FORCE

    def with_status_change(self, change: StatusChange) -> AgreementRecord:
        """This record with ``change`` appended, after checking rule 5 (signature trust aside)."""
        previous = self.status_changes[-1] if self.status_changes else None
        _check_transition(self.signed, previous, change)
        return AgreementRecord(signed=self.signed, status_changes=(*self.status_changes, change))

    def to_dict(self) -> dict[str, Any]:
        return {
            "agreement": self.signed.to_dict(),
            "statusChanges": [change.to_dict() for change in self.status_changes],
        }


def _check_transition(signed: SignedAgreement, previous: StatusChange | None,
                      change: StatusChange) -> None:
    """Rule 5 for ``change`` following ``previous`` (``None``: the first change)."""
    if change.agreement_id != signed.agreement_id or change.agreement_sha256 != signed.sha256:
        raise _fail(f"the status change names {change.agreement_id} with other content",
                    agreement=signed.agreement_id)
    countersigned = signed.countersigned_at
    if countersigned is None:
        raise AgreementError(ReasonCode.AGREEMENT_NOT_IN_FORCE,
                             f"{signed.agreement_id} is a proposal; its status cannot change")
    if change.party not in signed.agreement.parties:
        raise _fail(f"{change.party} is not a party of {signed.agreement_id}")
    if change.effective_at < change.signature.signed_at:
        raise _fail("a status change cannot take effect before it was signed "
                    f"({format_time(change.effective_at)} < "
                    f"{format_time(change.signature.signed_at)})")
    if change.effective_at < countersigned:
        raise _fail("a status change cannot take effect before the agreement was countersigned")
    if previous is not None and change.effective_at <= previous.effective_at:
        raise _fail("status changes take effect in strictly increasing time order")
    current = previous.status if previous is not None else AgreementStatus.IN_FORCE
    if change.status not in _TRANSITIONS[current]:
        raise AgreementError(ReasonCode.STATE_INVALID,
                             f"{signed.agreement_id} cannot go from {current} to {change.status}",
                             agreement=signed.agreement_id)
    if (change.status is AgreementStatus.IN_FORCE and previous is not None
            and previous.party != change.party):
        raise AgreementError(ReasonCode.STATE_INVALID,
                             f"only {previous.party}, which suspended {signed.agreement_id}, "
                             "may resume it", agreement=signed.agreement_id)


_TRANSITIONS: Mapping[AgreementStatus, frozenset[AgreementStatus]] = {
    AgreementStatus.IN_FORCE: frozenset({AgreementStatus.SUSPENDED, AgreementStatus.TERMINATED}),
    AgreementStatus.SUSPENDED: frozenset({AgreementStatus.IN_FORCE, AgreementStatus.TERMINATED}),
    AgreementStatus.TERMINATED: frozenset(),
}
