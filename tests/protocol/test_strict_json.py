"""Strict JSON input (I-JSON, RFC 7493): every refusal with its own reason code.

Every test runs twice: on ``parse_json`` (fast path first) and on ``parse_json_reference``,
so each attack input here shows both refusing with the same code (ADR 0017)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import JSONInputError, ProtocolError
from protocol.reason_codes import ReasonCode
from protocol.strict_json import MAX_SAFE_INTEGER, parse_json, parse_json_reference

PARSERS = [parse_json, parse_json_reference]


@pytest.fixture(params=PARSERS, ids=["parse_json", "reference"], autouse=True)
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the test with ``parse_json`` standing for one parser or the other."""
    monkeypatch.setitem(globals(), "parse_json", request.param)


def _code(data: bytes | str, **limits: int) -> ReasonCode:
    with pytest.raises(JSONInputError) as info:
        parse_json(data, **limits)
    return info.value.code


# -- accepted ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (b'{"a":[1,2.5,"x",true,false,null]}', {"a": [1, 2.5, "x", True, False, None]}),
        (b" [ ] ", []),
        (b'"\\ud83d\\ude00"', "\N{GRINNING FACE}"),
        (b'"\\uD83D\\uDE00"', "\N{GRINNING FACE}"),
        ('"\N{GRINNING FACE}"'.encode(), "\N{GRINNING FACE}"),
        (b"9007199254740991", MAX_SAFE_INTEGER),
        (b"-9007199254740991", -MAX_SAFE_INTEGER),
        (b"1e308", 1e308),
        (b"1e-400", 0.0),
        ('{"\N{EURO SIGN}":1}', {"\N{EURO SIGN}": 1}),
    ],
    ids=["object", "whitespace", "surrogate-pair", "surrogate-pair-upper", "raw-astral",
         "max-safe-int", "min-safe-int", "large-double", "underflow-to-zero", "str-input"],
)
def test_accepts(text: bytes | str, value: object) -> None:
    assert parse_json(text) == value


def test_escaped_backslash_before_u_is_not_a_surrogate_escape() -> None:
    assert parse_json(b'"\\\\ud800"') == "\\ud800"


def test_accepts_input_at_exactly_max_bytes() -> None:
    data = b"[" + b"1," * 48 + b"10]"
    assert len(data) == 100
    assert parse_json(data, max_bytes=100) == [1] * 48 + [10]


def test_accepts_nesting_at_exactly_max_depth() -> None:
    assert parse_json(b"[" * 5 + b"]" * 5, max_depth=5) == [[[[[]]]]]


# -- refused, each with its code ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [b'{"a":1,"a":2}', b'{"a":{"b":1,"b":1}}', b'[{"x":1},{"y":2,"y":3}]',
     b'{"a":[[{"k":null,"k":null}]]}', '{"a":1,"a":1}'],
    ids=["top-level", "nested", "in-array-of-objects", "deep", "str-input"],
)
def test_duplicate_member(text: bytes | str) -> None:
    assert _code(text) is ReasonCode.JSON_DUPLICATE_MEMBER


@pytest.mark.parametrize(
    "text",
    [b'"\\ud800"', b'"\\udc00"', b'"a\\ud83dz"', b'"\\ude00\\ud83d"', b'{"\\ud800":1}',
     b'["ok",{"k":["\\uDBFF"]}]', '"\ud800"'],
    ids=["high-alone", "low-alone", "high-then-letter", "reversed-pair", "in-member-name",
         "nested-upper-case", "str-input-raw"],
)
def test_lone_surrogate(text: bytes | str) -> None:
    assert _code(text) is ReasonCode.JSON_LONE_SURROGATE


@pytest.mark.parametrize(
    "text", [b"NaN", b"Infinity", b"-Infinity", b"[1,NaN]", b"1e400", b"-1e400", b"1E+999"]
)
def test_non_finite_number(text: bytes) -> None:
    assert _code(text) is ReasonCode.JSON_NON_FINITE_NUMBER


