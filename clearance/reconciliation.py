"""Export reconciliation: declarative rules over the documents of one declaration package.

Before release, the exporting customs node checks that the declaration and its supporting
documents (invoice, purchase order, bill of lading or transport document, payment record)
tell the same story. The rules are data — ``clearance/rules/export-reconciliation-1.0.json``,
schema ``clearance/schemas/reconciliation-rules-1.0.schema.json`` — not code.

Vocabulary
==========

A rule has an id (``REC-PARTY-01``), a version, a ``title`` an officer understands, a
``severity`` (``hold`` holds the declaration for an officer, ``warn`` only reports), optional
``when`` conditions and one ``check``. Pointers are RFC 6901.

Terms select values from the document of a given ``document`` type; each has a ``label``:

- value: ``{"document", "pointer"}`` — the value there;
- first of: ``{"document", "firstOf": [pointer, …]}`` — the first pointer that has a value;
- party: ``{"document", "party": role, "pointer"}`` — ``pointer`` inside the first element of
  ``parties`` whose ``role`` is ``role`` (e.g. ``/id``);
- aggregates over the elements of ``array`` (a pointer, or a list of pointers into nested
  arrays, flattened in document order), skipping elements that lack the values:
  ``"aggregate": "sum"`` of the numbers at ``of`` (optionally ``convert``-ed by a factor per
  unit code), ``"set"`` of the values at ``of`` (several pointers: tuples),
  ``"totals"`` of ``of`` grouped by the values at ``by``, ``"sets"`` of ``of`` grouped by ``by``.

Checks compare a ``left`` and a ``right`` term:

- ``equal``: equal JSON values (numbers by exact value);
- ``equalWithin``: numbers differing by at most ``tolerance`` (a decimal string);
- ``sameSet`` / ``subset``: set equality / inclusion (a single value is a one-member set);
- ``sameGroups``: grouped totals (within ``tolerance``) or grouped sets agree key by key;
  ``onlyCommonKeys`` ignores keys found on one side only;
- ``notAfter``: the left date is not after the right one (a timestamp counts as its UTC date);
- ``each``: every element of ``array`` in ``document`` passes an ``equal``, ``equalWithin`` or
  ``notAfter`` of element terms (``{"pointer"}`` or ``{"product": [pointer, …]}``);
- ``present``: the package holds a document of one of ``documentTypes``.

Rules of application (:func:`reconcile`)
========================================

1. The package holds exactly one ``customs-declaration``; every document is an object with
   a string ``id`` and ``type``; a document of a type the rule set reads
   (``documentVersions``) must have a listed version. Otherwise ``ValueError``: the caller
   (our node) assembles packages and pairs rule sets with the schemas it accepts.
2. Documents of each type are taken in the order of their ids, so the input order never
   changes the output.
3. Rules run in file order. A rule whose ``when`` conditions (on the declaration) do not
   all hold does not apply. A comparison runs once per combination of documents of the
   types its terms read (one each, usually); a type absent from the package, or a term
   without a value in its document, means the rule does not apply there — except
   ``present``, which exists to report what is absent.
4. A disagreement yields one :class:`~clearance.findings.Finding` citing each term's
   document, pointer and value (an aggregate cites its array, the computed value and a
   note). A value of the wrong kind (a string where a number is summed, a date that is no
   calendar date) is reported as a finding too, never raised.
5. Money and quantities are summed and multiplied as exact decimals of the numbers as
   written (``Decimal(repr(x))``), never in binary floating point; tolerances are absolute.
6. The same input gives the same findings in the same order.
"""

from __future__ import annotations

import itertools
from collections import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

from clearance._checks import Check, Comparison, Each, Presence
from clearance._json import MISSING, json_equal, parse_pointer, resolve, sort_key
from clearance._ruleset import RuleSetBase
from clearance._terms import (
    Conversion,
    ElementProduct,
    ElementTerm,
    ElementValue,
    GroupedTerm,
    PartyTerm,
    SetTerm,
    SumTerm,
    Term,
    ValueTerm,
)
from clearance.errors import ClearanceRulesError
from clearance.findings import Finding, Severity

__all__ = ["DECLARATION", "ReconciliationRule", "RuleSet", "reconcile"]

DECLARATION: Final = "customs-declaration"
_DEFAULT_FILE: Final = "export-reconciliation-1.0.json"
_SCHEMA: Final = "reconciliation-rules-1.0.schema.json"


@dataclass(frozen=True, slots=True)
class _Condition:
    pointer: tuple[str, ...]
    allowed: tuple[Any, ...]
    or_absent: bool

    def holds(self, declaration: Mapping[str, Any]) -> bool:
        value = resolve(declaration, self.pointer)
        if value is MISSING:
            return self.or_absent
        return any(json_equal(value, allowed) for allowed in self.allowed)


