"""Terms of the reconciliation vocabulary: what a rule selects from one document.

A term evaluates against one document to an :class:`Observed` (the comparable value, the
subject a finding cites, the officer's label for it) or to ``None`` when the document has
no value there: the rule then does not apply to that document. A value of the wrong kind
(a string where a number is summed) is not ``None`` but an ``Observed`` whose ``problem``
says what could not be read, so the rule reports it instead of passing silently.
"""

from __future__ import annotations

import decimal
from collections import abc
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypeAlias

from clearance._json import (
    MISSING,
    Tokens,
    format_pointer,
    hashable,
    is_json,
    json_number,
    readable,
    resolve,
    sort_key,
    to_decimal,
)
from clearance.findings import Subject

_NOTE_LIMIT: Final = 256
# Exact sums and products of I-JSON doubles (at most 17 significant digits each, up to
# 999 × 999 elements) stay far below this precision, so no rounding ever happens.
_PRECISION: Final = 200


def exact_context() -> decimal.Context:
    """A decimal context in which sums and products of document numbers are exact."""
    return decimal.Context(prec=_PRECISION, Emax=999_999, Emin=-999_999, traps=[decimal.InvalidOperation])


@dataclass(frozen=True, slots=True)
class ValueSet:
    """A set of JSON values keyed by their :func:`hashable` stand-ins."""

    members: Mapping[Any, Any]

    def json(self) -> list[Any]:
        return sorted(self.members.values(), key=sort_key)


@dataclass(frozen=True, slots=True)
class Groups:
    """Grouped aggregates: key stand-in → (key values as JSON, total or set)."""

    kind: str  # "totals" or "sets"
    names: tuple[str, ...]
    entries: Mapping[Any, tuple[list[Any], Decimal | ValueSet]]

    def row(self, key: Any) -> dict[str, Any]:
        values, aggregate = self.entries[key]
        row: dict[str, Any] = dict(zip(self.names, values, strict=True))
        if isinstance(aggregate, Decimal):
            row["total"] = json_number(aggregate)
        else:
            row["values"] = aggregate.json()
        return row

    def json(self) -> list[dict[str, Any]]:
        return sorted((self.row(key) for key in self.entries), key=sort_key)


Comparable: TypeAlias = Any  # a JSON value, Decimal, ValueSet or Groups


@dataclass(frozen=True, slots=True)
class Observed:
    """What a term found: the value to compare, the subject to cite, and how to name it."""

    value: Comparable
    subject: Subject
    label: str
    problem: str | None = None


def _note(text: str) -> str:
    return text if len(text) <= _NOTE_LIMIT else text[: _NOTE_LIMIT - 1] + "…"


def cite(document: Mapping[str, Any], pointer: str, value: Any, note: str | None = None) -> Subject:
    """The subject citing ``value`` at ``pointer`` of ``document`` (id and type already checked)."""
    if not is_json(value):  # a document handed in with non-JSON leaves; cite it as text
        value = repr(value)
    return Subject(str(document["id"]), str(document["type"]), pointer, readable(value), note)


@dataclass(frozen=True, slots=True)
class ValueTerm:
    """The value at the first of ``pointers`` that has one (one pointer: a plain value term)."""

    document: str
    pointers: tuple[Tokens, ...]
    label: str

    def evaluate(self, document: Mapping[str, Any]) -> Observed | None:
        for tokens in self.pointers:
            value = resolve(document, tokens)
            if value is not MISSING:
                subject = cite(document, format_pointer(tokens), value)
                return Observed(value, subject, self.label)
        return None


@dataclass(frozen=True, slots=True)
class PartyTerm:
    """The value at ``member`` of the first party whose ``role`` is ``role``."""

    document: str
    role: str
    member: Tokens
    label: str

    def evaluate(self, document: Mapping[str, Any]) -> Observed | None:
        parties = resolve(document, ("parties",))
        if not isinstance(parties, list | tuple):
            return None
        for index, party in enumerate(parties):
            if isinstance(party, abc.Mapping) and party.get("role") == self.role:
                value = resolve(party, self.member)
                if value is MISSING:
                    return None
                pointer = format_pointer(("parties", str(index), *self.member))
                return Observed(value, cite(document, pointer, value), self.label)
        return None


