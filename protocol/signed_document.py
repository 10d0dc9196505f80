"""Signing a trade document, and verifying one as named checks.

``verify_document`` is the offline verification shared by the CLI, the node's verify
endpoint and its receiving path. It runs every check it can and reports each as
``VALID``, ``INVALID`` or ``SKIPPED`` (a check is skipped when an earlier one it needs
failed), with the reason codes of the failures — instead of stopping at the first.

Checks, in order: ``json`` (the JWS container is strict I-JSON and well-formed),
``integrity`` (every signature verifies over the payload bytes as received, profile
rules), ``chain`` (every signer chains to a given anchor at its signing time), ``schema``
(the payload is strict I-JSON and a document valid against its type's schema), ``codes``
(every coded value is in its code list: ``CODE_UNKNOWN``) and ``arithmetic`` (the
document's figures add up: ``AMOUNT_MISMATCH``). The last two run on a schema-valid
document when the receiver's validation profile asks for them (``protocol.content``) and
are ``DISABLED`` otherwise; a ``DISABLED`` check does not make a document invalid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cryptography import x509

from protocol.canonical import canonicalize_readable, sha256_hex
from protocol.certificates import CertUsage, ValidatedChain, validate_chain
from protocol.content import ContentChecker, default_checker
from protocol.documents import DocumentSchemas
from protocol.errors import ContentError, ProtocolError
from protocol.jws import (
    AnchorResolver,
    GeneralJWS,
    IntegrityEvidence,
    JWSType,
    Signer,
    check_integrity,
    sign,
)
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from protocol.timeutil import format_time, require_aware
from protocol.validation_profile import DEFAULT_PROFILE, ValidationProfile


class CheckStatus(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"
    SKIPPED = "SKIPPED"
    DISABLED = "DISABLED"


CHECK_NAMES = ("json", "integrity", "chain", "schema", "codes", "arithmetic")


def sign_document(document: Mapping[str, Any], signer: Signer, *,
                  signed_at: dt.datetime) -> GeneralJWS:
    """Sign the RFC 8785 bytes of ``document``. The caller validates it against its schema
    first (``DocumentSchemas.validate``); this function does not. Numbers a strict reader
    would refuse are refused here (``canonicalize_readable``)."""
    return sign(canonicalize_readable(dict(document)), signer, typ=JWSType.DOCUMENT,
                signed_at=signed_at)


def document_sha256(jws: GeneralJWS) -> str:
    """The document digest used in references and receipts: SHA-256 of the signed bytes."""
    return sha256_hex(jws.payload)


@dataclass(slots=True)
class DocumentVerification:
    """The result of ``verify_document``: named checks, reason codes and the evidence."""

    checks: dict[str, CheckStatus] = field(
        default_factory=lambda: dict.fromkeys(CHECK_NAMES, CheckStatus.SKIPPED))
    reasons: list[ReasonCode] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    jws: GeneralJWS | None = None
    profile: ValidationProfile = DEFAULT_PROFILE
    document: dict[str, Any] | None = None
    integrity: tuple[IntegrityEvidence, ...] = ()
    chains: tuple[ValidatedChain, ...] = ()

    @property
    def valid(self) -> bool:
        return all(status in (CheckStatus.VALID, CheckStatus.DISABLED)
                   for status in self.checks.values())

    @property
    def sha256(self) -> str | None:
        return document_sha256(self.jws) if self.jws is not None else None

    def fail(self, check: str, error: ProtocolError) -> None:
        self.checks[check] = CheckStatus.INVALID
        if error.code not in self.reasons:
            self.reasons.append(error.code)
        problems = error.problems if isinstance(error, ContentError) else (("", error.message),)
        self.messages += [f"{check}: {error.code.value}: {text}" for _pointer, text in problems]

    def summary(self) -> dict[str, Any]:
        """The JSON form printed by ``tradeaccord doc verify --json``."""
        header = self.document or {}
        return {
            "valid": self.valid,
            "profile": self.profile.value,
            "checks": {name: status.value for name, status in self.checks.items()},
            "reasons": [code.value for code in self.reasons],
            "messages": list(self.messages),
            "document": {
                "id": header.get("id"),
                "type": header.get("type"),
                "issuer": header.get("issuer"),
                "sha256": self.sha256,
            },
            "signatures": [
                {
                    "kid": evidence.kid,
                    "alg": evidence.alg,
                    "signedAt": format_time(evidence.signed_at),
                    "subject": evidence.leaf.subject.rfc4514_string(),
                }
                for evidence in self.integrity
            ],
        }


def verify_document(
    data: bytes | GeneralJWS | Mapping[str, Any],
    *,
    anchors: Sequence[x509.Certificate] | AnchorResolver,
    at: dt.datetime,
    schemas: DocumentSchemas,
    limits: Limits = DEFAULT_LIMITS,
    chain_check: Callable[[IntegrityEvidence], object] | None = None,
    profile: ValidationProfile = DEFAULT_PROFILE,
    content: ContentChecker | None = None,
) -> DocumentVerification:
    """Run the named checks on a signed document; never raises for bad input.

    ``chain_check`` replaces the plain ``validate_chain`` call of the chain check (the trust
    registry passes its memoised validation); it raises ``ProtocolError`` on failure.
    ``profile`` selects the content checks; ``content`` is the checker to use (default: one
    over ``schemas`` with the package's code lists).
    """
    require_aware(at, "at")
    result = DocumentVerification(profile=profile)
    # json: the container parses and is a well-formed General JWS
    try:
        jws = data if isinstance(data, GeneralJWS) else GeneralJWS.parse(data, limits=limits)
    except ProtocolError as error:
        result.fail("json", error)
        return result
    result.checks["json"] = CheckStatus.VALID
    result.jws = jws
    # integrity: each signature over the bytes as received
    evidence: list[IntegrityEvidence] = []
    try:
        seen: set[str] = set()
        for index in range(len(jws.signatures)):
            item = check_integrity(jws, index, typ=JWSType.DOCUMENT, limits=limits)
            if item.kid in seen:
                raise ProtocolError(ReasonCode.JWS_DUPLICATE_SIGNATURE, "one key signed twice")
            seen.add(item.kid)
            if item.signed_at > at + dt.timedelta(seconds=limits.max_clock_skew_seconds):
                raise ProtocolError(ReasonCode.SIGNING_TIME_INVALID,
                                    f"signed at {format_time(item.signed_at)}, in the future")
            evidence.append(item)
        result.checks["integrity"] = CheckStatus.VALID
        result.integrity = tuple(evidence)
    except ProtocolError as error:
        result.fail("integrity", error)
    # chain: only for signatures whose integrity held
    if result.checks["integrity"] is CheckStatus.VALID:
        try:
            chains = []
            for item in evidence:
                if chain_check is not None:
                    chain_check(item)
                    continue
                trusted = anchors(item) if callable(anchors) else anchors
                chains.append(validate_chain(item.leaf, item.intermediates, trusted,
                                             at=item.signed_at, usage=CertUsage.DOCUMENT_SIGNING,
                                             max_length=limits.max_chain_length))
            result.chains = tuple(chains)
            result.checks["chain"] = CheckStatus.VALID
        except ProtocolError as error:
            result.fail("chain", error)
    # schema: the payload is strict I-JSON and a valid document of its type (independent of
    # the signatures, so it runs even when they failed)
    try:
        payload = parse_json(jws.payload, max_bytes=limits.max_document_bytes,
                             max_depth=limits.max_depth)
        if isinstance(payload, dict):
            result.document = payload
        schemas.validate(payload)
        result.checks["schema"] = CheckStatus.VALID
    except ProtocolError as error:
        result.fail("schema", error)
    _content_checks(result, schemas, profile, content)
    return result


def _content_checks(result: DocumentVerification, schemas: DocumentSchemas,
                    profile: ValidationProfile, content: ContentChecker | None) -> None:
    """codes and arithmetic: DISABLED by the profile, SKIPPED without a schema-valid
    document, else VALID or INVALID."""
    wanted = {"codes": profile.checks_codes, "arithmetic": profile.checks_arithmetic}
    for name, enabled in wanted.items():
        if not enabled:
            result.checks[name] = CheckStatus.DISABLED
    document = result.document
    if result.checks["schema"] is not CheckStatus.VALID or document is None:
        return
    checker = content if content is not None else default_checker(schemas)
    if wanted["codes"]:
        try:
            checker.check_codes(document)
            result.checks["codes"] = CheckStatus.VALID
        except ContentError as error:
            result.fail("codes", error)
    if wanted["arithmetic"]:
        try:
            checker.check_arithmetic(document)
            result.checks["arithmetic"] = CheckStatus.VALID
        except ContentError as error:
            result.fail("arithmetic", error)
