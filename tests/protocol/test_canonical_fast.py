"""The fast path of ``canonicalize`` gives the reference's bytes or refusal (ADR 0017).

Differential tests against ``canonicalize_reference`` (the ``rfc8785`` package): every code
point as a string and as a member name, the cyberphone vectors, the RFC 8785 number
vectors, every example document, Hypothesis-generated values, and the inputs the fast path
must hand to the reference. The whole suite is a differential test too (``tests/conftest.py``).
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import enum
import struct
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import canonical
from protocol.canonical import canonicalize, canonicalize_readable, canonicalize_reference
from protocol.strict_json import MAX_SAFE_INTEGER, parse_json
from tests.fast_paths import canonical_outcome, signed_reference

DATA = Path(__file__).resolve().parents[1] / "data"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "documents"
ALL_CODE_POINTS = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def fast(value: Any) -> bytes | None:
    """The fast path alone (the suite-wide shadow check runs the reference beside it)."""
    return canonical._canonicalize_fast(value, readable=False)


def assert_same(value: Any) -> None:
    assert canonical_outcome(canonicalize, value) == canonical_outcome(canonicalize_reference,
                                                                       value)
    assert canonical_outcome(canonicalize_readable, value) == canonical_outcome(signed_reference,
                                                                                value)


# -- strings and member names: exhaustive -----------------------------------------------------


def test_every_code_point_is_escaped_as_the_reference_escapes_it() -> None:
    # One string per code point, as array elements: both sides escape '"', so equal outputs
    # mean equal bytes for each code point.
    assert fast(ALL_CODE_POINTS) == canonicalize_reference(ALL_CODE_POINTS)


def test_every_bmp_code_point_as_a_member_name_sorts_and_escapes_as_the_reference() -> None:
    names = dict.fromkeys(reversed([c for c in ALL_CODE_POINTS if c < "\U00010000"]), 0)
    assert fast(names) == canonicalize_reference(names)


@pytest.mark.parametrize("names", [["\U0001F600", "\uFF61"], ["a\U00010000", "a\uE000"]],
                         ids=["astral-and-bmp", "astral-after-prefix"])
def test_names_beyond_the_bmp_take_the_reference(names: list[str]) -> None:
    # UTF-16 order puts the astral name first; code-point order would not.
    value = dict.fromkeys(names, 1)
    assert fast(value) is None
    assert canonicalize(value) == canonicalize_reference(value)
    assert canonicalize(value).startswith(b'{"' + names[0].encode())


@pytest.mark.parametrize("value", ["\ud800", ["ok", "\udfff"], {"k\udc00": 1}],
                         ids=["string", "in-array", "in-name"])
def test_lone_surrogates_are_refused_by_the_reference(value: Any) -> None:
    assert fast(value) is None
    assert_same(value)


# -- numbers -----------------------------------------------------------------------------------


@pytest.mark.rfc_vectors("rfc8785-numbers")
def test_rfc8785_number_vectors_on_the_fast_path(case: dict[str, Any]) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(case["ieee754"]))
    for value in (number, [number], {"n": {"m": [number]}}):
        assert_same(value)


@pytest.mark.parametrize("value", [
    MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1,
    2**63, -(2**63), 2**64, 10**30, 0, -1, True, False, None,
    100.0, 1e21, 1e-7, 1e16, 1e20, -0.0, 0.1, 5e-324, 1.7976931348623157e308,
    float("nan"), float("inf"), float("-inf"),
], ids=repr)
def test_number_and_literal_boundaries(value: Any) -> None:
    for wrapped in (value, [value], {"a": value}):
        assert_same(wrapped)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(), max_size=8))
def test_any_float(values: list[float]) -> None:
    assert_same(values)
    assert_same({"v": values, "w": {"x": values}})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-(2**70), max_value=2**70), max_size=6))
def test_any_integer(values: list[int]) -> None:
    assert_same(values)


# -- what the fast path hands over ---------------------------------------------------------------


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Ordered(collections.OrderedDict[str, Any]):
    pass


@pytest.mark.parametrize("value", [
    Colour.RED, {"c": Colour.RED}, {Colour.RED: 1}, Level.HIGH, [Level.HIGH],
    Ordered(b=1, a=2), collections.OrderedDict(b=1), uuid.UUID(int=1),
    dt.datetime(2026, 1, 1, tzinfo=dt.UTC), decimal.Decimal("1.5"), {1, 2}, b"bytes",
    {1: "a"}, {("a",): 1}, [[[]]] * 3,
], ids=lambda value: type(value).__name__)
def test_other_types_take_the_reference(value: Any) -> None:
    assert_same(value)


@pytest.mark.parametrize("value", [Colour.RED, {"c": [Colour.RED]}], ids=["value", "nested"])
def test_str_subclass_values_are_written_by_their_characters(value: Any) -> None:
    assert fast(value) == canonicalize_reference(value)


class Shouting(str):
    def __str__(self) -> str:
        return self.upper()


def test_a_str_override_does_not_change_the_bytes() -> None:
    value = [Shouting("quiet")]
    assert fast(value) == canonicalize_reference(value) == b'["quiet"]'


@pytest.mark.parametrize("value", [1e20, [2.0**53], {"a": {"b": -(2.0**60)}}, [1.5, 1e20, "\ud800"]],
                         ids=["1e20", "2^53", "nested", "with-a-lone-surrogate"])
def test_signers_refuse_unreadable_floats_with_the_reference_code(value: Any) -> None:
    assert canonical_outcome(canonicalize_readable, value) == canonical_outcome(signed_reference,
                                                                                value)
    assert canonical_outcome(canonicalize_readable, value)[0] == "refused"


def test_tuples_are_arrays_as_in_the_reference() -> None:
    value = {"t": (1, 2.5, ("x", 3.0))}
    assert fast(value) == canonicalize_reference(value) == b'{"t":[1,2.5,["x",3]]}'


@pytest.mark.parametrize("depth", [1, 127, 128, 129, 300])
def test_deep_values_take_the_reference_beyond_the_fast_depth(depth: int) -> None:
    value: Any = 1.5
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    assert (fast(value) is None) == (depth > 128)  # containers nested; the float is a leaf
    assert_same(value)


def test_floats_are_replaced_in_copies_not_in_the_input() -> None:
    value = {"a": [1.0, {"b": 2.5}], "c": (3.0,)}
    assert fast(value) == b'{"a":[1,{"b":2.5}],"c":[3]}'
    assert value == {"a": [1.0, {"b": 2.5}], "c": (3.0,)}
    assert type(value["a"][0]) is float


# -- corpora --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.stem for p in (DATA / "jcs" / "input").glob("*.json")))
def test_cyberphone_vectors(name: str) -> None:
    value = parse_json((DATA / "jcs" / "input" / f"{name}.json").read_bytes())
    expected = (DATA / "jcs" / "output" / f"{name}.json").read_bytes()
    assert canonicalize(value) == canonicalize_reference(value) == expected


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_document(path: Path) -> None:
    document = parse_json(path.read_bytes())
    assert fast(document) is not None
    assert fast(document) == canonicalize_reference(document)
    assert_same({"payload": document, "copies": [document, document]})


# -- Hypothesis: I-JSON values and beyond ---------------------------------------------------------

_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
_SCALARS = st.one_of(st.none(), st.booleans(),
                     st.integers(min_value=-(2**60), max_value=2**60), st.floats(), _TEXT)
VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=5) | st.tuples(children, children)
    | st.dictionaries(_TEXT, children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(VALUES)
def test_any_value_same_bytes_or_same_refusal(value: Any) -> None:
    assert_same(value)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), st.integers(-5, 5), max_size=12))
def test_member_order_of_any_names(value: dict[str, int]) -> None:
    assert_same(value)
    assert_same(dict(reversed(list(value.items()))))
