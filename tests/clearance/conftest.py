"""Packages of documents for the clearance rule tests.

``data/`` holds one orchid consignment from Lim Chu Kang Orchid Nursery (SG) to Shanghai
Pudong Horticulture Trading (CN). The invoice, bill of lading, transport document (the
on-carriage in China), payment record and certificates are copies of
``examples/documents/*.json`` (commit ab32852); ``customs-declaration.json`` is that
example brought to version 1.1 (UCR, function code, transport document, Incoterms,
invoice amount, RCEP preference on each goods item) and lodged after shipment on board;
``purchase-order.json`` is the order the invoice names; ``air-waybill.json`` is the main
carriage of the same goods by air, for packages whose declaration names an air waybill.
Every factory returns fresh copies, so a test may mutate what it gets.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clearance import ImportRuleSet, RuleSet

DATA = Path(__file__).parent / "data"

Package = dict[str, dict[str, Any]]
"""Documents by a key: the document type, or ``air-waybill`` for the main-carriage waybill."""

_PACKAGE_FILES = (
    "customs-declaration",
    "commercial-invoice",
    "purchase-order",
    "bill-of-lading",
    "transport-document",
    "payment-record",
)


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text("utf-8"))
    return document


_CACHE: dict[str, dict[str, Any]] = {}


def fresh(name: str) -> dict[str, Any]:
    """A deep copy of ``data/<name>.json`` (read once per session)."""
    if name not in _CACHE:
        _CACHE[name] = load(name)
    return copy.deepcopy(_CACHE[name])


def sea_package() -> Package:
    """The clean package: the declaration names the bill of lading; the on-carriage
    transport document travels with it (the rules reading transport documents then do not apply)."""
    return {name: fresh(name) for name in _PACKAGE_FILES}


def air_package() -> Package:
    """The same goods declared with an air waybill as the transport document (no bill of lading)."""
    package = {
        name: fresh(name) for name in _PACKAGE_FILES if name not in ("bill-of-lading", "transport-document")
    }
    body = package["customs-declaration"]["body"]
    body["transport"].update(
        {
            "mode": "4",
            "conveyanceId": "SQ830",
            "conveyanceName": "SQ830",
            "transportDocument": {"typeCode": "air-waybill", "number": "618-26045711"},
        }
    )
    package["transport-document"] = fresh("air-waybill")
    return package


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return RuleSet.load()


@pytest.fixture(scope="session")
def import_rules() -> ImportRuleSet:
    return ImportRuleSet.load()


@pytest.fixture
def package_factory() -> Callable[[str], Package]:
    return lambda kind: sea_package() if kind == "sea" else air_package()
