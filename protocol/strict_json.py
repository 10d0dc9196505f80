r"""Strict JSON input: RFC 8259 restricted to I-JSON (RFC 7493), with size and depth bounds.

``parse_json`` is the only way untrusted JSON enters TradeAccord. It refuses, each with its
own reason code: input over ``max_bytes`` (checked before parsing), bytes that are not UTF-8
or begin with a BOM, malformed JSON, duplicate member names, lone surrogates, NaN/Infinity
and floats that overflow to infinity, integers beyond ±(2^53−1), and nesting beyond
``max_depth``. Nothing is silently resolved: the first offence is reported.

``parse_json_reference`` is the reference: ``json.loads`` with hooks and a tree walk.
``parse_json`` returns the same value, or raises the same reason code, by trying an exact
fast path on bytes input first (``docs/decisions/0017-exact-fast-paths.md``): the size,
byte-order-mark and UTF-8 checks are the reference's own, then ``orjson`` parses, and the
result is kept only when these checks prove the reference would return the same value:

- ``orjson`` refuses everything the reference refuses for syntax, NaN/Infinity, numbers
  that overflow to infinity, lone surrogates (raw or escaped) and controls in strings;
- duplicate member names: ``orjson`` keeps the last one silently, which removes at least
  one ``:`` from the tree, so the input's ``:`` count must equal that of the tree dumped
  again (``:`` is never escaped on output; input holding ``\u`` and three digits, as in
  the escapes ``\u003a`` and ``\u003A`` of ``:``, takes the reference);
- integers: the input holds no run of 17 digits (an integer token beyond ±(2^53−1) has
  17 or more, and ``orjson`` would read one beyond 64 bits as a float), and dumping the
  tree with ``OPT_STRICT_INTEGER`` refuses those of 16 digits beyond ±(2^53−1);
- depth: at most ``max_depth`` brackets in all, or a walk of the containers;
- UTF-8: ASCII input is valid UTF-8; other input is decoded first, as by the reference.

The byte checks read one translated copy of the input (``_CLASSES``), one pass for all.

Whenever a check fails, or ``orjson`` refuses, the reference parses the input and decides.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

import orjson

from protocol.errors import JSONInputError
from protocol.limits import DEFAULT_LIMITS
from protocol.reason_codes import ReasonCode

MAX_SAFE_INTEGER = 2**53 - 1

# A \uD800-\uDFFF escape is the only way a lone surrogate can reach a str from valid UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")



def _byte_class(byte: int) -> int:
    """Fast path: digits read as "0", "[" and "{" as "[", and ":", "\\" and "u" as
    themselves; every other byte as a space."""
    if 0x30 <= byte <= 0x39:
        return 0x30
    if byte in b"[{":
        return 0x5B
    return byte if byte in b":\\u" else 0x20


_CLASSES: Final = bytes(_byte_class(byte) for byte in range(256))
_LONG_DIGIT_RUN: Final = b"0" * 17
# "\u" and three digits: covers "\u003a" and "\u003A" (an escaped ":"), and a few more.
_ESCAPED_DIGITS: Final = b"\\u000"
_NOT_HANDLED: Final = object()


def _reject_constant(name: str) -> Any:
    raise JSONInputError(ReasonCode.JSON_NON_FINITE_NUMBER, f"{name} is not a JSON number")


def _parse_int(text: str) -> int:
    # JSON integers have no leading zeros: more than 16 digits is beyond 2^53−1, and int()
    # of more than 4300 digits would raise a bare ValueError (CPython's DoS guard).
    value = int(text) if len(text.lstrip("-")) <= 16 else MAX_SAFE_INTEGER + 1
    if abs(value) > MAX_SAFE_INTEGER:
        raise JSONInputError(
            ReasonCode.JSON_INTEGER_OUT_OF_RANGE,
            f"integer {text[:40]} lies outside ±(2^53−1)",
        )
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError(
            ReasonCode.JSON_NON_FINITE_NUMBER, f"number {text[:40]} overflows IEEE 754 double"
        )
    return value


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONInputError(
                    ReasonCode.JSON_DUPLICATE_MEMBER, f"member name {key!r} appears twice"
                )
            seen.add(key)
    return result


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_tree(value: Any, max_depth: int, check_strings: bool) -> None:
    """Walk the parsed tree iteratively: depth bound and (if needed) lone surrogates."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth + 1 > max_depth:
                raise JSONInputError(ReasonCode.JSON_TOO_DEEP, f"nesting exceeds {max_depth}")
            for key, item in node.items():
                if check_strings and _has_lone_surrogate(key):
                    raise JSONInputError(
                        ReasonCode.JSON_LONE_SURROGATE, "a member name holds a lone surrogate"
                    )
                stack.append((item, depth + 1))
        elif isinstance(node, list):
            if depth + 1 > max_depth:
                raise JSONInputError(ReasonCode.JSON_TOO_DEEP, f"nesting exceeds {max_depth}")
            stack.extend((item, depth + 1) for item in node)
        elif check_strings and isinstance(node, str) and _has_lone_surrogate(node):
            raise JSONInputError(ReasonCode.JSON_LONE_SURROGATE, "a string holds a lone surrogate")


