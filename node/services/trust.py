"""The node's questions to its trust registry (a thin layer over ``trust_registry``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cryptography import x509

from node.errors import AuthError
from protocol.certificates import CertUsage, certificate_to_der
from protocol.jws import IntegrityEvidence
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time
from trust_registry import Acceptance, Authority, TrustRegistry
from trust_registry import recognise as _recognise
from trust_registry.verification import issuer_anchors as _issuer_anchors
from trust_registry.verification import verify_and_recognise

ENVELOPE_USAGE = CertUsage.ENVELOPE_SIGNING

__all__ = ["ENVELOPE_USAGE", "anchors", "authority_warnings", "endpoint", "has_node_certificate",
           "is_node_certificate", "issuer_anchors", "knows", "recognise",
           "require_within_validity", "verify_and_recognise"]


def knows(registry: TrustRegistry, authority_id: str) -> bool:
    return authority_id in registry.authorities


def anchors(registry: TrustRegistry, authority_id: str, at: dt.datetime) -> list[x509.Certificate]:
    """The authority's anchors valid at ``at`` (empty for an unknown authority)."""
    authority = registry.authorities.get(authority_id)  # type: ignore[call-overload]
    if authority is None:
        return []
    return [anchor.certificate for anchor in authority.anchors_valid_at(at)]


def issuer_anchors(registry: TrustRegistry, evidence: IntegrityEvidence,
                   at: dt.datetime) -> list[x509.Certificate]:
    del at  # anchors are taken at the signing time, which the evidence carries
    return _issuer_anchors(registry, evidence)


def has_node_certificate(registry: TrustRegistry, authority_id: str) -> bool:
    """True when the registry holds at least one node certificate for ``authority_id``."""
    authority = registry.authorities.get(authority_id)  # type: ignore[call-overload]
    return authority is not None and bool(authority.node_certificates)


def authority_warnings(authority: Authority) -> list[str]:
    """What an operator should hear when recording ``authority`` (it is recorded all the
    same): an endpoint without a node certificate means every envelope it sends will be
    refused with NODE_CERTIFICATE_MISSING."""
    if authority.endpoints and not authority.node_certificates:
        return [f"{authority.id} has an endpoint but no node certificate: its envelopes will "
                f"be refused ({ReasonCode.NODE_CERTIFICATE_MISSING.value}) until one is added "
                "(`registry update-authority --node-cert`)"]
    return []


def is_node_certificate(registry: TrustRegistry, authority_id: str,
                        certificate: x509.Certificate) -> bool:
    """True when ``certificate`` is one the registry holds as ``authority_id``'s node key."""
    authority = registry.authorities.get(authority_id)  # type: ignore[call-overload]
    if authority is None:
        return False
    der = certificate_to_der(certificate)
    return any(certificate_to_der(cert) == der for cert in authority.node_certificates)


def require_within_validity(certificate: x509.Certificate, *, created_at: dt.datetime,
                            signed_at: dt.datetime) -> None:
    """ENVELOPE_SIGNATURE_INVALID unless the times a node message claims (``createdAt``, the
    signing time) lie inside its node certificate's validity: a key cannot vouch for a
    message from before it was certified or after it expired."""
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    for name, claimed in (("createdAt", created_at), ("the signing time", signed_at)):
        if not start <= claimed <= end:
            raise AuthError(ReasonCode.ENVELOPE_SIGNATURE_INVALID,
                            f"{name} {format_time(claimed)} lies outside the node certificate's "
                            f"validity ({format_time(start)} to {format_time(end)})")


def endpoint(registry: TrustRegistry, authority_id: str) -> str | None:
    authority = registry.authorities.get(authority_id)  # type: ignore[call-overload]
    if authority is None or not authority.endpoints:
        return None
    return str(authority.endpoints[0])


def recognise(registry: TrustRegistry, *, receiver: str, document: Mapping[str, Any],
              evidence: IntegrityEvidence, at: dt.datetime) -> Acceptance:
    return _recognise(registry, receiver=receiver, document=document, evidence=evidence, at=at)
