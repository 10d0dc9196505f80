"""``tradeaccord --help``: CPU seconds from process start to exit, against ``python -c pass``.

What is measured: the user + system CPU time (``os.wait4``) of a fresh interpreter running
the CLI's ``--help`` (``python -m node.cli --help``, which is what the ``tradeaccord``
console script runs), and, as the limit in the same run, of a fresh interpreter running
``python -c pass`` (the interpreter's own start). Runs alternate, ``--runs`` of each; the
median counts. CPU time, so that other work on the machine does not count.

The value is the CPU seconds of ``--help`` (target <= 0.3 s); the ratio is value / limit
(how many bare interpreter starts one ``--help`` costs). ``--also`` measures other
argument lists the same way (for example ``--also "doc --help"``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench._common import report

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 0.3


def cpu_seconds(argv: list[str]) -> float:
    """User + system CPU seconds of one run of ``argv`` (its output discarded)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {process.returncode}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each (15)")
    parser.add_argument("--quick", action="store_true", help="5 runs of each")
    parser.add_argument("--also", action="append", default=[],
                        help="another argument list to time, e.g. 'doc --help' (repeatable)")
    args = parser.parse_args()
    if args.quick:
        args.runs = 5
    started = time.perf_counter()
    cli = [sys.executable, "-m", "node.cli"]
    cases = {"--help": [*cli, "--help"], "python -c pass": [sys.executable, "-c", "pass"]}
    cases.update({extra: [*cli, *shlex.split(extra)] for extra in args.also})
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, argv in cases.items():
            times[name].append(cpu_seconds(argv))
    median = {name: statistics.median(values) for name, values in times.items()}
    lines = [f"{'tradeaccord ' + name if name != 'python -c pass' else name:<36} "
             f"median {median[name]:.3f} CPU s, min {min(times[name]):.3f}, "
             f"max {max(times[name]):.3f} ({args.runs} runs)" for name in cases]
    help_cpu, bare = median["--help"], median["python -c pass"]
    lines.append(f"--help costs {help_cpu / bare:.1f} bare interpreter starts "
                 f"(target <= {TARGET_SECONDS} CPU s: {'met' if help_cpu <= TARGET_SECONDS else 'missed'})")
    report(bench="cli_start", unit="CPU s", value=help_cpu, limit=bare,
           limit_name="python -c pass", target=TARGET_SECONDS, target_is_ratio=False,
           lines=lines, started=started,
           extra={"runs": args.runs, "target_seconds": TARGET_SECONDS,
                  "cases": {name: round(median[name], 4) for name in cases}})


if __name__ == "__main__":
    main()
