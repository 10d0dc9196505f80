"""A fault-injecting reverse proxy for the peer endpoint (asyncio, 127.0.0.1 only).

It sits between a sender's delivery workers and the receiver's API processes (the sender's
registry names the proxy as the receiver's endpoint). For each incoming connection it draws
one fault from a seeded RNG, so a run is reproducible from its seed:

- ``pass``: forward the request to one of the receiver's API processes (round robin) and
  answer with what it answered;
- ``refuse``: reset the connection at once, before reading anything (the sender sees a
  connection error);
- ``error``: read the request, answer ``503`` without forwarding it;
- ``drop``: forward the request (the receiver stores the message) and then reset the
  connection instead of answering: the sender must send again and be answered from what the
  receiver stored;
- ``hang``: read the request and hold the connection past the sender's timeout, then reset.

Every answer closes its connection (``connection: close``), so that each request draws a
fresh fault. ``forwarded`` counts the envelopes that reached the receiver per message id.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from enum import StrEnum

import httpx

PEER_PATH = "/v1/peer/envelopes"


class Fault(StrEnum):
    PASS = "pass"
    REFUSE = "refuse"
    ERROR = "error"
    DROP = "drop"
    HANG = "hang"


DEFAULT_WEIGHTS: Mapping[Fault, float] = {Fault.PASS: 0.6, Fault.REFUSE: 0.1,
                                          Fault.ERROR: 0.1, Fault.DROP: 0.1, Fault.HANG: 0.1}


def message_id_of(body: bytes) -> str:
    """The ``messageId`` of an envelope (JWS JSON), or ``"?"`` if it has none."""
    try:
        payload = json.loads(body)["payload"]
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        return str(json.loads(decoded)["messageId"])
    except (ValueError, KeyError, TypeError):
        return "?"


class FaultProxy:
    """The proxy; ``start()`` runs it on its own event loop in a thread, ``stop()`` ends it."""

    def __init__(self, targets: Sequence[str], *, seed: int, hang_seconds: float,
                 weights: Mapping[Fault, float] = DEFAULT_WEIGHTS) -> None:
        self.targets = [target.rstrip("/") for target in targets]
        self.rng = random.Random(seed)
        self.hang_seconds = hang_seconds
        self.weights = dict(weights)
        self.faults: Counter[Fault] = Counter()
        self.forwarded: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.port = 0
        self._next_target = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="fault-proxy")
        self._server: asyncio.Server | None = None
        self._client: httpx.AsyncClient | None = None

    # -- life cycle

    def start(self) -> int:
        """Listen on an ephemeral port of 127.0.0.1; return it."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self.port

    async def _start(self) -> None:
        self._client = httpx.AsyncClient(timeout=60,
                                         limits=httpx.Limits(max_keepalive_connections=0))
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._client is not None:
            await self._client.aclose()

    # -- one connection

    def _draw(self) -> Fault:
        faults = list(self.weights)
        fault = self.rng.choices(faults, weights=[self.weights[f] for f in faults])[0]
        self.faults[fault] += 1
        return fault

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fault = self._draw()
        try:
            if fault is Fault.REFUSE:
                return
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {name.strip().lower(): value.strip() for name, _, value in
                       (line.partition(":") for line in lines[1:] if line)}
            body = await asyncio.wait_for(
                reader.readexactly(int(headers.get("content-length", "0"))), timeout=30)
            if method != "POST" or path != PEER_PATH:
                await self._answer(writer, 404, b'{"error": {"code": "NOT_FOUND", '
                                                b'"message": "fault proxy", "reasons": []}}')
                return
            if fault is Fault.ERROR:
                await self._answer(writer, 503, b"<html>503 Service Unavailable</html>",
                                   content_type="text/html")
                return
            if fault is Fault.HANG:
                await asyncio.sleep(self.hang_seconds)
                return
            target = self.targets[self._next_target % len(self.targets)]
            self._next_target += 1
            assert self._client is not None
            self.forwarded[message_id_of(body)] += 1
            response = await self._client.post(target + PEER_PATH, content=body,
                                               headers={"content-type": "application/json"})
            self.statuses[response.status_code] += 1
            if fault is Fault.DROP:
                return
            await self._answer(writer, response.status_code, response.content)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError, ValueError, httpx.HTTPError):
            pass  # the connection is reset below; the sender retries
        finally:
            writer.transport.abort()

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: int, body: bytes, *,
                      content_type: str = "application/json") -> None:
        writer.write(f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\n"
                     f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
                     .encode("latin-1") + body)
        await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
