"""``tradeaccord webhook add|list|remove``: callback URLs at a node (docs/webhooks.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from node.cli.common import handle_errors, print_json
from node.cli.doc_cmd import KeyOption, NodeOption

webhook_app = typer.Typer(help="Webhooks: callback URLs notified of documents and "
                          "declarations.", no_args_is_help=True)

EVENTS_HELP = ("An event type to receive (repeat for several; all when omitted): "
               "document.received, document.decision, document.status-changed, "
               "declaration.status")


@webhook_app.command("add")
@handle_errors
def add(url: Annotated[str, typer.Argument(help="An absolute http(s) URL")],
        event: Annotated[list[str] | None, typer.Option("--event", help=EVENTS_HELP)] = None,
        node: NodeOption = None, api_key: KeyOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Register a callback URL. Prints the signing secret: it is shown only this once."""
    from node.cli.remote import connect  # httpx, only for commands that call a node

    with connect(node, api_key) as client:
        created = client.add_webhook(url, event or None)
    if as_json:
        print_json(created)
        return
    typer.echo(f"{created['id']}  {created['url']}  {', '.join(created['events'])}")
    typer.echo(f"secret: {created['secret']}")
    typer.echo("Keep the secret: it verifies the notifications' signatures and is not "
               "shown again.", err=True)


@webhook_app.command("list")
@handle_errors
def list_webhooks(node: NodeOption = None, api_key: KeyOption = None,
                  as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
                  ) -> None:
    """Your webhooks (an operator's key: every webhook)."""
    from node.cli.remote import connect  # httpx, only for commands that call a node

    with connect(node, api_key) as client:
        hooks = client.webhooks()
    if as_json:
        print_json(hooks)
        return
    if not hooks:
        typer.echo("no webhooks")
        return
    typer.echo(f"{'ID':<36}  {'OWNER':<22}  URL  EVENTS")
    for hook in hooks:
        typer.echo(f"{hook['id']:<36}  {hook['owner']:<22}  {hook['url']}  "
                   f"{', '.join(hook['events'])}")


@webhook_app.command("remove")
@handle_errors
def remove(webhook_id: Annotated[str, typer.Argument(metavar="ID")],
           node: NodeOption = None, api_key: KeyOption = None) -> None:
    """Remove a webhook; notifications not yet sent are dropped."""
    from node.cli.remote import connect  # httpx, only for commands that call a node

    with connect(node, api_key) as client:
        removed = client.remove_webhook(webhook_id)
    typer.echo(f"{removed['id']}: removed")
