"""Time ``ReliabilityProfile.shortfalls``, which the recognition decision calls per document.

The budget is well under 5 µs per call (the decision as a whole takes about 5 µs, see
docs/performance.md). A timing is a measurement, not a test: it moved here from
``tests/trust_registry/test_reliability.py``, where it failed on a loaded machine.

Prints the best per-call time over ``--repeat`` rounds (as ``timeit`` does: the best round
discards interference from other processes) and a last line of JSON; exits 1 when the best
round is over the budget. Bounded: ``--runs`` calls per round.
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trust_registry.reliability import LEVELS, Criterion, ReliabilityProfile

BUDGET_SECONDS = 5e-6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    declared = ReliabilityProfile({c: LEVELS[c][-1] for c in Criterion})  # the top levels
    required = ReliabilityProfile({c: LEVELS[c][1] for c in Criterion})
    best = min(timeit.repeat(lambda: declared.shortfalls(required), number=options.runs,
                             repeat=options.repeat)) / options.runs
    print(f"shortfalls: {best * 1e6:.3f} µs per call (budget {BUDGET_SECONDS * 1e6:.0f} µs)")
    print(json.dumps({"shortfalls_us": round(best * 1e6, 3),
                      "budget_us": BUDGET_SECONDS * 1e6, "runs": options.runs,
                      "repeat": options.repeat}))
    return 0 if best < BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
