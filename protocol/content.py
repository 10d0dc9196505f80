"""Validation profiles: how much a receiver checks beyond the JSON Schema.

A receiver chooses one profile; the choice is visible in the named checks of every
verification (``protocol.signed_document``) as the ``codes`` and ``arithmetic`` checks:

=============  =======================================  ==========  ==============
profile        what is checked after the schema          ``codes``   ``arithmetic``
=============  =======================================  ==========  ==============
``syntax``     nothing: codes by pattern only (1.0)      DISABLED    DISABLED
``standard``   codes by membership of their lists        runs        DISABLED
``strict``     membership and the documents' arithmetic  runs        runs
=============  =======================================  ==========  ==============

``standard`` is the default of the library, the CLI and the node
(``TRADEACCORD_VALIDATION_PROFILE``). The lists are ``protocol.codelists``; where a
document's codes lie is read from its schema (``protocol._code_fields``); the arithmetic
is ``protocol._arithmetic``. A failure is a ``ContentError`` whose message names the JSON
pointer and the list: ``CODE_UNKNOWN`` or ``AMOUNT_MISMATCH``.

``ContentChecker`` is built explicitly (``ContentChecker.load(schemas)``) and is
immutable once its per-type field table is filled; building it reads the lists once.
"""

from __future__ import annotations

import functools
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from protocol._arithmetic import AmountFinding, check_arithmetic
from protocol._code_fields import CodeField, code_fields
from protocol.codelists import CodeList, CodeLists
from protocol.documents import DocumentSchemas
from protocol.errors import ContentError
from protocol.reason_codes import ReasonCode
from protocol.validation_profile import DEFAULT_PROFILE, ValidationProfile

__all__ = ["DEFAULT_PROFILE", "CodeFinding", "ContentChecker", "ValidationProfile"]


@dataclass(frozen=True, slots=True)
class CodeFinding:
    """A value that is not a member of its list."""

    pointer: str
    value: str
    code_list: CodeList
    part: str = ""

    def message(self) -> str:
        what = f" ({self.part})" if self.part else ""
        return f"{self.pointer}: {self.value!r}{what} is not in {self.code_list.value} " \
               f"({self.code_list.label})"


@dataclass(slots=True)
class ContentChecker:
    """Code list membership and arithmetic for the documents of a schema set."""

    schemas: DocumentSchemas
    lists: CodeLists
    _fields: dict[tuple[str, str], tuple[CodeField, ...]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, schemas: DocumentSchemas, lists: CodeLists | None = None) -> ContentChecker:
        """A checker for ``schemas`` with ``lists`` (default: ``CodeLists.load()``); the
        coded fields of every loaded type are located now, so a bad schema fails here."""
        checker = cls(schemas=schemas, lists=CodeLists.load() if lists is None else lists)
        for doc_type, version in schemas.types():
            checker.fields(doc_type, version)
        return checker

    def fields(self, doc_type: str, version: str) -> tuple[CodeField, ...]:
        """The coded locations of ``doc_type`` ``version`` (from its schema)."""
        key = (doc_type, version)
        found = self._fields.get(key)
        if found is None:
            # One copy of each referenced schema per type, not one per $ref followed.
            resolve = functools.cache(self.schemas.resource)
            found = code_fields(self.schemas.schema(doc_type, version), resolve)
            with self._lock:
                self._fields[key] = found
        return found

    def code_findings(self, document: dict[str, Any]) -> list[CodeFinding]:
        """Every coded value of a schema-valid ``document`` that is not in its list."""
        findings: list[CodeFinding] = []
        contains = self.lists.contains
        for spot in self.fields(str(document["type"]), str(document["version"])):
            if all(contains(spot.code_list, code) for code in spot.codes(document)):
                continue  # the usual case: no pointer built
            for pointer, value in spot.values(document):
                if not contains(spot.code_list, spot.part.of(value)):
                    findings.append(CodeFinding(pointer, value, spot.code_list, spot.part.label))
        return findings

    def amount_findings(self, document: dict[str, Any]) -> list[AmountFinding]:
        """Every arithmetic inconsistency of a schema-valid ``document``."""
        return check_arithmetic(document, self.lists.minor_unit)

    def check_codes(self, document: dict[str, Any]) -> None:
        """Raise ``ContentError(CODE_UNKNOWN)`` naming every unknown code, the first one's
        pointer as ``pointer``."""
        findings = self.code_findings(document)
        if findings:
            problems = tuple((f.pointer, f.message()) for f in findings)
            raise ContentError(ReasonCode.CODE_UNKNOWN, "; ".join(text for _p, text in problems),
                               pointer=problems[0][0],
                               problems=problems, code_list=findings[0].code_list.value)

    def check_arithmetic(self, document: dict[str, Any]) -> None:
        """Raise ``ContentError(AMOUNT_MISMATCH)`` naming every inconsistency."""
        findings = self.amount_findings(document)
        if findings:
            problems = tuple((f.pointer, f"{f.pointer}: {f.found}, expected {f.expected} "
                              f"({f.rule})") for f in findings)
            raise ContentError(ReasonCode.AMOUNT_MISMATCH, "; ".join(text for _p, text in problems),
                               pointer=problems[0][0], problems=problems)

    def check(self, document: dict[str, Any], profile: ValidationProfile) -> None:
        """What ``profile`` requires of a schema-valid ``document``: codes, then arithmetic.
        Used at signing (``doc sign``, the node's submission)."""
        if profile.checks_codes:
            self.check_codes(document)
        if profile.checks_arithmetic:
            self.check_arithmetic(document)


_DEFAULT_CHECKERS: weakref.WeakKeyDictionary[DocumentSchemas, ContentChecker] = (
    weakref.WeakKeyDictionary())
_DEFAULT_CHECKERS_LOCK = threading.Lock()


def default_checker(schemas: DocumentSchemas) -> ContentChecker:
    """The checker of ``schemas`` with the default code lists, made once per schema set: its
    coded fields are located once, not for every document verified (``verify_document``
    without a ``content`` argument, as ``tradeaccord doc verify`` calls it)."""
    with _DEFAULT_CHECKERS_LOCK:
        checker = _DEFAULT_CHECKERS.get(schemas)
        if checker is None:
            checker = ContentChecker(schemas, CodeLists.default())
            _DEFAULT_CHECKERS[schemas] = checker
        return checker
