"""Soak: a steady exchange between two real nodes for a bounded time; throughput, errors and
both nodes' resident memory at the start and at the end.

What runs: two ``python -m node.cli node serve`` processes (API and worker each) on
127.0.0.1, SG-CUSTOMS sending certificates of origin to CN-CUSTOMS under the pilot
agreement (the set-up of ``bench.exchange``). ``--clients`` trader clients submit without
pause for ``--seconds``; every ``--sample-seconds`` the soak records the documents
submitted, the deliveries final at the sender, and each node's resident set size
(``VmRSS`` of ``/proc/PID/status``). Errors are submissions the node refused or failed to
answer (counted, not fatal) and deliveries that ended anything but ``delivered/accepted``.

Memory is the figure to watch: a leak shows as a resident set that keeps growing across the
samples while throughput stays level. ``--quick`` runs 20 seconds with 2 clients (a smoke
run); the default is 300 seconds with 4 clients. Bounded: submission stops at
``--seconds`` and the wait for the last receipts at ``--drain-seconds``.

Prints the samples, a summary, the command line, and a last line of JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.exchange import (  # noqa: E402
    AGREEMENT,
    CN,
    EXPORTER,
    SG,
    Databases,
    Node,
    certificate,
    final_count,
    free_port,
    wait_final,
)
from node.client import ClientError, ConnectionProblem, NodeClient  # noqa: E402
from node.pilot import setup_network  # noqa: E402
from node.services.apikeys import Role, create_api_key  # noqa: E402
from node.storage.database import make_engine, migrate, write_session  # noqa: E402
from protocol.timeutil import utc_now  # noqa: E402


def rss_kib(pid: int) -> int | None:
    """The process's resident set size in KiB (None where /proc is not available)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Load:
    """``clients`` trader threads submitting without pause until ``stop`` is set."""

    def __init__(self, url: str, key: str, clients: int) -> None:
        self.url, self.key, self.clients = url, key, clients
        self.stop = threading.Event()
        self.submitted = 0
        self.errors: dict[str, int] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self._threads = [threading.Thread(target=self._client, name=f"soak-{i}", daemon=True)
                         for i in range(clients)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout)

    def _client(self) -> None:
        with NodeClient(self.url, self.key, timeout=30) as trader:
            while not self.stop.is_set():
                document_id = f"soak-{next(self._counter):07d}"
                try:
                    trader.submit(certificate(document_id), send_to=[CN.authority_id])
                except (ClientError, ConnectionProblem) as exc:
                    name = type(exc).__name__
                    with self._lock:
                        self.errors[name] = self.errors.get(name, 0) + 1
                    time.sleep(0.1)
                    continue
                with self._lock:
                    self.submitted += 1


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
            settings = {"TRADEACCORD_DATABASE_URL": url,
                        "TRADEACCORD_WORKER_POLL_SECONDS": "0.05",
                        "TRADEACCORD_LOG_LEVEL": "warning"}
            (directory.path / "node.env").write_text(
                "".join(f"{k}={v}\n" for k, v in settings.items()), "utf-8")
            migrate(url)
            engine = make_engine(url)
            with write_session(engine) as session:
                keys[authority_id] = create_api_key(session, role=Role.TRADER, party=EXPORTER,
                                                    label="soak", at=utc_now())
                session.commit()
            engine.dispose()
        nodes = {aid: Node(aid, directories[aid].path, ports[aid])
                 for aid in (CN.authority_id, SG.authority_id)}
        sender = database_urls[SG.authority_id]
        samples: list[dict[str, Any]] = []
        try:
            for node in nodes.values():
                node.start()

            def sample(elapsed: float, load: Load) -> dict[str, Any]:
                return {"t": round(elapsed, 1), "submitted": load.submitted,
                        "final": final_count(databases, sender),
                        **{f"rss_kib_{aid}": rss_kib(node.process.pid)
                           if node.process is not None else None
                           for aid, node in nodes.items()}}

            load = Load(urls[SG.authority_id], keys[SG.authority_id], args.clients)
            began = time.monotonic()
            samples.append(sample(0.0, load))
            load.start()
            while (elapsed := time.monotonic() - began) < args.seconds:
                time.sleep(min(args.sample_seconds, max(0.0, args.seconds - elapsed)))
                samples.append(sample(time.monotonic() - began, load))
                print(json.dumps(samples[-1]), flush=True)
            load.join(timeout=60)
            submit_seconds = time.monotonic() - began
            drained = wait_final(databases, sender, load.submitted, args.drain_seconds)
            samples.append(sample(time.monotonic() - began, load))
            states = dict(databases.rows(
                sender, "SELECT state || '/' || coalesce(outcome, '-'), count(*) "
                        "FROM delivery GROUP BY 1"))
        finally:
            for node in nodes.values():
                node.stop()
    finally:
        databases.drop()
    delivered = int(states.get("delivered/accepted", 0))
    first, last = samples[0], samples[-1]
    return {
        "seconds": round(submit_seconds, 1),
        "submitted": load.submitted,
        "delivered": delivered,
        "drained": drained,
        "submit_errors": load.errors,
        "delivery_errors": sum(v for k, v in states.items() if k != "delivered/accepted"),
        "delivery_states": states,
        "submitted_per_s": load.submitted / submit_seconds if submit_seconds > 0 else 0.0,
        "delivered_per_s": delivered / submit_seconds if submit_seconds > 0 else 0.0,
        "rss_kib_start": {aid: first[f"rss_kib_{aid}"] for aid in nodes},
        "rss_kib_end": {aid: last[f"rss_kib_{aid}"] for aid in nodes},
        "samples": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None,
                        help="how long to submit (default 300; 20 with --quick)")
    parser.add_argument("--clients", type=int, default=None,
                        help="concurrent trader clients (default 4; 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a 20-second smoke run")
    parser.add_argument("--sample-seconds", type=float, default=None,
                        help="seconds between samples (default: a tenth of the run, >= 2)")
    parser.add_argument("--drain-seconds", type=float, default=60,
                        help="longest wait for the last receipts (default 60)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()
    args.seconds = args.seconds or (20.0 if args.quick else 300.0)
    args.clients = args.clients or (2 if args.quick else 4)
    args.sample_seconds = args.sample_seconds or max(2.0, args.seconds / 10)
    if args.seconds <= 0 or args.clients < 1:
        parser.error("--seconds and --clients must be positive")
    workdir = Path(tempfile.mkdtemp(prefix="tradeaccord-soak-"))
    try:
        result = run(args, workdir)
    finally:
        if args.keep:
            print(f"working directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"soak SG-CUSTOMS -> CN-CUSTOMS, {args.database}, {args.clients} clients, "
          f"{result['seconds']} s")
    print(f"{'figure':<30} {'value':>12}")
    print(f"{'documents submitted':<30} {result['submitted']:>12,}")
    print(f"{'delivered/accepted':<30} {result['delivered']:>12,}")
    print(f"{'submitted per second':<30} {result['submitted_per_s']:>12,.1f}")
    print(f"{'delivered per second':<30} {result['delivered_per_s']:>12,.1f}")
    print(f"{'submit errors':<30} {sum(result['submit_errors'].values()):>12,}")
    print(f"{'delivery errors':<30} {result['delivery_errors']:>12,}")
    for aid in result["rss_kib_start"]:
        print(f"{'RSS ' + aid + ' start/end MiB':<30} "
              f"{_mib(result['rss_kib_start'][aid]):>5} / {_mib(result['rss_kib_end'][aid]):>4}")
    command = " ".join([".venv/bin/python -m bench.soak", *sys.argv[1:]])
    print(f"command: {command}")
    print(json.dumps({
        "bench": "soak",
        "command": command,
        "database": args.database,
        "clients": args.clients,
        "seconds": result["seconds"],
        "submitted": result["submitted"],
        "delivered": result["delivered"],
        "drained": result["drained"],
        "submit_errors": result["submit_errors"],
        "delivery_errors": result["delivery_errors"],
        "submitted_per_s": round(result["submitted_per_s"], 1),
        "delivered_per_s": round(result["delivered_per_s"], 1),
        "rss_kib_start": result["rss_kib_start"],
        "rss_kib_end": result["rss_kib_end"],
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }, sort_keys=True))


def _mib(kib: int | None) -> str:
    return "?" if kib is None else f"{kib / 1024:.0f}"


if __name__ == "__main__":
    main()
