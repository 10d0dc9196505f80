"""TradeAccord clearance rules: export reconciliation and import clearance, as data.

Pure and offline: depends on ``protocol`` only, performs no I/O beyond reading its rule
files when asked (``load``), and never reads the clock. Both engines decide over parsed
documents, so an officer's laptop can replay a decision without a node.

- ``reconciliation.py``: :class:`RuleSet` (``rules/export-reconciliation-1.0.json``) and
  :func:`reconcile`, which checks that a declaration package tells one story (parties,
  goods, values, references, transport, dates) and returns :class:`Finding` values.
- ``import_rules.py``: :class:`ImportRuleSet` (``rules/import-clearance-1.0.json``) and
  :func:`assess_import`, which applies the importing customs' rules (tariff preference,
  plant health) to a forwarded declaration and its :class:`CertificateFact` values.
- ``findings.py``: :class:`Finding`, :class:`Subject`, :class:`Severity` — the finding
  object of ``clearance-decision`` 1.1.
- ``errors.py``: :class:`ClearanceRulesError`, for a rule file refused at load.

Rule files are validated against the JSON Schemas in ``schemas/`` when loaded; see
``docs/decisions/0011-clearance-rules-package.md`` for the design.
"""

from clearance.errors import ClearanceRulesError
from clearance.findings import Finding, Severity, Subject
from clearance.import_rules import (
    CertificateFact,
    ImportAssessment,
    ImportDecision,
    ImportRuleSet,
    PreferenceOutcome,
    assess_import,
)
from clearance.reconciliation import RuleSet, reconcile

__all__ = [
    "CertificateFact",
    "ClearanceRulesError",
    "Finding",
    "ImportAssessment",
    "ImportDecision",
    "ImportRuleSet",
    "PreferenceOutcome",
    "RuleSet",
    "Severity",
    "Subject",
    "assess_import",
    "reconcile",
]
