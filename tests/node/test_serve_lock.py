"""`node serve` as a process (issue 12 §3): it prints where it listens, refuses to start a
second time on the same directory, and a node killed with SIGKILL does not lock its
directory for ever (DIR/node.lock)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue

import httpx
import pytest

from node.authority import AuthorityDirectory
from node.run_lock import LOCK_NAME
from protocol.timeutil import utc_now
from tests.node.processes import ROOT, clean_env, free_port

URL = re.compile(r"serving at (http://127\.0\.0\.1:(\d+))")


class Serve:
    """One `tradeaccord node serve` subprocess whose stdout lines are read as they come."""

    def __init__(self, directory: Path, port: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "node", "serve", "--authority-dir",
             str(directory), "--port", str(port), "--no-worker"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**clean_env(), "TRADEACCORD_LOG_LEVEL": "warning"})
        self.lines: Queue[str] = Queue()
        assert self.process.stdout is not None
        stdout = self.process.stdout

        def _read() -> None:
            for line in stdout:
                self.lines.put(line)

        threading.Thread(target=_read, daemon=True).start()

    def url(self, timeout: float = 90) -> str:
        """The URL from the line it prints when listening (bounded wait)."""
        try:
            line = self.lines.get(timeout=timeout)
        except Empty:
            pytest.fail(f"no line from node serve within {timeout:.0f} s")
        match = URL.search(line)
        assert match is not None, line
        return match.group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    authority = AuthorityDirectory.create(tmp_path / "sg", authority_id="SG-CUSTOMS",
                                          country="SG", name="Singapore Customs",
                                          passphrase=None, at=utc_now())
    result = subprocess.run([sys.executable, "-m", "node.cli", "node", "init",
                             "--authority-dir", str(authority.path)], cwd=ROOT,
                            env=clean_env(), capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    return authority.path


@pytest.fixture
def started() -> Iterator[list[Serve]]:
    processes: list[Serve] = []
    yield processes
    for process in processes:
        process.stop()


def test_serve_prints_its_url_and_refuses_a_second_start(directory: Path,
                                                         started: list[Serve]) -> None:
    port = free_port()
    first = Serve(directory, port)
    started.append(first)
    url = first.url()
    assert url == f"http://127.0.0.1:{port}"
    assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
    lock = directory / LOCK_NAME
    assert lock.read_text().strip() == str(first.process.pid)

    # A second start on the same directory (another port): refused, naming the holder.
    second = subprocess.run([sys.executable, "-m", "node.cli", "node", "serve",
                             "--authority-dir", str(directory), "--port", str(free_port()),
                             "--no-worker"], cwd=ROOT, env=clean_env(), capture_output=True,
                            text=True, timeout=120, check=False)
    assert second.returncode == 1, second.stderr
    assert "already serving" in second.stderr and str(first.process.pid) in second.stderr
    assert "Traceback" not in second.stderr
    assert lock.read_text().strip() == str(first.process.pid)  # untouched
    assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200

    # Killed without any shutdown code: the next start takes the stale lock over.
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait(timeout=30)
    assert lock.read_text().strip() == str(first.process.pid)  # the dead pid is still there
    again = Serve(directory, port)
    started.append(again)
    assert again.url() == url
    assert lock.read_text().strip() == str(again.process.pid)
    assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200


def test_serve_on_a_port_in_use_is_a_usage_error(directory: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "node.cli", "node", "serve",
                                 "--authority-dir", str(directory), "--port", str(port),
                                 "--no-worker"], cwd=ROOT, env=clean_env(),
                                capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert (directory / LOCK_NAME).read_text() == ""  # released on the way out
