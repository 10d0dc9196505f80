"""``tradeaccord node …``: prepare, serve, run workers, issue API keys."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Annotated

import typer

from node.authority import AuthorityDirectory, write_atomic
from node.cli.common import handle_errors
from node.logging_setup import configure_logging
from node.services.apikeys import Role, create_api_key
from node.settings import load_settings
from node.storage.database import make_engine, migrate, write_session
from protocol.timeutil import utc_now

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
        write_atomic(authority_dir / "node.env",
                     f"TRADEACCORD_DATABASE_URL={database_url}\n".encode())
    settings = load_settings(authority_dir)
    url = settings.resolved_database_url(authority_dir)
    migrate(url)
    if not authority.registry_path.exists():
        registry = initial_registry(authority, endpoint=endpoint)
        write_atomic(authority.registry_path, (json.dumps(registry.to_dict(), indent=2,
                                                          sort_keys=True) + "\n").encode())
    typer.echo(f"node for {authority.authority_id} ready: database {_redact(url)}, "
               f"registry {authority.registry_path}")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@node_app.command("serve")
@handle_errors
def serve(
    authority_dir: AuthorityDirOption,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0 = any free port)")] = 8700,
    no_worker: Annotated[bool, typer.Option("--no-worker",
                                            help="Serve the API only")] = False,
) -> None:
    """Run the API (uvicorn) and, unless --no-worker, the delivery worker."""
    import uvicorn

    from node.api.app import create_app

    settings = load_settings(authority_dir, host=host, port=port)
    configure_logging(settings.log_level)
    app = create_app(settings, run_worker=not no_worker)
    ssl: dict[str, str] = {}
    if settings.tls_certfile and settings.tls_keyfile:
        ssl = {"ssl_certfile": str(settings.tls_certfile),
               "ssl_keyfile": str(settings.tls_keyfile)}
        if settings.tls_ca_file:
            ssl["ssl_ca_certs"] = str(settings.tls_ca_file)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                            access_log=False, **ssl)  # type: ignore[arg-type]
    if settings.tls_ca_file and ssl:
        import ssl as ssl_module

        config.ssl_cert_reqs = ssl_module.CERT_REQUIRED  # mutual TLS: peers present certs
    uvicorn.Server(config).run()


@node_app.command("worker")
@handle_errors
def worker(authority_dir: AuthorityDirOption) -> None:
    """Run the delivery worker alone (scaled deployments share one PostgreSQL database)."""
    from node.api.app import make_http_client
    from node.context import NodeContext
    from node.services.delivery import DeliveryWorker

    settings = load_settings(authority_dir)
    configure_logging(settings.log_level)

    async def _main() -> None:
        ctx = NodeContext.build(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with make_http_client(settings) as client:
            await DeliveryWorker(ctx, client).run(stop)
        ctx.close()

    asyncio.run(_main())


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
    settings = load_settings(authority_dir)
    url = settings.resolved_database_url(authority_dir)
    engine = make_engine(url)
    try:
        with write_session(engine) as session:
            key = create_api_key(session, role=role, party=party, label=label, at=utc_now())
            session.commit()
    finally:
        engine.dispose()
    typer.echo(key)
