"""Checks of the reconciliation vocabulary: comparisons of two terms, presence, per-element checks.

A check compares what its terms observed in one combination of documents and returns
``None`` (agreement, or a term without a value: the rule does not apply) or a
:class:`Mismatch` — the message and the subjects of a finding. The rule (in
``reconciliation.py``) adds its id, version, title and severity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypeAlias

from clearance._json import (
    MISSING,
    Tokens,
    format_pointer,
    hashable,
    json_equal,
    resolve,
    show,
    to_date,
    to_decimal,
)
from clearance._terms import (
    ElementTerm,
    Groups,
    Observed,
    Term,
    ValueSet,
    cite,
    exact_context,
)
from clearance.findings import MAX_SUBJECTS, Subject

_LISTED: Final = 5  # differing keys or set members named in a message; the subjects hold all
_ELEMENTS: Final = MAX_SUBJECTS // 2  # failing elements cited by an each check (2 subjects each)
_MESSAGE_LIMIT: Final = 4096

Documents: TypeAlias = Mapping[str, Mapping[str, Any]]  # the combination: document type → document


@dataclass(frozen=True, slots=True)
class Mismatch:
    """What a finding says: the message and the subjects it cites."""

    message: str
    subjects: tuple[Subject, ...]


def _message(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_LISTED])
    return shown + (f" and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def _unreadable(left: Observed, right: Observed) -> Mismatch | None:
    problems = [o.problem for o in (left, right) if o.problem is not None]
    if not problems:
        return None
    return Mismatch(_message(f"cannot compare: {'; '.join(problems)}"), (left.subject, right.subject))


# -- comparisons of two observed values ----------------------------------------------------------


def compare_equal(left: Observed, right: Observed) -> str | None:
    if json_equal(left.value, right.value):
        return None
    return f"{left.label} is {show(left.value)}, but {right.label} is {show(right.value)}"


def _number(observed: Observed) -> Decimal | None:
    if isinstance(observed.value, Decimal):
        return observed.value
    return to_decimal(observed.value)


def compare_within(left: Observed, right: Observed, tolerance: Decimal) -> str | None:
    a, b = _number(left), _number(right)
    if a is None or b is None:
        bad = left if a is None else right
        return f"cannot compare: {bad.label} is {show(bad.value)}, not a number"
    difference = abs(exact_context().subtract(a, b))
    if difference <= tolerance:
        return None
    return (
        f"{left.label} is {show(a)}, but {right.label} is {show(b)}: "
        f"they differ by {show(difference)}, more than the tolerance of {show(tolerance)}"
    )


def compare_not_after(left: Observed, right: Observed) -> str | None:
    a, b = to_date(left.value), to_date(right.value)
    if a is None or b is None:
        bad = left if a is None else right
        return f"cannot compare: {bad.label} is {show(bad.value)}, not a date"
    if a <= b:
        return None
    return f"{left.label} ({a.isoformat()}) is after {right.label} ({b.isoformat()})"


def _as_set(observed: Observed) -> ValueSet:
    if isinstance(observed.value, ValueSet):
        return observed.value
    return ValueSet({hashable(observed.value): observed.value})


def compare_sets(left: Observed, right: Observed, *, subset: bool) -> str | None:
    a, b = _as_set(left), _as_set(right)
    only_left = [show(a.members[k]) for k in sorted(a.members.keys() - b.members.keys(), key=repr)]
    only_right = [show(b.members[k]) for k in sorted(b.members.keys() - a.members.keys(), key=repr)]
    if subset:
        if not only_left:
            return None
        return f"{left.label} include {_listed(only_left)}, not among {right.label} {_shown(right)}"
    if not only_left and not only_right:
        return None
    parts = []
    if only_left:
        parts.append(f"only {left.label} have {_listed(only_left)}")
    if only_right:
        parts.append(f"only {right.label} have {_listed(only_right)}")
    return f"{left.label} {_shown(left)} and {right.label} {_shown(right)} differ: " + "; ".join(parts)


def _shown(observed: Observed) -> str:
    value = observed.value
    return show(value.json()) if isinstance(value, ValueSet) else show(value)


def _key_text(groups: Groups, key: Any) -> str:
    values = groups.entries[key][0]
    return " ".join(str(value) if isinstance(value, str) else show(value) for value in values)


def _aggregate_text(value: Decimal | ValueSet) -> str:
    return show(value) if isinstance(value, Decimal) else show(value.json())


def compare_groups(left: Observed, right: Observed, tolerance: Decimal, only_common: bool) -> str | None:
    a, b = left.value, right.value
    assert isinstance(a, Groups) and isinstance(b, Groups)
    differences: list[str] = []
    context = exact_context()
    for key in sorted(a.entries.keys() | b.entries.keys(), key=repr):
        in_a, in_b = key in a.entries, key in b.entries
        if not (in_a and in_b):
            if not only_common:
                groups, side = (a, left) if in_a else (b, right)
                value = _aggregate_text(groups.entries[key][1])
                differences.append(f"{_key_text(groups, key)}: {value} only in {side.label}")
            continue
        x, y = a.entries[key][1], b.entries[key][1]
        if isinstance(x, Decimal) and isinstance(y, Decimal):
            same = abs(context.subtract(x, y)) <= tolerance
        else:
            same = (
                isinstance(x, ValueSet) and isinstance(y, ValueSet) and x.members.keys() == y.members.keys()
            )
        if not same:
            differences.append(f"{_key_text(a, key)}: {_aggregate_text(x)} against {_aggregate_text(y)}")
    if not differences:
        return None
    return f"{left.label} and {right.label} differ for {_listed(differences)}"


# -- checks --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two terms and how they must agree (``op`` as in the rule file)."""

    op: str
    left: Term
    right: Term
    tolerance: Decimal = Decimal(0)
    only_common_keys: bool = False

    def document_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.left.document, self.right.document)))

    def run(self, documents: Documents) -> Mismatch | None:
        left = self.left.evaluate(documents[self.left.document])
        right = self.right.evaluate(documents[self.right.document])
        if left is None or right is None:
            return None
        unreadable = _unreadable(left, right)
        if unreadable is not None:
            return unreadable
        text = compare(self.op, left, right, self.tolerance, self.only_common_keys)
        if text is None:
            return None
        return Mismatch(_message(text), (left.subject, right.subject))


