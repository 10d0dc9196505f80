"""``tradeaccord conformance run``: play the conformance scenarios against a node."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from node.cli.common import EXIT_OK, EXIT_REFUSED, UsageProblem, handle_errors, print_json

conformance_app = typer.Typer(help="Conformance kit: prove a node speaks the peer protocol.",
                              no_args_is_help=True)


@conformance_app.command("run")
@handle_errors
def run(
    node: Annotated[str, typer.Option("--node", help="The node's base URL")],
    report: Annotated[Path, typer.Option("--report", help="Where to write the JSON report")],
    operator_key: Annotated[str | None, typer.Option(
        envvar="TRADEACCORD_CONFORMANCE_OPERATOR_KEY",
        help="An operator API key of the node (installs the kit's authority and agreement)")]
    = None,
    officer_key: Annotated[str | None, typer.Option(
        envvar="TRADEACCORD_CONFORMANCE_OFFICER_KEY",
        help="An officer API key of the node (submits, releases, reads delivery states)")]
    = None,
    as_sender: Annotated[bool, typer.Option("--as-sender",
                                            help="Only the scenarios where the kit sends")]
    = False,
    as_receiver: Annotated[bool, typer.Option("--as-receiver",
                                              help="Only the scenarios where the kit receives")]
    = False,
    hold_type: Annotated[str | None, typer.Option(
        help="A document type the node holds for review (TRADEACCORD_HOLD_FOR_REVIEW_TYPES); "
        "without it the held → release scenario is skipped")] = None,
    peer_host: Annotated[str, typer.Option(help="Address of the kit's peer endpoint")]
    = "127.0.0.1",
    peer_port: Annotated[int, typer.Option(help="Port of the kit's peer endpoint (0: any)")]
    = 0,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the node per step")]
    = 60.0,
    workdir: Annotated[Path | None, typer.Option(
        help="Where the kit keeps its throw-away authority (default: a temporary directory)")]
    = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the report (as written to --report) instead of progress lines; "
        "errors as a JSON object")] = False,
) -> None:
    """Play the scenarios (registry, then the kit as sender and/or receiver) and write the
    report. Exit 0 when every scenario passed (skips allowed), 1 otherwise, 2 on usage."""
    from node.conformance.report import run_scenarios, write_report
    from node.conformance.run import KitOptions, KitProblem
    from node.conformance.scenarios import Side

    if not operator_key or not officer_key:
        raise UsageProblem("give --operator-key and --officer-key (or the "
                           "TRADEACCORD_CONFORMANCE_*_KEY variables)")
    sides = {Side.SENDER, Side.RECEIVER}
    if as_sender != as_receiver:
        sides = {Side.SENDER} if as_sender else {Side.RECEIVER}

    def progress(entry: dict[str, Any]) -> None:
        if as_json:
            return
        typer.echo(f"{entry['result']:<4} {entry['id']}  {entry['title']}")
        if entry["result"] == "fail":
            typer.echo(f"       expected {entry['expected']}")
            typer.echo(f"       observed {entry['observed']}")

    with tempfile.TemporaryDirectory(prefix="tradeaccord-conformance-") as tmp:
        options = KitOptions(node_url=node, operator_key=operator_key, officer_key=officer_key,
                             workdir=workdir or Path(tmp), peer_host=peer_host,
                             peer_port=peer_port, timeout=timeout, hold_type=hold_type)
        try:
            result = run_scenarios(options, sides, progress=progress)
        except KitProblem as exc:
            raise UsageProblem(str(exc)) from exc
    write_report(result, report)
    summary = result["summary"]
    if as_json:
        print_json(result)
        raise typer.Exit(EXIT_OK if summary["failed"] == 0 else EXIT_REFUSED)
    typer.echo(f"{summary['passed']} passed, {summary['failed']} failed, "
               f"{summary['skipped']} skipped -> {report}")
    raise typer.Exit(EXIT_OK if summary["failed"] == 0 else EXIT_REFUSED)
