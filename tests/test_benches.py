"""The offline benchmarks still run: each exits 0 and ends with its JSON line.

No figure is asserted (speed is measured by ``bench/``, not by tests). This catches a bench
that stopped measuring: ``bench.verify`` and ``bench.sign`` refused their own input for a
while after the example certificate of origin changed issuer, and nobody saw it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.node.processes import ROOT, clean_env


@pytest.mark.parametrize("command", [
    ["bench.verify", "--documents", "20", "--rounds", "1"],
    ["bench.sign", "--documents", "20", "--rounds", "1"],
], ids=lambda command: command[0])
def test_bench_runs_and_prints_its_json_line(command: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, env=clean_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bench"] == command[0].removeprefix("bench.")
    assert result["value"] > 0 and result["limit"] > 0 and "ratio" in result