@dataclass(frozen=True, slots=True)
class ReconciliationRule:
    """One rule of a :class:`RuleSet`: identity, officer's title, severity, and its check."""

    rule_id: str
    version: str
    title: str
    severity: Severity
    description: str | None = field(repr=False)
    when: tuple[_Condition, ...] = field(repr=False)
    check: Check = field(repr=False)

    def _evaluate(self, package: _Package) -> list[Finding]:
        """The findings of this rule on ``package`` (rules 3–4 of the module docstring)."""
        if not all(condition.holds(package.declaration) for condition in self.when):
            return []
        if isinstance(self.check, Presence):
            mismatch = self.check.run(package.declaration, {t: len(d) for t, d in package.by_type.items()})
            return [] if mismatch is None else [self._finding(mismatch.message, mismatch.subjects)]
        types = self.check.document_types()
        choices = [package.by_type.get(doc_type, ()) for doc_type in types]
        findings = []
        for combination in itertools.product(*choices):
            mismatch = self.check.run(dict(zip(types, combination, strict=True)))
            if mismatch is not None:
                findings.append(self._finding(mismatch.message, mismatch.subjects))
        return findings

    def _finding(self, message: str, subjects: tuple[Any, ...]) -> Finding:
        return Finding(self.rule_id, self.version, self.title, self.severity, message, subjects)


@dataclass(frozen=True, slots=True)
class _Package:
    declaration: Mapping[str, Any]
    by_type: Mapping[str, tuple[Mapping[str, Any], ...]]

    @classmethod
    def build(
        cls, documents: Sequence[Mapping[str, Any]], versions: Mapping[str, tuple[str, ...]]
    ) -> _Package:
        """Group and order the documents (rules 1 and 2); ``ValueError`` for misuse."""
        if isinstance(documents, str | bytes) or not isinstance(documents, abc.Sequence):
            raise TypeError("documents must be a sequence of parsed documents")
        by_type: dict[str, list[Mapping[str, Any]]] = {}
        for index, document in enumerate(documents):
            if not isinstance(document, abc.Mapping):
                raise ValueError(f"document {index} is a {type(document).__name__}, not a JSON object")
            doc_type, doc_id = document.get("type"), document.get("id")
            if not isinstance(doc_type, str) or not isinstance(doc_id, str):
                raise ValueError(f"document {index} lacks a string type or id")
            listed = versions.get(doc_type)
            if listed is not None and document.get("version") not in listed:
                raise ValueError(
                    f"document {doc_id} is {doc_type} version {document.get('version')!r}; "
                    f"the rule set reads versions {', '.join(listed)}"
                )
            by_type.setdefault(doc_type, []).append(document)
        declarations = by_type.get(DECLARATION, [])
        if len(declarations) != 1:
            raise ValueError(f"a package holds exactly one {DECLARATION}, not {len(declarations)}")
        ordered = {
            doc_type: tuple(sorted(docs, key=lambda d: (d["id"], sort_key(d))))
            for doc_type, docs in sorted(by_type.items())
        }
        return cls(declarations[0], MappingProxyType(ordered))


class RuleSet(RuleSetBase[ReconciliationRule]):
    """The export reconciliation rules (default file ``rules/export-reconciliation-1.0.json``).

    Build it with :meth:`load` or :meth:`from_dict`; a bad file is refused with
    :class:`~clearance.errors.ClearanceRulesError` naming the file and the pointer. Exposes
    ``ruleset_id``, ``version``, ``description``, ``document_versions``, ``rules`` (each a
    :class:`ReconciliationRule`) and ``sha256``.
    """

    SCHEMA = _SCHEMA
    DEFAULT_FILE = _DEFAULT_FILE
    __slots__ = ()

    @classmethod
    def _build_rules(
        cls, items: list[dict[str, Any]], versions: Mapping[str, tuple[str, ...]], file: str | None
    ) -> tuple[ReconciliationRule, ...]:
        return _build_rules(items, versions, file)


def reconcile(documents: Sequence[Mapping[str, Any]], rules: RuleSet) -> tuple[Finding, ...]:
    """Reconcile the parsed documents of one package; findings in rule order.

    See the module docstring for the rules of application. Raises ``ValueError`` only for
    misuse (no or several declarations, a document that is not an object with an id and a
    type, a version the rule set does not read); never for what the documents say.
    """
    if not isinstance(rules, RuleSet):
        raise TypeError(f"rules must be a RuleSet, not {type(rules).__name__}")
    package = _Package.build(documents, rules.document_versions)
    findings: list[Finding] = []
    for rule in rules.rules:
        findings.extend(rule._evaluate(package))
    return tuple(findings)


