"""Canonical JSON (RFC 8785): the RFC's examples, the cyberphone vectors, stability."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.canonical import (
    b64url_decode,
    b64url_encode,
    canonicalize,
    require_readable_numbers,
    sha256_hex,
)
from protocol.errors import JSONInputError
from protocol.reason_codes import ReasonCode
from protocol.strict_json import MAX_SAFE_INTEGER, parse_json

JCS_VECTORS = Path(__file__).resolve().parents[1] / "data" / "jcs"  # origin: its README.md


# -- RFC 8785 examples (tests/data/rfc) -------------------------------------------------------


@pytest.mark.rfc_vectors("rfc8785-numbers")
def test_rfc8785_number_serialization(case: dict[str, Any]) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(case["ieee754"]))
    if "error" in case:
        with pytest.raises(JSONInputError) as info:
            canonicalize([value])
        assert info.value.code == case["error"]
    else:
        assert canonicalize(value) == case["expected"].encode("ascii")
        assert canonicalize({"n": [value]}) == b'{"n":[' + case["expected"].encode("ascii") + b"]}"


@pytest.mark.rfc_vectors("rfc8785-examples")
def test_rfc8785_examples(case: dict[str, Any]) -> None:
    canonical = canonicalize(parse_json(case["input"].encode("utf-8")))
    if "expected_hex" in case:
        assert canonical == bytes.fromhex(case["expected_hex"])
    else:
        members = json.loads(canonical, object_pairs_hook=list)
        assert [value for _, value in members] == case["expected_value_order"]


# -- cyberphone/json-canonicalization test data (tests/data/jcs) ------------------------------


JCS_NAMES = ("arrays", "french", "structures", "unicode", "values", "weird")


def test_every_cyberphone_vector_is_run() -> None:
    # The vectors are part of the repository: one missing (or added) fails, never skips.
    assert tuple(sorted(path.stem for path in (JCS_VECTORS / "input").glob("*.json"))) == \
        JCS_NAMES


@pytest.mark.parametrize("name", JCS_NAMES)
def test_cyberphone_vector(name: str) -> None:
    source = (JCS_VECTORS / "input" / f"{name}.json").read_bytes()
    expected = (JCS_VECTORS / "output" / f"{name}.json").read_bytes()
    assert canonicalize(parse_json(source)) == expected
    assert bytes.fromhex((JCS_VECTORS / "outhex" / f"{name}.txt").read_text()) == expected


# -- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (MAX_SAFE_INTEGER + 1, ReasonCode.JSON_INTEGER_OUT_OF_RANGE),
        ({"a": [-(2**53)]}, ReasonCode.JSON_INTEGER_OUT_OF_RANGE),
        (float("nan"), ReasonCode.JSON_NON_FINITE_NUMBER),
        ([float("-inf")], ReasonCode.JSON_NON_FINITE_NUMBER),
        ("\ud800", ReasonCode.JSON_LONE_SURROGATE),
        ({"k\udc00": 1}, ReasonCode.JSON_LONE_SURROGATE),
        ({1: "a"}, ReasonCode.JSON_MALFORMED),
        ({"a": {1, 2}}, ReasonCode.JSON_MALFORMED),
    ],
    ids=["int-2^53", "int-minus-2^53", "nan", "minus-infinity", "lone-surrogate",
         "lone-surrogate-in-key", "non-string-key", "set"],
)
def test_refuses_values_jcs_cannot_represent(value: Any, code: ReasonCode) -> None:
    with pytest.raises(JSONInputError) as info:
        canonicalize(value)
    assert info.value.code is code


def test_accepts_the_integer_bounds() -> None:
    assert canonicalize([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == b"[9007199254740991,-9007199254740991]"


# -- stability (Hypothesis) ------------------------------------------------------------------

# I-JSON values. Floats stay below 2^53 in magnitude: an integral double in [2^53, 1e21)
# serialises as a plain integer (RFC 8785 follows ECMAScript), which parse_json refuses.
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-(2.0**53), max_value=2.0**53,
              exclude_min=True, exclude_max=True),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: abs(f) >= 1e21),
    st.text(),
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children,
                                                                      max_size=5),
    max_leaves=25,
)


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_canonical_form_is_stable(value: Any) -> None:
    canonical = canonicalize(value)
    assert canonicalize(parse_json(canonical)) == canonical


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(), _SCALARS, max_size=8))
def test_canonical_form_ignores_member_order(value: dict[str, Any]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonicalize(reordered) == canonicalize(value)


# -- base64url and digests ---------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=64))
def test_b64url_round_trip(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64url_decode(text) == data


@pytest.mark.parametrize("text", ["QQ==", "QR", "Q", "ab+c", "ab/c", "ab c", "QUI!", "\u00e9AAA"],
                         ids=["padded", "trailing-bits", "impossible-length", "plus", "slash",
                              "space", "bang", "non-ascii"])
def test_b64url_refuses_non_canonical_or_foreign_text(text: str) -> None:
    with pytest.raises(ValueError):
        b64url_decode(text)


def test_sha256_hex() -> None:
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize("value", [1e20, -9007199254740992.0, {"a": [2.0**60]}],
                         ids=["1e20", "minus-2^53", "nested-2^60"])
def test_refuses_whole_floats_a_strict_reader_would_refuse(value: object) -> None:
    # canonicalize itself follows RFC 8785 (these serialise as integers); signers check first.
    canonicalize(value)
    with pytest.raises(JSONInputError) as caught:
        require_readable_numbers(value)
    assert caught.value.code is ReasonCode.JSON_INTEGER_OUT_OF_RANGE


@pytest.mark.parametrize("value", [1e21, 9007199254740991.0, 1.5, 1e-7],
                         ids=["1e21-exponent", "2^53-1", "fraction", "small"])
def test_floats_that_round_trip_are_kept(value: float) -> None:
    require_readable_numbers(value)
    assert parse_json(canonicalize(value)) == value


def _b64url_decode_before(text: str) -> bytes:
    """The decoder b64url_decode replaced: decode, then refuse unless re-encoding gives the
    text back. The two must accept the same texts and return the same bytes."""
    if not isinstance(text, str) or "=" in text:
        raise ValueError("padded")
    raw = text.encode("ascii")
    decoded = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != raw:
        raise ValueError("non-canonical base64url")
    return decoded


def _decoded_or_refused(decode: Any, text: str) -> bytes | None:
    try:
        return bytes(decode(text))
    except ValueError:  # binascii.Error and UnicodeEncodeError are ValueErrors
        return None


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    st.binary(max_size=40).map(lambda data: b64url_encode(data)),
    st.text(alphabet="ABCDwxyz0189-_+/=QRgh", max_size=12),
    st.text(max_size=8),
))
def test_b64url_decode_accepts_exactly_what_the_re_encoding_check_accepted(text: str) -> None:
    assert _decoded_or_refused(b64url_decode, text) == _decoded_or_refused(_b64url_decode_before,
                                                                            text)


def test_b64url_decode_every_final_character() -> None:
    for prefix in ("", "QU", "QUI", "QUJD"):
        for final in map(chr, range(128)):
            text = prefix + "A" + final
            assert _decoded_or_refused(b64url_decode, text) == _decoded_or_refused(
                _b64url_decode_before, text), text
