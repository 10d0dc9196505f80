"""``tradeaccord demo`` (the README's first command) exits 0 with every expected outcome —
from a built wheel, so it needs nothing outside the installed package.

The wheel is built from this checkout (``pip wheel``) and unpacked into a directory that,
alone on ``PYTHONPATH``, provides ``protocol``, ``trust_registry``, ``clearance`` and
``node``; the demo runs from another directory, so the checkout's ``examples/`` and data are
out of reach (the dependencies come from this environment).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel's packages, unpacked (a wheel is a zip; pure Python needs nothing more)."""
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                            "-w", str(dist)], capture_output=True, text=True, timeout=300,
                           check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = dist.glob("tradeaccord-*.whl")
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "node/demo/data/customs-declaration.json" in names
        assert not any(name.startswith(("examples/", "tests/")) for name in names)
        archive.extractall(target)
    return target


@pytest.mark.slow
def test_demo_passes_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    env = {k: v for k, v in env.items() if not k.startswith("TRADEACCORD_")}
    completed = subprocess.run(
        [sys.executable, "-m", "node.cli", "demo", "--workdir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path, env=env)
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


def test_missing_demo_data_is_a_clear_error_not_a_traceback(installed: Path,
                                                             tmp_path: Path) -> None:
    (installed / "node" / "demo" / "data" / "purchase-order.json").rename(
        tmp_path / "purchase-order.json")
    try:
        env = {k: v for k, v in {**os.environ, "PYTHONPATH": str(installed)}.items()
               if not k.startswith("TRADEACCORD_")}
        completed = subprocess.run(
            [sys.executable, "-c", "from node.demo.packages import template;"
             "template('purchase-order')"],
            capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path, env=env)
        assert completed.returncode != 0
        assert "DemoDataError" in completed.stderr and "reinstall" in completed.stderr
        cli = subprocess.run(
            [sys.executable, "-m", "node.cli", "demo", "--workdir", str(tmp_path / "d")],
            capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path, env=env)
        assert cli.returncode == 1
        assert "demo failed" in cli.stdout and "purchase-order.json" in cli.stdout
        assert "Traceback" not in cli.stdout + cli.stderr
    finally:
        (tmp_path / "purchase-order.json").rename(
            installed / "node" / "demo" / "data" / "purchase-order.json")
