"""TradeAccord trust registry: authorities, trust anchors, agreements, the recognition decision.

Pure and offline: depends on ``protocol`` only, performs no I/O and never reads the clock.
Everything that decides takes ``at`` (an aware UTC datetime).

- :class:`TrustRegistry` (``registry.py``): an immutable, versioned value; edits return a new
  value; ``to_dict``/``from_dict`` for the working file; signed snapshots with rollback and
  freeze protection.
- :func:`recognise` (``decision.py``): the numbered recognition steps, returning an
  :class:`Acceptance` or raising :class:`NotRecognisedError`.
- ``model.py``: :class:`Authority`, :class:`TrustAnchor`, :class:`Revocation`.
- ``agreements.py``: :class:`Agreement`, scope items, root signatures, status changes.
- ``reliability.py``, ``mapping.py``: reliability profiles and equivalence mappings.
- ``titles.py``: transferable records: the registry's answers for ``verify_chain`` (node
  keys, the ``transferable-records`` role) and :func:`verify_title`.
- ``errors.py``: the :class:`TrustError` tree.
"""

from trust_registry.agreements import (
    Agreement,
    AgreementRecord,
    AgreementStatus,
    Direction,
    PartySignature,
    ScopeItem,
    SignedAgreement,
    StatusChange,
    build_scope,
    countersign_agreement,
    propose_agreement,
    sign_status_change,
)
from trust_registry.decision import Acceptance, recognise
from trust_registry.errors import (
    AgreementError,
    MappingError,
    NotRecognisedError,
    SnapshotError,
    TitleChainError,
    TrustError,
)
from trust_registry.mapping import EquivalenceMapping, MappingSet
from trust_registry.model import (
    DEFAULT_REGISTRY_LIMITS,
    AgreementId,
    Authority,
    AuthorityId,
    ChainCache,
    DocType,
    RegistryLimits,
    Revocation,
    RevocationMatch,
    RevocationReason,
    TrustAnchor,
)
from trust_registry.registry import (
    REGISTRY_FORMAT,
    SNAPSHOT_FORMAT_VERSION,
    RegistryIndex,
    TrustRegistry,
)
from trust_registry.reliability import Criterion, ReliabilityProfile, require
from trust_registry.titles import (
    TRANSFERABLE_RECORDS_ROLE,
    RegistryTitleTrust,
    current_holder,
    verify_title,
)

__all__ = [
    "DEFAULT_REGISTRY_LIMITS",
    "REGISTRY_FORMAT",
    "SNAPSHOT_FORMAT_VERSION",
    "TRANSFERABLE_RECORDS_ROLE",
    "Acceptance",
    "Agreement",
    "AgreementError",
    "AgreementId",
    "AgreementRecord",
    "AgreementStatus",
    "Authority",
    "AuthorityId",
    "ChainCache",
    "Criterion",
    "Direction",
    "DocType",
    "EquivalenceMapping",
    "MappingError",
    "MappingSet",
    "NotRecognisedError",
    "PartySignature",
    "RegistryIndex",
    "RegistryLimits",
    "RegistryTitleTrust",
    "ReliabilityProfile",
    "Revocation",
    "RevocationMatch",
    "RevocationReason",
    "ScopeItem",
    "SignedAgreement",
    "SnapshotError",
    "StatusChange",
    "TitleChainError",
    "TrustAnchor",
    "TrustError",
    "TrustRegistry",
    "build_scope",
    "countersign_agreement",
    "current_holder",
    "propose_agreement",
    "recognise",
    "require",
    "sign_status_change",
    "verify_title",
]