@dataclass(frozen=True, slots=True)
class _Elements:
    """The elements an aggregate runs over, and how to describe them in a note."""

    items: list[tuple[str, Any]]  # (pointer of the element, element)
    name: str


def _walk(document: Mapping[str, Any], path: tuple[Tokens, ...]) -> _Elements | None:
    """The elements of the (possibly nested) array ``path``; ``None`` if the first is absent."""
    first = resolve(document, path[0])
    if not isinstance(first, list | tuple):
        return None
    items = [(format_pointer((*path[0], str(i))), item) for i, item in enumerate(first)]
    for tokens in path[1:]:
        nested: list[tuple[str, Any]] = []
        for pointer, item in items:
            inner = resolve(item, tokens)
            if isinstance(inner, list | tuple):
                base = pointer + format_pointer(tokens)
                nested.extend((f"{base}/{i}", element) for i, element in enumerate(inner))
        items = nested
    name = path[-1][-1] if path[-1] else "elements"
    return _Elements(items, name)


def _relative(path: tuple[Tokens, ...], tail: str) -> str:
    """How a member of the innermost elements is named relative to the outer array's elements."""
    return "".join(format_pointer(tokens) + "/*" for tokens in path[1:]) + tail


def _over(counted: int, total: int, name: str) -> str:
    return f"over {counted} {name}" if counted == total else f"over {counted} of {total} {name}"


@dataclass(frozen=True, slots=True)
class Conversion:
    """Unit conversion of summed values: the unit code at ``unit`` selects a factor."""

    unit: Tokens
    factors: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True)
class SumTerm:
    """The exact sum of the numbers at ``of`` over the elements of ``path``."""

    document: str
    path: tuple[Tokens, ...]
    of: Tokens
    convert: Conversion | None
    label: str

    def evaluate(self, document: Mapping[str, Any]) -> Observed | None:
        elements = _walk(document, self.path)
        if elements is None:
            return None
        total = Decimal(0)
        counted = 0
        problem: str | None = None
        context = exact_context()
        for pointer, item in elements.items:
            raw = resolve(item, self.of)
            if raw is MISSING:
                continue
            number = to_decimal(raw)
            where = pointer + format_pointer(self.of)
            if number is None:
                problem = problem or f"{self.label}: the value at {where} is not a number"
                continue
            if self.convert is not None:
                unit = resolve(item, self.convert.unit)
                factor = self.convert.factors.get(unit) if isinstance(unit, str) else None
                if factor is None:
                    unit_at = pointer + format_pointer(self.convert.unit)
                    problem = problem or f"{self.label}: no conversion for the unit at {unit_at}"
                    continue
                number = context.multiply(number, factor)
            total = context.add(total, number)
            counted += 1
        if counted == 0 and problem is None:
            return None
        what = f"sum of {_relative(self.path, format_pointer(self.of))}"
        if self.convert is not None:
            what += f" converted by the unit at {format_pointer(self.convert.unit)}"
        note = _note(f"{what} {_over(counted, len(elements.items), elements.name)}")
        subject = cite(document, format_pointer(self.path[0]), json_number(total), note)
        return Observed(total, subject, self.label, problem)


def _collect(item: Any, pointers: tuple[Tokens, ...], flatten: bool) -> list[Any] | None:
    """The set members one element contributes; ``None`` when it lacks a value."""
    values = [resolve(item, tokens) for tokens in pointers]
    if any(value is MISSING for value in values):
        return None
    if len(values) == 1:
        value = values[0]
        return list(value) if flatten and isinstance(value, list | tuple) else [value]
    return [values]


@dataclass(frozen=True, slots=True)
class SetTerm:
    """The set of values at ``of`` (one pointer) or of tuples of values (several pointers)."""

    document: str
    path: tuple[Tokens, ...]
    of: tuple[Tokens, ...]
    label: str

    def evaluate(self, document: Mapping[str, Any]) -> Observed | None:
        elements = _walk(document, self.path)
        if elements is None:
            return None
        members: dict[Any, Any] = {}
        counted = 0
        for _pointer, item in elements.items:
            values = _collect(item, self.of, flatten=True)
            if values is None:
                continue
            counted += 1
            for value in values:
                members.setdefault(hashable(value), value)
        if counted == 0:
            return None
        value_set = ValueSet(members)
        shown = ", ".join(_relative(self.path, format_pointer(tokens)) for tokens in self.of)
        what = f"set of {shown}" if shown else "set of the values"
        note = _note(f"{what} {_over(counted, len(elements.items), elements.name)}")
        subject = cite(document, format_pointer(self.path[0]), value_set.json(), note)
        return Observed(value_set, subject, self.label)


