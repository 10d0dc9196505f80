"""JSON helpers shared by the rule engines: pointers, values, exact numbers.

Documents arrive as parsed by ``protocol.strict_json.parse_json`` (dict, list, str, int,
float, bool, None) but the engines must not trust that: every helper here accepts any
Python value and answers ``MISSING`` or ``None`` instead of raising on a value of the wrong
kind, so that a mutated document can make a rule fire but never make the engine fail.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import abc
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeAlias

Tokens: TypeAlias = tuple[str, ...]

_ARRAY_INDEX: Final = re.compile(r"0|[1-9][0-9]*")
_DATE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIMESTAMP: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T[0-9:.]+Z")
_MAX_EXACT: Final = 2**53
_MAX_DEPTH: Final = 64


class Missing:
    """Marks a pointer that resolves to nothing (JSON ``null`` is a value)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = Missing()


def parse_pointer(text: str) -> Tokens:
    """Split an RFC 6901 pointer (already schema-checked) into unescaped tokens."""
    if text == "":
        return ()
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in text[1:].split("/"))


def format_pointer(tokens: Iterable[str]) -> str:
    """The RFC 6901 pointer of ``tokens`` (``""`` for the whole document)."""
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def resolve(node: Any, tokens: Tokens) -> Any:
    """The value at ``tokens`` under ``node``, or ``MISSING``."""
    for token in tokens:
        if isinstance(node, abc.Mapping):
            if token not in node:
                return MISSING
            node = node[token]
        elif isinstance(node, list | tuple):
            if not _ARRAY_INDEX.fullmatch(token) or int(token) >= len(node):
                return MISSING
            node = node[int(token)]
        else:
            return MISSING
    return node


def clone(value: Any) -> Any:
    """A deep copy of a JSON value as plain dicts and lists."""
    if isinstance(value, abc.Mapping):
        return {key: clone(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clone(item) for item in value]
    return value


def is_json(value: Any, depth: int = 0) -> bool:
    """True iff ``value`` is a JSON value: str keys, finite floats, bounded depth."""
    if depth > _MAX_DEPTH:
        return False
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, abc.Mapping):
        return all(isinstance(k, str) and is_json(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(is_json(v, depth + 1) for v in value)
    return False


def is_number(value: Any) -> bool:
    """A JSON number (``bool`` is not one, though Python says it is an ``int``)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def to_decimal(value: Any) -> Decimal | None:
    """The exact decimal of a JSON number, or ``None`` for anything else.

    A float becomes the decimal of its shortest repr (``Decimal(repr(0.1))`` is ``0.1``,
    not the binary fraction ``0.1000000000000000055…``): that is the number the producer
    wrote, and sums of such decimals are exact.
    """
    if not is_number(value):
        return None
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):  # pragma: no cover - guarded by is_number
        return None


def json_number(value: Decimal) -> int | float | str:
    """A decimal as a JSON number a strict I-JSON reader accepts.

    Integral values within ±(2^53−1) become ``int``; others ``float``. A value that only a
    whole float of magnitude ≥ 2^53 could hold (RFC 8785 would write it as an integer a
    strict reader refuses) is given as its decimal string instead.
    """
    if value == value.to_integral_value() and abs(value) < _MAX_EXACT:
        return int(value)
    number = float(value)
    if not math.isfinite(number) or (number.is_integer() and abs(number) >= _MAX_EXACT):
        return str(value)
    return number


def readable(value: Any) -> Any:
    """``value`` with every number a strict I-JSON reader would refuse once written in
    canonical form (an integer beyond ±(2^53−1), a whole float of magnitude in [2^53, 10^21))
    replaced by its decimal string, so that a finding citing it can be signed and read back."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) < _MAX_EXACT else str(value)
    if isinstance(value, float):
        unreadable = value.is_integer() and _MAX_EXACT <= abs(value) < 1e21
        return repr(value) if unreadable else value
    if isinstance(value, abc.Mapping):
        return {key: readable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [readable(item) for item in value]
    return value


def to_date(value: Any) -> dt.date | None:
    """The calendar date of an RFC 3339 full-date, or the UTC date of a ``…Z`` timestamp."""
    if not isinstance(value, str):
        return None
    match = _DATE.fullmatch(value) or _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:  # 2026-02-30 matches the pattern but is no date
        return None


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by exact decimal value (``1 == 1.0``), ``true`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if is_number(a) and is_number(b):
        return to_decimal(a) == to_decimal(b)
    if isinstance(a, abc.Mapping) and isinstance(b, abc.Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, abc.Mapping | list | tuple) or isinstance(b, abc.Mapping | list | tuple):
        return False
    return type(a) is type(b) and bool(a == b)


def hashable(value: Any) -> Any:
    """A hashable stand-in for a JSON value such that equal values (``json_equal``) have
    equal stand-ins: numbers by their normalised decimal, containers as tuples."""
    if isinstance(value, bool):
        return ("bool", value)
    if is_number(value):
        number = to_decimal(value)
        assert number is not None
        return ("number", number.normalize() if number else Decimal(0))
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null",)
    if isinstance(value, abc.Mapping):
        return ("object", tuple(sorted((str(k), hashable(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return ("array", tuple(hashable(v) for v in value))
    return ("other", repr(value))


def sort_key(value: Any) -> str:
    """A total, deterministic order over JSON values (for sets shown in findings)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)


def show(value: Any, limit: int = 120) -> str:
    """A short human rendering of a value for a finding's message."""
    if isinstance(value, Decimal):
        text = str(json_number(value))
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
