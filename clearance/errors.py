"""The one error of the clearance package.

::

    ValueError
    └── ClearanceRulesError   a rule file is unreadable, not strict JSON, breaks its schema,
                              or is inconsistent (duplicate rule ids, ...)

Rule files are our own data, shipped with the package or chosen by the operator, so a bad
one is a defect to fix, not a refusal of a trader's input: it derives from ``ValueError``
and carries no reason code. The rules themselves never raise on a document; what they
find is reported as :class:`~clearance.findings.Finding` values. Misuse by our own code
(no declaration in a package, a document that is not an object) raises ``ValueError``.
"""

from __future__ import annotations

__all__ = ["ClearanceRulesError"]


class ClearanceRulesError(ValueError):
    """A rule file was refused at load.

    ``file`` names the file (``None`` for data given in memory); ``pointer`` is the RFC 6901
    pointer of the offending member in the file (``""`` for the whole file, ``None`` when
    the file could not be read or parsed).
    """

    def __init__(self, message: str, *, file: str | None = None, pointer: str | None = None) -> None:
        where = f"{file}: " if file else ""
        at = f" (at {pointer or '/'})" if pointer is not None else ""
        super().__init__(f"{where}{message}{at}")
        self.message = message
        self.file = file
        self.pointer = pointer
