"""The node's questions to its trust registry (a thin layer over ``trust_registry``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cryptography import x509

from protocol.certificates import CertUsage, certificate_to_der
from protocol.jws import IntegrityEvidence
from trust_registry import Acceptance, TrustRegistry
from trust_registry import recognise as _recognise
from trust_registry.verification import issuer_anchors as _issuer_anchors
from trust_registry.verification import verify_and_recognise

ENVELOPE_USAGE = CertUsage.ENVELOPE_SIGNING

__all__ = ["ENVELOPE_USAGE", "anchors", "endpoint", "is_node_certificate", "issuer_anchors",
           "knows", "recognise", "verify_and_recognise"]


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


def is_node_certificate(registry: TrustRegistry, authority_id: str,
                        certificate: x509.Certificate) -> bool:
    """True when ``certificate`` is one the registry holds as ``authority_id``'s node key."""
    authority = registry.authorities.get(authority_id)  # type: ignore[call-overload]
    if authority is None:
        return False
    der = certificate_to_der(certificate)
    return any(certificate_to_der(cert) == der for cert in authority.node_certificates)


def endpoint(registry: TrustRegistry, authority_id: str) -> str | None:
    authority = registry.authorities.get(authority_id)  # type: ignore[call-overload]
    if authority is None or not authority.endpoints:
        return None
    return str(authority.endpoints[0])


def recognise(registry: TrustRegistry, *, receiver: str, document: Mapping[str, Any],
              evidence: IntegrityEvidence, at: dt.datetime) -> Acceptance:
    return _recognise(registry, receiver=receiver, document=document, evidence=evidence, at=at)
