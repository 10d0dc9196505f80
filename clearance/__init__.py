"""TradeAccord clearance rules: export reconciliation and import clearance, as data.

Pure and offline: depends on ``protocol`` only, performs no I/O beyond reading its rule
files when asked, and never reads the clock.

- ``findings.py``: :class:`Finding`, :class:`Subject`, :class:`Severity` — the finding
  object of ``clearance-decision`` 1.1.
- ``errors.py``: :class:`ClearanceRulesError`, for a rule file refused at load.
"""

from clearance.errors import ClearanceRulesError
from clearance.findings import Finding, Severity, Subject

__all__ = ["ClearanceRulesError", "Finding", "Severity", "Subject"]
