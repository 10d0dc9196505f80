"""Code lists as data: the lists a document's codes must belong to.

``CodeLists.load()`` reads the lists once (the caller keeps the object; nothing is read at
import time) and answers membership questions:

- ``ISO_3166_1``: ISO 3166-1 alpha-2 country codes, from the ``pycountry`` package;
- ``ISO_4217``: ISO 4217 alphabetic currency codes, from ``pycountry``, with each
  currency's minor unit (decimal places) from ``data/iso4217-currency-codes.csv``;
- ``HS_SUBHEADINGS``: the 6-digit subheadings of the Harmonized System (HS 2022), from
  ``data/harmonized-system.csv``;
- ``UNECE_REC20``: UN/ECE Recommendation 20 unit of measure common codes (Revision 17),
  from ``data/unece-rec20-units.csv``; codes marked deleted (status ``X``) are not members,
  deprecated ones (``D``) still are;
- ``INCOTERMS_2020``: the eleven Incoterms 2020 rules.

Origins and licences of the data files are in ``data/README.md``.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

__all__ = ["INCOTERMS_2020", "CodeList", "CodeLists"]

INCOTERMS_2020: tuple[str, ...] = (
    "EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF",
)


class CodeList(StrEnum):
    """A code list by its stable name (the name failures and ``docs/`` use)."""

    ISO_3166_1 = "iso-3166-1-alpha-2"
    ISO_4217 = "iso-4217"
    HS_SUBHEADINGS = "hs-2022-subheadings"
    UNECE_REC20 = "unece-rec20-units"
    INCOTERMS_2020 = "incoterms-2020"

    @property
    def label(self) -> str:
        """A human title for messages."""
        return _LABELS[self]


_LABELS: dict[CodeList, str] = {
    CodeList.ISO_3166_1: "ISO 3166-1 alpha-2 countries",
    CodeList.ISO_4217: "ISO 4217 currencies",
    CodeList.HS_SUBHEADINGS: "Harmonized System 2022 subheadings",
    CodeList.UNECE_REC20: "UN/ECE Recommendation 20 units",
    CodeList.INCOTERMS_2020: "Incoterms 2020 rules",
}

_PACKAGE = "protocol.codelists"
_DELETED_UNIT = "X"


@dataclass(frozen=True, slots=True)
class CodeLists:
    """The loaded lists (immutable). Build it with ``load``."""

    members: Mapping[CodeList, frozenset[str]]
    minor_units: Mapping[str, int]

    @classmethod
    def load(cls) -> CodeLists:
        """Read every list from ``pycountry`` and the package's data files.

        Raises ``ValueError`` when a data file is missing or malformed (it is our data).
        """
        import pycountry  # imported with the lists, not with the package

        countries = frozenset(country.alpha_2 for country in pycountry.countries)
        currencies = frozenset(currency.alpha_3 for currency in pycountry.currencies)
        hs = frozenset(row["hscode"] for row in _rows("harmonized-system.csv")
                       if row["level"] == "6")
        units = frozenset(row["CommonCode"] for row in _rows("unece-rec20-units.csv")
                          if row["Status"] != _DELETED_UNIT)
        minor: dict[str, int] = {}
        for row in _rows("iso4217-currency-codes.csv"):
            code, digits = row["AlphabeticCode"], row["MinorUnit"]
            if code in currencies and not row["WithdrawalDate"] and digits.isdigit():
                minor[code] = int(digits)
        lists = {
            CodeList.ISO_3166_1: countries,
            CodeList.ISO_4217: currencies,
            CodeList.HS_SUBHEADINGS: hs,
            CodeList.UNECE_REC20: units,
            CodeList.INCOTERMS_2020: frozenset(INCOTERMS_2020),
        }
        for name, codes in lists.items():
            if not codes:
                raise ValueError(f"the code list {name.value} is empty")
        return cls(members=lists, minor_units=minor)

    @classmethod
    def default(cls) -> CodeLists:
        """The package's lists, loaded on the first call and shared afterwards (read-only
        data): for callers that do not keep their own ``CodeLists``."""
        return _default_lists()

    def contains(self, code_list: CodeList, code: str) -> bool:
        """Whether ``code`` is a member of ``code_list`` (exact, case-sensitive)."""
        return code in self.members[code_list]

    def minor_unit(self, currency: str) -> int | None:
        """Decimal places of ``currency`` (2 for USD, 0 for JPY, 3 for KWD), or ``None`` for
        a currency without one (gold, SDR) or an unknown code."""
        return self.minor_units.get(currency)


@functools.cache
def _default_lists() -> CodeLists:
    return CodeLists.load()


def _rows(name: str) -> list[dict[str, str]]:
    try:
        text = resources.files(_PACKAGE).joinpath("data", name).read_text("utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read the code list file {name}: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    if not rows:
        raise ValueError(f"the code list file {name} has no rows")
    return rows
