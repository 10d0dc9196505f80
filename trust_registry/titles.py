"""Transferable records against the trust registry: who signed a bill and its title chain.

``protocol.title_chain.verify_chain`` decides everything a title chain says by itself; the
two questions it cannot answer come here, pure and at the signatures' own times:

- ``check_issuer``: is the bill's signer a document signer of its issuer, and does the
  issuer hold the ``transferable-records`` role? Steps: (1) the issuer is a registry
  authority (``ISSUER_UNKNOWN``); (2) it holds the role (``ISSUER_ROLE_MISSING``); (3) the
  signer chain validates at the signing time, usage ``DOCUMENT_SIGNING``, to the issuer's
  anchors registry-valid then (the chain's code, ``ANCHOR_NOT_VALID``); (4) the signer
  certificate was not revoked at or before the signing time (``CERT_REVOKED``).
- ``check_node``: is an entry's signer a node key of the authority it names? Steps: (1) the
  authority is in the registry (``CHAIN_UNTRUSTED``); (2) the chain validates at the signing
  time, usage ``ENVELOPE_SIGNING`` (the node certificate's extended key usage), to that
  authority's anchors registry-valid then; (3) not revoked then (``CERT_REVOKED``).

A node key is recognised by its chain, not by the registry's current list of node
certificates: a title chain outlives node certificate rotations (ADR 0015). Chain checks go
through the registry's ``ChainCache`` as ``verification.cached_chain_check`` does, so a
long chain signed by a few nodes costs a few certificate validations.

``verify_title`` runs ``verify_chain`` with this trust and raises ``TitleChainError`` (a
``TrustError``) with the code of any refusal; ``current_holder`` is what an importing
customs asks of a record a declaration references.
"""

from __future__ import annotations

import datetime as dt

from protocol.certificates import CertUsage
from protocol.documents import DocumentSchemas
from protocol.errors import CertificateError, ProtocolError, TitleError
from protocol.jws import IntegrityEvidence
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time
from protocol.title_chain import TitleEvidence, verify_chain
from protocol.title_entry import TitleRecord
from trust_registry.errors import TitleChainError, TrustError
from trust_registry.registry import AuthorityEntry, TrustRegistry

__all__ = ["TRANSFERABLE_RECORDS_ROLE", "RegistryTitleTrust", "current_holder", "verify_title"]

TRANSFERABLE_RECORDS_ROLE = "transferable-records"


class RegistryTitleTrust:
    """``protocol.title_chain.TitleTrust`` answered by a registry value (see the module
    docstring). Refusals are ``TitleError``s, as ``verify_chain`` expects of its trust."""

    __slots__ = ("_limits", "_registry")

    def __init__(self, registry: TrustRegistry, *, limits: Limits = DEFAULT_LIMITS) -> None:
        self._registry = registry
        self._limits = limits

    def check_issuer(self, evidence: IntegrityEvidence, issuer: str) -> None:
        # Step 1
        entry = self._registry.index.authorities.get(issuer)
        if entry is None:
            raise TitleError(ReasonCode.ISSUER_UNKNOWN, f"{issuer} is not in the registry",
                             issuer=issuer)
        # Step 2
        if TRANSFERABLE_RECORDS_ROLE not in entry.authority.roles:
            raise TitleError(ReasonCode.ISSUER_ROLE_MISSING,
                             f"{issuer} lacks the {TRANSFERABLE_RECORDS_ROLE} role needed to "
                             "issue a transferable record", issuer=issuer,
                             roles=list(entry.authority.roles))
        # Steps 3 and 4
        self._validate(entry, evidence, CertUsage.DOCUMENT_SIGNING)

    def check_node(self, evidence: IntegrityEvidence, authority: str) -> None:
        # Step 1
        entry = self._registry.index.authorities.get(authority)
        if entry is None:
            raise TitleError(ReasonCode.CHAIN_UNTRUSTED,
                             f"{authority} is not in the registry", authority=authority)
        # Steps 2 and 3
        self._validate(entry, evidence, CertUsage.ENVELOPE_SIGNING)

    def _validate(self, entry: AuthorityEntry, evidence: IntegrityEvidence,
                  usage: CertUsage) -> None:
        cache = self._registry.chain_cache
        info = cache.cert_info(evidence.leaf)
        try:
            entry.validate(cache, evidence.leaf, evidence.intermediates, at=evidence.signed_at,
                           usage=usage, max_length=self._limits.max_chain_length,
                           leaf_fingerprint=info.fingerprint)
        except CertificateError as error:
            raise TitleError(error.code, f"{entry.authority.id} {usage.value}: {error.message}",
                             **error.context) from error
        except TrustError as error:
            raise TitleError(error.code, error.message, **error.context) from error
        revoked_from = entry.revoked_from(info)
        if revoked_from is not None and revoked_from <= evidence.signed_at:
            raise TitleError(ReasonCode.CERT_REVOKED,
                             f"the certificate was revoked from {format_time(revoked_from)}; "
                             f"signed at {format_time(evidence.signed_at)}",
                             certificate=info.fingerprint)


def verify_title(
    record: TitleRecord,
    *,
    registry: TrustRegistry,
    at: dt.datetime,
    schemas: DocumentSchemas,
    limits: Limits = DEFAULT_LIMITS,
    known_head: str | None = None,
    allow_pending_countersignature: bool = False,
) -> TitleEvidence:
    """Verify a title record offline against ``registry`` at ``at``; return the evidence.

    Any refusal (``verify_chain``'s or the registry's) raises ``TitleChainError`` with its
    code, chained to the original.
    """
    try:
        return verify_chain(record.bill, record.entries,
                            trust=RegistryTitleTrust(registry, limits=limits), at=at,
                            schemas=schemas, limits=limits, known_head=known_head,
                            allow_pending_countersignature=allow_pending_countersignature)
    except ProtocolError as error:
        raise TitleChainError.from_protocol(error) from error


def current_holder(record: TitleRecord, *, registry: TrustRegistry, at: dt.datetime,
                   schemas: DocumentSchemas, limits: Limits = DEFAULT_LIMITS) -> str:
    """The party that holds the title of a verified record (``TitleChainError`` if the
    record does not verify). What the chain proves is the state it ends with: for the
    latest state, ask the record's control registry (ADR 0015)."""
    return verify_title(record, registry=registry, at=at, schemas=schemas,
                        limits=limits).holder
