"""A network shared by the tests of one module: built once per database backend.

``network_factory`` (conftest) builds a network per test, which costs seconds; a test module
whose tests each leave the network as they found it, or only compare states before and
after their own request, can share one. ``shared_databases`` is the module-scoped twin of
``database_factory`` (the same two backends, the same skip rules); ``start_network`` is
``network_factory`` without the function scope. Import the fixture into the test module.

``issued`` and ``envelope`` build what a peer node sends, by hand: a document signed by an
authority's document signer, and an envelope signed by whatever ``Signer`` the test picks.
"""

from __future__ import annotations

import datetime as dt
import socket
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from node.authority import AuthorityDirectory
from node.pilot import AgreementSpec, AuthoritySpec, setup_network
from node.services.apikeys import Role
from protocol.envelope import build_envelope, sign_envelope
from protocol.jws import GeneralJWS, Signer
from protocol.signed_document import sign_document
from protocol.timeutil import format_time, utc_now
from tests.node.conftest import (
    CN,
    COO_AGREEMENT,
    EXPORTER,
    SG,
    Network,
    RunningNode,
    fast_settings,
    free_socket,
)
from tests.node.databases import DatabaseFactory, require_postgres
from tests.node.processes import create_keys

OTHER_PARTY = "SG-UEN-000000000X"


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_databases(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    backend = request.param
    if backend == "postgresql":
        require_postgres()
    factory = DatabaseFactory(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    yield factory
    factory.drop_all()


@dataclass
class SharedNetwork(Network):
    """A network that owns its listening sockets (uvicorn leaves given sockets open)."""

    sockets: list[socket.socket] = field(default_factory=list)


def start_network(base: Path, databases: DatabaseFactory, *,
                  authorities: tuple[AuthoritySpec, ...] = (SG, CN),
                  agreements: tuple[AgreementSpec, ...] = (COO_AGREEMENT,),
                  **overrides: object) -> SharedNetwork:
    """Start the nodes of ``authorities`` with the keys ``network_factory`` gives them
    (plus ``trader-other``); stop them with ``stop_network``."""
    sockets = {spec.authority_id: free_socket() for spec in authorities if spec.serve}
    network = SharedNetwork({}, sockets=list(sockets.values()))
    try:
        urls = {aid: f"http://127.0.0.1:{sock.getsockname()[1]}" for aid, sock in sockets.items()}
        directories = setup_network(base, authorities, urls, agreements, at=utc_now())
        network.directories = directories
        for authority_id, directory in directories.items():
            if authority_id not in sockets:
                continue  # signs offline, runs no node
            url = databases.new_url(migrated=True)
            node = RunningNode(authority_id, directory, urls[authority_id],
                               fast_settings(directory.path, url, **overrides))
            node.keys = create_keys(url, {
                "trader": (Role.TRADER, EXPORTER), "officer": (Role.OFFICER, None),
                "operator": (Role.OPERATOR, None), "trader-other": (Role.TRADER, OTHER_PARTY)})
            network.nodes[authority_id] = node
        for authority_id, node in network.nodes.items():
            node.start(sockets[authority_id])
    except BaseException:
        stop_network(network)  # stops the nodes that started, closes every socket
        raise
    return network


def stop_network(network: SharedNetwork) -> None:
    for node in network.nodes.values():
        node.quiesce()
    for node in reversed(list(network.nodes.values())):
        node.stop()
    for sock in network.sockets:
        sock.close()


def issued(issuer: AuthorityDirectory, document: Mapping[str, Any], *,
           signer: Signer | None = None) -> GeneralJWS:
    """``document`` with a fresh id, ``issuer`` and ``issuedAt``, signed by the issuer's
    document signer (or ``signer``)."""
    now = utc_now()
    prepared = {**document, "id": str(uuid.uuid4()), "issuer": issuer.authority_id,
                "issuedAt": format_time(now.replace(microsecond=0))}
    return sign_document(prepared, signer or issuer.document_signer(None), signed_at=now)


def envelope(sender: AuthorityDirectory, recipient: str, documents: tuple[GeneralJWS, ...], *,
             message_id: str | None = None, signer: Signer | None = None,
             created_at: dt.datetime | None = None,
             ttl: dt.timedelta = dt.timedelta(hours=1)) -> bytes:
    """The wire bytes of a documents envelope from ``sender``, signed by its node key (or
    by ``signer``)."""
    built = build_envelope(message_id=message_id or f"msg-{uuid.uuid4()}",
                           sender=sender.authority_id, recipient=recipient,
                           created_at=created_at or utc_now(), ttl=ttl, documents=documents)
    return sign_envelope(built, signer or sender.node_signer(None),
                         signed_at=utc_now()).to_json()
