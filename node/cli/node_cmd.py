"""``tradeaccord node …``: prepare, serve, run workers, issue API keys.

The storage layer, the API and uvicorn are imported inside the commands that use them, so
``tradeaccord node --help`` starts without them (tests/test_cli_start.py).
"""

from __future__ import annotations

import json
import socket
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from node.authority import AuthorityDirectory, write_atomic
from node.cli.common import (
    AuthorityDirOption,
    JsonOption,
    UsageProblem,
    handle_errors,
    load_settings,
    print_json,
)
from protocol.timeutil import format_time, utc_now

node_app = typer.Typer(help="Run an authority's node.", no_args_is_help=True)


class RoleChoice(StrEnum):
    """``node.services.apikeys.Role``'s values, without importing the storage layer."""

    TRADER = "trader"
    OFFICER = "officer"
    OPERATOR = "operator"


@node_app.command("init")
@handle_errors
def init(
    authority_dir: AuthorityDirOption,
    database_url: Annotated[str | None, typer.Option(
        help="SQLAlchemy URL (default: SQLite file DIR/node.db); "
        "PostgreSQL: postgresql+psycopg://user@host/db")] = None,
    endpoint: Annotated[str | None, typer.Option(
        help="The URL peers use to reach this node (written to the registry)")] = None,
) -> None:
    """Create the node's database (migrated to the newest schema) and DIR/registry.json.
    A --database-url the node cannot use is refused before it is saved (exit 2)."""
    from node.bootstrap import initial_registry
    from node.cli.local import check_database_url
    from node.storage.database import migrate

    authority = AuthorityDirectory.open(authority_dir)
    if database_url:
        check_database_url(database_url)
        _set_env_line(authority_dir / "node.env", "TRADEACCORD_DATABASE_URL", database_url)
    settings = load_settings(authority_dir)
    url = settings.resolved_database_url(authority_dir)
    check_database_url(url)  # one from the environment or node.env, as well
    migrate(url)
    if not authority.registry_path.exists():
        registry = initial_registry(authority, endpoint=endpoint)
        write_atomic(authority.registry_path, (json.dumps(registry.to_dict(), indent=2,
                                                          sort_keys=True) + "\n").encode())
    typer.echo(f"node for {authority.authority_id} ready: database {_redact(url)}, "
               f"registry {authority.registry_path}")


def _set_env_line(path: Path, name: str, value: str) -> None:
    """Set ``name=value`` in a node.env file, keeping its other lines."""
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if not line.startswith(f"{name}=")]
    write_atomic(path, ("\n".join([*kept, f"{name}={value}"]) + "\n").encode("utf-8"))


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@node_app.command("serve")
@handle_errors
def serve(
    authority_dir: AuthorityDirOption,
    host: Annotated[str | None, typer.Option(
        help="Interface to bind (default: TRADEACCORD_HOST, else 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(
        help="TCP port (default: TRADEACCORD_PORT, else 8700)")] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker",
                                            help="Serve the API only")] = False,
    fd: Annotated[int | None, typer.Option(
        help="Accept on this inherited listening socket instead of binding HOST:PORT "
        "(several API processes on one port; socket activation)")] = None,
) -> None:
    """Run the API (uvicorn) and, unless --no-worker, the delivery worker. Prints the URL it
    listens on. With SQLite, a second `serve` on the same directory is refused while the
    first runs (DIR/node.lock holds its pid)."""
    import uvicorn

    from node.api.app import create_app, uvicorn_tls_options
    from node.context import NodeContext
    from node.logging_setup import configure_logging
    from node.run_lock import RunLock
    from node.settings import load_settings as load_with_overrides

    settings = load_with_overrides(authority_dir, host=host, port=port)
    configure_logging(settings.log_level)
    url = settings.resolved_database_url(authority_dir)
    # Several API processes may share one directory only with PostgreSQL (operator guide,
    # Scaling); on SQLite a second one would race the first on one file.
    lock = RunLock(authority_dir) if url.startswith("sqlite") else None
    if lock is not None:
        lock.acquire()
    try:
        # Built before the server starts, so a bad directory, key or database is a refusal
        # with its reason code (exit 1), not a failed server start.
        context = NodeContext.build(settings)
        try:
            tls = uvicorn_tls_options(settings)
            # An inherited listening socket (--fd) is shared by several API processes.
            sock = (socket.socket(fileno=fd) if fd is not None
                    else _listen(settings.host, settings.port))
            app = create_app(settings, run_worker=not no_worker, context=context)
            config = uvicorn.Config(app, log_level="warning", access_log=False,
                                    timeout_graceful_shutdown=10, **tls)
            bound_host, bound_port = sock.getsockname()[:2]
            shown = f"[{bound_host}]" if ":" in bound_host else bound_host
            typer.echo(f"{context.authority_id} serving at "
                       f"{'https' if tls else 'http'}://{shown}:{bound_port} "
                       f"(database {_redact(url)}; stop with Ctrl-C)")
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            context.close()
    finally:
        if lock is not None:
            lock.release()


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts, so that the URL printed is
    where it listens (port 0: the one the system chose) and a port in use is exit 2."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise UsageProblem(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


