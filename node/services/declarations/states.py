"""The single-declaration state machine (pure: no I/O).

A declaration is held twice: at the exporting customs (``side`` export — the trader's
*joint status*: both decisions, the forwarding, the preference outcome) and at the
importing customs (``side`` import). Its overall state moves only along these edges::

    submit ──► export-held ──(officer releases)──► forwarding
       │            └──────(officer rejects)──► export-rejected            (final)
       └─(released by the rules)──► forwarding
    forwarding ──(receipt: declaration recognised)──► awaiting-import
               ──(receipt: declaration not recognised)──► import-rejected   (final)
               ──(dead letter / refused)──► forwarding-failed ──(operator retry)──► forwarding
    awaiting-import, forwarding ──(import decision released)──► cleared     (final)
                                ──(import decision held)──► import-held
                                ──(import decision rejected)──► import-rejected
    import-held ──(import decision released / rejected)──► cleared / import-rejected

At the importing customs a declaration is created by the forwarded envelope directly in
``import-held`` or ``cleared`` (its export decision is ``released`` by construction) and
moves ``import-held → cleared | import-rejected`` by an officer's decision.

An import decision may overtake the forwarding receipt (both travel independently), so the
import-decision edges also leave ``forwarding``. A transition not listed is refused with
``STATE_INVALID``: an officer cannot release what is not held, a final state never moves.
"""

from __future__ import annotations

from enum import StrEnum

from node.errors import ConflictError
from protocol.reason_codes import ReasonCode


class DeclarationSide(StrEnum):
    """Which customs holds this copy of the declaration."""

    EXPORT = "export"
    IMPORT = "import"


class Decision(StrEnum):
    """One customs administration's decision on the declaration."""

    PENDING = "pending"
    RELEASED = "released"
    HELD = "held"
    REJECTED = "rejected"


class DeclarationState(StrEnum):
    """The overall state (see the module docstring for the edges)."""

    EXPORT_HELD = "export-held"
    EXPORT_REJECTED = "export-rejected"
    FORWARDING = "forwarding"
    FORWARDING_FAILED = "forwarding-failed"
    AWAITING_IMPORT = "awaiting-import"
    IMPORT_HELD = "import-held"
    IMPORT_REJECTED = "import-rejected"
    CLEARED = "cleared"

    @property
    def final(self) -> bool:
        return self in _FINAL


class Step(StrEnum):
    """What happened, as the state machine sees it."""

    EXPORT_HELD = "export-held"
    EXPORT_RELEASED = "export-released"
    EXPORT_REJECTED = "export-rejected"
    FORWARD_RECOGNISED = "forward-recognised"
    FORWARD_NOT_RECOGNISED = "forward-not-recognised"
    FORWARD_FAILED = "forward-failed"
    FORWARD_RETRIED = "forward-retried"
    IMPORT_HELD = "import-held"
    IMPORT_RELEASED = "import-released"
    IMPORT_REJECTED = "import-rejected"


class DocumentPart(StrEnum):
    """The part a document plays in a declaration."""

    DECLARATION = "declaration"
    SUPPORTING = "supporting"
    CERTIFICATE = "certificate"
    REFERENCED = "referenced"
    EXPORT_DECISION = "export-decision"
    IMPORT_DECLARATION = "import-declaration"
    IMPORT_DECISION = "import-decision"


_S = DeclarationState
_FINAL = frozenset({_S.EXPORT_REJECTED, _S.IMPORT_REJECTED, _S.CLEARED})
_IMPORT_FROM = (_S.FORWARDING, _S.AWAITING_IMPORT, _S.IMPORT_HELD)

_EDGES: dict[tuple[DeclarationState | None, Step], DeclarationState] = {
    (None, Step.EXPORT_HELD): _S.EXPORT_HELD,
    (None, Step.EXPORT_RELEASED): _S.FORWARDING,
    (_S.EXPORT_HELD, Step.EXPORT_RELEASED): _S.FORWARDING,
    (_S.EXPORT_HELD, Step.EXPORT_REJECTED): _S.EXPORT_REJECTED,
    (_S.FORWARDING, Step.FORWARD_RECOGNISED): _S.AWAITING_IMPORT,
    (_S.FORWARDING, Step.FORWARD_NOT_RECOGNISED): _S.IMPORT_REJECTED,
    (_S.FORWARDING, Step.FORWARD_FAILED): _S.FORWARDING_FAILED,
    (_S.FORWARDING_FAILED, Step.FORWARD_RETRIED): _S.FORWARDING,
    # at the importing customs, the forwarded envelope creates the declaration
    (None, Step.IMPORT_HELD): _S.IMPORT_HELD,
    (None, Step.IMPORT_RELEASED): _S.CLEARED,
    **{(state, Step.IMPORT_HELD): _S.IMPORT_HELD for state in _IMPORT_FROM},
    **{(state, Step.IMPORT_RELEASED): _S.CLEARED for state in _IMPORT_FROM},
    **{(state, Step.IMPORT_REJECTED): _S.IMPORT_REJECTED for state in _IMPORT_FROM},
}


def next_state(current: DeclarationState | None, step: Step) -> DeclarationState:
    """The state after ``step`` from ``current`` (``None``: not created yet), or
    ``ConflictError(STATE_INVALID)`` when the machine has no such edge."""
    found = _EDGES.get((current, step))
    if found is None:
        where = current.value if current is not None else "a new declaration"
        raise ConflictError(ReasonCode.STATE_INVALID,
                            f"{step.value} is not possible from {where}")
    return found


def can(current: DeclarationState | None, step: Step) -> bool:
    """Whether ``step`` is an edge from ``current``."""
    return (current, step) in _EDGES


CERTIFICATE_TYPES = frozenset({"certificate-of-origin", "phytosanitary-certificate"})
SUPPORTING_TYPES = frozenset({"commercial-invoice", "purchase-order", "transport-document",
                              "bill-of-lading", "payment-record"})
