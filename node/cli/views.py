"""Plain-text views of what a node answers: tables with headers, documents as people read
them. Pure formatting (no I/O, no heavy imports); the commands print the lines."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

NOTHING = "-"


def table(columns: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]],
          empty: str) -> list[str]:
    """A header line and one line per row (``columns``: (header, key)); ``empty`` (an
    explicit "nothing found") when there are no rows. Columns are as wide as their
    widest cell; the last one is not padded."""
    if not rows:
        return [empty]
    cells = [[_cell(row.get(key)) for _, key in columns] for row in rows]
    headers = [header for header, _ in columns]
    widths = [max(len(headers[i]), *(len(line[i]) for line in cells))
              for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        padded = [value.ljust(widths[i]) for i, value in enumerate(values[:-1])]
        return "  ".join([*padded, values[-1]]).rstrip()

    return [line(headers), *(line(values) for values in cells)]


def _cell(value: Any) -> str:
    if value is None or value == "" or value == []:
        return NOTHING
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def signed_payload(signed: Mapping[str, Any]) -> Any:
    """The payload of a JWS (JSON general serialization) as JSON, or None if unreadable."""
    payload = signed.get("payload")
    if not isinstance(payload, str):
        return None
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def readable(value: Any, indent: int = 2) -> list[str]:
    """A JSON value as indented ``name: value`` lines (lists of objects as numbered
    items), so a document reads as a form rather than as JSON."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, Mapping | list) and item:
                lines.append(f"{pad}{key}:")
                lines += readable(item, indent + 2)
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    elif isinstance(value, list):
        for number, item in enumerate(value, 1):
            if isinstance(item, Mapping | list) and item:
                lines.append(f"{pad}[{number}]")
                lines += readable(item, indent + 2)
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(f"{pad}{_scalar(value)}")
    return lines


def _scalar(value: Any) -> str:
    if value is None:
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping | list):
        return "(none)"
    return str(value)


def decision_lines(view: Mapping[str, Any]) -> list[str]:
    """Who decided an inbound document and why (the officer's reason), when someone did."""
    lines = []
    if view.get("decidedBy"):
        lines.append(f"  decided by {view['decidedBy']}")
    if view.get("decisionReason"):
        lines.append(f"  reason: {view['decisionReason']}")
    return lines


def delivery_lines(deliveries: Sequence[Mapping[str, Any]]) -> list[str]:
    """Per receiver: state, outcome, reason codes, and the receiving officer's reason."""
    if not deliveries:
        return ["  not sent"]
    lines = []
    for delivery in deliveries:
        codes = " ".join(delivery.get("reasons") or [])
        outcome = delivery.get("outcome") or NOTHING
        lines.append(f"  {delivery['to']:<16} {delivery['state']:<24} {outcome:<16} "
                     f"{codes}".rstrip())
        if delivery.get("reason"):
            lines.append(f"    reason: {delivery['reason']}")
    return lines


def document_lines(view: Mapping[str, Any]) -> list[str]:
    """A document as the node holds it: what it is, where it stands, and its content."""
    kind = " ".join(str(part) for part in (view["type"], view.get("version")) if part)
    lines = [f"document {view['id']} ({kind})",
             f"  issuer: {view.get('issuer')}",
             f"  direction: {view.get('direction')}",
             f"  created: {view.get('createdAt')}",
             f"  sha256: {view.get('sha256')}"]
    if view.get("direction") == "inbound":
        lines.append(f"  received from: {view.get('receivedFrom')}")
        lines.append(f"  outcome: {view.get('outcome')} "
                     f"{' '.join(view.get('reasons') or [])}".rstrip())
        for name, status in (view.get("checks") or {}).items():
            lines.append(f"    {name:<12} {status}")
        if view.get("recognisedAs"):
            lines.append(f"  recognised as {view['recognisedAs']} under agreement "
                         f"{view.get('agreementId')} (registry version "
                         f"{view.get('registryVersion')})")
        lines += decision_lines(view)
    else:
        lines.append("  deliveries:")
        lines += ["  " + line for line in delivery_lines(view.get("deliveries") or [])]
    payload = signed_payload(view["signed"]) if isinstance(view.get("signed"), Mapping) else None
    if payload is not None:
        lines.append("content:")
        lines += readable(payload)
    return lines
