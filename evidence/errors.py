"""The evidence package's exception tree.

::

    EvidenceError                 every refusal of an evidence bundle; carries a ReasonCode
                                  (EVIDENCE_INVALID, EVIDENCE_TAMPERED) and ``path``: the
                                  file of the bundle that broke

Misuse by calling code raises ``ValueError`` or ``TypeError``.
"""

from __future__ import annotations

from typing import Any

from protocol.errors import CodedError
from protocol.reason_codes import ReasonCode


class EvidenceError(CodedError):
    """An evidence bundle refused; ``path`` names the bundle file that broke."""

    def __init__(self, code: ReasonCode, message: str, *, path: str = "",
                 **context: Any) -> None:
        super().__init__(code, message, path=path, **context)
        self.path = path
