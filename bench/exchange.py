"""End-to-end exchange: accepted documents per second and submit → final delivery latency.

What is measured: two real node processes (``python -m node.cli node serve``, API and
delivery worker each) on 127.0.0.1, SG-CUSTOMS sending to CN-CUSTOMS under the pilot
agreement that recognises certificates of origin. ``--clients`` trader clients submit
``--documents`` certificates of origin at SG-CUSTOMS as fast as the node answers (each
client waits for its answer before submitting the next), for at most ``--max-seconds``.
SG-CUSTOMS signs and stores each document with its delivery (one transaction); its worker
assembles envelopes (``--batch-size`` documents), signs and posts them; CN-CUSTOMS verifies
every document, decides recognition and answers a signed receipt, which SG-CUSTOMS verifies
and records.

- ``accepted_per_s``: documents whose delivery ended ``delivered``/``accepted``, divided by
  the time from the first submission's start to the last receipt recorded at the sender.
- ``p50_ms``/``p99_ms``: per document, from the client starting its submission to the
  sender recording the receipt that answers it (``delivery.updated_at``, same host clock).
- Settings are the node defaults, except the worker poll interval (0.05 s instead of 0.2 s)
  and the batch size when given. A few warm-up documents are sent and excluded.

Storage: SQLite files (default) or two fresh PostgreSQL databases at 127.0.0.1:5432
(``--database postgresql``; user ``postgres``; dropped afterwards). Keys are plaintext
test keys in a temporary directory, which is removed at the end.

Prints a table, the command line, and a last line of JSON. Bounded: at most
``--documents`` documents, submission stops after ``--max-seconds``, and the wait for the
last receipts is bounded too (``--drain-seconds``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from node.client import NodeClient  # noqa: E402
from node.pilot import AgreementSpec, AuthoritySpec, setup_network  # noqa: E402
from node.services.apikeys import Role, create_api_key  # noqa: E402
from node.storage.database import make_engine, migrate, write_session  # noqa: E402
from protocol.timeutil import utc_now  # noqa: E402

SG = AuthoritySpec("SG-CUSTOMS", "SG", "Singapore Customs", ("customs", "origin"))
CN = AuthoritySpec("CN-CUSTOMS", "CN", "General Administration of Customs of China")
AGREEMENT = AgreementSpec("SG-CN-COO-2026", "SG-CUSTOMS", "CN-CUSTOMS",
                          ("certificate-of-origin",))
EXPORTER = "SG-UEN-201912345K"
PG = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
FINAL = ("delivered", "delivered-with-warnings", "rejected", "failed", "dead")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def certificate(document_id: str) -> dict[str, Any]:
    path = ROOT / "examples" / "documents" / "certificate-of-origin.json"
    document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    document["id"] = document_id
    document.pop("issuer")  # the example names SG-CHAMBER; the SG-CUSTOMS node signs it here
    return document


class Databases:
    """One database URL per node: SQLite files, or fresh PostgreSQL databases."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        self.workdir = workdir
        self.created: list[str] = []

    def new(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.workdir / f'{name}.db'}"
        import psycopg

        database = f"tradeaccord_bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')  # type: ignore[arg-type]
        self.created.append(database)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"

    def rows(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        if url.startswith("sqlite:///"):
            with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"),
                                                    timeout=30)) as conn:
                return conn.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                             connect_timeout=5) as conn:
            return conn.execute(sql).fetchall()  # type: ignore[arg-type]

    def drop(self) -> None:
        if not self.created:
            return
        import psycopg

        with psycopg.connect(PG, autocommit=True, connect_timeout=5) as conn:
            for database in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')  # type: ignore[arg-type]


