"""Reading an HTTP answer with a size cap: a peer's or a node's answer is untrusted input.

The body is read as a stream and refused (``DeliveryError(JSON_TOO_LARGE)``) as soon as it
exceeds the cap, or before any of it is read when its declared length does, so that an
answer of any size costs at most the cap in memory.
"""

from __future__ import annotations

import httpx

from node.errors import DeliveryError
from protocol.reason_codes import ReasonCode


def _too_large(limit: int, size: str) -> DeliveryError:
    return DeliveryError(ReasonCode.JSON_TOO_LARGE,
                         f"the answer is {size} bytes, more than the limit of {limit}")


def _check_declared(response: httpx.Response, limit: int) -> None:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, declared)


async def read_within(response: httpx.Response, limit: int) -> bytes:
    """The body of a streamed ``response``, at most ``limit`` bytes (else refused)."""
    _check_declared(response, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, f"over {size - len(chunk)}")
        chunks.append(chunk)
    return b"".join(chunks)


def read_within_sync(response: httpx.Response, limit: int) -> bytes:
    """``read_within`` for a synchronous client's streamed ``response``."""
    _check_declared(response, limit)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, f"over {size - len(chunk)}")
        chunks.append(chunk)
    return b"".join(chunks)


def with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    """A complete response holding ``body`` (already decoded) and ``response``'s status."""
    return httpx.Response(response.status_code, content=body, request=response.request)
