"""Authorities, trust anchors, signer revocations, and the chain cache the decision uses.

An :class:`Authority` is one entry of a trust registry: its id (``SG-CUSTOMS``), country,
name and roles, its **trust anchors** (root certificates, each with a *registry* validity
window on top of the certificate's own X.509 window), its node endpoints and node
certificates, its declared reliability profile, and the revocations of its signer
certificates.

Rules an instance obeys (checked on construction; a violation raises
``TrustError(REGISTRY_INVALID)``, a wrong Python type ``TypeError``):

1. The id is ``CC-NAME`` (ISO 3166 alpha-2, a hyphen, upper-case segments) and ``CC`` is the
   authority's country.
2. Every anchor is a self-signed CA certificate whose subject ``organizationIdentifier``
   names this authority. No anchor appears twice.
3. The first anchor is the initial one (trusted out of band, as TUF trusts its first root).
   Every later anchor carries an *endorsement*: a rotation cross-certificate
   (``protocol.certificates.issue_rotation_certificate``) for the new root's key and name,
   signed by an earlier anchor of the same authority, named by ``endorsed_by``.
4. Registry windows are half-open, ``[valid_from, valid_until)``; ``valid_until`` is ``None``
   (open-ended) or later than ``valid_from``. Every time is timezone-aware.
5. Every node certificate names this authority and is issued by one of its anchors.
6. A revocation names a certificate either by SHA-256 fingerprint or by issuer name and
   serial number (never both), with an effective time and an RFC 5280 reason. A signer
   certificate is revoked for signatures made *at or after* the effective time.

The JSON form (``to_dict``/``from_dict``) carries certificates as base64 DER, as ``x5c``
does. ``from_dict`` refuses unknown or missing members (``REGISTRY_INVALID``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NewType

from cryptography import x509

from protocol.certificates import (
    CertUsage,
    ValidatedChain,
    authority_id_of,
    certificate_to_der,
    fingerprint,
    issued_by,
    load_certificate_der,
    validate_chain,
)
from protocol.errors import CertificateError, ProtocolError
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time, parse_time, require_aware
from trust_registry.errors import TrustError
from trust_registry.reliability import ReliabilityProfile

AuthorityId = NewType("AuthorityId", str)
AgreementId = NewType("AgreementId", str)
DocType = NewType("DocType", str)

AUTHORITY_ID_PATTERN = re.compile(r"^[A-Z]{2}-[A-Z0-9]+(-[A-Z0-9]+)*$")
AGREEMENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
DOC_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MAPPING_ID_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,126}[a-z0-9])?$")
ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")
FINGERPRINT_PATTERN = re.compile(r"^[0-9a-f]{64}$")
SERIAL_PATTERN = re.compile(r"^[0-9a-f]{1,40}$")
ENDPOINT_PATTERN = re.compile(r"^https?://[^\s]{1,2040}$")

# The open end of a window: later than any time a certificate or document can name.
END_OF_TIME = dt.datetime.max.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryLimits:
    """Bounds on registry data, checked while parsing, before any signature is verified.

    - ``max_registry_bytes``: a registry file or snapshot as read (JSON bytes).
    - ``max_depth``: JSON nesting in a registry file.
    - ``max_authorities`` / ``max_agreements``: entries in one registry.
    - ``max_anchors``: trust anchors per authority (rotations accumulate).
    - ``max_node_certificates`` / ``max_endpoints``: per authority.
    - ``max_revocations``: revocations per authority.
    - ``max_scope_items``: scope items per agreement.
    - ``max_status_changes``: signed status changes per agreement.
    - ``max_text``: characters in a name, legal reference or reason.
    """

    max_registry_bytes: int = 64 * 1024 * 1024
    max_depth: int = 16
    max_authorities: int = 10_000
    max_agreements: int = 100_000
    max_anchors: int = 8
    max_node_certificates: int = 8
    max_endpoints: int = 8
    max_revocations: int = 10_000
    max_scope_items: int = 256
    max_status_changes: int = 64
    max_text: int = 1_000


DEFAULT_REGISTRY_LIMITS = RegistryLimits()


# -- strict JSON reading ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JsonObject:
    """Strict reader over one JSON object: exact member set, typed getters.

    Every defect raises ``error(code, message)`` naming the location ``where``. Used by the
    ``from_dict`` constructors of this package; not part of the public API.
    """

    data: Mapping[str, Any]
    where: str
    code: ReasonCode
    error: type[TrustError]

    @classmethod
    def of(
        cls,
        value: Any,
        where: str,
        *,
        required: Iterable[str],
        optional: Iterable[str] = (),
        code: ReasonCode = ReasonCode.REGISTRY_INVALID,
        error: type[TrustError] = TrustError,
    ) -> JsonObject:
        if not isinstance(value, Mapping):
            raise error(code, f"{where} must be a JSON object, found {type(value).__name__}")
        required_set, allowed = set(required), set(required) | set(optional)
        missing = required_set - set(value)
        unknown = set(value) - allowed
        if missing or unknown:
            raise error(
                code,
                f"{where}: expected members {sorted(required_set)}"
                + (f" (optional {sorted(allowed - required_set)})" if allowed - required_set else "")
                + f"; missing {sorted(missing)}, unknown {sorted(unknown)}",
            )
        return cls(value, where, code, error)

    def fail(self, message: str) -> TrustError:
        return self.error(self.code, f"{self.where}: {message}")

    def has(self, name: str) -> bool:
        return name in self.data

    def text(
        self,
        name: str,
        *,
        pattern: re.Pattern[str] | None = None,
        max_length: int = 1_000,
        allow_empty: bool = False,
    ) -> str:
        value = self.data.get(name)
        if not isinstance(value, str):
            raise self.fail(f"{name} must be a string")
        if (not value and not allow_empty) or len(value) > max_length:
            raise self.fail(f"{name} must hold 1 to {max_length} characters")
        if pattern is not None and not pattern.match(value):
            raise self.fail(f"{name} {value[:80]!r} does not match {pattern.pattern}")
        return value

    def optional_text(
        self, name: str, *, pattern: re.Pattern[str] | None = None, max_length: int = 1_000
    ) -> str | None:
        if self.data.get(name) is None:
            return None
        return self.text(name, pattern=pattern, max_length=max_length)

    def time(self, name: str) -> dt.datetime:
        value = self.data.get(name)
        try:
            return parse_time(value)  # type: ignore[arg-type]
        except ValueError as exc:
            raise self.fail(f"{name}: {exc}") from exc

    def optional_time(self, name: str) -> dt.datetime | None:
        return None if self.data.get(name) is None else self.time(name)

    def integer(self, name: str, *, minimum: int = 0) -> int:
        value = self.data.get(name)
        if type(value) is not int or value < minimum:
            raise self.fail(f"{name} must be an integer ≥ {minimum}")
        return value

    def array(self, name: str, *, max_items: int, min_items: int = 0) -> list[Any]:
        value = self.data.get(name)
        if not isinstance(value, list):
            raise self.fail(f"{name} must be an array")
        if not min_items <= len(value) <= max_items:
            raise self.fail(f"{name} must hold {min_items} to {max_items} items, found {len(value)}")
        return value

    def obj(self, name: str) -> Any:
        return self.data.get(name)


def certificate_from_b64(
    text: Any,
    where: str,
    *,
    code: ReasonCode = ReasonCode.REGISTRY_INVALID,
    error: type[TrustError] = TrustError,
) -> x509.Certificate:
    """Decode a base64 DER certificate (the ``x5c`` form); ``error(code)`` on bad input."""
    if not isinstance(text, str):
        raise error(code, f"{where} must be a base64 DER string")
    try:
        return load_certificate_der(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, ProtocolError) as exc:
        raise error(code, f"{where} is not a base64 DER certificate") from exc


def certificate_to_b64(cert: x509.Certificate) -> str:
    """The base64 DER form used in registry JSON (as in ``x5c``)."""
    return base64.b64encode(certificate_to_der(cert)).decode("ascii")


def _invalid(message: str, **context: Any) -> TrustError:
    return TrustError(ReasonCode.REGISTRY_INVALID, message, **context)


def _require_type(value: Any, kind: type | tuple[type, ...], name: str) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{name} has the wrong type: {type(value).__name__}")


def is_self_signed_ca(cert: x509.Certificate, *, verify_signature: bool = True) -> bool:
    """True for a root: a CA certificate whose own key signed it under its own name.

    ``verify_signature=False`` checks names and the CA flag only (enough to catch a wrong
    certificate passed by our own code; trust decisions always verify).
    """
    if cert.subject != cert.issuer:
        return False
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    if not constraints.ca:
        return False
    return issued_by(cert, cert) if verify_signature else True


# -- trust anchors --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustAnchor:
    """A root certificate trusted for one authority within ``[valid_from, valid_until)``.

    ``endorsement`` is the rotation cross-certificate by which the anchor named
    ``endorsed_by`` (a fingerprint) vouched for this one; both are ``None`` for the
    authority's initial anchor.
    """

    certificate: x509.Certificate
    valid_from: dt.datetime
    valid_until: dt.datetime | None = None
    endorsement: x509.Certificate | None = None
    endorsed_by: str | None = None
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        _require_type(self.certificate, x509.Certificate, "certificate")
        require_aware(self.valid_from, "valid_from")
        if self.valid_until is not None:
            require_aware(self.valid_until, "valid_until")
            if self.valid_until <= self.valid_from:
                raise _invalid("an anchor's valid_until must be later than its valid_from")
        if (self.endorsement is None) != (self.endorsed_by is None):
            raise _invalid("an anchor endorsement needs both the certificate and endorsed_by")
        if self.endorsement is not None:
            _require_type(self.endorsement, x509.Certificate, "endorsement")
        object.__setattr__(self, "fingerprint", fingerprint(self.certificate))

    def is_valid_at(self, at: dt.datetime) -> bool:
        """True when ``at`` lies in the registry window ``[valid_from, valid_until)``."""
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)

    def to_dict(self) -> dict[str, Any]:
        return {
            "certificate": certificate_to_b64(self.certificate),
            "fingerprint": self.fingerprint,
            "validFrom": format_time(self.valid_from),
            "validUntil": None if self.valid_until is None else format_time(self.valid_until),
            "endorsement": None
            if self.endorsement is None
            else {
                "by": self.endorsed_by,
                "certificate": certificate_to_b64(self.endorsement),
            },
        }

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "anchor") -> TrustAnchor:
        reader = JsonObject.of(
            data, where, required=("certificate", "fingerprint", "validFrom", "validUntil", "endorsement")
        )
        certificate = certificate_from_b64(reader.obj("certificate"), f"{where}.certificate")
        endorsement: x509.Certificate | None = None
        endorsed_by: str | None = None
        if reader.obj("endorsement") is not None:
            inner = JsonObject.of(
                reader.obj("endorsement"), f"{where}.endorsement", required=("by", "certificate")
            )
            endorsed_by = inner.text("by", pattern=FINGERPRINT_PATTERN)
            endorsement = certificate_from_b64(inner.obj("certificate"), f"{where}.endorsement.certificate")
        anchor = cls(
            certificate=certificate,
            valid_from=reader.time("validFrom"),
            valid_until=reader.optional_time("validUntil"),
            endorsement=endorsement,
            endorsed_by=endorsed_by,
        )
        if reader.text("fingerprint", pattern=FINGERPRINT_PATTERN) != anchor.fingerprint:
            raise reader.fail("fingerprint is not the SHA-256 of the certificate")
        return anchor


# -- revocations ----------------------------------------------------------------------------


class RevocationReason(StrEnum):
    """RFC 5280 §5.3.1 CRLReason values that apply to a signer certificate."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "keyCompromise"
    CA_COMPROMISE = "cACompromise"
    AFFILIATION_CHANGED = "affiliationChanged"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessationOfOperation"
    PRIVILEGE_WITHDRAWN = "privilegeWithdrawn"


