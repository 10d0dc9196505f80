"""``tradeaccord demo``: the pilot network, end to end, on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    workdir: Annotated[Path | None, typer.Option(
        help="Work in this directory (kept) instead of a temporary one")] = None,
    keep: Annotated[bool, typer.Option(help="Keep the temporary directory")] = False,
) -> None:
    """Run two nodes (SG-CUSTOMS, CN-CUSTOMS) as real processes and play the pilot flow.

    Exit 0 only when every expected outcome happened.
    """
    from node.demo import run_demo

    ok = run_demo(workdir=workdir, keep=keep, say=typer.echo)
    raise typer.Exit(0 if ok else 1)
