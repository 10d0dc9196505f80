"""A webhook receiver that verifies TradeAccord notifications, with the standard library only.

Run as a server::

    python examples/webhook_receiver.py --secret whsec_… --port 8080

and register it at a node: ``tradeaccord webhook add http://127.0.0.1:8080/hook``. Each
notification is accepted (204) only when its signature verifies with the subscription's
secret, its timestamp is within five minutes of this machine's clock, and its event id has
not been seen before (a replay is answered 200 but not processed again). Without arguments
the script checks itself: it signs notifications the way a node does and posts them to
itself (docs/webhooks.md).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 300
MAX_BODY = 1 << 20


def expected_signature(secret: str, event_id: str, timestamp: str, body: bytes) -> str:
    """``v1,`` and base64 HMAC-SHA256 over ``id.timestamp.body`` with the secret's bytes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> str | None:
    """The event id when the notification is authentic and fresh; None otherwise."""
    event_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not event_id or not timestamp.isdigit():
        return None
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return None  # too old (or from the future): possibly a replay
    wanted = expected_signature(secret, event_id, timestamp, body)
    offered = headers.get("webhook-signature", "").split()
    return event_id if any(hmac.compare_digest(wanted, s) for s in offered) else None


class Receiver:
    """Verifies, deduplicates by event id (within the tolerance window) and records."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.seen: OrderedDict[str, float] = OrderedDict()
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        now = time.time()
        event_id = verify(self.secret, headers, body, now)
        if event_id is None:
            return 401
        with self.lock:
            while self.seen and next(iter(self.seen.values())) < now - 2 * TOLERANCE_SECONDS:
                self.seen.popitem(last=False)  # ids older than the window cannot come back
            if event_id in self.seen:
                return 200  # a retry of one already processed: acknowledge, do nothing
            self.seen[event_id] = now
            self.events.append(json.loads(body))
        return 204

    def server(self, port: int) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                status = 413 if length > MAX_BODY else receiver.handle(
                    {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
                if status == 204:
                    event = receiver.events[-1]
                    print(f"{event['type']}: {json.dumps(event['subject'])}", flush=True)

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

        return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def self_check() -> int:
    """Sign as a node does (node.services.webhooks) and post to this receiver."""
    from node.services.webhooks import new_secret, signature_headers

    secret = new_secret()
    receiver = Receiver(secret)
    server = receiver.server(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        body = json.dumps({"id": "evt-1", "type": "document.received",
                           "subject": {"documentId": "coo-1"}, "data": {}}).encode()
        now = int(time.time())
        headers = signature_headers(secret, "evt-1", now, body)
        checks = {
            "authentic": (_post(url, body, headers), 204),
            "replayed": (_post(url, body, headers), 200),
            "tampered": (_post(url, body.replace(b"coo-1", b"coo-2"),
                               signature_headers(secret, "evt-2", now, body)), 401),
            "stale": (_post(url, body, signature_headers(secret, "evt-3", now - 3600, body)),
                      401),
            "wrong secret": (_post(url, body, signature_headers(new_secret(), "evt-4", now,
                                                                body)), 401),
        }
    finally:
        server.shutdown()
        server.server_close()
    for name, (got, wanted) in checks.items():
        print(f"{name:<13} HTTP {got} (expected {wanted})")
        if got != wanted:
            return 1
    assert [event["id"] for event in receiver.events] == ["evt-1"]
    print("example passed")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--secret", help="the secret shown when the webhook was added")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    if not args.secret:
        return self_check()
    server = Receiver(args.secret).server(args.port)
    print(f"listening on http://127.0.0.1:{args.port}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
