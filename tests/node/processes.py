"""Real node processes for crash and scale-out tests: ``python -m node.cli node serve|worker``.

Each node is a subprocess on 127.0.0.1 reading its settings from ``DIR/node.env`` (the
environment's ``TRADEACCORD_*`` variables are removed so that only the file counts). Keys
are plaintext test keys, so no passphrase is needed. Every wait here is bounded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from node.client import ClientError, ConnectionProblem, NodeClient
from node.services.apikeys import Role, create_api_key
from node.storage.database import make_engine, migrate, write_session
from protocol.reason_codes import ReasonCode
from protocol.timeutil import utc_now

ROOT = Path(__file__).resolve().parents[2]
FAST = {
    "TRADEACCORD_WORKER_POLL_SECONDS": "0.05",
    "TRADEACCORD_DELIVERY_BACKOFF_BASE_SECONDS": "0.05",
    "TRADEACCORD_DELIVERY_BACKOFF_MAX_SECONDS": "0.5",
    "TRADEACCORD_DELIVERY_TIMEOUT_SECONDS": "5",
    "TRADEACCORD_DELIVERY_MAX_ATTEMPTS": "1000",
    "TRADEACCORD_LOG_LEVEL": "warning",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env() -> dict[str, str]:
    """This process's environment without any ``TRADEACCORD_*`` variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TRADEACCORD_")}


def write_node_env(directory: Path, values: Mapping[str, str]) -> None:
    (directory / "node.env").write_text("".join(f"{k}={v}\n" for k, v in values.items()),
                                        "utf-8")


def create_keys(database_url: str, roles: Mapping[str, tuple[Role, str | None]]
                ) -> dict[str, str]:
    """Migrate the database and create one API key per name."""
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        with write_session(engine) as session:
            keys = {name: create_api_key(session, role=role, party=party, label="test",
                                         at=utc_now())
                    for name, (role, party) in roles.items()}
            session.commit()
    finally:
        engine.dispose()
    return keys


def sqlite_rows(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows of a query on a node's SQLite file (a short read transaction)."""
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
        return conn.execute(sql, params).fetchall()


def wait_until(predicate: Callable[[], object], *, timeout: float, what: str,
               interval: float = 0.05) -> object:
    """Poll ``predicate`` until truthy (bounded); raise ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


@dataclass
class NodeProcess:
    """One ``tradeaccord node serve`` (or ``node worker``) subprocess for an authority."""

    authority_id: str
    directory: Path
    port: int = 0
    name: str = "node"
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    last_log: Path | None = None
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, args: list[str], kind: str) -> None:
        self.starts += 1
        self.last_log = self.directory / f"{self.name}-{kind}-{self.starts}.log"
        log = self.last_log.open("wb")
        self._logs.append(log)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "node", *args, "--authority-dir",
             str(self.directory)],
            stdout=log, stderr=subprocess.STDOUT, env=clean_env(), cwd=ROOT)

    def serve(self, *, worker: bool = True, timeout: float = 45) -> None:
        """Start the API (and worker) on ``port`` and wait for ``/readyz``."""
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self._spawn(args if worker else [*args, "--no-worker"], "serve")
        self.wait_ready(timeout)

    def work(self) -> None:
        """Start a delivery worker alone."""
        self._spawn(["worker"], "worker")

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with NodeClient(self.url, timeout=5) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.authority_id} exited with "
                                       f"{self.process.returncode}: {self.tail()}")
                with contextlib.suppress(ConnectionProblem, ValueError, OSError):
                    if client.ready().get("status") == "ready":
                        return
                time.sleep(0.1)
        raise TimeoutError(f"{self.authority_id} not ready within {timeout:.0f} s")

    def tail(self, chars: int = 3000) -> str:
        path = self.last_log
        return path.read_text("utf-8", "replace")[-chars:] if path and path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a bounded wait; close the logs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        for log in self._logs:
            log.close()
        self._logs.clear()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def submit_tolerant(client: NodeClient, document: Mapping[str, Any], send_to: list[str], *,
                    deadline: float) -> str:
    """Submit until the node holds the document: a lost connection is retried (until
    ``deadline``), and CONFLICT on a retry means the first attempt was committed."""
    retried = False
    while True:
        try:
            return str(client.submit(document, send_to=send_to)["id"])
        except ConnectionProblem:
            if time.monotonic() > deadline:
                raise
            retried = True
            time.sleep(0.1)
        except ClientError as exc:
            if retried and exc.code is ReasonCode.CONFLICT:
                return str(document["id"])
            raise
