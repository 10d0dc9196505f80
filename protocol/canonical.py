"""Canonical JSON (RFC 8785, JCS) and the digests computed over it.

Canonical bytes exist only to feed signing and digests; they are never stored in place of
the signed bytes as received.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import rfc8785

from protocol.errors import JSONInputError
from protocol.reason_codes import ReasonCode

_MAX_EXACT = float(2**53)


def require_readable_numbers(value: Any) -> None:
    """Refuse whole-number floats of magnitude in [2^53, 10^21): RFC 8785 writes them
    without a fraction or exponent (``1e20`` → ``100000000000000000000``), which a strict
    I-JSON reader — ours included — refuses as an integer beyond ±(2^53−1). Signing one
    would make a document that every receiver refuses, so signers call this first."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float):
            if abs(node) >= _MAX_EXACT and node.is_integer() and abs(node) < 1e21:
                raise JSONInputError(ReasonCode.JSON_INTEGER_OUT_OF_RANGE,
                                     f"{node!r} would be written as an integer beyond ±(2^53−1)")
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``.

    Raises ``JSONInputError`` for values JCS cannot represent (integers beyond ±(2^53−1),
    non-finite floats, non-string keys, lone surrogates).
    """
    try:
        return rfc8785.dumps(value)
    except rfc8785.IntegerDomainError as exc:
        raise JSONInputError(ReasonCode.JSON_INTEGER_OUT_OF_RANGE, str(exc)) from exc
    except rfc8785.FloatDomainError as exc:
        raise JSONInputError(ReasonCode.JSON_NON_FINITE_NUMBER, str(exc)) from exc
    except UnicodeEncodeError as exc:
        raise JSONInputError(ReasonCode.JSON_LONE_SURROGATE, "lone surrogate in a string") from exc
    except rfc8785.CanonicalizationError as exc:
        if isinstance(exc.__cause__, UnicodeEncodeError):  # rfc8785 wraps it for values
            raise JSONInputError(ReasonCode.JSON_LONE_SURROGATE,
                                 "lone surrogate in a string") from exc
        raise JSONInputError(ReasonCode.JSON_MALFORMED, str(exc)) from exc


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data`` (the form used in document ``references``)."""
    return hashlib.sha256(data).hexdigest()


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url decoding without padding; raises ``ValueError`` on bad input."""
    if not isinstance(text, str) or "=" in text:
        raise ValueError("base64url text must be an unpadded string")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise ValueError("base64url text must be ASCII") from exc
    padded = raw + b"=" * (-len(raw) % 4)
    decoded = base64.urlsafe_b64decode(padded)
    # Refuse non-canonical encodings (trailing bits set), so that one signature has one form.
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != raw:
        raise ValueError("non-canonical base64url")
    return decoded
