"""``tradeaccord node …``: prepare, serve, run workers, issue API keys."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from node.authority import AuthorityDirectory, write_atomic
from node.cli.common import handle_errors
from node.logging_setup import configure_logging
from node.services.apikeys import Role, create_api_key, list_api_keys, revoke_api_key
from node.services.audit import append_event
from node.settings import load_settings
from node.storage.database import make_engine, migrate, read_session, write_session
from protocol.timeutil import format_time, utc_now

node_app = typer.Typer(help="Run an authority's node.", no_args_is_help=True)

AuthorityDirOption = Annotated[Path, typer.Option(help="The authority directory")]


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
    """Create the node's database (migrated to the newest schema) and DIR/registry.json."""
    from node.bootstrap import initial_registry

    authority = AuthorityDirectory.open(authority_dir)
    if database_url:
        _set_env_line(authority_dir / "node.env", "TRADEACCORD_DATABASE_URL", database_url)
    settings = load_settings(authority_dir)
    url = settings.resolved_database_url(authority_dir)
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
    """Run the API (uvicorn) and, unless --no-worker, the delivery worker."""
    import uvicorn

    from node.api.app import create_app, uvicorn_tls_options
    from node.context import NodeContext

    settings = load_settings(authority_dir, host=host, port=port)
    configure_logging(settings.log_level)
    # Built before the server starts, so a bad directory, key or database is a refusal
    # with its reason code (exit 1), not a failed server start.
    context = NodeContext.build(settings)
    app = create_app(settings, run_worker=not no_worker, context=context)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, fd=fd,
                            log_level="warning",
                            access_log=False, timeout_graceful_shutdown=10,
                            **uvicorn_tls_options(settings))
    try:
        uvicorn.Server(config).run()
    finally:
        context.close()


@node_app.command("worker")
@handle_errors
def worker(
    authority_dir: AuthorityDirOption,
    metrics_port: Annotated[int | None, typer.Option(
        help="Serve Prometheus metrics of this worker on 127.0.0.1:PORT/metrics")] = None,
) -> None:
    """Run the delivery worker alone (scaled deployments share one PostgreSQL database)."""
    from prometheus_client import start_http_server

    from node.api.app import make_http_client
    from node.context import NodeContext
    from node.services.delivery import DeliveryWorker

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
        async with make_http_client(settings) as client:
            await DeliveryWorker(ctx, client).run(stop)

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
    role: Annotated[Role, typer.Option(help="trader, officer or operator")],
    party: Annotated[str | None, typer.Option(help="Trader's party id (required for traders)")]
    = None,
    label: Annotated[str | None, typer.Option(help="A note: who holds the key")] = None,
) -> None:
    """Create an API key and print it once (it is stored hashed)."""
    with _node_engine(authority_dir) as engine, write_session(engine) as session:
        key = create_api_key(session, role=role, party=party, label=label, at=utc_now())
        append_event(session, event="apikey.created", actor="operator:cli",
                     subject=f"apikey:{key[3:].partition('.')[0]}",
                     details={"role": role.value, "party": party or ""}, at=utc_now())
        session.commit()
    typer.echo(key)


@apikey_app.command("list")
@handle_errors
def apikey_list(authority_dir: AuthorityDirOption) -> None:
    """List the node's API keys (ids, roles, parties, labels; secrets are never stored)."""
    with _node_engine(authority_dir) as engine, read_session(engine) as session:
        for record in list_api_keys(session):
            state = f"revoked {format_time(record.revoked_at)}" if record.revoked_at else "active"
            typer.echo(f"{record.key_id}  {record.role:<8} {record.party or '-':<28} "
                       f"{state:<32} {record.label or ''}")


@apikey_app.command("revoke")
@handle_errors
def apikey_revoke(
    key_id: Annotated[str, typer.Argument(metavar="KEY-ID",
                                          help="The id shown by `apikey list`")],
    authority_dir: AuthorityDirOption,
) -> None:
    """Revoke an API key: refused (AUTH_REQUIRED) from the next request on."""
    with _node_engine(authority_dir) as engine, write_session(engine) as session:
        revoke_api_key(session, key_id, utc_now())
        append_event(session, event="apikey.revoked", actor="operator:cli",
                     subject=f"apikey:{key_id}", details={}, at=utc_now())
        session.commit()
    typer.echo(f"API key {key_id} revoked")


@contextmanager
def _node_engine(authority_dir: Path) -> Iterator[Engine]:
    settings = load_settings(authority_dir)
    engine = make_engine(settings.resolved_database_url(authority_dir))
    try:
        yield engine
    finally:
        engine.dispose()
