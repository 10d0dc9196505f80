"""Transferable records (electronic bills of lading) at this node (no HTTP here).

- ``states``: the node's state machine of a record (pure).
- ``records``: rows, chains, verification against the registry, views.
- ``operations``: issue; transfer, endorse, blank-endorse, surrender; the carrier's answer.
- ``peer``: ``title-transfer`` envelopes received, and custody requests refused.

The chain itself (entries, signatures, the title state machine, ``require_extension``) is
``protocol.title_entry``/``protocol.title_chain``; the registry's trust is
``trust_registry.titles``. See ``docs/decisions/0021-transferable-records-on-the-node.md``.
"""

from __future__ import annotations

from node.services.titles.operations import FLOW, TitleOperation, act, issue
from node.services.titles.peer import custody_request_failed, plan_message
from node.services.titles.records import brief, chain_of, list_rows, summary, visible_row
from node.services.titles.states import TitleNodeState

__all__ = ["FLOW", "TitleNodeState", "TitleOperation", "act", "brief", "chain_of",
           "custody_request_failed", "issue", "list_rows", "plan_message", "summary",
           "visible_row"]
