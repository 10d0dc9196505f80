"""Webhooks end to end with real processes: two nodes (``tradeaccord node serve``), a webhook
registered with the CLI, and a tiny receiving server on 127.0.0.1 that refuses the first
notification (the node retries) and verifies the signature of every one it gets."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from node.client import NodeClient
from node.pilot import setup_network
from node.services.apikeys import Role
from node.services.webhooks import verify_signature
from protocol.timeutil import utc_now
from tests.node.conftest import CN, COO_AGREEMENT, EXPORTER, SG, certificate_of_origin
from tests.node.processes import (
    FAST,
    ROOT,
    NodeProcess,
    clean_env,
    create_keys,
    free_port,
    wait_until,
    write_node_env,
)


class Receiver:
    """An HTTP server on 127.0.0.1 that answers 500 to its first request, then 204."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(min(length, 1 << 20))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()},
                                          body))
                self.send_response(500 if len(receiver.received) == 1 else 204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                del format, args  # quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tradeaccord"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def _cli(node: NodeProcess, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", "webhook", *args, "--node", node.url,
         "--api-key", key], capture_output=True, text=True, env=clean_env(), cwd=ROOT,
        timeout=120, check=False)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[NodeProcess, NodeProcess, dict[str, str]]]:
    ports = {SG.authority_id: free_port(), CN.authority_id: free_port()}
    urls = {aid: f"http://127.0.0.1:{port}" for aid, port in ports.items()}
    directories = setup_network(tmp_path / "net", (SG, CN), urls, (COO_AGREEMENT,),
                                at=utc_now())
    sg_dir, cn_dir = directories[SG.authority_id], directories[CN.authority_id]
    write_node_env(sg_dir.path, FAST)
    write_node_env(cn_dir.path, {**FAST, "TRADEACCORD_HOLD_FOR_REVIEW_TYPES":
                                 json.dumps(["certificate-of-origin"])})
    keys = {
        "sg-trader": create_keys(f"sqlite:///{sg_dir.path / 'node.db'}",
                                 {"t": (Role.TRADER, EXPORTER)})["t"],
        "cn-trader": create_keys(f"sqlite:///{cn_dir.path / 'node.db'}",
                                 {"t": (Role.TRADER, EXPORTER)})["t"],
    }
    sg = NodeProcess(SG.authority_id, sg_dir.path, ports[SG.authority_id])
    cn = NodeProcess(CN.authority_id, cn_dir.path, ports[CN.authority_id])
    try:
        sg.serve()
        cn.serve()
        yield sg, cn, keys
    finally:
        sg.stop()
        cn.stop()


@pytest.mark.slow
def test_a_trader_is_notified_of_a_received_document_signed_after_a_retry(pair) -> None:
    sg, cn, keys = pair
    with Receiver() as receiver:
        added = _cli(cn, keys["cn-trader"], "add", receiver.url, "--event",
                     "document.received", "--json")
        assert added.returncode == 0, added.stderr + cn.tail()
        created = json.loads(added.stdout)
        listed = _cli(cn, keys["cn-trader"], "list")
        assert listed.returncode == 0 and created["id"] in listed.stdout
        assert "whsec_" not in listed.stdout

        with NodeClient(sg.url, keys["sg-trader"]) as client:
            document_id = client.submit(certificate_of_origin(), [CN.authority_id])["id"]

        wait_until(lambda: len(receiver.received) >= 2, timeout=60,
                   what="the notification, retried after a 500")
        (first_headers, first_body), (headers, body) = receiver.received[:2]
        assert first_body == body and first_headers["webhook-id"] == headers["webhook-id"]
        assert verify_signature(created["secret"], headers, body, now=int(time.time()))
        event = json.loads(body)
        assert event["type"] == "document.received"
        assert event["subject"]["documentId"] == document_id
        assert event["subject"]["outcome"] == "held-for-review"
        assert event["id"] == headers["webhook-id"]

        removed = _cli(cn, keys["cn-trader"], "remove", created["id"])
        assert removed.returncode == 0, removed.stderr
        assert _cli(cn, keys["cn-trader"], "list").stdout.strip() == "no webhooks"
        gone = _cli(cn, keys["cn-trader"], "remove", created["id"])
        assert gone.returncode == 1 and "NOT_FOUND" in gone.stderr