class RevocationMatch(StrEnum):
    """How a revocation names its certificate."""

    FINGERPRINT = "fingerprint"
    ISSUER_SERIAL = "issuer-serial"


@dataclass(frozen=True, slots=True, kw_only=True)
class Revocation:
    """A signer certificate revoked from ``effective_at`` on (rule 6).

    Named by ``fingerprint`` (lower-case hex SHA-256 of the DER), or by ``issuer`` (RFC 4514
    string of the issuer name) and ``serial_number``.
    """

    effective_at: dt.datetime
    reason: RevocationReason = RevocationReason.UNSPECIFIED
    fingerprint: str | None = None
    issuer: str | None = None
    serial_number: int | None = None

    def __post_init__(self) -> None:
        require_aware(self.effective_at, "effective_at")
        object.__setattr__(self, "reason", RevocationReason(self.reason))
        by_fingerprint = self.fingerprint is not None
        by_serial = self.issuer is not None or self.serial_number is not None
        if by_fingerprint == by_serial:
            raise _invalid("a revocation names a fingerprint, or an issuer and serial (one of)")
        if by_fingerprint and not FINGERPRINT_PATTERN.match(self.fingerprint or ""):
            raise _invalid("a revocation fingerprint is 64 lower-case hex digits")
        if by_serial and (
            not self.issuer or not isinstance(self.serial_number, int) or self.serial_number < 0
        ):
            raise _invalid("a revocation by serial needs the issuer name and a serial ≥ 0")

    @property
    def match(self) -> RevocationMatch:
        return RevocationMatch.FINGERPRINT if self.fingerprint else RevocationMatch.ISSUER_SERIAL

    @classmethod
    def of_certificate(
        cls,
        cert: x509.Certificate,
        *,
        effective_at: dt.datetime,
        reason: RevocationReason = RevocationReason.UNSPECIFIED,
        match: RevocationMatch = RevocationMatch.FINGERPRINT,
    ) -> Revocation:
        """A revocation of ``cert``, named by fingerprint (default) or issuer and serial."""
        if match is RevocationMatch.FINGERPRINT:
            return cls(effective_at=effective_at, reason=reason, fingerprint=fingerprint(cert))
        return cls(
            effective_at=effective_at,
            reason=reason,
            issuer=cert.issuer.rfc4514_string(),
            serial_number=cert.serial_number,
        )

    def names(self, info: CertInfo) -> bool:
        """True when this revocation names the certificate described by ``info``."""
        if self.fingerprint is not None:
            return self.fingerprint == info.fingerprint
        return self.issuer == info.issuer and self.serial_number == info.serial_number

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"effectiveAt": format_time(self.effective_at), "reason": self.reason.value}
        if self.fingerprint is not None:
            data["fingerprint"] = self.fingerprint
        else:
            data["issuer"] = self.issuer
            data["serialNumber"] = format(self.serial_number, "x")
        return data

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "revocation") -> Revocation:
        reader = JsonObject.of(
            data,
            where,
            required=("effectiveAt", "reason"),
            optional=("fingerprint", "issuer", "serialNumber"),
        )
        try:
            reason = RevocationReason(reader.text("reason"))
        except ValueError as exc:
            raise reader.fail(f"reason must be one of {[r.value for r in RevocationReason]}") from exc
        if reader.has("fingerprint"):
            if reader.has("issuer") or reader.has("serialNumber"):
                raise reader.fail("name the certificate by fingerprint or by issuer+serial, not both")
            return cls(
                effective_at=reader.time("effectiveAt"),
                reason=reason,
                fingerprint=reader.text("fingerprint", pattern=FINGERPRINT_PATTERN),
            )
        if not (reader.has("issuer") and reader.has("serialNumber")):
            raise reader.fail("a revocation needs fingerprint, or issuer and serialNumber")
        return cls(
            effective_at=reader.time("effectiveAt"),
            reason=reason,
            issuer=reader.text("issuer", max_length=1_000),
            serial_number=int(reader.text("serialNumber", pattern=SERIAL_PATTERN), 16),
        )


