"""Evidence bundles: a decision's signed documents, chains, registry, receipts, statements,
decisions and audit entries, sealed in one signed ZIP that anyone can re-check offline.

Pure (no I/O beyond the bytes given, no clock, no database): it depends on ``protocol`` and
``trust_registry`` only, like ``clearance``; the node gathers the parts and signs
(``node.services.evidence_export``), and ``tradeaccord evidence verify`` checks a bundle
with no node running. Format: ``docs/evidence.md``; why a package of its own:
``docs/decisions/0025-evidence-bundles.md``.
"""

from __future__ import annotations

from evidence.bundle import FORMAT, BundleFile, Manifest, Role, SubjectKind, build_bundle
from evidence.errors import EvidenceError
from evidence.verify import EvidenceReport, verify_bundle

__all__ = ["FORMAT", "BundleFile", "EvidenceError", "EvidenceReport", "Manifest", "Role",
           "SubjectKind", "build_bundle", "verify_bundle"]
