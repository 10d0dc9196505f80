"""Time values: aware UTC datetimes in, RFC 3339 ``Z`` strings on the wire.

Only the outermost caller (request handler, CLI) reads the clock; everything that decides
trust takes ``at`` as a parameter.
"""

from __future__ import annotations

import datetime as dt
import re

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"
)


def require_aware(value: dt.datetime, name: str = "time") -> dt.datetime:
    """Return ``value`` if timezone-aware; ``ValueError`` for naive datetimes (misuse)."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC); naive datetimes are refused")
    return value


def format_time(value: dt.datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix, second precision (microseconds if present).

    The year always has four digits (``0999``): ``strftime("%Y")`` does not pad years before
    1000 on every platform, and RFC 3339 (and ``parse_time``) require the four."""
    value = require_aware(value).astimezone(dt.UTC)
    text = (f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
            f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_time(text: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp with an explicit offset; ``ValueError`` otherwise."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise ValueError(f"not an RFC 3339 timestamp with offset: {text!r}")
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00 falls before year 1 in UTC
        raise ValueError(f"timestamp out of range: {text!r}") from exc


def utc_now() -> dt.datetime:
    """The clock, for outermost callers only."""
    return dt.datetime.now(dt.UTC)
