"""Arithmetic of the documents that carry totals (the ``strict`` profile's ``arithmetic``
check). Every number is read as the exact decimal its JSON text wrote (``repr`` of an I-JSON
double), so sums and products are exact; a rounded amount may differ from the exact value
by at most half a minor unit of its currency (0.005 USD, 0.5 JPY, 0.0005 KWD; exact for a
currency without a minor unit).

- ``commercial-invoice`` and ``purchase-order``: each ``lineAmount`` is ``unitPrice`` ×
  ``quantity.value``; the ``lineAmount``s add up to ``totalAmount``.
- ``customs-declaration``: each item's ``netMassKg`` is at most its ``grossMassKg``;
  ``totalGrossMassKg``, when given, is the sum of the items' ``grossMassKg`` (to the gram);
  ``totalPackages``, when given and every item states its packages, is the sum of their
  ``numberOfPackages``.

Package-level comparisons between documents (the invoice total against the declaration's
customs values) are the clearance rules' business (``clearance/``), not this module's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

_GRAM = Decimal("0.001")


@dataclass(frozen=True, slots=True)
class AmountFinding:
    """One arithmetic inconsistency: where, what was found and what was expected."""

    pointer: str
    found: str
    expected: str
    rule: str


MinorUnit = Callable[[str], int | None]


def check_arithmetic(document: dict[str, Any], minor_unit: MinorUnit) -> list[AmountFinding]:
    """Every arithmetic inconsistency of a schema-valid ``document`` (empty if none)."""
    body = document.get("body")
    if not isinstance(body, dict):
        return []
    doc_type = document.get("type")
    if doc_type in ("commercial-invoice", "purchase-order"):
        return _lines_and_total(body, minor_unit)
    if doc_type == "customs-declaration":
        return _declaration(body)
    return []


def _exact(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Decimal(repr(value))


def _show(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _lines_and_total(body: dict[str, Any], minor_unit: MinorUnit) -> list[AmountFinding]:
    findings: list[AmountFinding] = []
    digits = minor_unit(str(body.get("currency", "")))
    tolerance = Decimal(0) if digits is None else Decimal(5).scaleb(-(digits + 1))
    lines = body.get("lineItems")
    total = Decimal(0)
    for index, line in enumerate(lines if isinstance(lines, list) else []):
        if not isinstance(line, dict):
            continue
        amount = _exact(line.get("lineAmount"))
        price = _exact(line.get("unitPrice"))
        quantity = line.get("quantity")
        count = _exact(quantity.get("value")) if isinstance(quantity, dict) else None
        if amount is None:
            continue
        total += amount
        if price is not None and count is not None:
            product = price * count
            if abs(amount - product) > tolerance:
                findings.append(AmountFinding(
                    f"/body/lineItems/{index}/lineAmount", _show(amount), _show(product),
                    "line amount = unit price × quantity"))
    stated = _exact(body.get("totalAmount"))
    if stated is not None and abs(stated - total) > tolerance:
        findings.append(AmountFinding("/body/totalAmount", _show(stated), _show(total),
                                      "total = sum of the line amounts"))
    return findings


def _declaration(body: dict[str, Any]) -> list[AmountFinding]:
    findings: list[AmountFinding] = []
    items = body.get("goodsItems")
    items = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    gross_total = Decimal(0)
    packages_total = 0
    every_item_packed = bool(items)
    for index, item in enumerate(items):
        gross, net = _exact(item.get("grossMassKg")), _exact(item.get("netMassKg"))
        if gross is not None:
            gross_total += gross
        if gross is not None and net is not None and net > gross:
            findings.append(AmountFinding(f"/body/goodsItems/{index}/netMassKg", _show(net),
                                          f"at most {_show(gross)}",
                                          "net mass ≤ gross mass"))
        packages = item.get("packages")
        count = packages.get("numberOfPackages") if isinstance(packages, dict) else None
        if isinstance(count, int) and not isinstance(count, bool):
            packages_total += count
        else:
            every_item_packed = False
    stated = _exact(body.get("totalGrossMassKg"))
    if stated is not None and items and abs(stated - gross_total) >= _GRAM:
        findings.append(AmountFinding("/body/totalGrossMassKg", _show(stated),
                                      _show(gross_total),
                                      "total gross mass = sum of the items' gross masses"))
    stated_packages = body.get("totalPackages")
    if (every_item_packed and isinstance(stated_packages, int)
            and not isinstance(stated_packages, bool) and stated_packages != packages_total):
        findings.append(AmountFinding("/body/totalPackages", str(stated_packages),
                                      str(packages_total),
                                      "total packages = sum of the items' packages"))
    return findings