def compare(op: str, left: Observed, right: Observed, tolerance: Decimal, only_common: bool) -> str | None:
    """The disagreement of ``left`` and ``right`` under ``op``, in words, or ``None``."""
    if op == "equal":
        return compare_equal(left, right)
    if op == "equalWithin":
        return compare_within(left, right, tolerance)
    if op == "notAfter":
        return compare_not_after(left, right)
    if op in ("sameSet", "subset"):
        return compare_sets(left, right, subset=op == "subset")
    if op == "sameGroups":
        return compare_groups(left, right, tolerance, only_common)
    raise AssertionError(f"unknown op {op!r}")  # the loader admits no other


@dataclass(frozen=True, slots=True)
class Presence:
    """The package holds a document of one of ``document_types``."""

    document_types: tuple[str, ...]
    cite: tuple[Tokens, ...]

    def run(self, declaration: Mapping[str, Any], counts: Mapping[str, int]) -> Mismatch | None:
        if any(counts.get(t, 0) for t in self.document_types):
            return None
        wanted = " or ".join(self.document_types)
        note = f"no {wanted} in the package"
        subject = Subject(str(declaration["id"]), str(declaration["type"]), "", None, note)
        for tokens in self.cite:
            value = resolve(declaration, tokens)
            if value is not MISSING:
                subject = cite(declaration, format_pointer(tokens), value, note)
                break
        return Mismatch(_message(f"the package holds no {wanted}"), (subject,))


@dataclass(frozen=True, slots=True)
class Each:
    """Every element of ``array`` in the document passes the element comparison."""

    document: str
    array: Tokens
    label: str
    op: str
    left: ElementTerm
    right: ElementTerm
    tolerance: Decimal = Decimal(0)

    def document_types(self) -> tuple[str, ...]:
        return (self.document,)

    def run(self, documents: Documents) -> Mismatch | None:
        document = documents[self.document]
        items = resolve(document, self.array)
        if not isinstance(items, list | tuple):
            return None
        failures: list[tuple[str, Observed, Observed]] = []
        for index, element in enumerate(items):
            at = format_pointer((*self.array, str(index)))
            left = self.left.evaluate(document, at, element)
            right = self.right.evaluate(document, at, element)
            if left is None or right is None:
                continue
            problem = _unreadable(left, right)
            text = (
                problem.message
                if problem is not None
                else compare(self.op, left, right, self.tolerance, False)
            )
            if text is not None:
                failures.append((f"{self.label} {at}: {text}", left, right))
        if not failures:
            return None
        cited = failures[:_ELEMENTS]
        verb = "fails" if len(failures) == 1 else "fail"
        count = f"{len(failures)} of {len(items)} {self.label}{'' if len(items) == 1 else 's'} {verb}"
        shown = "; ".join(text for text, _l, _r in cited)
        more = f" (the first {len(cited)} are cited)" if len(failures) > len(cited) else ""
        subjects = tuple(s for _t, left, right in cited for s in (left.subject, right.subject))
        return Mismatch(_message(f"{count}{more}: {shown}"), subjects)


Check: TypeAlias = Comparison | Presence | Each