# -- building rules from their (schema-valid) JSON form -----------------------------------------


def _path(value: str | list[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(parse_pointer(p) for p in ([value] if isinstance(value, str) else value))


def _term(data: Mapping[str, Any]) -> Term:
    document, label = data["document"], data["label"]
    if "firstOf" in data:
        return ValueTerm(document, tuple(parse_pointer(p) for p in data["firstOf"]), label)
    if "party" in data:
        return PartyTerm(document, data["party"], parse_pointer(data["pointer"]), label)
    if "aggregate" not in data:
        return ValueTerm(document, (parse_pointer(data["pointer"]),), label)
    aggregate, path = data["aggregate"], _path(data["array"])
    if aggregate == "sum":
        convert = data.get("convert")
        conversion = None
        if convert is not None:
            factors = MappingProxyType({unit: Decimal(f) for unit, f in convert["factors"].items()})
            conversion = Conversion(parse_pointer(convert["unit"]), factors)
        return SumTerm(document, path, parse_pointer(data["of"]), conversion, label)
    if aggregate == "set":
        return SetTerm(document, path, _path(data["of"]), label)
    return GroupedTerm(
        document,
        path,
        aggregate,
        tuple(parse_pointer(p) for p in data["by"]),
        parse_pointer(data["of"]),
        label,
    )


def _element_term(data: Mapping[str, Any]) -> ElementTerm:
    if "product" in data:
        return ElementProduct(tuple(parse_pointer(p) for p in data["product"]), data["label"])
    return ElementValue(parse_pointer(data["pointer"]), data["label"])


def _check(data: Mapping[str, Any], at: str, file: str | None) -> Check:
    op = data["op"]
    if op == "present":
        cite = tuple(parse_pointer(p) for p in data.get("cite", ()))
        return Presence(tuple(data["documentTypes"]), cite)
    if op == "each":
        inner = data["check"]
        return Each(
            data["document"],
            parse_pointer(data["array"]),
            data["label"],
            inner["op"],
            _element_term(inner["left"]),
            _element_term(inner["right"]),
            Decimal(inner.get("tolerance", "0")),
        )
    left, right = _term(data["left"]), _term(data["right"])
    if op == "sameGroups":
        assert isinstance(left, GroupedTerm) and isinstance(right, GroupedTerm)  # the schema says so
        if left.kind != right.kind:
            raise ClearanceRulesError(
                f"sameGroups compares {left.kind} with {right.kind}; both sides must be of one kind",
                file=file,
                pointer=f"{at}/right/aggregate",
            )
        if left.kind == "sets" and "tolerance" in data:
            raise ClearanceRulesError(
                "a tolerance applies to totals, not to sets", file=file, pointer=f"{at}/tolerance"
            )
    return Comparison(op, left, right, Decimal(data.get("tolerance", "0")), data.get("onlyCommonKeys", False))


def _build_rules(
    items: list[dict[str, Any]], versions: Mapping[str, tuple[str, ...]], file: str | None
) -> tuple[ReconciliationRule, ...]:
    """Rule values from schema-valid rule objects; refuses what the schema cannot say."""
    rules: list[ReconciliationRule] = []
    seen: set[str] = set()
    if DECLARATION not in versions:
        raise ClearanceRulesError(
            f"documentVersions must list {DECLARATION}", file=file, pointer="/documentVersions"
        )
    for index, item in enumerate(items):
        at = f"/rules/{index}"
        if item["ruleId"] in seen:
            raise ClearanceRulesError(
                f"rule id {item['ruleId']} appears twice", file=file, pointer=f"{at}/ruleId"
            )
        seen.add(item["ruleId"])
        check = _check(item["check"], f"{at}/check", file)
        if not isinstance(check, Presence):
            for doc_type in check.document_types():
                if doc_type not in versions:
                    raise ClearanceRulesError(
                        f"the rule reads {doc_type}, which documentVersions does not list",
                        file=file,
                        pointer=f"{at}/check",
                    )
        conditions = tuple(
            _Condition(parse_pointer(c["pointer"]), tuple(c["in"]), c.get("orAbsent", False))
            for c in item.get("when", ())
        )
        rules.append(
            ReconciliationRule(
                rule_id=item["ruleId"],
                version=item["version"],
                title=item["title"],
                severity=Severity(item["severity"]),
                description=item.get("description"),
                when=conditions,
                check=check,
            )
        )
    return tuple(rules)
