"""The recognition decision: is a foreign signed document recognised by ``receiver`` at ``at``?

``recognise`` is pure and fast: the same function serves the node's receiving path, the CLI
and offline verification. It takes the parsed document header and the *integrity evidence*
of the issuer's signature (``protocol.jws.check_integrity(jws, 0, typ=JWSType.DOCUMENT)``:
the bytes verified against the key in ``x5c``; trust is decided here), and returns an
:class:`Acceptance` naming the agreement, clause, anchor and registry version used, or raises
``NotRecognisedError`` with reason codes.

Steps (each code block below carries its number):

1. Inputs: ``at`` is timezone-aware; ``evidence`` is signature 0; the header holds string
   ``issuer`` and ``type`` (``SCHEMA_INVALID``); the signing time is not later than ``at``
   plus the allowed clock skew (``SIGNING_TIME_INVALID``).
2. The issuer is a registry authority (``ISSUER_UNKNOWN``).
3. The signer certificate names the issuer: ``authority_id_of(leaf) == issuer``
   (``ISSUER_MISMATCH``).
4. The chain validates (``validate_chain``, usage ``DOCUMENT_SIGNING``) at the signing time
   against the issuer's anchors that are registry-valid at the signing time; the code of
   ``validate_chain`` on failure, ``ANCHOR_NOT_VALID`` when only an anchor outside its
   window would have ended the path. Memoised in the registry's ``ChainCache`` by
   (leaf, intermediates, anchors) fingerprints: a repeated signer costs no signature check.
5. The signer certificate is not revoked with an effective time at or before the signing
   time (``CERT_REVOKED``); a revocation effective later leaves earlier signatures valid.
6. The issuer holds a registry role that the document type requires, if it requires one
   (``ISSUER_ROLE_MISSING``; see ``roles.py``: a certificate of origin only from an
   ``origin`` authority, a phytosanitary certificate only from ``plant-protection``).
7. Some agreement binds issuer and receiver (``NO_AGREEMENT``).
8. A scope item covers the document type from issuer to receiver
   (``DIRECTION_NOT_COVERED`` when only receiver → issuer is covered, else
   ``DOC_TYPE_NOT_COVERED``).

   Steps 9–11 run for each candidate clause in a fixed order — the agreement with the
   latest ``validFrom`` first, then by ``agreementId``, then by clause index — and the first
   candidate that passes them all is applied:

9. The agreement is signed by both parties' roots (``AGREEMENT_NOT_IN_FORCE``).
10. The agreement is in force both at the signing time and at ``at``: inside
    ``[max(validFrom, countersignature), validUntil)`` and neither suspended nor terminated
    (``AGREEMENT_NOT_YET_VALID``, ``AGREEMENT_EXPIRED``, ``AGREEMENT_NOT_IN_FORCE``,
    ``AGREEMENT_SUSPENDED``, ``AGREEMENT_TERMINATED``). See
    ``docs/decisions/0006-agreement-time-rules.md``.
11. The issuer's declared reliability profile meets the clause's minimum
    (``RELIABILITY_INSUFFICIENT``, via ``reliability.require``).
12. Accept. If no candidate passes, the error carries the first candidate's code, and the
    other candidates' codes as further codes.

Cost: dict lookups on indexes built once per registry value, a bisect per time window, and
no signature verification once the signer's chain is cached, so the decision does not grow
with the number of authorities or agreements (``bench/registry_decision.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from protocol.certificates import CertUsage
from protocol.errors import CertificateError
from protocol.jws import IntegrityEvidence, JWSType
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time, require_aware
from trust_registry.errors import NotRecognisedError, TrustError
from trust_registry.model import AgreementId, AuthorityId, DocType
from trust_registry.registry import TrustRegistry
from trust_registry.reliability import require
from trust_registry.roles import ISSUER_ROLES as _ISSUER_ROLES

# Plain values for the hot path (enum attribute lookups cost more than the comparisons).
_DATETIME = dt.datetime
_DOCUMENT_TYP = JWSType.DOCUMENT.value
_DOCUMENT_SIGNING = CertUsage.DOCUMENT_SIGNING


@dataclass(frozen=True, slots=True, kw_only=True)
class Acceptance:
    """A positive decision: what was applied, for the receipt and the audit log."""

    agreement_id: AgreementId
    clause: int
    issuer: AuthorityId
    receiver: AuthorityId
    document_type: DocType
    recognised_as: DocType
    mapping_id: str | None
    anchor_fingerprint: str
    registry_version: int
    signed_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "agreementId": self.agreement_id,
            "clause": self.clause,
            "issuer": self.issuer,
            "receiver": self.receiver,
            "documentType": self.document_type,
            "recognisedAs": self.recognised_as,
            "mappingId": self.mapping_id,
            "anchorFingerprint": self.anchor_fingerprint,
            "registryVersion": self.registry_version,
            "signedAt": format_time(self.signed_at),
        }


def _refuse(code: ReasonCode, message: str, *, more: tuple[ReasonCode, ...] = (),
            **context: Any) -> NotRecognisedError:
    return NotRecognisedError(code, message, more_codes=more, **context)


def recognise(
    registry: TrustRegistry,
    *,
    receiver: str,
    document: Mapping[str, Any],
    evidence: IntegrityEvidence,
    at: dt.datetime,
    limits: Limits = DEFAULT_LIMITS,
) -> Acceptance:
    """Decide whether ``receiver`` recognises ``document`` (signed as ``evidence`` says) at ``at``.

    Returns an :class:`Acceptance` or raises ``NotRecognisedError``; see the module docstring
    for the numbered steps.
    """
    # Step 1: inputs
    if type(at) is not _DATETIME or at.tzinfo is None:
        require_aware(at, "at")
    if evidence.index != 0 or evidence.typ != _DOCUMENT_TYP:
        raise ValueError("recognise takes the integrity evidence of the issuer's signature "
                         "(signatures[0] of a document JWS)")
    issuer = document.get("issuer")
    document_type = document.get("type")
    if type(issuer) is not str or type(document_type) is not str:
        raise _refuse(ReasonCode.SCHEMA_INVALID, "the document header lacks a string issuer or type")
    signed_at = evidence.signed_at
    if (signed_at - at).total_seconds() > limits.max_clock_skew_seconds:
        raise _refuse(ReasonCode.SIGNING_TIME_INVALID,
                      f"signed at {format_time(signed_at)}, after {format_time(at)}")
    index = registry.index

    # Step 2: the issuer is known
    entry = index.authorities.get(issuer)
    if entry is None:
        raise _refuse(ReasonCode.ISSUER_UNKNOWN, f"{issuer} is not in the registry", issuer=issuer)

    # Step 3: the signer certificate names the issuer
    cache = registry.chain_cache
    leaf = evidence.leaf
    info = cache.cert_info(leaf)
    if info.authority_id != issuer:
        raise _refuse(ReasonCode.ISSUER_MISMATCH,
                      f"the document names {issuer} but the signer certificate names "
                      f"{info.authority_id}", issuer=issuer, signer=info.authority_id)

    # Step 4: the chain, at the signing time, to an anchor valid then
    try:
        anchor_fingerprint = entry.validate(cache, leaf, evidence.intermediates, at=signed_at,
                                            usage=_DOCUMENT_SIGNING,
                                            max_length=limits.max_chain_length,
                                            leaf_fingerprint=info.fingerprint)
    except CertificateError as error:
        raise _refuse(error.code, f"signer chain: {error.message}", **error.context) from error
    except TrustError as error:
        raise _refuse(error.code, error.message, more=error.more_codes, **error.context) from error

    # Step 5: revocation
    revoked_from = entry.revoked_from(info) if (entry.revoked_fingerprints
                                                or entry.revoked_serials) else None
    if revoked_from is not None and revoked_from <= signed_at:
        raise _refuse(ReasonCode.CERT_REVOKED,
                      f"the signer certificate was revoked from {format_time(revoked_from)}; "
                      f"signed at {format_time(signed_at)}", certificate=info.fingerprint)

    # Step 6: the issuer holds the role the document type requires
    required = _ISSUER_ROLES.get(document_type)
    if required is not None and required.isdisjoint(entry.authority.roles):
        raise _refuse(ReasonCode.ISSUER_ROLE_MISSING,
                      f"{issuer} holds the roles {list(entry.authority.roles)}; a "
                      f"{document_type} needs one of {sorted(required)}",
                      issuer=issuer, document_type=document_type)

    # Step 7: an agreement binds issuer and receiver
    clauses = index.clauses.get((issuer, receiver, document_type))
    if clauses is None:
        if (issuer, receiver) not in index.pairs:
            raise _refuse(ReasonCode.NO_AGREEMENT, f"no agreement binds {issuer} and {receiver}",
                          issuer=issuer, receiver=receiver)
        # Step 8: a scope item covers the type in this direction
        if (receiver, issuer, document_type) in index.clauses:
            raise _refuse(ReasonCode.DIRECTION_NOT_COVERED,
                          f"{document_type} is covered only from {receiver} to {issuer}",
                          document_type=document_type)
        raise _refuse(ReasonCode.DOC_TYPE_NOT_COVERED,
                      f"no agreement between {issuer} and {receiver} covers {document_type}",
                      document_type=document_type)

    failures: list[tuple[ReasonCode, str]] = []
    for clause in clauses:
        record = clause.record
        # Step 9: signed by both roots
        if not record.is_dual_signed:
            failures.append((ReasonCode.AGREEMENT_NOT_IN_FORCE,
                             f"{clause.agreement_id} is only proposed"))
            continue
        # Step 10: in force at the signing time and at the decision time
        code = record.refusal_at(signed_at)
        if code is not None:
            failures.append((code, f"{clause.agreement_id} at the signing time "
                                   f"{format_time(signed_at)}"))
            continue
        code = record.refusal_at(at)
        if code is not None:
            failures.append((code, f"{clause.agreement_id} at the decision time {format_time(at)}"))
            continue
        # Step 11: reliability (met or not is fixed per registry value: see RegistryIndex)
        if not clause.issuer_meets_minimum:
            try:
                require(entry.authority.reliability, clause.minimum_reliability)
            except TrustError as error:
                failures.append((error.code, f"{clause.agreement_id} clause {clause.index}: "
                                             f"{error.message}"))
                continue
        # Step 12: accept
        return Acceptance(
            agreement_id=record.agreement_id,
            clause=clause.index,
            issuer=clause.issuer,
            receiver=clause.receiver,
            document_type=clause.document_type,
            recognised_as=clause.recognised_as,
            mapping_id=clause.mapping_id,
            anchor_fingerprint=anchor_fingerprint,
            registry_version=registry.version,
            signed_at=signed_at,
        )
    # Step 12: no candidate passed
    first_code, _ = failures[0]
    raise _refuse(first_code, "; ".join(message for _, message in failures),
                  more=tuple(code for code, _ in failures[1:]),
                  issuer=issuer, receiver=receiver, document_type=document_type)