def _checked_text(data: bytes | str, max_bytes: int) -> tuple[str, bytes | None]:
    """The input as text (and as bytes, for bytes input) after the size, byte-order-mark and
    UTF-8 checks, which come before any parsing."""
    raw: bytes | None = None
    if isinstance(data, str):
        raw_len = len(data.encode("utf-8", errors="surrogatepass"))
        text = data
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        raw_len = len(raw)
        if raw_len > max_bytes:
            raise JSONInputError(
                ReasonCode.JSON_TOO_LARGE, f"{raw_len} bytes exceeds the limit of {max_bytes}"
            )
        if raw.startswith(b"\xef\xbb\xbf"):
            raise JSONInputError(ReasonCode.JSON_NOT_UTF8, "input starts with a byte-order mark")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONInputError(
                ReasonCode.JSON_NOT_UTF8, f"invalid UTF-8 at byte {exc.start}"
            ) from exc
    else:
        raise TypeError(f"parse_json takes bytes or str, not {type(data).__name__}")
    if raw_len > max_bytes:
        raise JSONInputError(
            ReasonCode.JSON_TOO_LARGE, f"{raw_len} bytes exceeds the limit of {max_bytes}"
        )
    return text, raw


def parse_json(
    data: bytes | str,
    *,
    max_bytes: int = DEFAULT_LIMITS.max_document_bytes,
    max_depth: int = DEFAULT_LIMITS.max_depth,
) -> Any:
    """Parse ``data`` as I-JSON, or raise ``JSONInputError`` naming the first offence.

    The same value or reason code as ``parse_json_reference``, faster for bytes input.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        return _parse_reference(_checked_text(data, max_bytes)[0], max_depth,
                                check_strings=True)
    raw = bytes(data)
    text: str | None = None  # ASCII is valid UTF-8: decoded only if the reference is needed
    if len(raw) > max_bytes or raw.startswith(b"\xef\xbb\xbf") or not raw.isascii():
        text, _ = _checked_text(raw, max_bytes)  # refuses, or decodes valid UTF-8
    value = _parse_fast(raw, max_depth)
    if value is not _NOT_HANDLED:
        return value
    return _parse_reference(raw.decode("ascii") if text is None else text, max_depth,
                            check_strings=False)


def parse_json_reference(
    data: bytes | str,
    *,
    max_bytes: int = DEFAULT_LIMITS.max_document_bytes,
    max_depth: int = DEFAULT_LIMITS.max_depth,
) -> Any:
    """The reference strict parser (``json.loads`` with hooks and a tree walk) that
    ``parse_json`` is proven equal to. Same contract as ``parse_json``."""
    text, raw = _checked_text(data, max_bytes)
    return _parse_reference(text, max_depth, check_strings=raw is None)


def _parse_fast(raw: bytes, max_depth: int) -> Any:
    """The value ``orjson`` reads from valid UTF-8 ``raw`` when the checks of the module
    docstring prove the reference reads the same, else ``_NOT_HANDLED``."""
    classes = raw.translate(_CLASSES)  # one pass; the checks below read this copy
    if _LONG_DIGIT_RUN in classes or _ESCAPED_DIGITS in classes:
        return _NOT_HANDLED
    try:
        value = orjson.loads(raw)
        again = orjson.dumps(value, option=orjson.OPT_STRICT_INTEGER)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return _NOT_HANDLED
    if classes.count(b":") != again.count(b":"):
        return _NOT_HANDLED
    if (classes.count(b"[") > max_depth
            and (type(value) is dict or type(value) is list) and _nesting(value) > max_depth):
        return _NOT_HANDLED
    return value


def _nesting(node: dict[str, Any] | list[Any]) -> int:
    """How many containers deep ``node`` nests (``[]``: 1). Recursive: ``orjson`` has bounded
    the depth already (it refuses beyond 255 on output)."""
    deepest = 0
    for item in node.values() if type(node) is dict else node:
        if type(item) is dict or type(item) is list:
            depth = _nesting(item)
            if depth > deepest:
                deepest = depth
    return deepest + 1


def _parse_reference(text: str, max_depth: int, *, check_strings: bool) -> Any:
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs_hook,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except JSONInputError:
        raise
    except RecursionError as exc:
        raise JSONInputError(ReasonCode.JSON_TOO_DEEP, f"nesting exceeds {max_depth}") from exc
    except json.JSONDecodeError as exc:
        raise JSONInputError(
            ReasonCode.JSON_MALFORMED,
            f"{exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from exc
    # Lone surrogates can also arrive in a str input directly; escapes are the bytes case.
    check_strings = check_strings or _SURROGATE_ESCAPE.search(text) is not None
    _check_tree(value, max_depth, check_strings)
    return value