# -- authorities ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Authority:
    """One authority of the registry; see the module docstring for the rules it obeys."""

    id: AuthorityId
    country: str
    name: str
    anchors: tuple[TrustAnchor, ...]
    roles: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    node_certificates: tuple[x509.Certificate, ...] = ()
    reliability: ReliabilityProfile = field(default_factory=lambda: ReliabilityProfile({}))
    revocations: tuple[Revocation, ...] = ()

    def __post_init__(self) -> None:
        for name in ("anchors", "roles", "endpoints", "node_certificates", "revocations"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise TypeError(f"{name} must be a sequence")
            object.__setattr__(self, name, tuple(value))
        _require_type(self.reliability, ReliabilityProfile, "reliability")
        # Rule 1
        if not isinstance(self.id, str) or not AUTHORITY_ID_PATTERN.match(self.id) or len(self.id) > 64:
            raise _invalid(f"authority id {self.id!r} is not of the form CC-NAME")
        if not isinstance(self.country, str) or not COUNTRY_PATTERN.match(self.country):
            raise _invalid(f"country {self.country!r} is not an ISO 3166 alpha-2 code")
        if self.id[:2] != self.country:
            raise _invalid(f"authority id {self.id} does not start with its country {self.country}")
        if not isinstance(self.name, str) or not 0 < len(self.name) <= 1_000:
            raise _invalid("an authority name holds 1 to 1000 characters")
        for role in self.roles:
            if not isinstance(role, str) or not ROLE_PATTERN.match(role):
                raise _invalid(f"role {role!r} is not a lower-case token")
        if len(set(self.roles)) != len(self.roles):
            raise _invalid("a role is listed twice")
        for endpoint in self.endpoints:
            if not isinstance(endpoint, str) or not ENDPOINT_PATTERN.match(endpoint):
                raise _invalid(f"endpoint {endpoint!r} is not an http(s) URL")
        # Rules 2 and 3
        self._check_anchors()
        # Rule 5
        for cert in self.node_certificates:
            _require_type(cert, x509.Certificate, "node certificate")
            if authority_id_of(cert) != self.id:
                raise _invalid(f"a node certificate names {authority_id_of(cert)}, not {self.id}")
            if not any(issued_by(cert, anchor.certificate) for anchor in self.anchors):
                raise _invalid(f"a node certificate of {self.id} is not issued by its anchors")
        for revocation in self.revocations:
            _require_type(revocation, Revocation, "revocation")

    def _check_anchors(self) -> None:
        if not self.anchors:
            raise _invalid(f"authority {self.id} has no trust anchor")
        seen: dict[str, TrustAnchor] = {}
        for position, anchor in enumerate(self.anchors):
            _require_type(anchor, TrustAnchor, "anchor")
            cert = anchor.certificate
            if anchor.fingerprint in seen:
                raise _invalid(f"anchor {anchor.fingerprint} of {self.id} is listed twice")
            if authority_id_of(cert) != self.id:
                raise _invalid(f"anchor {position} names {authority_id_of(cert)}, not {self.id}")
            if not is_self_signed_ca(cert):
                raise _invalid(f"anchor {position} of {self.id} is not a self-signed CA certificate")
            if position == 0:
                if anchor.endorsement is not None:
                    raise _invalid(f"the initial anchor of {self.id} cannot carry an endorsement")
            else:
                endorser = seen.get(anchor.endorsed_by or "")
                if endorser is None or anchor.endorsement is None:
                    raise _invalid(f"anchor {position} of {self.id} is not endorsed by an earlier anchor")
                check_endorsement(endorser.certificate, cert, anchor.endorsement)
            seen[anchor.fingerprint] = anchor

    def anchor(self, fingerprint_hex: str) -> TrustAnchor | None:
        """The anchor with this fingerprint, if any."""
        return next((a for a in self.anchors if a.fingerprint == fingerprint_hex), None)

    def anchors_valid_at(self, at: dt.datetime) -> tuple[TrustAnchor, ...]:
        """The anchors whose registry window contains ``at``."""
        require_aware(at, "at")
        return tuple(anchor for anchor in self.anchors if anchor.is_valid_at(at))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "country": self.country,
            "name": self.name,
            "roles": list(self.roles),
            "anchors": [anchor.to_dict() for anchor in self.anchors],
            "endpoints": list(self.endpoints),
            "nodeCertificates": [certificate_to_b64(c) for c in self.node_certificates],
            "reliability": self.reliability.to_dict(),
            "revocations": [revocation.to_dict() for revocation in self.revocations],
        }

    @classmethod
    def from_dict(
        cls, data: Any, *, limits: RegistryLimits = DEFAULT_REGISTRY_LIMITS, where: str = "authority"
    ) -> Authority:
        reader = JsonObject.of(
            data,
            where,
            required=(
                "id",
                "country",
                "name",
                "roles",
                "anchors",
                "endpoints",
                "nodeCertificates",
                "reliability",
                "revocations",
            ),
        )
        authority_id = reader.text("id", pattern=AUTHORITY_ID_PATTERN, max_length=64)
        where = f"authority {authority_id}"
        roles = reader.array("roles", max_items=16)
        if not all(isinstance(role, str) for role in roles):
            raise reader.fail("roles must be strings")
        endpoints = reader.array("endpoints", max_items=limits.max_endpoints)
        if not all(isinstance(endpoint, str) for endpoint in endpoints):
            raise reader.fail("endpoints must be strings")
        raw_anchors = reader.array("anchors", min_items=1, max_items=limits.max_anchors)
        raw_nodes = reader.array("nodeCertificates", max_items=limits.max_node_certificates)
        raw_revocations = reader.array("revocations", max_items=limits.max_revocations)
        return cls(
            id=AuthorityId(authority_id),
            country=reader.text("country", pattern=COUNTRY_PATTERN),
            name=reader.text("name", max_length=limits.max_text),
            roles=tuple(roles),
            anchors=tuple(
                TrustAnchor.from_dict(item, where=f"{where}.anchors[{i}]")
                for i, item in enumerate(raw_anchors)
            ),
            endpoints=tuple(endpoints),
            node_certificates=tuple(
                certificate_from_b64(item, f"{where}.nodeCertificates[{i}]")
                for i, item in enumerate(raw_nodes)
            ),
            reliability=ReliabilityProfile.from_dict(reader.obj("reliability")),
            revocations=tuple(
                Revocation.from_dict(item, where=f"{where}.revocations[{i}]")
                for i, item in enumerate(raw_revocations)
            ),
        )


