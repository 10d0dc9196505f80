"""Structured JSON logs (one object per line) with request ids."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from protocol.timeutil import format_time, utc_now

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    """Format records as JSON; extra fields (``request_id``, …) become members."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": format_time(utc_now()),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(level: str = "info") -> None:
    """Send the node's logs to stderr as JSON lines (called by ``node serve``/``worker``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger("tradeaccord")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
