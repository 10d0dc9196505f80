"""Words and formats the pages share: field labels, values, times, reason codes, navigation.

Pure functions, and ``install_filters`` to make them Jinja2 filters.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment

from node.services.apikeys import Role
from protocol.reason_codes import ReasonCode

# Names whose words a camel-case split would get wrong.
_LABELS = {
    "hsCode": "HS code", "ucr": "UCR", "UNLocationCode": "UN/LOCODE", "id": "Id",
    "grossMassKg": "Gross mass (kg)", "netMassKg": "Net mass (kg)", "unitCode": "Unit",
    "originCountry": "Origin", "durationHours": "Duration (hours)",
    "temperatureCelsius": "Temperature (°C)", "incoterms": "Incoterms",
    "exportNppo": "Exporting NPPO", "importNppo": "Importing NPPO",
    "marksAndNumbers": "Marks and numbers", "numberOfPackages": "Packages",
}
_TITLES = {"certificate-of-origin": "Certificate of origin",
           "phytosanitary-certificate": "Phytosanitary certificate",
           "customs-declaration": "Customs declaration",
           "commercial-invoice": "Commercial invoice", "purchase-order": "Purchase order",
           "bill-of-lading": "Bill of lading", "transport-document": "Transport document",
           "payment-record": "Payment record", "clearance-decision": "Clearance decision"}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def field_label(name: str) -> str:
    """``certificateNumber`` → ``Certificate number``; digits (array indexes) → ``No. n``."""
    if name in _LABELS:
        return _LABELS[name]
    if name.isdigit():
        return f"No. {int(name) + 1}"
    words = _CAMEL.sub(" ", name).replace("-", " ").replace("_", " ").split()
    if not words:
        return name
    text = " ".join(word if word.isupper() and len(word) > 1 else word.lower()
                    for word in words)
    return text[0].upper() + text[1:]


def type_title(document_or_type: Mapping[str, Any] | str) -> str:
    """The document type's name as a person says it."""
    doc_type = document_or_type if isinstance(document_or_type, str) else \
        str(document_or_type.get("type", "document"))
    return _TITLES.get(doc_type, field_label(doc_type))


def format_value(value: Any) -> str:
    """A scalar as text: numbers with separators, booleans as yes/no."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if value != int(value) or abs(value) >= 100 else f"{value:g}"
    return str(value)


def format_time(value: Any) -> str:
    """An RFC 3339 time (or datetime) as ``2026-11-19 06:45:00 UTC``; other values as is."""
    if isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
        except ValueError:
            return value
    else:
        return "—"
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def describe(code: Any) -> str:
    """A reason code's meaning (the code itself when it is not one)."""
    try:
        return ReasonCode(str(code)).description
    except ValueError:
        return str(code)


def state_class(value: Any) -> str:
    """The badge colour for an outcome, decision or state."""
    text = str(value or "")
    if text in {"accepted", "released", "cleared", "delivered", "in-force", "VALID", "active",
                "recognised"}:
        return "good"
    if text in {"rejected", "export-rejected", "import-rejected", "dead", "terminated",
                "INVALID", "revoked", "failed", "forwarding-failed", "expired"}:
        return "bad"
    if text in {"held-for-review", "held", "export-held", "import-held", "suspended",
                "delivered-with-warnings", "pending", "warning", "proposed", "sending"}:
        return "warn"
    return "neutral"


def id_list(value: Any) -> str:
    """A stored JSON array of ids (``document.parties``) as ``a, b``."""
    try:
        items = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return str(value)
    return ", ".join(str(item) for item in items) if isinstance(items, list) else str(items)


def first_reference(value: Any) -> str:
    """The first of a document's stored reference numbers (``|a|b|``), or a dash."""
    numbers = [n for n in str(value or "").split("|") if n]
    return numbers[0] if numbers else "—"


def cell(value: Any) -> str:
    """Any JSON value in a table cell: scalars formatted, objects and arrays as compact JSON."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return format_value(value)


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def navigation(role: Role | None) -> list[tuple[str, str]]:
    """The menu for a role (href, label)."""
    if role is Role.OFFICER:
        return [("/inbox", "Inbox"), ("/documents", "Documents"),
                ("/declarations", "Declarations"), ("/submit", "Submit a document"),
                ("/titles", "Transferable records")]
    if role is Role.TRADER:
        return [("/documents", "My documents"), ("/submit", "Submit a document"),
                ("/declarations", "Declarations"), ("/declarations/new", "Submit a declaration"),
                ("/titles", "Transferable records")]
    if role is Role.OPERATOR:
        return [("/registry", "Registry"), ("/outbox", "Outbox"), ("/audit", "Audit log"),
                ("/keys", "API keys")]
    return []


def install_filters(environment: Environment) -> None:
    environment.filters.update({
        "label": field_label, "value": format_value, "when": format_time,
        "describe": describe, "state": state_class, "pretty": pretty_json,
        "type_title": type_title, "ids": id_list, "first_reference": first_reference,
        "cell": cell,
    })
