"""The fast path of ``parse_json`` gives the reference's value or reason code (ADR 0017).

Differential tests against ``parse_json_reference`` (``json.loads`` with hooks and a walk):
the cyberphone vectors, the RFC 8785 examples, every example document in its pretty,
compact and canonical forms and as a signed JWS, inputs aimed at each check the fast path
relies on, and Hypothesis input. ``test_strict_json.py`` runs every attack input there on
both parsers, and the whole suite is a differential test too (``tests/conftest.py``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import strict_json
from protocol.canonical import canonicalize
from protocol.jws import Signer
from protocol.signed_document import sign_document
from protocol.strict_json import parse_json, parse_json_reference
from tests.fast_paths import ShadowCheck, parse_outcome, same_json, same_outcome

DATA = Path(__file__).resolve().parents[1] / "data"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "documents"


def assert_same(data: bytes | str, **limits: int) -> None:
    fast = parse_outcome(parse_json, data, **limits)
    reference = parse_outcome(parse_json_reference, data, **limits)
    assert same_outcome(fast, reference), (fast, reference)


def handled(data: bytes, max_depth: int = 64) -> bool:
    """Whether the fast path answered by itself (the reference not consulted)."""
    return strict_json._parse_fast(data, max_depth) is not strict_json._NOT_HANDLED


# -- corpora -----------------------------------------------------------------------------------


def _example_forms() -> list[Any]:
    forms = []
    for path in sorted(EXAMPLES.glob("*.json")):
        raw = path.read_bytes()
        value = json.loads(raw)
        for name, data in (("pretty", raw), ("compact", json.dumps(value).encode()),
                           ("ascii", json.dumps(value, ensure_ascii=True, indent=1).encode()),
                           ("canonical", canonicalize(value))):
            forms.append(pytest.param(data, id=f"{path.stem}-{name}"))
    return forms


@pytest.mark.parametrize("data", _example_forms())
def test_every_example_document(data: bytes) -> None:
    assert_same(data)
    assert handled(data) or b"\\u" in data


def test_every_example_as_a_signed_document(sg: Any, at: dt.datetime) -> None:
    signer = Signer(sg.signer_key, (sg.signer_cert,))
    for path in sorted(EXAMPLES.glob("*.json")):
        jws = sign_document(json.loads(path.read_bytes()), signer, signed_at=at)
        for data in (jws.to_json(), jws.payload):
            assert handled(data)
            assert_same(data)


@pytest.mark.parametrize("name", sorted(p.stem for p in (DATA / "jcs" / "input").glob("*.json")))
def test_cyberphone_vectors(name: str) -> None:
    for folder in ("input", "output"):
        assert_same((DATA / "jcs" / folder / f"{name}.json").read_bytes())


@pytest.mark.rfc_vectors("rfc8785-examples")
def test_rfc8785_examples(case: dict[str, Any]) -> None:
    assert_same(case["input"].encode("utf-8"))
    if "expected_hex" in case:
        assert_same(bytes.fromhex(case["expected_hex"]))


# -- each check the fast path relies on ---------------------------------------------------------


@pytest.mark.parametrize("data", [
    b'{"a":1,"a":1}', b'{"a:b":1,"a:b":2}', b'{"t":"12:00","t":"12:00"}', b'[{"k":{},"k":[]}]',
    b'{"a":"\\u003a","a":1}', b'{"\\u003a":1,":":2}', b'{"x":"\\u003A:"}', b'{"a":{"b":1},"a":{"b":1}}',
    b'{"a":"::","b":"::"}',
], ids=["plain", "colon-in-name", "colon-in-value", "nested", "escaped-colon-value",
        "escaped-and-plain-colon-names", "escaped-colon-upper", "equal-subtrees", "no-duplicate"])
def test_duplicate_members_are_never_resolved(data: bytes) -> None:
    assert_same(data)


@pytest.mark.parametrize("data", [
    b"9007199254740991", b"-9007199254740991", b"9007199254740992", b"-9007199254740992",
    b"9999999999999999", b"10000000000000000", b"18446744073709551615", b"18446744073709551616",
    b"-9223372036854775809", b"123456789012345678901234567890", b"[1e400]", b"-1e400",
    b"1e-400", b"-0", b"-0.0", b"0.1000000000000000055511151231257827", b"1.7976931348623157e308",
    b"1.7976931348623159e308", b"2.2250738585072011e-308", b"4.9406564584124654e-324",
    b"5e-324", b"9007199254740993.0", b'"12345678901234567890"', b'{"n":1.0E+2}',
], ids=repr)
def test_numbers(data: bytes) -> None:
    assert_same(data)


@pytest.mark.parametrize("max_depth", [1, 2, 5, 64])
@pytest.mark.parametrize("shape", ["[", '{"a":', '[{"b":'])
def test_depth_at_and_around_the_limit(max_depth: int, shape: str) -> None:
    closing = {"[": "]", '{"a":': "}", '[{"b":': "}]"}[shape]
    for levels in range(max(0, max_depth - 2), max_depth + 3):
        data = (shape * levels + "1" + closing * levels).encode()
        assert_same(data, max_depth=max_depth * len(closing))
        padded = b'["[[[[{{{{", ' + data + b"]"
        assert_same(padded, max_depth=max_depth * len(closing) + 1)


@pytest.mark.parametrize("data", [
    b'"\\ud800"', b'"\\udc00"', b'"\\ud83d\\ude00"', b'"\\uD83D\\uDE00x"', b'{"\\ud800":1}',
    "\"\ud800\"".encode("utf-8", "surrogatepass"), b'"\\\\ud800"', b'"\xed\xa0\x80"', b"\xc0\xaf",
    b"\xef\xbb\xbf[]", b'"\x7f\xc2\x80\xe2\x80\xa8"', b'"\x1f"', b"\x0c[]", b"[]\x00", b"",
], ids=repr)
def test_strings_and_encodings(data: bytes) -> None:
    assert_same(data)


def test_str_input_takes_the_reference() -> None:
    for text in ['{"a":1}', '"\ud800"', '{"a":1,"a":2}', "\ufeff[]"]:
        assert_same(text)


# -- Hypothesis ------------------------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8"), max_size=10)
_NUMBERS = st.one_of(st.integers(min_value=-(2**70), max_value=2**70),
                     st.floats(allow_nan=False, allow_infinity=False))
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), _NUMBERS, _TEXT),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_TEXT, children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(VALUES, st.sampled_from(["compact", "ascii", "indent"]), st.integers(1, 12))
def test_any_json_text(value: Any, style: str, max_depth: int) -> None:
    text = {"compact": lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":")),
            "ascii": lambda v: json.dumps(v),
            "indent": lambda v: json.dumps(v, ensure_ascii=False, indent=2)}[style](value)
    data = text.encode("utf-8")
    assert_same(data)
    assert_same(data, max_depth=max_depth)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][-+]?[0-9]{1,3})?\Z"))
def test_any_number_token(token: str) -> None:
    assert_same(token.encode("ascii"))
    assert_same(f'{{"n":[{token}]}}'.encode("ascii"))
    outcome = parse_outcome(parse_json, token.encode("ascii"))
    if outcome[0] == "value" and isinstance(outcome[1], float):
        assert same_json(outcome[1], float(token))  # correctly rounded, as Python's float()


_TOKENS = st.sampled_from(
    [b"{", b"}", b"[", b"]", b",", b":", b'"', b'"a"', b'"a:b"', b'"\\u003a"', b"\\u", b"d800",
     b"dc00", b"1e400", b"NaN", b"9007199254740992", b"12345678901234567", b"-", b"0", b"1.5",
     b"true", b"null", b" ", b"\n", b"\xff", b"\xef\xbb\xbf", b'"k":1', b'"k":2']
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.lists(_TOKENS, max_size=40).map(b"".join), st.binary(max_size=120)),
       st.integers(1, 10))
def test_any_token_soup(data: bytes, max_depth: int) -> None:
    assert_same(data, max_bytes=400, max_depth=max_depth)


# -- the suite-wide shadow check itself ------------------------------------------------------------


def test_the_suite_runs_with_the_shadow_check_installed() -> None:
    assert strict_json._parse_fast.__name__ == "parse_checked"


def test_the_shadow_check_catches_a_fast_path_that_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(strict_json, "_parse_fast", lambda raw, max_depth: {"a": 2})
    check = ShadowCheck()
    check.install(monkeypatch)
    with pytest.raises(AssertionError):
        parse_json(b'{"a":1,"a":2}')
    assert len(check.mismatches) == 1
