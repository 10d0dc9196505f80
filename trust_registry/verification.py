"""Offline verification with recognition: ``protocol`` checks plus the registry's decision.

``verify_and_recognise`` is what ``tradeaccord doc verify --registry`` and the node's
``POST /v1/verify`` answer: the named checks of ``protocol.signed_document.verify_document``
with the anchors of the document's issuer taken from the registry (those valid at the
signing time), then ``recognition`` for the receiving authority. ``valid`` is true only when
every check passed *and* the document is recognised.

``verify_and_decide`` runs the same checks and decision and returns them as values
(:class:`RecognitionResult`), building the printable report only when ``report()`` is
called: the form for a hot path that needs the outcome, not the report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from protocol.certificates import CertUsage, authority_id_of
from protocol.content import ContentChecker
from protocol.documents import DocumentSchemas
from protocol.errors import ProtocolError
from protocol.jws import GeneralJWS, IntegrityEvidence
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.signed_document import DocumentVerification, verify_document
from protocol.validation_profile import DEFAULT_PROFILE, ValidationProfile
from trust_registry.decision import Acceptance, recognise
from trust_registry.errors import TrustError
from trust_registry.registry import TrustRegistry


def issuer_anchors(registry: TrustRegistry, evidence: IntegrityEvidence,
                   extra: tuple[x509.Certificate, ...] = ()) -> list[x509.Certificate]:
    """The anchors of the authority named in the signer certificate, valid at signing time."""
    authority = registry.authorities.get(authority_id_of(evidence.leaf) or "")  # type: ignore[call-overload]
    found = [anchor.certificate for anchor in authority.anchors_valid_at(evidence.signed_at)] \
        if authority is not None else []
    return found + list(extra)


def cached_chain_check(registry: TrustRegistry) -> Callable[[IntegrityEvidence], str]:
    """A chain check through the registry's index and memo: the issuer's anchors valid at the
    signing time, validated once per signer certificate (later documents cost no signature
    check). Refusals are ``ProtocolError``s (ANCHOR_NOT_VALID included), as the chain check of
    ``verify_document`` expects."""
    cache = registry.chain_cache
    entries = registry.index.authorities

    def check(evidence: IntegrityEvidence) -> str:
        entry = entries.get(cache.cert_info(evidence.leaf).authority_id or "")
        if entry is None:
            raise ProtocolError(ReasonCode.CHAIN_UNTRUSTED,
                                "the signer's authority is not in the registry")
        try:
            return entry.validate(cache, evidence.leaf, evidence.intermediates,
                                  at=evidence.signed_at, usage=CertUsage.DOCUMENT_SIGNING)
        except TrustError as error:
            raise ProtocolError(error.code, error.message) from error

    return check


@dataclass(frozen=True, slots=True)
class RecognitionResult:
    """The named checks and, when they all passed, the decision: an acceptance, or the
    refusal. ``report()`` is the JSON form ``verify_and_recognise`` returns."""

    verification: DocumentVerification
    acceptance: Acceptance | None
    refusal: TrustError | None
    registry_version: int

    @property
    def valid(self) -> bool:
        """Every check passed and the document is recognised."""
        return self.acceptance is not None and self.verification.valid

    def report(self) -> dict[str, Any]:
        """The verification summary with a ``recognition`` member (module docstring)."""
        report = self.verification.summary()
        recognition: dict[str, Any]
        if self.acceptance is not None:
            recognition = {"recognised": True, "reasons": [], **self.acceptance.to_dict()}
        elif self.refusal is not None:
            recognition = {"recognised": False,
                           "reasons": [code.value for code in self.refusal.codes],
                           "message": self.refusal.message,
                           "registryVersion": self.registry_version}
            report["reasons"] = list(dict.fromkeys(
                [*report["reasons"], *recognition["reasons"]]))
        else:
            recognition = {"recognised": False, "reasons": [], "skipped": True,
                           "registryVersion": self.registry_version}
        report["recognition"] = recognition
        report["checks"]["recognition"] = ("VALID" if recognition["recognised"] else
                                           "SKIPPED" if recognition.get("skipped") else "INVALID")
        report["valid"] = bool(report["valid"] and recognition["recognised"])
        return report


def verify_and_decide(
    data: bytes | GeneralJWS | Mapping[str, Any],
    *,
    registry: TrustRegistry,
    receiver: str,
    at: dt.datetime,
    schemas: DocumentSchemas,
    limits: Limits = DEFAULT_LIMITS,
    extra_anchors: tuple[x509.Certificate, ...] = (),
    profile: ValidationProfile = DEFAULT_PROFILE,
    content: ContentChecker | None = None,
) -> RecognitionResult:
    """The checks and the decision of ``verify_and_recognise``, as values (no report built);
    ``profile`` and ``content`` as for ``verify_document``."""
    result = verify_document(data, anchors=lambda ev: issuer_anchors(registry, ev, extra_anchors),
                             at=at, schemas=schemas, limits=limits,
                             chain_check=None if extra_anchors else cached_chain_check(registry),
                             profile=profile, content=content)
    if result.document is None or not result.valid:
        return RecognitionResult(result, None, None, registry.version)
    try:
        acceptance = recognise(registry, receiver=receiver, document=result.document,
                               evidence=result.integrity[0], at=at, limits=limits)
    except TrustError as error:
        return RecognitionResult(result, None, error, registry.version)
    return RecognitionResult(result, acceptance, None, registry.version)


def verify_and_recognise(
    data: bytes | GeneralJWS | Mapping[str, Any],
    *,
    registry: TrustRegistry,
    receiver: str,
    at: dt.datetime,
    schemas: DocumentSchemas,
    limits: Limits = DEFAULT_LIMITS,
    extra_anchors: tuple[x509.Certificate, ...] = (),
    profile: ValidationProfile = DEFAULT_PROFILE,
    content: ContentChecker | None = None,
) -> dict[str, Any]:
    """The verification report with a ``recognition`` member (see the module docstring);
    ``profile`` and ``content`` as for ``verify_document``."""
    return verify_and_decide(data, registry=registry, receiver=receiver, at=at, schemas=schemas,
                             limits=limits, extra_anchors=extra_anchors, profile=profile,
                             content=content).report()
