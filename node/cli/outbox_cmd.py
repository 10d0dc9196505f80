"""``tradeaccord outbox …`` (operators): outbound messages and dead-letter retry, through a
node's API."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from node.cli.common import JsonOption, handle_errors, print_json
from node.cli.doc_cmd import KeyOption, NodeOption

outbox_app = typer.Typer(help="Outbound messages: states, dead letters, retry.",
                         no_args_is_help=True)


class MessageState(StrEnum):
    """An outbound message's state (the outbox filter)."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"
    RETIRED = "retired"


_COLUMNS = [("MESSAGE-ID", "messageId"), ("KIND", "kind"), ("TO", "to"), ("STATE", "state"),
            ("ATTEMPTS", "attempts"), ("NEXT ATTEMPT", "nextAttemptAt"),
            ("LAST ERROR", "lastError")]


@outbox_app.command("list")
@handle_errors
def list_outbox(
    node: NodeOption = None,
    api_key: KeyOption = None,
    state: Annotated[MessageState | None, typer.Option(
        help="pending, sending, delivered, failed, dead or retired")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Outbound messages, newest first (a header line, or "no messages found")."""
    from node.cli.remote import connect  # httpx, only for commands that call a node
    from node.cli.views import table

    with connect(node, api_key) as client:
        messages = client.outbox(state=state.value if state else None, limit=limit)
    if as_json:
        print_json(messages)
        return
    for line in table(_COLUMNS, messages, "no messages found in the outbox"):
        typer.echo(line)


@outbox_app.command("retry")
@handle_errors
def retry(message_id: Annotated[str, typer.Argument(metavar="MESSAGE-ID")],
          node: NodeOption = None, api_key: KeyOption = None,
          as_json: JsonOption = False) -> None:
    """Put a dead or failed message back in the queue (refused with STATE_INVALID for one
    that is not)."""
    from node.cli.remote import connect

    with connect(node, api_key) as client:
        message: dict[str, Any] = client.retry(message_id)
    if as_json:
        print_json(message)
        return
    typer.echo(f"{message['messageId']} to {message['to']}: {message['state']}, next attempt "
               f"{message['nextAttemptAt']}")
