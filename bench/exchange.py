"""End-to-end exchange: accepted documents per second, latency at half that load, the
pair's crypto-only limit in the same run, and each node's CPU and resident memory.

    python -m bench.exchange [--quick] [--batch-size 1] [--database postgresql]
                             [--api-processes 2 --workers 2]

What is measured: two real nodes on 127.0.0.1 (``python -m node.cli node serve``: API and
delivery worker in one process; or ``--api-processes`` API processes sharing one listening
socket plus ``--workers`` ``node worker`` processes), SG-CUSTOMS sending to CN-CUSTOMS under
the pilot agreement that recognises certificates of origin. ``--clients`` trader clients
submit certificates of origin at SG-CUSTOMS as fast as the node answers (each client waits
for its answer), for at most ``--max-seconds``. SG-CUSTOMS signs and stores each document
with its delivery (one transaction); its worker assembles envelopes (``--batch-size``
documents: 50 by default, 1 for one document per envelope), signs and posts them;
CN-CUSTOMS verifies every document, decides recognition and answers a signed receipt, which
SG-CUSTOMS verifies and records.

- ``value`` (accepted/s at maximum load): documents whose delivery ended
  ``delivered``/``accepted``, over the time from the first submission's start to the last
  receipt recorded at the sender.
- ``limit``: the pair's crypto-only limit, measured in this process before and after the
  exchange (best of both): per document one Ed25519 signature and one verification over a
  certificate-sized input, plus the envelope's and the receipt's, amortised over the batch;
  both cores. ``ratio`` = value / limit.
- ``capacity_per_s``: 2 cores over the CPU seconds both nodes spent per accepted document
  (from ``/proc``): what the pair would do with the machine to itself. On a shared machine
  the rate follows the other load; this does not.
- ``p50_ms``/``p99_ms``: the latency run after it, an open-loop load at half the measured
  maximum (``--latency-seconds``): per document, from its due time to the sender recording
  the receipt (``delivery.updated_at``, same host clock). ``p50_ms_at_max``: the same at
  maximum load (closed loop).
- ``memory_mb``: each node's resident memory (all its processes), idle after start and
  after the exchange.
- Settings are the node defaults (the worker wakes on the API's commits), except the batch
  size when given and, for separate worker processes, a 0.05 s poll. A few warm-up
  documents are sent and excluded.

Storage: SQLite files (default) or two fresh PostgreSQL databases at 127.0.0.1:5432
(``--database postgresql``; user ``postgres``; dropped afterwards). Keys are plaintext
test keys in a temporary directory, which is removed at the end.

Bounded: at most ``--documents`` documents, submission stops after ``--max-seconds``, the
waits for the last receipts after ``--drain-seconds``; ``--quick``: 8 s of load and 5 s of
latency run (about 30 s on a quiet machine).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import os
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

from bench._common import machine as bench_machine  # noqa: E402
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
            conn.execute(f'CREATE DATABASE "{database}"')
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
            return conn.execute(sql).fetchall()

    def drop(self) -> None:
        if not self.created:
            return
        import psycopg

        with psycopg.connect(PG, autocommit=True, connect_timeout=5) as conn:
            for database in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def as_utc(value: Any) -> dt.datetime:
    """A timestamp column as an aware UTC datetime (SQLite stores naive UTC text)."""
    stamp: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


class Node:
    """One authority's node: ``api`` API processes (``node serve``, sharing one listening
    socket inherited from this process) and, with ``workers`` > 0, that many separate
    delivery workers (``node worker``; the API processes then run ``--no-worker``)."""

    def __init__(self, authority_id: str, directory: Path, port: int, *, api: int = 1,
                 workers: int = 0) -> None:
        self.authority_id = authority_id
        self.directory = directory
        self.port = port
        self.api = max(1, api)
        self.workers = max(0, workers)
        self.url = f"http://127.0.0.1:{port}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.log = (directory / "node.log").open("wb")

    def start(self, timeout: float = 180) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEACCORD_")}
        base = [sys.executable, "-m", "node.cli", "node"]
        directory = ["--authority-dir", str(self.directory)]
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(1024)
        try:
            serve = [*base, "serve", *directory, "--fd", str(listener.fileno())]
            if self.workers or self.api > 1:
                serve.append("--no-worker")
            for _ in range(self.api):
                self.processes.append(subprocess.Popen(
                    serve, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                    pass_fds=(listener.fileno(),)))
        finally:
            listener.close()  # the children hold it now
        workers = self.workers or (1 if self.api > 1 else 0)
        for _ in range(workers):
            self.processes.append(subprocess.Popen(
                [*base, "worker", *directory], stdout=self.log, stderr=subprocess.STDOUT,
                env=env, cwd=ROOT))
        deadline = time.monotonic() + timeout
        with NodeClient(self.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if any(process.poll() is not None for process in self.processes):
                    raise RuntimeError(f"{self.authority_id} exited; see {self.directory}")
                with contextlib.suppress(Exception):
                    if client.ready().get("status") == "ready":
                        return
                time.sleep(0.1)
        raise RuntimeError(f"{self.authority_id} not ready within {timeout:.0f} s")

    def resident_mb(self) -> float:
        """Resident memory of all the node's processes, MiB (Linux ``/proc``)."""
        total = 0
        for process in self.processes:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time of all the node's processes so far (Linux ``/proc``)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for process in self.processes:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)
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


