"""A declaration's history drawn across both countries: each event in its lane.

The joint status's ``timeline`` holds what happened at the exporting customs (submission,
the export decision), what crossed the border (forwarding, the import decision travelling
back, deliveries and failures) and what happened at the importing customs (the import
decision). ``lanes`` places each entry in ``export``, ``between`` or ``import`` so that the
page can draw the two countries side by side with the border between them. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from node.console.presentation import state_class

_BETWEEN = frozenset({"forward-queued", "forward-delivered", "forward-failed",
                      "forward-retried", "received", "decision-queued", "decision-delivered",
                      "decision-not-delivered"})
_WORDS = {
    "submitted": "Declaration submitted", "export-released": "Export: released",
    "export-held": "Export: held for an officer", "export-rejected": "Export: rejected",
    "forward-queued": "Forwarded to the importing customs",
    "forward-delivered": "Forwarding delivered, receipt signed",
    "forward-failed": "Forwarding failed", "forward-retried": "Forwarding retried",
    "received": "Received from the exporting customs",
    "import-released": "Import: released", "import-held": "Import: held for an officer",
    "import-rejected": "Import: rejected",
    "import-not-recognised": "Import: the declaration was not recognised",
    "decision-queued": "Import decision sent back",
    "decision-delivered": "Import decision delivered",
    "decision-not-delivered": "Import decision not delivered",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One event placed in its lane."""

    lane: str
    at: str
    title: str
    by: str
    tone: str
    details: tuple[tuple[str, str], ...]


def lane_of(event: str) -> str:
    if event in _BETWEEN:
        return "between"
    if event.startswith("import") or event.startswith("decision"):
        return "import"
    return "export"


def _tone(event: str) -> str:
    for word in ("released", "rejected", "held", "failed", "not-recognised", "delivered"):
        if event.endswith(word):
            return state_class({"not-recognised": "rejected",
                                "failed": "failed"}.get(word, word))
    return "neutral"


def _details(details: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    shown = []
    for name in ("reason", "reasons", "findings", "messageId", "error", "decisionId"):
        value = details.get(name)
        if value in (None, "", []):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v if not isinstance(v, Mapping) else v.get("ruleId", v))
                              for v in value)
        shown.append((name, str(value)))
    return tuple(shown)


def lanes(timeline: Sequence[Mapping[str, Any]]) -> list[Entry]:
    """The timeline's entries, in order, each with its lane."""
    return [Entry(lane=lane_of(str(item.get("event", ""))), at=str(item.get("at", "")),
                  title=_WORDS.get(str(item.get("event")), str(item.get("event"))),
                  by=str(item.get("by", "")), tone=_tone(str(item.get("event", ""))),
                  details=_details(item.get("details") or {}))
            for item in timeline]
