"""``tradeaccord demo``: the single-declaration pilot network, end to end, on this machine.

``run_demo`` stands the network up in a working directory (temporary unless given), plays
the scenarios of ``runner.py``, prints a readable report with progress as it goes, and
answers whether every expected outcome happened. ``keep_running`` leaves the nodes up and
prints their URLs and API keys until interrupted.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from node.client import ClientError, ConnectionProblem
from node.demo.packages import TEMPLATE_TYPES, DemoDataError, template
from node.demo.runner import Demo
from protocol.errors import CodedError

__all__ = ["run_demo"]


@contextmanager
def _workdir(path: Path | None, keep: bool) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    created = Path(tempfile.mkdtemp(prefix="tradeaccord-demo-"))
    try:
        yield created
    finally:
        if not keep:
            shutil.rmtree(created, ignore_errors=True)


def run_demo(*, workdir: Path | None = None, keep: bool = False, keep_running: bool = False,
             say: Callable[[str], None] = print,
             wait_forever: Callable[[], None] | None = None) -> bool:
    """Run the demo; True when every expected outcome happened."""
    started = time.monotonic()
    ok = False
    with _workdir(workdir, keep or keep_running) as path:
        demo = Demo(path, say)
        try:
            for doc_type in TEMPLATE_TYPES:  # a missing data file stops the demo before it starts
                template(doc_type)
            demo.setup()
            outcomes = demo.scenarios()
            audit_ok = demo.audit()
            ok = audit_ok and all(outcome.ok for outcome in outcomes)
            say("Summary:")
            for outcome in outcomes:
                say(f"   {'OK ' if outcome.ok else 'BAD'} {outcome.title.split(' — ')[0]}: "
                    f"{outcome.status['state']:<12} ({outcome.seconds:.2f} s)"
                    + ("" if outcome.ok else "  " + "; ".join(outcome.problems)))
            if keep_running and ok:
                demo.credentials()
                (wait_forever or _sleep_until_interrupted)()
        except (ClientError, ConnectionProblem, RuntimeError, DemoDataError, CodedError) as exc:
            say(f"demo failed: {exc}")
            ok = False
        finally:
            demo.network.stop()
        if keep or keep_running or workdir is not None:
            say(f"working directory kept: {path}")
    say(f"{'demo passed' if ok else 'demo FAILED'} in {time.monotonic() - started:.1f} s")
    return ok


def _sleep_until_interrupted() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
