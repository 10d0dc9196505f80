"""Shared plumbing of the benchmarks: the machine, the raw Ed25519 limit, rounds, the report.

Time is this process's CPU time (``time.process_time_ns``): on a shared 2-core machine
other work takes turns on the core, which wall-clock time would count and CPU time does
not. Figure and limit are interleaved call by call (one document, then one raw operation),
so both see the same conditions; a round sums each side's times, and each side's best
round counts, as ``timeit`` does. The ratio is the figure's best rate over the limit's;
the median of the per-round ratios is printed beside it.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from protocol.canonical import b64url_decode
from protocol.jws import GeneralJWS, Signer


def pin_one_core() -> bool:
    """Run on one core (the figures are per core); False where the OS has no affinity call."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    return True


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu": model, "cpus": os.cpu_count(), "machine": platform.machine(),
            "python": platform.python_version(), "system": platform.system(),
            "load_average": None if load is None else round(load, 2)}


def command_line() -> str:
    """The command as typed from the project root."""
    module = sys.modules["__main__"].__spec__
    name = module.name if module is not None else sys.argv[0]
    return " ".join(["python -m", name, *sys.argv[1:]])


def raw_sign_with(signer: Signer, signing_input: bytes) -> Callable[[], object]:
    """One raw Ed25519 signature by the benchmark's own key over a real signing input."""
    key = signer.key
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise TypeError("the limit is measured for Ed25519")
    return lambda: key.sign(signing_input)


def raw_verify_with(signer: Signer, jws: GeneralJWS, signing_input: bytes) -> Callable[[], object]:
    """One raw Ed25519 verification of a real signature (signature 0 of ``jws``) over its
    real signing input, with the signer's public key."""
    public = signer.key.public_key()
    signature = b64url_decode(jws.signatures[0].signature_b64)
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise TypeError("the limit is measured for Ed25519")
    public.verify(signature, signing_input)  # raises if the bench got its input wrong
    return lambda: public.verify(signature, signing_input)


def interleaved(calls: Sequence[Callable[[], object]],
                limit: Callable[[], object]) -> tuple[float, float, list[int]]:
    """One round: each call of ``calls`` followed by one call of ``limit``, each timed in CPU
    nanoseconds. Returns the rates (per CPU second) of both and the calls' own times."""
    clock = time.process_time_ns
    spent: list[int] = []
    limit_ns = 0
    gc.collect()
    for call in calls:
        begin = clock()
        call()
        middle = clock()
        limit()
        end = clock()
        spent.append(middle - begin)
        limit_ns += end - middle
    return len(calls) * 1e9 / sum(spent), len(calls) * 1e9 / limit_ns, spent


@dataclass
class Rounds:
    """Alternating rounds of a figure and its limit; best round of each."""

    figure: list[float] = field(default_factory=list)
    limit: list[float] = field(default_factory=list)

    def add(self, figure: float, limit: float) -> None:
        self.figure.append(figure)
        self.limit.append(limit)

    @property
    def best_figure(self) -> float:
        return max(self.figure)

    @property
    def best_limit(self) -> float:
        return max(self.limit)

    @property
    def ratio(self) -> float:
        return self.best_figure / self.best_limit

    @property
    def median_round_ratio(self) -> float:
        return statistics.median(f / lim for f, lim in zip(self.figure, self.limit, strict=True))


def report(*, bench: str, unit: str, value: float, limit: float, limit_name: str,
           target: float | None, lines: Sequence[str] = (), extra: dict[str, Any] | None = None,
           started: float, target_is_ratio: bool = True) -> None:
    """Print the figures, the limit, the ratio (value / limit), the machine, the command,
    and the last line of JSON. ``target`` is a minimum ratio, or with
    ``target_is_ratio=False`` a maximum value."""
    ratio = value / limit if limit else 0.0
    for line in lines:
        print(line)
    places = 3 if value < 10 else 1
    if target is None:
        goal = ""
    elif target_is_ratio:
        goal = f" (target: ratio >= {target}; {'met' if ratio >= target else 'missed'})"
    else:
        goal = f" (target: value <= {target} {unit}; {'met' if value <= target else 'missed'})"
    print(f"{bench}: {value:,.{places}f} {unit}; limit ({limit_name}) {limit:,.{places}f} "
          f"{unit}; ratio {ratio:.3f}{goal}")
    info = machine()
    print(f"machine: {info['cpu']}, {info['cpus']} cpus, Python {info['python']} "
          f"({info['system']} {info['machine']}), load average {info['load_average']}")
    command = command_line()
    print(f"command: {command} (total {time.perf_counter() - started:.1f} s)")
    record: dict[str, Any] = {"bench": bench, "value": round(value, 4), "limit": round(limit, 4),
                              "ratio": round(ratio, 4), "unit": unit, "limit_name": limit_name,
                              "target": target, "target_is_ratio": target_is_ratio,
                              "command": command, "machine": info}
    record.update(extra or {})
    print(json.dumps(record, sort_keys=True))
