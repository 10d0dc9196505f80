"""The trust registry: an immutable value holding authorities and agreements, with history.

Modelled on python-tuf's ``TrustedMetadataSet``: pure (no I/O, no clock), everything that
depends on time takes ``at``, and nothing enters the value before it is verified. Unlike the
TUF set, a :class:`TrustRegistry` never changes: every edit returns a new value whose
``version`` is one higher, so a refused edit or import leaves the caller's value as it was
(atomic by construction).

The value holds *valid-time* history: anchor windows, revocation effective times and each
agreement's signed status history, so :func:`trust_registry.decision.recognise` answers for
any past ``at``. The ``version`` identifies the state of knowledge (what had been recorded);
decisions name the version they used.

Rules:

1. ``owner`` is an authority of the registry; ``version`` is an integer ≥ 0 (0 only for the
   bootstrap value that ``from_snapshot`` builds); every agreement's parties are registry
   authorities.
2. Every edit returns a new value with ``version + 1``; an edit that would change nothing
   returns the same value.
3. An authority is added once (``CONFLICT`` if its id exists); its initial anchor is trusted
   as given (the operator's out-of-band decision, like TUF's first root).
4. A further anchor is accepted only with an endorsement: a rotation cross-certificate for
   the new root, issued by one of the authority's anchors that is registry-valid at ``at``,
   all three certificates X.509-valid at ``at`` (``CHAIN_UNTRUSTED`` if no anchor endorsed
   it, ``ANCHOR_NOT_VALID`` if only an anchor outside its window did). The endorsing anchor
   may be given a ``valid_until`` in the same edit.
5. A revocation is recorded as given; it takes effect for signatures made at or after its
   effective time (see ``model.py``, rule 6).
6. An agreement enters the registry only when both its parties are registry authorities and
   every signature is by a party's root that is one of that party's anchors, registry-valid
   and X.509-valid at the signature's signing time (``AGREEMENT_INVALID`` with the chain's
   code; ``AGREEMENT_SIGNATURE_MISSING`` for a proposal where both signatures are required).
   A proposal (one signature) enters only through ``add_proposal``; a countersigned version
   of the same payload later replaces it. Another payload under a known id is refused.
7. A status change enters only when signed by a party root trusted as in rule 6 and allowed
   by the agreement's status rules (``agreements.py``, rule 5).
8. ``to_dict``/``from_dict`` give the working file (``REG.json``); ``from_dict`` re-checks
   rules 1, 3, 4 (endorsements), 6 and 7, every signature included, and refuses any
   defect with ``REGISTRY_INVALID`` (the underlying code in ``codes``), counts first.
9. ``export_snapshot`` signs ``{"snapshotVersion": 1, "owner", "version", "issuedAt",
   "expiresAt", "registry": to_dict()}`` as a General JWS (``typ``
   ``tradeaccord-registry+jws``) with the owner's root; the root must be an owner anchor
   registry-valid at ``at`` (``REGISTRY_SIGNER_UNTRUSTED``) and ``expires_at`` later than ``at``.
10. ``import_snapshot`` (the held value decides; the snapshot's content is trusted only
    after its signature):

    a. the input is a General JWS (``REGISTRY_INVALID``);
    b. every signature verifies over the payload as received (``REGISTRY_SIGNATURE_INVALID``);
    c. every signer is a root of the *held* registry's owner, registry-valid at ``at`` and
       X.509-valid at its signing time (``REGISTRY_SIGNER_UNTRUSTED``);
    d. the payload is a snapshot of the held owner's registry: exact members,
       ``snapshotVersion`` 1, the same owner and version outside and inside
       (``REGISTRY_INVALID``);
    e. its version is not lower than the held one, and an equal version carries the same
       content (``REGISTRY_ROLLBACK``); an identical snapshot returns the held value;
    f. ``at`` is before ``expiresAt`` (``REGISTRY_EXPIRED``, freeze protection);
    g. the registry content passes ``from_dict`` (rule 8) and still lists every signer as
       an owner anchor (``REGISTRY_SIGNER_UNTRUSTED``).

    The result is the imported value (its own version). ``from_snapshot`` bootstraps the
    same procedure from a root certificate obtained out of band.

A :class:`ChainCache` (content-keyed, never part of the value's equality) travels from each
value to the values derived from it; the lookup :class:`RegistryIndex` is built once per
value, on first use.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from protocol.canonical import canonicalize
from protocol.certificates import CertUsage, authority_id_of, fingerprint, issued_by
from protocol.errors import CertificateError, ProtocolError
from protocol.jws import GeneralJWS, JWSType, Signer, check_integrity, sign
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from protocol.timeutil import format_time, require_aware
from trust_registry.agreements import (
    AgreementRecord,
    SignedAgreement,
    StatusChange,
)
from trust_registry.errors import AgreementError, SnapshotError, TrustError
from trust_registry.model import (
    AUTHORITY_ID_PATTERN,
    DEFAULT_REGISTRY_LIMITS,
    AgreementId,
    Authority,
    AuthorityId,
    CertInfo,
    ChainCache,
    DocType,
    JsonObject,
    RegistryLimits,
    Revocation,
    TrustAnchor,
    check_endorsement,
    is_self_signed_ca,
)
from trust_registry.reliability import ReliabilityProfile

REGISTRY_FORMAT = "tradeaccord-registry-1.0"
SNAPSHOT_FORMAT_VERSION = 1
_SNAPSHOT_MEMBERS = ("snapshotVersion", "owner", "version", "issuedAt", "expiresAt", "registry")


# -- the lookup index -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnchorEpoch:
    """The anchors of an authority inside and outside their windows, for one time interval."""

    valid: tuple[TrustAnchor, ...]
    valid_fingerprints: tuple[str, ...]
    other: tuple[TrustAnchor, ...]
    other_fingerprints: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuthorityEntry:
    """An authority with its anchor epochs and revocations indexed for O(1) lookups."""

    authority: Authority
    boundaries: tuple[dt.datetime, ...]
    epochs: tuple[AnchorEpoch, ...]
    revoked_fingerprints: Mapping[str, dt.datetime]
    revoked_serials: Mapping[tuple[str, int], dt.datetime]

    @classmethod
    def build(cls, authority: Authority) -> AuthorityEntry:
        times = {a.valid_from for a in authority.anchors}
        times |= {a.valid_until for a in authority.anchors if a.valid_until is not None}
        boundaries = tuple(sorted(times))
        epochs = []
        # Interval i is [boundaries[i-1], boundaries[i]); the anchor sets are constant in it.
        for i in range(len(boundaries) + 1):
            probe = boundaries[i - 1] if i else boundaries[0] - dt.timedelta(microseconds=1)
            valid = tuple(a for a in authority.anchors if a.is_valid_at(probe))
            other = tuple(a for a in authority.anchors if not a.is_valid_at(probe))
            epochs.append(AnchorEpoch(valid, tuple(a.fingerprint for a in valid),
                                      other, tuple(a.fingerprint for a in other)))
        by_fingerprint: dict[str, dt.datetime] = {}
        by_serial: dict[tuple[str, int], dt.datetime] = {}
        for revocation in authority.revocations:
            if revocation.fingerprint is not None:
                key_fp = revocation.fingerprint
                by_fingerprint[key_fp] = min(revocation.effective_at,
                                             by_fingerprint.get(key_fp, revocation.effective_at))
            else:
                key = (revocation.issuer or "", revocation.serial_number or 0)
                by_serial[key] = min(revocation.effective_at,
                                     by_serial.get(key, revocation.effective_at))
        return cls(authority, boundaries, tuple(epochs), by_fingerprint, by_serial)

    def epoch_at(self, at: dt.datetime) -> AnchorEpoch:
        """The anchor sets at ``at``."""
        return self.epochs[bisect.bisect_right(self.boundaries, at)]

    def revoked_from(self, info: CertInfo) -> dt.datetime | None:
        """The earliest effective time of a revocation naming the certificate, if any."""
        when = self.revoked_fingerprints.get(info.fingerprint) if self.revoked_fingerprints else None
        if self.revoked_serials:
            other = self.revoked_serials.get((info.issuer, info.serial_number))
            if other is not None and (when is None or other < when):
                when = other
        return when

    def validate(
        self,
        cache: ChainCache,
        leaf: x509.Certificate,
        intermediates: tuple[x509.Certificate, ...],
        *,
        at: dt.datetime,
        usage: CertUsage,
        max_length: int = 4,
        leaf_fingerprint: str | None = None,
    ) -> str:
        """Validate a chain at ``at`` against the anchors registry-valid at ``at``.

        Returns the fingerprint of the anchor used. Raises ``CertificateError`` from
        ``validate_chain``, or ``TrustError(ANCHOR_NOT_VALID)`` when no valid anchor ends the
        path but an anchor outside its registry window would have.
        """
        epoch = self.epochs[bisect.bisect_right(self.boundaries, at)]
        try:
            if not epoch.valid:
                raise CertificateError(ReasonCode.CHAIN_UNTRUSTED,
                                       f"{self.authority.id} has no anchor valid at {format_time(at)}")
            return cache.validate(leaf, intermediates, epoch.valid, epoch.valid_fingerprints,
                                  at=at, usage=usage, max_length=max_length,
                                  leaf_fingerprint=leaf_fingerprint)
        except CertificateError as error:
            if error.code is not ReasonCode.CHAIN_UNTRUSTED or not epoch.other:
                raise
            try:
                outside = cache.validate(leaf, intermediates, epoch.other, epoch.other_fingerprints,
                                         at=at, usage=usage, max_length=max_length)
            except CertificateError as other_error:
                if other_error.code is ReasonCode.CHAIN_UNTRUSTED:
                    raise error from None
                outside = ""
            raise TrustError(
                ReasonCode.ANCHOR_NOT_VALID,
                f"the chain ends at an anchor of {self.authority.id} outside its registry window "
                f"at {format_time(at)}",
                more_codes=(ReasonCode.CHAIN_UNTRUSTED,),
                anchor=outside or "(an anchor outside its window)",
            ) from error


@dataclass(frozen=True, slots=True)
class Clause:
    """One scope item of one agreement, as the decision looks it up."""

    record: AgreementRecord
    index: int
    issuer: AuthorityId
    receiver: AuthorityId
    document_type: DocType
    recognised_as: DocType
    mapping_id: str | None
    minimum_reliability: ReliabilityProfile
    # Whether the issuer's declared profile meets the minimum: fixed for a registry value,
    # so evaluated once when the index is built (the decision still calls ``require`` to
    # word a refusal).
    issuer_meets_minimum: bool

    @property
    def agreement_id(self) -> AgreementId:
        return self.record.agreement_id


@dataclass(frozen=True, slots=True)
class RegistryIndex:
    """Dict lookups built once per registry value; a decision never scans the registry.

    ``clauses[(issuer, receiver, document_type)]`` lists the candidate clauses in the order
    the decision tries them: latest ``validFrom`` first, then ``agreementId`` ascending.
    ``pairs`` holds (a, b) and (b, a) for every two authorities bound by an agreement.
    """

    authorities: Mapping[str, AuthorityEntry]
    clauses: Mapping[tuple[str, str, str], tuple[Clause, ...]]
    pairs: frozenset[tuple[str, str]]

    @classmethod
    def build(cls, registry: TrustRegistry) -> RegistryIndex:
        entries: dict[str, AuthorityEntry] = {aid: AuthorityEntry.build(a)
                                              for aid, a in registry.authorities.items()}
        authorities = registry.authorities
        grouped: dict[tuple[str, str, str], list[Clause]] = {}
        pairs: set[tuple[str, str]] = set()
        for record in registry.agreements.values():
            agreement = record.agreement
            first, second = agreement.parties
            pairs.add((first, second))
            pairs.add((second, first))
            for index, item in enumerate(agreement.scope):
                clause = Clause(record, index, item.issuer, item.receiver, item.document_type,
                                item.recognised_as, item.mapping_id, item.minimum_reliability,
                                authorities[item.issuer].reliability.meets(item.minimum_reliability))
                grouped.setdefault((item.issuer, item.receiver, item.document_type), []).append(clause)
        clauses: dict[tuple[str, str, str], tuple[Clause, ...]] = {}
        for key, items in grouped.items():
            items.sort(key=lambda c: (c.agreement_id, c.index))
            items.sort(key=lambda c: c.record.agreement.valid_from, reverse=True)
            clauses[key] = tuple(items)
        return cls(entries, clauses, frozenset(pairs))


# -- the registry ---------------------------------------------------------------------------


def _translate(error: TrustError | ProtocolError, code: ReasonCode, message: str,
               kind: type[TrustError] = TrustError) -> TrustError:
    codes = error.codes if isinstance(error, TrustError) else (error.code,)
    return kind(code, f"{message}: {error.code.value}: {error.message}",
                more_codes=tuple(c for c in codes if c is not code))


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustRegistry:
    """An immutable trust registry value (see the module docstring for its rules).

    Build one with :meth:`create`, :meth:`from_dict` or :meth:`from_snapshot`; change it with
    the edit methods, each returning a new value. The constructor checks rule 1 only.
    """

    owner: AuthorityId
    version: int
    authorities: Mapping[AuthorityId, Authority]
    agreements: Mapping[AgreementId, AgreementRecord] = field(default_factory=dict)
    chain_cache: ChainCache = field(default_factory=ChainCache, compare=False, repr=False)
    _index: RegistryIndex | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Rule 1
        if type(self.version) is not int or self.version < 0:
            raise ValueError("version must be an integer ≥ 0")
        authorities = dict(self.authorities)
        agreements = dict(self.agreements)
        for authority_id, authority in authorities.items():
            if not isinstance(authority, Authority) or authority.id != authority_id:
                raise ValueError(f"authorities[{authority_id!r}] must be that Authority")
        if self.owner not in authorities:
            raise TrustError(ReasonCode.REGISTRY_INVALID,
                             f"the owner {self.owner} is not an authority of the registry")
        for agreement_id, record in agreements.items():
            if not isinstance(record, AgreementRecord) or record.agreement_id != agreement_id:
                raise ValueError(f"agreements[{agreement_id!r}] must be that AgreementRecord")
            for party in record.agreement.parties:
                if party not in authorities:
                    raise TrustError(ReasonCode.REGISTRY_INVALID,
                                     f"agreement {agreement_id} names {party}, not in the registry")
        object.__setattr__(self, "authorities", MappingProxyType(authorities))
        object.__setattr__(self, "agreements", MappingProxyType(agreements))

    # -- reading ----------------------------------------------------------------------------

    @property
    def index(self) -> RegistryIndex:
        """The lookup tables, built on first use and kept for the life of this value."""
        index = self._index
        if index is None:
            index = RegistryIndex.build(self)
            object.__setattr__(self, "_index", index)
        return index

    @property
    def owner_authority(self) -> Authority:
        return self.authorities[self.owner]

    def authority(self, authority_id: str) -> Authority:
        """The authority with this id; ``TrustError(ISSUER_UNKNOWN)`` if none."""
        authority = self.authorities.get(AuthorityId(authority_id))
        if authority is None:
            raise TrustError(ReasonCode.ISSUER_UNKNOWN, f"{authority_id} is not in the registry",
                             authority=authority_id)
        return authority

    def agreement(self, agreement_id: str) -> AgreementRecord:
        """The agreement with this id; ``AgreementError(NO_AGREEMENT)`` if none."""
        record = self.agreements.get(AgreementId(agreement_id))
        if record is None:
            raise AgreementError(ReasonCode.NO_AGREEMENT, f"no agreement {agreement_id}",
                                 agreement=agreement_id)
        return record

    # -- building and editing ---------------------------------------------------------------

    @classmethod
    def create(cls, owner: Authority) -> TrustRegistry:
        """A new registry (version 1) owned by and holding ``owner``."""
        return cls(owner=owner.id, version=1, authorities={owner.id: owner})

    def _derive(
        self,
        *,
        authorities: Mapping[AuthorityId, Authority] | None = None,
        agreements: Mapping[AgreementId, AgreementRecord] | None = None,
    ) -> TrustRegistry:
        # Rule 2
        return TrustRegistry(
            owner=self.owner,
            version=self.version + 1,
            authorities=self.authorities if authorities is None else authorities,
            agreements=self.agreements if agreements is None else agreements,
            chain_cache=self.chain_cache,
        )

    def _with_authority(self, authority: Authority) -> TrustRegistry:
        return self._derive(authorities={**self.authorities, authority.id: authority})

    def add_authority(self, authority: Authority, *,
                      limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS) -> TrustRegistry:
        """Rule 3: add a new authority (``CONFLICT`` if its id is taken)."""
        if not isinstance(authority, Authority):
            raise TypeError("add_authority takes an Authority")
        if authority.id in self.authorities:
            if self.authorities[authority.id] == authority:
                return self
            raise TrustError(ReasonCode.CONFLICT, f"{authority.id} is already in the registry",
                             authority=authority.id)
        if len(self.authorities) >= limits.max_authorities:
            raise TrustError(ReasonCode.REGISTRY_INVALID,
                             f"the registry holds {limits.max_authorities} authorities already")
        return self._with_authority(authority)

    def update_authority(
        self,
        authority_id: str,
        *,
        name: str | None = None,
        roles: Iterable[str] | None = None,
        endpoints: Iterable[str] | None = None,
        node_certificates: Iterable[x509.Certificate] | None = None,
        reliability: ReliabilityProfile | None = None,
    ) -> TrustRegistry:
        """Change an authority's descriptive fields (anchors change only by rotation)."""
        authority = self.authority(authority_id)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if roles is not None:
            changes["roles"] = tuple(roles)
        if endpoints is not None:
            changes["endpoints"] = tuple(endpoints)
        if node_certificates is not None:
            changes["node_certificates"] = tuple(node_certificates)
        if reliability is not None:
            changes["reliability"] = reliability
        updated = dataclasses.replace(authority, **changes)
        return self if updated == authority else self._with_authority(updated)

    def rotate_anchor(
        self,
        authority_id: str,
        *,
        new_root: x509.Certificate,
        endorsement: x509.Certificate,
        at: dt.datetime,
        valid_from: dt.datetime | None = None,
        retire_previous_at: dt.datetime | None = None,
    ) -> TrustRegistry:
        """Rule 4: add ``new_root`` as an anchor, endorsed by a current anchor.

        ``valid_from`` defaults to ``at``; ``retire_previous_at`` gives the endorsing anchor a
        ``valid_until``.
        """
        require_aware(at, "at")
        authority = self.authority(authority_id)
        if authority_id_of(new_root) != authority.id:
            raise TrustError(ReasonCode.ISSUER_MISMATCH,
                             f"the new root names {authority_id_of(new_root)}, not {authority.id}")
        if authority.anchor(fingerprint(new_root)) is not None:
            raise TrustError(ReasonCode.CONFLICT, "the new root is already an anchor")
        current = [a for a in authority.anchors if a.is_valid_at(at)]
        endorser = next((a for a in current if issued_by(endorsement, a.certificate)), None)
        if endorser is None:
            stale = any(issued_by(endorsement, a.certificate) for a in authority.anchors)
            raise TrustError(
                ReasonCode.ANCHOR_NOT_VALID if stale else ReasonCode.CHAIN_UNTRUSTED,
                f"the rotation certificate is not issued by an anchor of {authority.id} "
                f"valid at {format_time(at)}",
            )
        for cert, role in ((endorser.certificate, "endorsing root"), (endorsement, "rotation"),
                           (new_root, "new root")):
            if at < cert.not_valid_before_utc:
                raise TrustError(ReasonCode.CERT_NOT_YET_VALID, f"the {role} certificate is not yet valid")
            if at > cert.not_valid_after_utc:
                raise TrustError(ReasonCode.CERT_EXPIRED, f"the {role} certificate has expired")
        check_endorsement(endorser.certificate, new_root, endorsement)
        anchors = list(authority.anchors)
        if retire_previous_at is not None:
            position = anchors.index(endorser)
            anchors[position] = dataclasses.replace(endorser, valid_until=retire_previous_at)
        anchors.append(TrustAnchor(certificate=new_root, valid_from=valid_from or at,
                                   endorsement=endorsement, endorsed_by=endorser.fingerprint))
        return self._with_authority(dataclasses.replace(authority, anchors=tuple(anchors)))

    def retire_anchor(self, authority_id: str, anchor_fingerprint: str, *,
                      valid_until: dt.datetime) -> TrustRegistry:
        """Set (or move) an anchor's ``valid_until``."""
        authority = self.authority(authority_id)
        anchor = authority.anchor(anchor_fingerprint)
        if anchor is None:
            raise TrustError(ReasonCode.NOT_FOUND, f"{authority_id} has no anchor {anchor_fingerprint}")
        anchors = tuple(dataclasses.replace(a, valid_until=valid_until) if a is anchor else a
                        for a in authority.anchors)
        return self._with_authority(dataclasses.replace(authority, anchors=anchors))

    def revoke(self, authority_id: str, revocation: Revocation) -> TrustRegistry:
        """Rule 5: record a revocation of one of ``authority_id``'s signer certificates."""
        authority = self.authority(authority_id)
        if revocation in authority.revocations:
            return self
        return self._with_authority(
            dataclasses.replace(authority, revocations=(*authority.revocations, revocation)))

    def _check_root(self, party: str, certificate: x509.Certificate, signed_at: dt.datetime) -> str:
        """Rules 6–7: ``certificate`` is a root of ``party`` trusted at ``signed_at``."""
        self.authority(party)
        return self.index.authorities[party].validate(self.chain_cache, certificate, (), at=signed_at,
                              usage=CertUsage.ROOT_SIGNING)

    def _verified_agreement(self, data: GeneralJWS | Mapping[str, Any] | bytes | str,
                            at: dt.datetime | None, limits: Limits) -> SignedAgreement:
        signed = SignedAgreement.parse(data, at=at, limits=limits)
        for party in signed.agreement.parties:
            if party not in self.authorities:
                raise AgreementError(ReasonCode.AGREEMENT_INVALID,
                                     f"party {party} is not in the registry",
                                     more_codes=(ReasonCode.ISSUER_UNKNOWN,))
        for signature in signed.signatures:
            try:
                self._check_root(signature.party, signature.certificate, signature.signed_at)
            except (TrustError, ProtocolError) as error:
                raise _translate(error, ReasonCode.AGREEMENT_INVALID,
                                 f"the signature of {signature.party} is not by a trusted root",
                                 AgreementError) from error
        return signed

    def _merged(self, agreements: dict[AgreementId, AgreementRecord], signed: SignedAgreement,
                limits: RegistryLimits) -> bool:
        existing = agreements.get(signed.agreement_id)
        if existing is None:
            if len(agreements) >= limits.max_agreements:
                raise TrustError(ReasonCode.REGISTRY_INVALID,
                                 f"the registry holds {limits.max_agreements} agreements already")
            agreements[signed.agreement_id] = AgreementRecord(signed=signed)
            return True
        if existing.signed.jws.payload_b64 != signed.jws.payload_b64:
            raise AgreementError(ReasonCode.AGREEMENT_INVALID,
                                 f"{signed.agreement_id} is already registered with other content",
                                 more_codes=(ReasonCode.CONFLICT,), agreement=signed.agreement_id)
        if existing.signed.signed_by >= signed.signed_by:
            return False
        agreements[signed.agreement_id] = AgreementRecord(signed=signed)
        return True

    def add_agreement(self, data: GeneralJWS | Mapping[str, Any] | bytes | str, *, at: dt.datetime,
                      limits: Limits = DEFAULT_LIMITS,
                      registry_limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS) -> TrustRegistry:
        """Rule 6: add an agreement signed by both parties' roots."""
        return self.add_agreements((data,), at=at, limits=limits, registry_limits=registry_limits)

    def add_agreements(
        self,
        items: Iterable[GeneralJWS | Mapping[str, Any] | bytes | str],
        *,
        at: dt.datetime,
        limits: Limits = DEFAULT_LIMITS,
        registry_limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS,
    ) -> TrustRegistry:
        """Rule 6 for many dual-signed agreements in one edit (one version step)."""
        require_aware(at, "at")
        agreements = dict(self.agreements)
        changed = False
        for data in items:
            signed = self._verified_agreement(data, at, limits)
            signed.require_dual_signed()
            changed = self._merged(agreements, signed, registry_limits) or changed
        return self._derive(agreements=agreements) if changed else self

    def add_proposal(self, data: GeneralJWS | Mapping[str, Any] | bytes | str, *, at: dt.datetime,
                     limits: Limits = DEFAULT_LIMITS,
                     registry_limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS) -> TrustRegistry:
        """Rule 6: record an agreement that one party (or both) has signed so far."""
        require_aware(at, "at")
        agreements = dict(self.agreements)
        signed = self._verified_agreement(data, at, limits)
        changed = self._merged(agreements, signed, registry_limits)
        return self._derive(agreements=agreements) if changed else self

    def change_agreement_status(self, data: GeneralJWS | Mapping[str, Any] | bytes | str, *,
                                at: dt.datetime, limits: Limits = DEFAULT_LIMITS) -> TrustRegistry:
        """Rule 7: apply a party's signed status change (suspend, resume, terminate)."""
        require_aware(at, "at")
        change = StatusChange.parse(data, at=at, limits=limits)
        record = self.agreement(change.agreement_id)
        if change in record.status_changes:
            return self
        updated = self._verified_change(record, change)
        return self._derive(agreements={**self.agreements, record.agreement_id: updated})

    def _verified_change(self, record: AgreementRecord, change: StatusChange) -> AgreementRecord:
        if change.party not in record.agreement.parties:
            raise AgreementError(ReasonCode.AGREEMENT_INVALID,
                                 f"{change.party} is not a party of {record.agreement_id}")
        try:
            self._check_root(change.party, change.signature.certificate, change.signature.signed_at)
        except (TrustError, ProtocolError) as error:
            raise _translate(error, ReasonCode.AGREEMENT_INVALID,
                             f"the status change of {change.party} is not by a trusted root",
                             AgreementError) from error
        return record.with_status_change(change)

    # -- the working file -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``REG.json``); deterministic: authorities and agreements by id."""
        return {
            "registryFormat": REGISTRY_FORMAT,
            "owner": self.owner,
            "version": self.version,
            "authorities": [self.authorities[k].to_dict() for k in sorted(self.authorities)],
            "agreements": [self.agreements[k].to_dict() for k in sorted(self.agreements)],
        }

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS,
        jws_limits: Limits = DEFAULT_LIMITS,
        chain_cache: ChainCache | None = None,
    ) -> TrustRegistry:
        """Rule 8: parse and fully re-verify a registry; ``TrustError(REGISTRY_INVALID)``."""
        try:
            return cls._from_dict(data, limits, jws_limits, chain_cache or ChainCache())
        except (TrustError, ProtocolError) as error:
            if error.code is ReasonCode.REGISTRY_INVALID:
                raise
            raise _translate(error, ReasonCode.REGISTRY_INVALID, "registry") from error

    @classmethod
    def _from_dict(cls, data: Any, limits: RegistryLimits, jws_limits: Limits,
                   cache: ChainCache) -> TrustRegistry:
        reader = JsonObject.of(data, "registry", required=(
            "registryFormat", "owner", "version", "authorities", "agreements"))
        if reader.obj("registryFormat") != REGISTRY_FORMAT:
            raise reader.fail(f"registryFormat must be {REGISTRY_FORMAT!r}")
        owner = AuthorityId(reader.text("owner", pattern=AUTHORITY_ID_PATTERN, max_length=64))
        version = reader.integer("version")
        raw_authorities = reader.array("authorities", min_items=1, max_items=limits.max_authorities)
        raw_agreements = reader.array("agreements", max_items=limits.max_agreements)
        authorities: dict[AuthorityId, Authority] = {}
        for position, item in enumerate(raw_authorities):
            authority = Authority.from_dict(item, limits=limits, where=f"authorities[{position}]")
            if authority.id in authorities:
                raise reader.fail(f"authority {authority.id} is listed twice")
            authorities[authority.id] = authority
        registry = cls(owner=owner, version=version, authorities=authorities, chain_cache=cache)
        agreements: dict[AgreementId, AgreementRecord] = {}
        for position, item in enumerate(raw_agreements):
            entry = JsonObject.of(item, f"agreements[{position}]",
                                  required=("agreement", "statusChanges"))
            signed = registry._verified_agreement(entry.obj("agreement"), None, jws_limits)
            if signed.agreement_id in agreements:
                raise reader.fail(f"agreement {signed.agreement_id} is listed twice")
            record = AgreementRecord(signed=signed)
            for raw_change in entry.array("statusChanges", max_items=limits.max_status_changes):
                change = StatusChange.parse(raw_change, limits=jws_limits)
                record = registry._verified_change(record, change)
            agreements[signed.agreement_id] = record
        return cls(owner=owner, version=version, authorities=authorities, agreements=agreements,
                   chain_cache=cache)

    # -- snapshots --------------------------------------------------------------------------

    def export_snapshot(self, root_signer: Signer, *, at: dt.datetime,
                        expires_at: dt.datetime) -> GeneralJWS:
        """Rule 9: the signed, versioned, expiring snapshot of this registry."""
        require_aware(at, "at")
        require_aware(expires_at, "expires_at")
        if expires_at <= at:
            raise ValueError("expires_at must be later than at")
        if len(root_signer.chain) != 1 or not is_self_signed_ca(
                root_signer.certificate, verify_signature=False):
            raise ValueError("a snapshot is signed by a root Signer (chain = the root certificate)")
        try:
            self._check_root(self.owner, root_signer.certificate, at)
        except (TrustError, ProtocolError) as error:
            raise _translate(error, ReasonCode.REGISTRY_SIGNER_UNTRUSTED,
                             f"the signer is not a current root of {self.owner}",
                             SnapshotError) from error
        payload = {
            "snapshotVersion": SNAPSHOT_FORMAT_VERSION,
            "owner": self.owner,
            "version": self.version,
            "issuedAt": format_time(at),
            "expiresAt": format_time(expires_at),
            "registry": self.to_dict(),
        }
        return sign(canonicalize(payload), root_signer, typ=JWSType.SNAPSHOT, signed_at=at)

    def import_snapshot(
        self,
        snapshot: GeneralJWS | Mapping[str, Any] | bytes | str,
        *,
        at: dt.datetime,
        limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS,
        jws_limits: Limits = DEFAULT_LIMITS,
    ) -> TrustRegistry:
        """Rule 10: verify ``snapshot`` against this (held) value; return the imported value.

        Raises ``SnapshotError`` (``REGISTRY_INVALID``, ``REGISTRY_SIGNATURE_INVALID``,
        ``REGISTRY_SIGNER_UNTRUSTED``, ``REGISTRY_ROLLBACK``, ``REGISTRY_EXPIRED``); this value
        is unchanged whatever happens.
        """
        require_aware(at, "at")
        # Rule 10a
        try:
            jws = snapshot if isinstance(snapshot, GeneralJWS) else GeneralJWS.parse(
                snapshot if isinstance(snapshot, Mapping) else parse_json(
                    snapshot, max_bytes=limits.max_registry_bytes, max_depth=limits.max_depth),
                limits=jws_limits)
        except ProtocolError as error:
            raise _translate(error, ReasonCode.REGISTRY_INVALID, "not a snapshot JWS",
                             SnapshotError) from error
        # Rule 10b
        signers: list[x509.Certificate] = []
        for index in range(len(jws.signatures)):
            try:
                evidence = check_integrity(jws, index, typ=JWSType.SNAPSHOT, limits=jws_limits)
            except ProtocolError as error:
                raise _translate(error, ReasonCode.REGISTRY_SIGNATURE_INVALID,
                                 f"snapshot signature {index}", SnapshotError) from error
            # Rule 10c
            current = next((a for a in self.owner_authority.anchors_valid_at(at)
                            if a.certificate == evidence.leaf), None)
            if current is None or evidence.intermediates:
                raise SnapshotError(
                    ReasonCode.REGISTRY_SIGNER_UNTRUSTED,
                    f"snapshot signature {index} is by {authority_id_of(evidence.leaf)}, not by a "
                    f"current root of {self.owner}",
                    signer=evidence.leaf.subject.rfc4514_string(),
                )
            try:
                self.chain_cache.validate(evidence.leaf, (), (current,), (current.fingerprint,),
                                          at=evidence.signed_at, usage=CertUsage.ROOT_SIGNING)
            except ProtocolError as error:
                raise _translate(error, ReasonCode.REGISTRY_SIGNER_UNTRUSTED,
                                 f"snapshot signature {index}", SnapshotError) from error
            signers.append(evidence.leaf)
        # Rule 10d
        try:
            payload = parse_json(jws.payload, max_bytes=limits.max_registry_bytes,
                                 max_depth=limits.max_depth)
            reader = JsonObject.of(payload, "snapshot", required=_SNAPSHOT_MEMBERS,
                                   error=SnapshotError)
            if reader.obj("snapshotVersion") != SNAPSHOT_FORMAT_VERSION:
                raise reader.fail(f"snapshotVersion must be {SNAPSHOT_FORMAT_VERSION}")
            if reader.obj("owner") != self.owner:
                raise reader.fail(f"the snapshot is of {reader.obj('owner')!r}'s registry, "
                                  f"not {self.owner}'s")
            version = reader.integer("version")
            issued_at = reader.time("issuedAt")
            expires_at = reader.time("expiresAt")
            content = reader.obj("registry")
            if not isinstance(content, Mapping) or content.get("owner") != self.owner or \
                    content.get("version") != version:
                raise reader.fail("the registry inside names another owner or version")
            if expires_at <= issued_at:
                raise reader.fail("expiresAt must be later than issuedAt")
        except ProtocolError as error:
            raise _translate(error, ReasonCode.REGISTRY_INVALID, "snapshot payload",
                             SnapshotError) from error
        # Rule 10e
        if version < self.version:
            raise SnapshotError(ReasonCode.REGISTRY_ROLLBACK,
                                f"snapshot version {version} is lower than the held {self.version}",
                                held=self.version, offered=version)
        if version == self.version:
            if content != self.to_dict():
                raise SnapshotError(ReasonCode.REGISTRY_ROLLBACK,
                                    f"snapshot version {version} is the held version with other "
                                    "content", held=self.version, offered=version)
            if at < expires_at:
                return self
        # Rule 10f
        if at >= expires_at:
            raise SnapshotError(ReasonCode.REGISTRY_EXPIRED,
                                f"the snapshot expired at {format_time(expires_at)}, "
                                f"checked at {format_time(at)}", expires_at=format_time(expires_at))
        # Rule 10g
        try:
            imported = TrustRegistry.from_dict(content, limits=limits, jws_limits=jws_limits,
                                               chain_cache=self.chain_cache)
        except TrustError as error:
            raise SnapshotError(error.code, error.message, more_codes=error.more_codes) from error
        owner_anchors = {a.fingerprint for a in imported.owner_authority.anchors}
        if any(fingerprint(cert) not in owner_anchors for cert in signers):
            raise SnapshotError(ReasonCode.REGISTRY_SIGNER_UNTRUSTED,
                                "the imported registry no longer lists its signer as an owner anchor")
        return imported

    @classmethod
    def from_snapshot(
        cls,
        snapshot: GeneralJWS | Mapping[str, Any] | bytes | str,
        *,
        trusted_root: x509.Certificate,
        at: dt.datetime,
        limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS,
        jws_limits: Limits = DEFAULT_LIMITS,
    ) -> TrustRegistry:
        """Bootstrap: import a first snapshot, trusting ``trusted_root`` (obtained out of band)
        as the owner's root. Same rules as :meth:`import_snapshot`."""
        require_aware(at, "at")
        owner = authority_id_of(trusted_root)
        if owner is None or not AUTHORITY_ID_PATTERN.match(owner):
            raise SnapshotError(ReasonCode.REGISTRY_SIGNER_UNTRUSTED,
                                "the trusted root names no authority")
        country = trusted_root.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
        organisation = trusted_root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        holder = Authority(
            id=AuthorityId(owner),
            country=str(country[0].value) if country else owner[:2],
            name=str(organisation[0].value) if organisation else owner,
            anchors=(TrustAnchor(certificate=trusted_root,
                                 valid_from=trusted_root.not_valid_before_utc),),
        )
        bootstrap = cls(owner=holder.id, version=0, authorities={holder.id: holder})
        return bootstrap.import_snapshot(snapshot, at=at, limits=limits, jws_limits=jws_limits)