@node_app.command("worker")
@handle_errors
def worker(
    authority_dir: AuthorityDirOption,
    metrics_port: Annotated[int | None, typer.Option(
        help="Serve Prometheus metrics of this worker on 127.0.0.1:PORT/metrics")] = None,
) -> None:
    """Run the delivery and webhook workers alone (scaled deployments share one PostgreSQL
    database)."""
    import asyncio
    import signal

    from prometheus_client import start_http_server

    from node.api.app import make_http_client
    from node.context import NodeContext
    from node.logging_setup import configure_logging
    from node.services.delivery import DeliveryWorker
    from node.services.webhooks import WebhookWorker, make_webhook_client

    settings = load_settings(authority_dir)
    configure_logging(settings.log_level)
    # Built before the loop starts, so a bad directory, key or database is a refusal
    # with its reason code (exit 1).
    ctx = NodeContext.build(settings)
    if metrics_port is not None:
        start_http_server(metrics_port, addr="127.0.0.1", registry=ctx.metrics.registry)

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # Webhook receivers get their own client (the node's TLS identity is for peers).
        async with make_http_client(settings) as client, \
                make_webhook_client(settings) as hooks_client:
            await asyncio.gather(DeliveryWorker(ctx, client).run(stop),
                                 WebhookWorker(ctx, hooks_client).run(stop))

    try:
        asyncio.run(_main())
    finally:
        ctx.close()


apikey_app = typer.Typer(help="API keys for traders, officers and operators.",
                         no_args_is_help=True)
node_app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
@handle_errors
def apikey_create(
    authority_dir: AuthorityDirOption,
    role: Annotated[RoleChoice, typer.Option(help="trader, officer or operator")],
    party: Annotated[str | None, typer.Option(help="Trader's party id (required for traders)")]
    = None,
    label: Annotated[str | None, typer.Option(help="A note: who holds the key")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key and print it once (it is stored hashed). Before `node init`: exit 2
    saying to run it."""
    from node.cli.local import node_engine
    from node.services.apikeys import Role, create_api_key
    from node.services.audit import append_event
    from node.storage.database import write_session

    with node_engine(authority_dir) as engine, write_session(engine) as session:
        key = create_api_key(session, role=Role(role.value), party=party, label=label,
                             at=utc_now())
        key_id = key[3:].partition(".")[0]
        append_event(session, event="apikey.created", actor="operator:cli",
                     subject=f"apikey:{key_id}",
                     details={"role": role.value, "party": party or ""}, at=utc_now())
        session.commit()
    if as_json:
        print_json({"key": key, "keyId": key_id, "role": role.value, "party": party,
                    "label": label})
        return
    typer.echo(key)


@apikey_app.command("list")
@handle_errors
def apikey_list(authority_dir: AuthorityDirOption, as_json: JsonOption = False) -> None:
    """List the node's API keys (ids, roles, parties, labels; secrets are never stored)."""
    from node.cli.local import node_engine
    from node.services.apikeys import list_api_keys
    from node.storage.database import read_session

    with node_engine(authority_dir) as engine, read_session(engine) as session:
        rows = [{"keyId": record.key_id, "role": record.role, "party": record.party,
                 "label": record.label,
                 "revokedAt": format_time(record.revoked_at) if record.revoked_at else None}
                for record in list_api_keys(session)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no API keys found (create one with `tradeaccord node apikey create`)")
        return
    typer.echo(f"{'KEY-ID':<14}{'ROLE':<9}{'PARTY':<29}{'STATE':<33}LABEL")
    for row in rows:
        state = f"revoked {row['revokedAt']}" if row["revokedAt"] else "active"
        typer.echo(f"{row['keyId']:<14}{row['role']:<9}{row['party'] or '-':<29}"
                   f"{state:<33}{row['label'] or ''}")


@apikey_app.command("revoke")
@handle_errors
def apikey_revoke(
    key_id: Annotated[str, typer.Argument(metavar="KEY-ID",
                                          help="The id shown by `apikey list`")],
    authority_dir: AuthorityDirOption,
) -> None:
    """Revoke an API key: refused (AUTH_REQUIRED) from the next request on."""
    from node.cli.local import node_engine
    from node.services.apikeys import revoke_api_key
    from node.services.audit import append_event
    from node.storage.database import write_session

    with node_engine(authority_dir) as engine, write_session(engine) as session:
        revoke_api_key(session, key_id, utc_now())
        append_event(session, event="apikey.revoked", actor="operator:cli",
                     subject=f"apikey:{key_id}", details={}, at=utc_now())
        session.commit()
    typer.echo(f"API key {key_id} revoked")
