"""Strict JSON input: RFC 8259 restricted to I-JSON (RFC 7493), with size and depth bounds.

``parse_json`` is the only way untrusted JSON enters TradeAccord. It refuses, each with its
own reason code: input over ``max_bytes`` (checked before parsing), bytes that are not UTF-8
or begin with a BOM, malformed JSON, duplicate member names, lone surrogates, NaN/Infinity
and floats that overflow to infinity, integers beyond ±(2^53−1), and nesting beyond
``max_depth``. Nothing is silently resolved: the first offence is reported.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from protocol.errors import JSONInputError
from protocol.limits import DEFAULT_LIMITS
from protocol.reason_codes import ReasonCode

MAX_SAFE_INTEGER = 2**53 - 1

# A \uD800-\uDFFF escape is the only way a lone surrogate can reach a str from valid UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


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


def parse_json(
    data: bytes | str,
    *,
    max_bytes: int = DEFAULT_LIMITS.max_document_bytes,
    max_depth: int = DEFAULT_LIMITS.max_depth,
) -> Any:
    """Parse ``data`` as I-JSON, or raise ``JSONInputError`` naming the first offence."""
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
    check_strings = isinstance(data, str) or _SURROGATE_ESCAPE.search(text) is not None
    _check_tree(value, max_depth, check_strings)
    return value