@pytest.mark.parametrize(
    "text", [b"9007199254740992", b"-9007199254740992", b'{"n":[123456789012345678901234567890]}']
)
def test_integer_out_of_range(text: bytes) -> None:
    assert _code(text) is ReasonCode.JSON_INTEGER_OUT_OF_RANGE


def test_integer_too_long_for_int_conversion_is_out_of_range() -> None:
    # Python refuses int() of more than 4300 digits with a bare ValueError.
    assert _code(b"1" * 5000) is ReasonCode.JSON_INTEGER_OUT_OF_RANGE
    assert _code(b"[-" + b"9" * 5000 + b"]") is ReasonCode.JSON_INTEGER_OUT_OF_RANGE


def test_too_large() -> None:
    assert _code(b"[" + b"1," * 50 + b"1]", max_bytes=100) is ReasonCode.JSON_TOO_LARGE


def test_too_large_is_checked_before_parsing() -> None:
    # Invalid in every other way too: only the size may be reported.
    junk = b"\xef\xbb\xbf\xff" + b'{"a":1,"a":' * 10_000
    assert _code(junk, max_bytes=1000) is ReasonCode.JSON_TOO_LARGE
    assert _code("[" * 2000, max_bytes=1000) is ReasonCode.JSON_TOO_LARGE


def test_too_large_counts_utf8_bytes_of_str_input() -> None:
    text = '"' + "\N{EURO SIGN}" * 40 + '"'  # 42 characters, 122 bytes
    assert _code(text, max_bytes=100) is ReasonCode.JSON_TOO_LARGE


@pytest.mark.parametrize("text", [b"[" * 6 + b"]" * 6, b'{"a":' * 6 + b"1" + b"}" * 6,
                                  b'[{"a":[{"b":[[]]}]}]'])
def test_too_deep(text: bytes) -> None:
    assert _code(text, max_depth=5) is ReasonCode.JSON_TOO_DEEP


@pytest.mark.parametrize("data", [b"[" * 100_000, "[" * 100_000, b'{"a":' * 100_000,
                                  b"[" * 100_000 + b"]" * 100_000],
                         ids=["arrays-bytes", "arrays-str", "objects", "closed"])
def test_hundred_thousand_deep_is_refused_not_a_crash(data: bytes | str) -> None:
    assert _code(data, max_bytes=1_000_000) is ReasonCode.JSON_TOO_DEEP


@pytest.mark.parametrize("text", [b'"\xff"', b'"\xc3"', b'"\xed\xa0\x80"', b'{"a":"\xe2\x82"}',
                                  b"\xc0\xaf"],
                         ids=["invalid-byte", "truncated", "encoded-surrogate",
                              "truncated-in-member", "overlong"])
def test_not_utf8(text: bytes) -> None:
    assert _code(text) is ReasonCode.JSON_NOT_UTF8


def test_byte_order_mark() -> None:
    assert _code(b"\xef\xbb\xbf{}") is ReasonCode.JSON_NOT_UTF8


@pytest.mark.parametrize(
    "text",
    [b"", b"{", b"[1,]", b"{'a':1}", b"01", b"1 2", b'"\x01"', b"{\"a\" 1}", b"tru", b"+1",
     b".5", b"[1]x", b'"\\x41"'],
)
def test_malformed(text: bytes) -> None:
    assert _code(text) is ReasonCode.JSON_MALFORMED


def test_not_bytes_or_str_is_misuse() -> None:
    with pytest.raises(TypeError):
        parse_json({"a": 1})  # type: ignore[arg-type]


# -- only ProtocolError escapes ---------------------------------------------------------------

_JSON_TOKENS = st.sampled_from(
    [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\u", b"d800", b"dc00", b"1e400", b"NaN",
     b"9007199254740992", b"-", b"0", b"1.5", b'"a"', b"true", b"null", b" ", b"\xff", b"\xef\xbb\xbf"]
)


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.lists(_JSON_TOKENS, max_size=40).map(b"".join),
                 st.text(max_size=100)))
def test_only_protocol_errors_escape(data: bytes | str) -> None:
    try:
        parse_json(data, max_bytes=150, max_depth=8)
    except ProtocolError as error:
        assert isinstance(error, JSONInputError)
