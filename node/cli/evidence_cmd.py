"""``tradeaccord evidence export | verify``: sealed evidence of a decision.

``export ID -o bundle.zip [--declaration]`` asks the node (officer key) for the signed
bundle; ``verify bundle.zip [--at TIME] [--anchor ROOT.pem]`` re-checks it offline, with no
node running, and prints what it proves — or refuses (exit 1) naming the file that broke.
Format: ``docs/evidence.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from node.cli.common import (
    EXIT_OK,
    JsonOption,
    UsageProblem,
    handle_errors,
    note,
    print_json,
    read_bytes,
    write_output,
)
from node.cli.doc_cmd import KeyOption, NodeOption

evidence_app = typer.Typer(help="Evidence bundles: export a decision's sealed evidence, verify "
                           "it offline.", no_args_is_help=True)


@evidence_app.command("export")
@handle_errors
def export(
    subject_id: Annotated[str, typer.Argument(metavar="ID")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="Where to write the ZIP (- for standard output)")],
    declaration: Annotated[bool, typer.Option(
        "--declaration", help="ID is a declaration (default: a document)")] = False,
    node: NodeOption = None,
    api_key: KeyOption = None,
) -> None:
    """Write the signed evidence bundle of a document (or a declaration) held at the node
    (``-o -``: the ZIP to standard output, the note to standard error)."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        data = client.evidence(subject_id, declaration=declaration)
    write_output(output, data)
    note(f"evidence of {'declaration' if declaration else 'document'} {subject_id} -> "
         f"{output} ({len(data)} bytes)", output)


@evidence_app.command("verify")
@handle_errors
def verify(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE.zip")],
    at: Annotated[str | None, typer.Option(
        help="Apply revocations and replacements at this time (RFC 3339); default now")]
    = None,
    anchor: Annotated[list[Path] | None, typer.Option(
        help="A root certificate you trust (PEM), besides the bundled registry's; "
        "repeatable")] = None,
    as_json: JsonOption = False,
) -> None:
    """Re-check a bundle offline and say what it proves; exit 1 naming what broke."""
    from evidence import verify_bundle
    from protocol.certificates import load_certificate_pem
    from protocol.timeutil import parse_time, utc_now

    try:
        when = parse_time(at) if at else utc_now()
    except ValueError as exc:
        raise UsageProblem(str(exc)) from exc
    roots = [load_certificate_pem(read_bytes(path)) for path in anchor or []]
    report = verify_bundle(read_bytes(bundle), at=when, anchors=roots)
    if as_json:
        print_json(report.to_dict())
    else:
        typer.echo(f"evidence of {report.subject['kind']} {report.subject['id']} from "
                   f"{report.producer}, {report.files} files: VALID")
        typer.echo("It proves:")
        for line in report.proves:
            typer.echo(f"  - {line}")
    raise typer.Exit(EXIT_OK)
