"""TradeAccord clearance rules: export reconciliation and import clearance, as data.

Pure and offline: depends on ``protocol`` only, performs no I/O beyond reading its rule
files when asked (``load``), and never reads the clock.

- ``reconciliation.py``: :class:`RuleSet` (``rules/export-reconciliation-1.0.json``) and
  :func:`reconcile`, which checks that a declaration package tells one story (parties,
  goods, values, references, transport, dates) and returns :class:`Finding` values.
- ``findings.py``: :class:`Finding`, :class:`Subject`, :class:`Severity` — the finding
  object of ``clearance-decision`` 1.1.
- ``errors.py``: :class:`ClearanceRulesError`, for a rule file refused at load.
"""

from clearance.errors import ClearanceRulesError
from clearance.findings import Finding, Severity, Subject
from clearance.reconciliation import RuleSet, reconcile

__all__ = ["ClearanceRulesError", "Finding", "RuleSet", "Severity", "Subject", "reconcile"]