def paced_load(url: str, key: str, rate: float, seconds: float, clients: int,
               run: str) -> dict[str, float]:
    """Open-loop load: document ``i`` is due at ``i / rate`` seconds after the start and is
    submitted then (or at once, if every client was busy); returns ids with their due times
    (epoch seconds), so that queueing in front of the node counts in the latency."""
    counter = itertools.count()
    due: dict[str, float] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()
    total = max(1, int(rate * seconds))
    origin = time.time() + 0.2

    def _client() -> None:
        try:
            with NodeClient(url, key, timeout=30) as trader:
                while True:
                    index = next(counter)
                    if index >= total:
                        return
                    at = origin + index / rate
                    time.sleep(max(0.0, at - time.time()))
                    document_id = f"paced-{run}-{index:06d}"
                    trader.submit(certificate(document_id), send_to=[CN.authority_id])
                    with lock:
                        due[document_id] = at
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=_client, name=f"paced-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    if errors:
        raise RuntimeError(f"submission failed: {errors[0]!r}") from errors[0]
    return due


def crypto_limit(batch: int, seconds: float) -> dict[str, float]:
    """The pair's crypto-only limit, measured here: per document one Ed25519 signature
    (issuer) and one verification (receiver) over a certificate-sized signing input, plus
    the envelope's and the receipt's signature and verification amortised over ``batch``
    documents; both cores (two processes' worth of CPU), so twice one core's rate.
    Measured in CPU time of this process, best of a few rounds."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key()
    document = json.dumps(certificate("limit")).encode()
    doc_input = b"e" * (len(document) * 4 // 3 + 300)  # header.payload, base64url
    envelope_input = b"e" * (len(doc_input) * 4 // 3 * batch + 600)
    receipt_input = b"e" * (300 * batch + 600)

    def best(operation: Any, data: bytes) -> float:
        """Best CPU seconds per call over rounds of ~seconds/6 each."""
        signature = key.sign(data)
        rounds: list[float] = []
        for _ in range(3):
            count, began = 0, time.process_time()
            while time.process_time() - began < seconds / 18 or count < 20:
                operation(signature, data)
                count += 1
            rounds.append((time.process_time() - began) / count)
        return min(rounds)

    def sign(_signature: bytes, data: bytes) -> None:
        key.sign(data)

    def check(signature: bytes, data: bytes) -> None:
        public.verify(signature, data)

    sign_doc, verify_doc = best(sign, doc_input), best(check, doc_input)
    sign_env, verify_env = best(sign, envelope_input), best(check, envelope_input)
    sign_rcpt, verify_rcpt = best(sign, receipt_input), best(check, receipt_input)
    per_document = sign_doc + verify_doc + (sign_env + verify_env + sign_rcpt + verify_rcpt) / batch
    return {"docs_per_s": 2.0 / per_document, "sign_us": sign_doc * 1e6,
            "verify_us": verify_doc * 1e6}


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    databases = Databases(args.database, workdir)
    batch = args.batch_size or 50
    limit_before = crypto_limit(batch, 1.5 if args.quick else 4)
    memory: dict[str, dict[str, float]] = {}
    latency: dict[str, Any] = {}
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
            settings = {"TRADEACCORD_DATABASE_URL": url, "TRADEACCORD_LOG_LEVEL": "warning"}
            if args.workers:
                # Separate worker processes are not woken by the API's commits: they poll.
                settings["TRADEACCORD_WORKER_POLL_SECONDS"] = "0.05"
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
        nodes = [Node(aid, directories[aid].path, ports[aid], api=args.api_processes,
                      workers=args.workers)
                 for aid in (CN.authority_id, SG.authority_id)]
        try:
            for node in nodes:
                node.start()
            time.sleep(0.5)
            for node in nodes:
                memory[node.authority_id] = {"idle_mb": node.resident_mb()}
            sender = database_urls[SG.authority_id]
            sg_url, sg_key = urls[SG.authority_id], keys[SG.authority_id]
            warm = submit_load(sg_url, sg_key, args.warmup, 1, 30, "warmup")
            if not wait_final(databases, sender, len(warm), 30):
                raise RuntimeError("warm-up documents were not delivered within 30 s")
            cpu_before = {node.authority_id: node.cpu_seconds() for node in nodes}
            began = time.monotonic()
            started = submit_load(sg_url, sg_key, args.documents, args.clients,
                                  args.max_seconds, uuid.uuid4().hex[:8])
            submit_seconds = time.monotonic() - began
            drained = wait_final(databases, sender, len(warm) + len(started), args.drain_seconds)
            rows = databases.rows(sender, "SELECT d.document_id, y.state, y.outcome, y.updated_at "
                                          "FROM delivery y JOIN document d "
                                          "ON d.pk = y.document_pk")
            [(messages,)] = databases.rows(sender, "SELECT count(*) FROM outbound_message")
            cpu = {node.authority_id: node.cpu_seconds() - cpu_before[node.authority_id]
                   for node in nodes}
            for node in nodes:
                memory[node.authority_id]["after_mb"] = node.resident_mb()
            accepted = {row[0]: as_utc(row[3]).timestamp() for row in rows
                        if row[0] in started and (row[1], row[2]) == ("delivered", "accepted")}
            window = (max(accepted.values()) - min(started.values())) if accepted else 0.0
            maximum = len(accepted) / window if window > 0 else 0.0
            if args.latency_seconds > 0 and maximum > 0 and drained:
                rate = maximum / 2
                due = paced_load(sg_url, sg_key, rate, args.latency_seconds, args.clients,
                                 uuid.uuid4().hex[:8])
                expected = len(warm) + len(started) + len(due)
                paced_drained = wait_final(databases, sender, expected, args.drain_seconds)
                paced_rows = databases.rows(
                    sender, "SELECT d.document_id, y.state, y.outcome, y.updated_at "
                            "FROM delivery y JOIN document d ON d.pk = y.document_pk")
                done = {row[0]: as_utc(row[3]).timestamp() for row in paced_rows
                        if row[0] in due and (row[1], row[2]) == ("delivered", "accepted")}
                waits = [(done[i] - due[i]) * 1000 for i in done]
                latency = {"rate_per_s": rate, "documents": len(due), "accepted": len(done),
                           "drained": paced_drained,
                           "p50_ms": percentile(waits, 0.50) if waits else None,
                           "p99_ms": percentile(waits, 0.99) if waits else None}
        finally:
            for node in reversed(nodes):
                node.stop()
    finally:
        databases.drop()
    limit_after = crypto_limit(batch, 1.5 if args.quick else 4)
    other = sum(1 for row in rows if row[0] in started and row[0] not in accepted)
    latencies = [(accepted[i] - started[i]) * 1000 for i in accepted]
    return {
        "documents": len(started),
        "accepted": len(accepted),
        "not_accepted": other,
        "drained": drained,
        "accepted_per_s": maximum,
        "submitted_per_s": len(started) / submit_seconds if submit_seconds > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) if latencies else None,
        "p99_ms": percentile(latencies, 0.99) if latencies else None,
        "window_s": window,
        "messages": int(messages) - len(warm),
        "limit": max(limit_before["docs_per_s"], limit_after["docs_per_s"]),
        "sign_us": min(limit_before["sign_us"], limit_after["sign_us"]),
        "verify_us": min(limit_before["verify_us"], limit_after["verify_us"]),
        "memory": memory,
        "latency": latency,
        # CPU seconds each node spent per accepted document: unlike the rate, this does not
        # depend on what else the machine runs; 2 cores over their sum is the pair's
        # capacity when nothing else competes (the clients' own CPU not counted).
        "cpu_ms_per_doc": {aid: seconds * 1000 / max(1, len(accepted))
                           for aid, seconds in cpu.items()},
        "capacity_per_s": 2 * max(1, len(accepted)) / max(1e-9, sum(cpu.values())),
    }


TARGETS = {"batched": 0.25, "single": 250.0}


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
                        help="documents per envelope (default: the node's, 50); 1 = one "
                        "document per envelope")
    parser.add_argument("--api-processes", type=int, default=1,
                        help="API processes per node, on one port (default 1)")
    parser.add_argument("--workers", type=int, default=0,
                        help="separate delivery worker processes per node (default 0: the "
                        "worker runs inside the API process)")
    parser.add_argument("--latency-seconds", type=float, default=15,
                        help="then a latency run this long at half the measured maximum "
                        "(0: none; default 15)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up documents (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="at most 8 s of load, 5 s of latency run (about 30 s in all)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()
    if args.quick:
        args.max_seconds = min(args.max_seconds, 8)
        args.latency_seconds = min(args.latency_seconds, 5)
        args.drain_seconds = min(args.drain_seconds, 20)
    if args.documents < 1 or args.clients < 1 or args.max_seconds <= 0:
        parser.error("--documents, --clients and --max-seconds must be positive")
    args.api_processes = max(1, min(args.api_processes, 8))
    args.workers = max(0, min(args.workers, 8))
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
    shape = (f"{args.api_processes} API + {args.workers} worker processes per node"
             if args.workers or args.api_processes > 1 else "one process per node")
    batch = args.batch_size or 50
    print(f"exchange SG-CUSTOMS -> CN-CUSTOMS, {args.database}, {args.clients} clients, "
          f"envelopes of up to {batch}, {shape}, {result['messages']} envelopes")
    print(f"{'figure':<40} {'value':>10}")
    print(f"{'documents submitted':<40} {result['documents']:>10,}")
    print(f"{'accepted (signed receipt)':<40} {result['accepted']:>10,}")
    print(f"{'not accepted / not final':<40} {result['documents'] - result['accepted']:>10,}")
    print(f"{'submitted per second':<40} {result['submitted_per_s']:>10,.1f}")
    print(f"{'accepted per second (maximum load)':<40} {result['accepted_per_s']:>10,.1f}")
    if result["p50_ms"] is not None:
        print(f"{'p50 / p99 submit->receipt at max, ms':<40} {result['p50_ms']:>10,.0f} "
              f"{result['p99_ms']:>8,.0f}")
    print(f"{'crypto-only limit of the pair, docs/s':<40} {result['limit']:>10,.1f} "
          f"(Ed25519 sign {result['sign_us']:.0f} us, verify {result['verify_us']:.0f} us, "
          "both cores)")
    per_doc = ", ".join(f"{aid} {ms:.1f}" for aid, ms in result["cpu_ms_per_doc"].items())
    print(f"{'node CPU per accepted document, ms':<40} {per_doc}")
    print(f"{'CPU capacity of the pair (2 cores), /s':<40} {result['capacity_per_s']:>10,.1f} "
          f"(ratio to the limit {result['capacity_per_s'] / result['limit']:.3f})")
    latency = result["latency"]
    if latency.get("p50_ms") is not None:
        print(f"{'latency run at half the maximum':<40} {latency['rate_per_s']:>10,.1f} /s, "
              f"{latency['accepted']}/{latency['documents']} accepted, p50 "
              f"{latency['p50_ms']:,.0f} ms, p99 {latency['p99_ms']:,.0f} ms")
    for authority_id, figures in result["memory"].items():
        print(f"{'resident memory ' + authority_id + ', MiB':<40} idle "
              f"{figures.get('idle_mb', 0):,.0f}, after {figures.get('after_mb', 0):,.0f}")
    ratio = result["accepted_per_s"] / result["limit"] if result["limit"] else 0.0
    target = TARGETS["single"] if batch == 1 else TARGETS["batched"]
    goal = (f"target >= {target:g} docs/s" if batch == 1 else f"target ratio >= {target:g}")
    print(f"exchange: {result['accepted_per_s']:,.1f} docs/s; limit (pair's crypto-only) "
          f"{result['limit']:,.1f} docs/s; ratio {ratio:.3f} ({goal})")
    machine = bench_machine()
    print(f"machine: {machine['cpu']}, {machine['cpus']} cpus, Python {machine['python']}, "
          f"load average {machine['load_average']}")
    command = " ".join(["python -m bench.exchange", *sys.argv[1:]])
    print(f"command: {command} (total {total:.1f} s including start-up)")
    print(json.dumps({
        "bench": "exchange",
        "value": round(result["accepted_per_s"], 1),
        "limit": round(result["limit"], 1),
        "ratio": round(ratio, 4),
        "unit": "docs/s",
        "p50_ms": None if latency.get("p50_ms") is None else round(latency["p50_ms"], 1),
        "p99_ms": None if latency.get("p99_ms") is None else round(latency["p99_ms"], 1),
        "latency_rate_per_s": round(latency.get("rate_per_s", 0.0), 1),
        "p50_ms_at_max": None if result["p50_ms"] is None else round(result["p50_ms"], 1),
        "p99_ms_at_max": None if result["p99_ms"] is None else round(result["p99_ms"], 1),
        "command": command,
        "database": args.database,
        "batch_size": batch,
        "api_processes": args.api_processes,
        "workers": args.workers,
        "clients": args.clients,
        "documents": result["documents"],
        "accepted": result["accepted"],
        "drained": result["drained"],
        "envelopes": result["messages"],
        "submitted_per_s": round(result["submitted_per_s"], 1),
        "cpu_ms_per_doc": {k: round(v, 2) for k, v in result["cpu_ms_per_doc"].items()},
        "capacity_per_s": round(result["capacity_per_s"], 1),
        "capacity_ratio": round(result["capacity_per_s"] / result["limit"], 4),
        "memory_mb": {k: {n: round(v, 1) for n, v in f.items()}
                      for k, f in result["memory"].items()},
        "machine": machine,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
