"""A transferable record's state at one node (pure: no I/O).

The chain says who holds the title and which node holds custody
(``protocol.title_chain.TitleStatus``); a node adds what only it knows: that it signed a
custody change the control registry has not yet recorded. The node's states::

    active ──(entry kept here: transfer, endorse, blank-endorse)──► active
    active ──(custody change signed here, sent to the control registry)──► pending-custody
    pending-custody ──(custody-granted)──► transferred-away
                    ──(refused by the control registry)──► active
    active ──(surrender at the control registry's node)──► surrendered
    surrendered ──(carrier accepts)──► accomplished                           (final)
                ──(carrier rejects)──► active | transferred-away
    transferred-away ──(custody-transfer naming this node)──► active | surrendered

While ``pending-custody`` the node refuses every action (``TITLE_CONFLICT``: a change is
under way); ``transferred-away`` refuses with ``TITLE_SIGNER_NOT_CUSTODIAN`` (another node
holds custody now); ``surrendered`` admits only the carrier's answer and ``accomplished``
nothing (``TITLE_RECORD_INACTIVE``).
"""

from __future__ import annotations

from enum import StrEnum

from node.errors import ConflictError
from protocol.errors import TitleError
from protocol.reason_codes import ReasonCode
from protocol.title_chain import TitleStatus

__all__ = ["TitleNodeState", "node_state", "require_actionable"]


class TitleNodeState(StrEnum):
    ACTIVE = "active"
    PENDING_CUSTODY = "pending-custody"
    SURRENDERED = "surrendered"
    ACCOMPLISHED = "accomplished"
    TRANSFERRED_AWAY = "transferred-away"


def node_state(status: TitleStatus, custodian: str, authority_id: str) -> TitleNodeState:
    """The state at ``authority_id`` of a record whose verified chain ends in ``status`` with
    ``custodian`` (no change pending here)."""
    if status is TitleStatus.ACCOMPLISHED:
        return TitleNodeState.ACCOMPLISHED
    if custodian != authority_id:
        return TitleNodeState.TRANSFERRED_AWAY
    if status is TitleStatus.SURRENDERED:
        return TitleNodeState.SURRENDERED
    return TitleNodeState.ACTIVE


def require_actionable(state: TitleNodeState, *, record_id: str, custodian: str,
                       surrender_answer: bool = False) -> None:
    """Refuse an action on a record in ``state`` (module docstring); ``surrender_answer``:
    the carrier answering a surrender, the one action a surrendered record admits."""
    if state is TitleNodeState.PENDING_CUSTODY:
        raise ConflictError(ReasonCode.TITLE_CONFLICT,
                            f"a custody change of {record_id} awaits the control registry")
    if state is TitleNodeState.TRANSFERRED_AWAY:
        raise TitleError(ReasonCode.TITLE_SIGNER_NOT_CUSTODIAN,
                         f"{record_id} was transferred away; {custodian} holds custody",
                         custodian=custodian)
    if state is TitleNodeState.ACCOMPLISHED or (
            state is TitleNodeState.SURRENDERED and not surrender_answer):
        raise TitleError(ReasonCode.TITLE_RECORD_INACTIVE,
                         f"{record_id} is {state.value}; it admits no action")
    if surrender_answer and state is not TitleNodeState.SURRENDERED:
        raise TitleError(ReasonCode.TITLE_ENTRY_INVALID,
                         f"{record_id} is {state.value}: no surrender is pending")