def as_utc(value: Any) -> dt.datetime:
    """A timestamp column as an aware UTC datetime (SQLite stores naive UTC text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Node:
    def __init__(self, authority_id: str, directory: Path, port: int) -> None:
        self.authority_id = authority_id
        self.directory = directory
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = (directory / "node.log").open("wb")

    def start(self, timeout: float = 60) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEACCORD_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "node", "serve", "--authority-dir",
             str(self.directory), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        with NodeClient(self.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.authority_id} exited; see {self.directory}")
                with contextlib.suppress(Exception):
                    if client.ready().get("status") == "ready":
                        return
                time.sleep(0.1)
        raise RuntimeError(f"{self.authority_id} not ready within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        self.log.close()


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def submit_load(url: str, key: str, documents: int, clients: int, max_seconds: float,
                run: str) -> dict[str, float]:
    """Submit up to ``documents`` with ``clients`` threads for at most ``max_seconds``;
    return each submitted document id with its start time (epoch seconds)."""
    counter = itertools.count()
    started: dict[str, float] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def _client() -> None:
        try:
            with NodeClient(url, key, timeout=30) as trader:
                while time.monotonic() < deadline:
                    index = next(counter)
                    if index >= documents:
                        return
                    document_id = f"bench-{run}-{index:06d}"
                    began = time.time()
                    trader.submit(certificate(document_id), send_to=[CN.authority_id])
                    with lock:
                        started[document_id] = began
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=_client, name=f"client-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max_seconds + 60)
    if errors:
        raise RuntimeError(f"submission failed: {errors[0]!r}") from errors[0]
    return started


def final_count(databases: Databases, url: str) -> int:
    marks = ", ".join(f"'{state}'" for state in FINAL)
    return int(databases.rows(url, f"SELECT count(*) FROM delivery WHERE state IN ({marks})")
               [0][0])


def wait_final(databases: Databases, url: str, expected: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if final_count(databases, url) >= expected:
            return True
        time.sleep(0.2)
    return False


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    databases = Databases(args.database, workdir)
    try:
        ports = {SG.authority_id: free_port(), CN.authority_id: free_port()}
        urls = {aid: f"http://127.0.0.1:{port}" for aid, port in ports.items()}
        directories = setup_network(workdir / "net", (SG, CN), urls, (AGREEMENT,),
                                    at=utc_now())
        database_urls: dict[str, str] = {}
        keys: dict[str, str] = {}
        for authority_id, directory in directories.items():
            url = databases.new(authority_id.lower())
            database_urls[authority_id] = url
            settings = {"TRADEACCORD_DATABASE_URL": url, "TRADEACCORD_WORKER_POLL_SECONDS": "0.05",
                        "TRADEACCORD_LOG_LEVEL": "warning"}
            if args.batch_size:
                settings["TRADEACCORD_DELIVERY_BATCH_SIZE"] = str(args.batch_size)
            (directory.path / "node.env").write_text(
                "".join(f"{k}={v}\n" for k, v in settings.items()), "utf-8")
            migrate(url)
            engine = make_engine(url)
            with write_session(engine) as session:
                keys[authority_id] = create_api_key(session, role=Role.TRADER, party=EXPORTER,
                                                    label="bench", at=utc_now())
                session.commit()
            engine.dispose()
        nodes = [Node(aid, directories[aid].path, ports[aid])
                 for aid in (CN.authority_id, SG.authority_id)]
        try:
            for node in nodes:
                node.start()
            sender = database_urls[SG.authority_id]
            sg_url, sg_key = urls[SG.authority_id], keys[SG.authority_id]
            warm = submit_load(sg_url, sg_key, args.warmup, 1, 30, "warmup")
            if not wait_final(databases, sender, len(warm), 30):
                raise RuntimeError("warm-up documents were not delivered within 30 s")
            began = time.monotonic()
            started = submit_load(sg_url, sg_key, args.documents, args.clients,
                                  args.max_seconds, uuid.uuid4().hex[:8])
            submit_seconds = time.monotonic() - began
            drained = wait_final(databases, sender, len(warm) + len(started), args.drain_seconds)
            rows = databases.rows(sender, "SELECT d.document_id, y.state, y.outcome, y.updated_at "
                                          "FROM delivery y JOIN document d "
                                          "ON d.pk = y.document_pk")
            [(messages,)] = databases.rows(sender, "SELECT count(*) FROM outbound_message")
        finally:
            for node in reversed(nodes):
                node.stop()
    finally:
        databases.drop()
    accepted = {row[0]: as_utc(row[3]).timestamp() for row in rows
                if row[0] in started and (row[1], row[2]) == ("delivered", "accepted")}
    other = sum(1 for row in rows if row[0] in started and row[0] not in accepted)
    latencies = [(accepted[i] - started[i]) * 1000 for i in accepted]
    window = (max(accepted.values()) - min(started.values())) if accepted else 0.0
    return {
        "documents": len(started),
        "accepted": len(accepted),
        "not_accepted": other,
        "drained": drained,
        "accepted_per_s": len(accepted) / window if window > 0 else 0.0,
        "submitted_per_s": len(started) / submit_seconds if submit_seconds > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) if latencies else None,
        "p99_ms": percentile(latencies, 0.99) if latencies else None,
        "window_s": window,
        "messages": int(messages) - len(warm),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=2000,
                        help="certificates of origin to submit (default 2000)")
    parser.add_argument("--clients", type=int, default=8,
                        help="concurrent trader clients (default 8)")
    parser.add_argument("--max-seconds", type=float, default=40,
                        help="stop submitting after this many seconds (default 40)")
    parser.add_argument("--drain-seconds", type=float, default=60,
                        help="longest wait for the last receipts (default 60)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--batch-size", type=int, default=0,
                        help="documents per envelope (default: the node's, 50)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up documents (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()
    if args.documents < 1 or args.clients < 1 or args.max_seconds <= 0:
        parser.error("--documents, --clients and --max-seconds must be positive")
    workdir = Path(tempfile.mkdtemp(prefix="tradeaccord-bench-"))
    began = time.perf_counter()
    try:
        result = run(args, workdir)
    finally:
        if args.keep:
            print(f"working directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - began
    print(f"exchange SG-CUSTOMS -> CN-CUSTOMS, {args.database}, {args.clients} clients, "
          f"{result['messages']} envelopes")
    print(f"{'figure':<28} {'value':>10}")
    print(f"{'documents submitted':<28} {result['documents']:>10,}")
    print(f"{'accepted (signed receipt)':<28} {result['accepted']:>10,}")
    print(f"{'not accepted / not final':<28} {result['documents'] - result['accepted']:>10,}")
    print(f"{'submitted per second':<28} {result['submitted_per_s']:>10,.1f}")
    print(f"{'accepted per second':<28} {result['accepted_per_s']:>10,.1f}")
    if result["p50_ms"] is not None:
        print(f"{'p50 submit->receipt ms':<28} {result['p50_ms']:>10,.0f}")
        print(f"{'p99 submit->receipt ms':<28} {result['p99_ms']:>10,.0f}")
    print(f"(total {total:.1f} s including start-up)")
    command = " ".join([".venv/bin/python", *sys.argv])
    print(f"command: {command}")
    print(json.dumps({
        "bench": "exchange",
        "command": command,
        "database": args.database,
        "clients": args.clients,
        "documents": result["documents"],
        "accepted": result["accepted"],
        "drained": result["drained"],
        "envelopes": result["messages"],
        "accepted_per_s": round(result["accepted_per_s"], 1),
        "submitted_per_s": round(result["submitted_per_s"], 1),
        "p50_ms": None if result["p50_ms"] is None else round(result["p50_ms"], 1),
        "p99_ms": None if result["p99_ms"] is None else round(result["p99_ms"], 1),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }, sort_keys=True))


if __name__ == "__main__":
    main()
