"""``tradeaccord demo`` (the README's first command) exits 0 with every expected outcome."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_passes(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "node.cli", "demo", "--workdir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    output = completed.stdout
    for line in ("OK  Scenario 1: cleared", "OK  Scenario 2: cleared", "OK  Scenario 3: cleared",
                 "OK  Scenario 4: import-held"):
        assert line in output, output
    assert "REC-VALUE-01" in output and "NO_AGREEMENT" in output and "CERTIFICATE_MISSING" in output
    assert output.strip().splitlines()[-1].startswith("demo passed")
    # The nodes' keys were encrypted at rest with the run's passphrase.
    key = (tmp_path / "demo" / "SG-CUSTOMS" / "signer.key").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in key