@dataclass(frozen=True, slots=True)
class GroupedTerm:
    """Per key (the values at ``by``): the exact total of ``of`` (totals) or its set (sets)."""

    document: str
    path: tuple[Tokens, ...]
    kind: str
    by: tuple[Tokens, ...]
    of: Tokens
    label: str

    def evaluate(self, document: Mapping[str, Any]) -> Observed | None:
        elements = _walk(document, self.path)
        if elements is None:
            return None
        totals: dict[Any, tuple[list[Any], Decimal]] = {}
        sets: dict[Any, tuple[list[Any], dict[Any, Any]]] = {}
        counted = 0
        problem: str | None = None
        context = exact_context()
        for pointer, item in elements.items:
            key_values = [resolve(item, tokens) for tokens in self.by]
            raw = resolve(item, self.of)
            if raw is MISSING or any(value is MISSING for value in key_values):
                continue
            key = hashable(key_values)
            if self.kind == "totals":
                number = to_decimal(raw)
                if number is None:
                    where = pointer + format_pointer(self.of)
                    problem = problem or f"{self.label}: the value at {where} is not a number"
                    continue
                previous = totals.get(key, (key_values, Decimal(0)))[1]
                totals[key] = (key_values, context.add(previous, number))
            else:
                sets.setdefault(key, (key_values, {}))[1].setdefault(hashable(raw), raw)
            counted += 1
        if counted == 0 and problem is None:
            return None
        names = tuple(format_pointer(tokens)[1:] for tokens in self.by)
        entries: dict[Any, tuple[list[Any], Decimal | ValueSet]] = {}
        if self.kind == "totals":
            entries.update(totals)
        else:
            entries.update((key, (values, ValueSet(members))) for key, (values, members) in sets.items())
        groups = Groups(self.kind, names, entries)
        keys = ", ".join(format_pointer(tokens) for tokens in self.by)
        what = "totals" if self.kind == "totals" else "values"
        of = _relative(self.path, format_pointer(self.of))
        note = _note(f"{what} of {of} by {keys} {_over(counted, len(elements.items), elements.name)}")
        subject = cite(document, format_pointer(self.path[0]), groups.json(), note)
        return Observed(groups, subject, self.label, problem)


Term: TypeAlias = ValueTerm | PartyTerm | SumTerm | SetTerm | GroupedTerm


# -- element terms (inside an ``each`` check) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ElementValue:
    """The value at ``pointer`` in the element."""

    pointer: Tokens
    label: str

    def evaluate(self, document: Mapping[str, Any], at: str, element: Any) -> Observed | None:
        value = resolve(element, self.pointer)
        if value is MISSING:
            return None
        subject = cite(document, at + format_pointer(self.pointer), value)
        return Observed(value, subject, self.label)


@dataclass(frozen=True, slots=True)
class ElementProduct:
    """The exact product of the numbers at ``factors`` in the element."""

    factors: tuple[Tokens, ...]
    label: str

    def evaluate(self, document: Mapping[str, Any], at: str, element: Any) -> Observed | None:
        values = [resolve(element, tokens) for tokens in self.factors]
        if any(value is MISSING for value in values):
            return None
        shown = " × ".join(format_pointer(tokens) for tokens in self.factors)
        context = exact_context()
        product = Decimal(1)
        for tokens, value in zip(self.factors, values, strict=True):
            number = to_decimal(value)
            if number is None:
                subject = cite(document, at + format_pointer(tokens), value)
                problem = f"{self.label}: the value at {subject.pointer} is not a number"
                return Observed(value, subject, self.label, problem)
            product = context.multiply(product, number)
        subject = cite(document, at, json_number(product), _note(f"product {shown}"))
        return Observed(product, subject, self.label)


ElementTerm: TypeAlias = ElementValue | ElementProduct
