"""The ``tradeaccord`` command: one typer app, one module per command group."""

from __future__ import annotations

import typer

from node.cli.authority_cmd import authority_app
from node.cli.declaration_cmd import declaration_app
from node.cli.demo_cmd import demo
from node.cli.doc_cmd import doc_app
from node.cli.inbox_cmd import audit_app, inbox_app
from node.cli.node_cmd import node_app


def build_app() -> typer.Typer:
    """Assemble the command tree (explicitly, so importing this module has no side effects)."""
    app = typer.Typer(
        name="tradeaccord",
        help="TradeAccord: cross-border paperless trade with mutual recognition.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.add_typer(authority_app, name="authority")
    app.add_typer(doc_app, name="doc")
    app.add_typer(declaration_app, name="declaration")
    app.add_typer(node_app, name="node")
    app.add_typer(inbox_app, name="inbox")
    app.add_typer(audit_app, name="audit")
    app.command("demo")(demo)
    _add_optional_groups(app)
    return app


def _add_optional_groups(app: typer.Typer) -> None:
    import node.cli.doc_convert_cmd  # noqa: F401  (adds doc export / doc import to doc_app)
    from node.cli.agreement_cmd import agreement_app
    from node.cli.conformance_cmd import conformance_app
    from node.cli.registry_cmd import registry_app

    app.add_typer(registry_app, name="registry")
    app.add_typer(agreement_app, name="agreement")
    app.add_typer(conformance_app, name="conformance")


def main() -> None:
    """Console-script entry point."""
    build_app()(prog_name="tradeaccord")