def check_endorsement(
    old_root: x509.Certificate, new_root: x509.Certificate, endorsement: x509.Certificate
) -> None:
    """Check (time-independently) that ``endorsement`` is ``old_root`` vouching for ``new_root``.

    The cross-certificate must carry the new root's subject and public key, be a CA
    certificate, and verify under the old root's key. ``TrustError(REGISTRY_INVALID)`` if not.
    """
    try:
        constraints = endorsement.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if (
        endorsement.subject != new_root.subject
        or endorsement.public_key() != new_root.public_key()
        or not is_ca
        or not issued_by(endorsement, old_root)
    ):
        raise _invalid(
            "the rotation certificate is not the old root's endorsement of the new root",
            endorser=fingerprint(old_root),
            anchor=fingerprint(new_root),
        )


# -- chain cache ----------------------------------------------------------------------------


class CertInfo:
    """What the decision needs from a certificate, each fact computed at most once.

    ``fingerprint`` is computed on construction; the others on first use (a root checked for
    an agreement signature never needs its issuer name, for instance).
    """

    __slots__ = ("_authority_id", "_issuer", "certificate", "fingerprint")

    _UNSET: Any = object()

    def __init__(self, certificate: x509.Certificate) -> None:
        self.certificate = certificate
        self.fingerprint = fingerprint(certificate)
        self._authority_id: Any = CertInfo._UNSET
        self._issuer: str | None = None

    @property
    def authority_id(self) -> str | None:
        """The authority named in the subject's organizationIdentifier."""
        if self._authority_id is CertInfo._UNSET:
            self._authority_id = authority_id_of(self.certificate)
        return self._authority_id  # type: ignore[no-any-return]

    @property
    def issuer(self) -> str:
        """The issuer name as an RFC 4514 string."""
        if self._issuer is None:
            self._issuer = self.certificate.issuer.rfc4514_string()
        return self._issuer

    @property
    def serial_number(self) -> int:
        return self.certificate.serial_number


