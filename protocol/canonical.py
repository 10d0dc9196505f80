r"""Canonical JSON (RFC 8785, JCS) and the digests computed over it.

Canonical bytes exist only to feed signing and digests; they are never stored in place of
the signed bytes as received.

``canonicalize_reference`` is the reference: the maintained ``rfc8785`` package.
``canonicalize`` returns the same bytes, or raises the same error, by taking an exact fast
path where it provably gives the reference's bytes and the reference otherwise
(``docs/decisions/0017-exact-fast-paths.md``). The fast path is ``orjson``'s sorted compact
dump, given only values made of exact ``dict``/``list``/``tuple``/``str``/``int``/``bool``/
``None``, finite ``float``s and ``str`` subclasses (enum members, written by their
characters as the reference writes them), with:

- member names of the Basic Multilingual Plane only, where sorting by code point (orjson)
  and by UTF-16 code unit (RFC 8785) agree; any other name takes the reference;
- numbers: integers checked against ±(2^53−1) by orjson (``OPT_STRICT_INTEGER``), written
  as plain decimal digits as RFC 8785 writes them; every float written by the reference
  itself (ECMAScript ``Number.toString``), inserted as an ``orjson.Fragment``;
- strings escaped by orjson exactly as RFC 8785 escapes them (``\"``, ``\\``, ``\b``
  ``\t`` ``\n`` ``\f`` ``\r``, other controls as ``\u00xx``, everything else as UTF-8),
  which ``tests/protocol/test_canonical_fast.py`` checks for every code point; a lone
  surrogate makes orjson refuse, and the reference then reports it;
- nesting below ``_FAST_MAX_DEPTH``.

Anything else — other subclasses (``IntEnum``, ``OrderedDict``), a ``str`` subclass as a
member name, other types, errors of any kind — is handed whole to the reference, so errors
and their reason codes are always the reference's. ``canonicalize_readable`` (signers)
also refuses, in the same walk, the floats ``require_readable_numbers`` refuses.
"""

from __future__ import annotations

import binascii
import hashlib
import math
from typing import Any

import orjson
import rfc8785

from protocol.errors import JSONInputError
from protocol.reason_codes import ReasonCode

_MAX_EXACT = float(2**53)
_FAST_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
# Well inside orjson's own recursion limit (255); deeper values take the reference.
_FAST_MAX_DEPTH = 128
_BMP_END = "\U00010000"


_B64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64URL_VALUE = dict(zip(_B64URL_ALPHABET, range(64), strict=True))
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_+/", b"+/**")
_STANDARD_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_PADDING = (b"", b"", b"==", b"=")


class _NotFast(Exception):
    """Internal: the value holds something the fast path does not provably handle."""


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
    non-finite floats, non-string keys, lone surrogates). Same bytes and errors as
    ``canonicalize_reference``, faster (see the module docstring).
    """
    fast = _canonicalize_fast(value, readable=False)
    return fast if fast is not None else canonicalize_reference(value)


def canonicalize_readable(value: Any) -> bytes:
    """``require_readable_numbers`` then ``canonicalize``, in one walk on the fast path: the
    bytes a signer signs. Same bytes, and the same reason code on refusal."""
    fast = _canonicalize_fast(value, readable=True)
    if fast is not None:
        return fast
    require_readable_numbers(value)
    return canonicalize_reference(value)


def _canonicalize_fast(value: Any, *, readable: bool) -> bytes | None:
    """The fast path's bytes, or None when the reference must decide (see the module).
    With ``readable``, a float ``require_readable_numbers`` refuses is refused here."""
    try:
        return orjson.dumps(_native(value, 0, readable), option=_FAST_OPTIONS)
    except (_NotFast, orjson.JSONEncodeError):
        return None


def _native(node: Any, depth: int, readable: bool) -> Any:
    """``node`` as orjson may dump it: unchanged, or a copy whose floats are Fragments of
    the reference's number text. Raises ``_NotFast`` for anything else."""
    kind = type(node)
    if kind is str or kind is int or kind is bool or node is None:
        return node
    if kind is float:
        if not math.isfinite(node):  # the reference reports it
            raise _NotFast
        if readable and _MAX_EXACT <= abs(node) < 1e21 and node.is_integer():
            raise JSONInputError(ReasonCode.JSON_INTEGER_OUT_OF_RANGE,
                                 f"{node!r} would be written as an integer beyond ±(2^53−1)")
        return orjson.Fragment(rfc8785.dumps(node))
    if depth >= _FAST_MAX_DEPTH:
        raise _NotFast
    if kind is dict:
        copy: dict[str, Any] | None = None
        for key, item in node.items():
            if type(key) is not str or not (key.isascii() or max(key) < _BMP_END):
                raise _NotFast
            item_kind = type(item)
            if item_kind is str or item_kind is int or item_kind is bool or item is None:
                continue
            native = _native(item, depth + 1, readable)
            if native is not item:
                if copy is None:
                    copy = dict(node)
                copy[key] = native
        return node if copy is None else copy
    if kind is list or kind is tuple:
        items: list[Any] | None = None
        for index, item in enumerate(node):
            item_kind = type(item)
            if item_kind is str or item_kind is int or item_kind is bool or item is None:
                continue
            native = _native(item, depth + 1, readable)
            if native is not item:
                if items is None:
                    items = list(node)
                items[index] = native
        return node if items is None else items
    if isinstance(node, str):
        # A subclass (a StrEnum member): the reference writes its characters, which
        # str.__str__ copies into an exact str, bypassing any __str__ override.
        return str.__str__(node)
    raise _NotFast


def canonicalize_reference(value: Any) -> bytes:
    """RFC 8785 bytes by the ``rfc8785`` package alone: the reference ``canonicalize`` is
    proven equal to. Same contract as ``canonicalize``."""
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
    # What base64.urlsafe_b64encode does, without its argument handling.
    encoded = binascii.b2a_base64(data, newline=False).translate(_STANDARD_TO_URLSAFE)
    return encoded.rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url decoding without padding; raises ``ValueError`` on bad input.

    Refuses padding, characters outside the base64url alphabet, impossible lengths and
    non-canonical encodings (trailing bits set), so that one byte string has one form:
    exactly the texts that ``b64url_encode`` of the decoded bytes gives back.
    """
    if not isinstance(text, str) or "=" in text:
        raise ValueError("base64url text must be an unpadded string")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise ValueError("base64url text must be ASCII") from exc
    tail = len(raw) % 4
    if tail == 1:
        raise ValueError("base64url text of impossible length")
    # The last character of a 2- or 3-character group carries 4 or 2 unused bits: they
    # must be zero, so that one byte string has one encoding.
    if tail and _B64URL_VALUE.get(raw[-1], 0) & (0x0F if tail == 2 else 0x03):
        raise ValueError("non-canonical base64url")
    # The translation maps "-_" to the standard "+/", and "+/" to "*", which the strict
    # decoder refuses with every other character outside the alphabet.
    try:
        return binascii.a2b_base64(raw.translate(_URLSAFE_TO_STANDARD) + _PADDING[tail],
                                   strict_mode=True)
    except binascii.Error as exc:
        raise ValueError("base64url text holds a character outside the alphabet") from exc


def b64url_validate(text: str) -> None:
    """Raise ``ValueError`` exactly when ``b64url_decode(text)`` would."""
    b64url_decode(text)
