"""Comparing the exact fast paths with their references (ADR 0017).

``same_json`` is strict equality of parsed JSON: the same types (``1`` is not ``1.0``), the
same float bits (``-0.0`` is not ``0.0``), the same member order. ``parse_outcome`` and
``canonical_outcome`` turn a call into a comparable value: the result, or the reason code
it raised. ``ShadowCheck`` wraps the two fast paths so that every call made by the test
suite is also answered by the reference and compared (installed by ``tests/conftest.py``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from protocol import canonical, strict_json
from protocol.errors import JSONInputError


def same_json(left: Any, right: Any) -> bool:
    """Strict structural equality of two parsed JSON values (see the module docstring)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same_json, left, right))
    if isinstance(left, float):
        return struct.pack(">d", left) == struct.pack(">d", right)
    return bool(left == right)


def parse_outcome(parse: Callable[..., Any], data: bytes | str, **limits: int) -> tuple[str, Any]:
    try:
        return "value", parse(data, **limits)
    except JSONInputError as error:
        return "refused", error.code


def canonical_outcome(function: Callable[[Any], bytes], value: Any) -> tuple[str, Any]:
    try:
        return "bytes", function(value)
    except JSONInputError as error:
        return "refused", error.code


def signed_reference(value: Any) -> bytes:
    """The reference of ``canonicalize_readable``: the two reference steps in turn."""
    canonical.require_readable_numbers(value)
    return canonical.canonicalize_reference(value)


def same_outcome(left: tuple[str, Any], right: tuple[str, Any]) -> bool:
    return left[0] == right[0] and same_json(left[1], right[1])


@dataclass
class ShadowCheck:
    """Every fast-path answer compared with the reference's; mismatches kept and raised."""

    mismatches: list[str] = field(default_factory=list)

    def _mismatch(self, message: str) -> None:
        self.mismatches.append(message)
        raise AssertionError(message)

    def install(self, patch: pytest.MonkeyPatch) -> None:
        fast_parse = strict_json._parse_fast
        fast_canonical = canonical._canonicalize_fast
        not_handled = strict_json._NOT_HANDLED

        def parse_checked(raw: bytes, max_depth: int) -> Any:
            value = fast_parse(raw, max_depth)
            if value is not not_handled:
                reference = parse_outcome(strict_json.parse_json_reference, raw,
                                          max_bytes=len(raw), max_depth=max_depth)
                if not same_outcome(("value", value), reference):
                    self._mismatch(f"parse_json fast path {value!r:.200} but the reference "
                                   f"{reference!r:.200} for {raw!r:.200}")
            return value

        def canonical_checked(value: Any, *, readable: bool) -> bytes | None:
            try:
                result = fast_canonical(value, readable=readable)
            except JSONInputError as error:  # a readable-number refusal
                outcome: tuple[str, Any] = ("refused", error.code)
            else:
                if result is None:
                    return None
                outcome = ("bytes", result)
            reference = canonical_outcome(
                signed_reference if readable else canonical.canonicalize_reference, value)
            if reference != outcome:
                self._mismatch(f"canonicalize fast path {outcome!r:.200} but the reference "
                               f"{reference!r:.200} for {value!r:.200}")
            if outcome[0] == "refused":
                raise JSONInputError(outcome[1], "refused by the fast path")
            return result

        patch.setattr(strict_json, "_parse_fast", parse_checked)
        patch.setattr(canonical, "_canonicalize_fast", canonical_checked)
