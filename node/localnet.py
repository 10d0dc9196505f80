"""A local pilot network of real node processes on 127.0.0.1 (demo, examples, benchmarks).

``LocalNetwork`` creates the authorities and registries with ``node.pilot.setup_network``,
prepares each node's SQLite database, issues API keys, and runs every node as its own
``python -m node.cli node serve`` process (keys encrypted with a per-run passphrase). Use it
as a context manager: the processes are stopped on exit, whatever happens.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from node.authority import AuthorityDirectory, write_atomic
from node.client import ConnectionProblem, NodeClient
from node.pilot import AgreementSpec, AuthoritySpec, setup_network
from node.services.apikeys import Role, create_api_key
from node.storage.database import make_engine, migrate, write_session
from protocol.timeutil import utc_now


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalNetwork:
    """Authorities, registries and node processes under ``workdir``."""

    def __init__(self, workdir: Path, authorities: Sequence[AuthoritySpec],
                 agreements: Sequence[AgreementSpec], *,
                 node_settings: Mapping[str, str] | None = None) -> None:
        self.workdir = workdir
        self.specs = list(authorities)
        self.agreements = list(agreements)
        self.node_settings = dict(node_settings or {})
        self.passphrases = {spec.authority_id: secrets.token_urlsafe(24).encode()
                            for spec in self.specs}
        self.ports = {spec.authority_id: free_port() for spec in self.specs if spec.serve}
        self.urls = {aid: f"http://127.0.0.1:{port}" for aid, port in self.ports.items()}
        self.directories: dict[str, AuthorityDirectory] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def setup(self, at: dt.datetime | None = None) -> None:
        """Create authorities, registries and databases (the ``node init`` step)."""
        self.directories = setup_network(self.workdir, self.specs, self.urls, self.agreements,
                                         at=at or utc_now(), passphrases=self.passphrases)
        for directory in self.directories.values():
            if directory.authority_id not in self.urls:
                continue  # signs offline, runs no node
            if self.node_settings:
                lines = "".join(f"TRADEACCORD_{k.upper()}={v}\n"
                                for k, v in self.node_settings.items())
                write_atomic(directory.path / "node.env", lines.encode())
            migrate(self.database_url(directory.authority_id))

    def database_url(self, authority_id: str) -> str:
        return f"sqlite:///{self.directories[authority_id].path / 'node.db'}"

    def api_key(self, authority_id: str, role: Role, party: str | None = None) -> str:
        """Issue an API key at a node (the ``node apikey create`` step)."""
        engine = make_engine(self.database_url(authority_id))
        try:
            with write_session(engine) as session:
                key = create_api_key(session, role=role, party=party, label="local network",
                                     at=utc_now())
                session.commit()
        finally:
            engine.dispose()
        return key

    def start(self, authority_id: str, timeout: float = 30) -> None:
        """Start one node process and wait until it reports ready."""
        self.spawn(authority_id)
        self._wait_ready(authority_id, timeout)

    def spawn(self, authority_id: str) -> None:
        """Start one node process (without waiting for it)."""
        directory = self.directories[authority_id]
        env = dict(os.environ, TRADEACCORD_PASSPHRASE=self.passphrases[authority_id].decode())
        env.pop("TRADEACCORD_DATABASE_URL", None)
        log = (directory.path / "node.log").open("ab")
        self.processes[authority_id] = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "node", "serve", "--authority-dir",
             str(directory.path), "--host", "127.0.0.1", "--port", str(self.ports[authority_id])],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()

    def start_all(self, timeout: float = 90) -> None:
        """Start every node at once, then wait until each reports ready."""
        for authority_id in self.urls:
            self.spawn(authority_id)
        for authority_id in self.urls:
            self._wait_ready(authority_id, timeout)

    def _wait_ready(self, authority_id: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with NodeClient(self.urls[authority_id]) as client:
            while time.monotonic() < deadline:
                process = self.processes[authority_id]
                if process.poll() is not None:
                    raise RuntimeError(f"{authority_id} exited with {process.returncode}; see "
                                       f"{self.directories[authority_id].path / 'node.log'}")
                try:
                    if client.ready().get("status") == "ready":
                        return
                except (ConnectionProblem, ValueError):
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"{authority_id} did not become ready within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL after 15 s)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> LocalNetwork:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
