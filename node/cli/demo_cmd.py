"""``tradeaccord demo``: the pilot network, end to end, on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    workdir: Annotated[Path | None, typer.Option(
        help="Work in this directory (kept) instead of a temporary one")] = None,
    keep: Annotated[bool, typer.Option(help="Keep the temporary directory")] = False,
    keep_running: Annotated[bool, typer.Option(
        "--keep-running", help="Leave the network up afterwards and print its URLs and "
        "API keys (Ctrl-C stops it)")] = False,
) -> None:
    """Run the single-declaration pilot: SG-CUSTOMS, CN-CUSTOMS, SG-CHAMBER and SG-NPPO as
    real processes, four consignments declared once and cleared on both sides.

    Exit 0 only when every expected outcome happened.
    """
    from node.demo import run_demo

    ok = run_demo(workdir=workdir, keep=keep, keep_running=keep_running, say=typer.echo)
    raise typer.Exit(0 if ok else 1)
