"""Playing the scenarios and writing the machine-readable report.

Report (JSON)::

    {"format": "tradeaccord-conformance-report/1",
     "node": URL, "nodeAuthority": ID, "kitAuthority": ID, "kitEndpoint": URL,
     "sides": ["registry", "sender", "receiver"], "startedAt": T, "finishedAt": T,
     "summary": {"passed": n, "failed": n, "skipped": n},
     "scenarios": [{"id", "side", "title", "expected": {…}, "observed": {…},
                    "result": "pass" | "fail" | "skip", "detail": "…"}]}

A scenario that raises is a ``fail`` whose ``observed`` holds ``{"error": "…"}``; a
scenario whose ``requires`` option is missing is a ``skip``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx

from node.client import ClientError, ConnectionProblem
from node.conformance.run import KitOptions, KitProblem, KitRun
from node.conformance.scenarios import SCENARIOS, Scenario, Side, check, now_text
from protocol.errors import CodedError

REPORT_FORMAT = "tradeaccord-conformance-report/1"
_EXPECTED_FAILURES = (CodedError, ClientError, ConnectionProblem, KitProblem, httpx.HTTPError,
                      KeyError, TypeError, ValueError)


def play(scenario: Scenario, run: KitRun) -> dict[str, Any]:
    """One scenario's report entry."""
    entry: dict[str, Any] = {"id": scenario.id, "side": scenario.side.value,
                             "title": scenario.title, "expected": dict(scenario.expected)}
    missing = [name for name in scenario.requires if getattr(run.options, name) is None]
    if missing:
        return {**entry, "observed": {}, "result": "skip",
                "detail": f"needs --{missing[0].replace('_', '-')}"}
    try:
        observed = scenario.play(run)
    except _EXPECTED_FAILURES as exc:  # a node's misbehaviour is a failed scenario
        return {**entry, "observed": {"error": f"{type(exc).__name__}: {exc}"},
                "result": "fail", "detail": "the scenario could not complete"}
    passed = check(scenario.expected, observed)
    detail = "" if passed else "observed differs from expected"
    return {**entry, "observed": observed, "result": "pass" if passed else "fail",
            "detail": detail}


def run_scenarios(options: KitOptions, sides: Iterable[Side], *,
                  progress: Callable[[dict[str, Any]], None] | None = None,
                  scenarios: tuple[Scenario, ...] = SCENARIOS) -> dict[str, Any]:
    """Open a run, play the scenarios of ``sides`` (registry scenarios always run: the
    others need the agreement they set up) and return the report."""
    wanted = {Side.REGISTRY, *sides}
    started = now_text()
    run = KitRun.open(options)
    entries: list[dict[str, Any]] = []
    try:
        for scenario in scenarios:
            if scenario.side not in wanted:
                continue
            entry = play(scenario, run)
            entries.append(entry)
            if progress is not None:
                progress(entry)
    finally:
        run.close()
    counts = {result: sum(1 for e in entries if e["result"] == result)
              for result in ("pass", "fail", "skip")}
    return {
        "format": REPORT_FORMAT, "node": options.node_url, "nodeAuthority": run.node_id,
        "kitAuthority": run.kit.authority_id, "kitEndpoint": run.server.url,
        "sides": sorted(side.value for side in wanted), "startedAt": started,
        "finishedAt": now_text(),
        "summary": {"passed": counts["pass"], "failed": counts["fail"],
                    "skipped": counts["skip"]},
        "scenarios": entries,
    }


def write_report(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