@dataclass(frozen=True, slots=True)
class _ChainHit:
    anchor_fingerprint: str
    not_before: dt.datetime  # the latest notBefore on the path, anchor included
    not_after: dt.datetime  # the earliest notAfter on the path, anchor included


_CACHEABLE_FAILURES = frozenset({ReasonCode.CHAIN_UNTRUSTED, ReasonCode.CHAIN_TOO_LONG})


class ChainCache:
    """Memoises chain validation by content, so a repeated signer costs no signature check.

    Keys are ``(usage, leaf fingerprint, intermediate fingerprints, anchor fingerprints)``:
    the path that ``protocol.certificates.validate_chain`` builds depends on nothing else.
    A hit stores the anchor that ended the path and the intersection of the path's X.509
    validity windows; a later validation at another time only compares that window (inside:
    success without any signature verification; outside: ``validate_chain`` runs again and
    raises its own error). Failures found before any time check (``CHAIN_UNTRUSTED``,
    ``CHAIN_TOO_LONG``) are remembered too; other failures are not.

    Certificate facts (fingerprint, authority id, issuer, serial) are remembered per
    certificate *object* (the cache holds the object, so its ``id`` cannot be reused), and
    computed once per new object. The cache is content-keyed, so one instance is safely
    shared by every registry value derived from another; it is cleared when it outgrows
    ``max_entries``. It holds no registry state and never changes a decision's outcome.
    """

    __slots__ = ("_certs", "_chains", "_max_entries")

    def __init__(self, *, max_entries: int = 65_536) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._max_entries = max_entries
        self._certs: dict[int, tuple[x509.Certificate, CertInfo]] = {}
        self._chains: dict[tuple[Any, ...], _ChainHit | CertificateError] = {}

    def __len__(self) -> int:
        return len(self._chains)

    def cert_info(self, cert: x509.Certificate) -> CertInfo:
        """The facts of ``cert``, computed on the first call for this object."""
        entry = self._certs.get(id(cert))
        if entry is not None and entry[0] is cert:
            return entry[1]
        info = CertInfo(cert)
        if len(self._certs) >= self._max_entries:
            self._certs.clear()
        self._certs[id(cert)] = (cert, info)
        return info

    def validate(
        self,
        leaf: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
        anchors: Sequence[TrustAnchor],
        anchor_fingerprints: tuple[str, ...],
        *,
        at: dt.datetime,
        usage: CertUsage,
        max_length: int = 4,
        leaf_fingerprint: str | None = None,
    ) -> str:
        """``validate_chain`` with memo; returns the fingerprint of the anchor that ended the path.

        Raises ``CertificateError`` exactly as ``validate_chain`` would. ``leaf_fingerprint``
        saves a lookup when the caller has it already.
        """
        key = (
            usage,
            leaf_fingerprint or self.cert_info(leaf).fingerprint,
            tuple(self.cert_info(c).fingerprint for c in intermediates) if intermediates else (),
            anchor_fingerprints,
            max_length,
        )
        hit = self._chains.get(key)
        if hit is not None:
            if isinstance(hit, CertificateError):
                raise CertificateError(hit.code, hit.message, **hit.context)
            if hit.not_before <= at <= hit.not_after:
                return hit.anchor_fingerprint
        certificates = [anchor.certificate for anchor in anchors]
        try:
            chain = validate_chain(
                leaf, intermediates, certificates, at=at, usage=usage, max_length=max_length
            )
        except CertificateError as error:
            if error.code in _CACHEABLE_FAILURES:
                self._store(key, CertificateError(error.code, error.message, **error.context))
            raise
        anchor_fingerprint = anchors[certificates.index(chain.anchor)].fingerprint
        self._store(key, _hit(chain, anchor_fingerprint))
        return anchor_fingerprint

    def _store(self, key: tuple[Any, ...], value: _ChainHit | CertificateError) -> None:
        if len(self._chains) >= self._max_entries:
            self._chains.clear()
        self._chains[key] = value


def _hit(chain: ValidatedChain, anchor_fingerprint: str) -> _ChainHit:
    return _ChainHit(
        anchor_fingerprint,
        max(cert.not_valid_before_utc for cert in chain.certificates),
        min(cert.not_valid_after_utc for cert in chain.certificates),
    )
