"""Submitting is idempotent with an ``Idempotency-Key``: a retry after a lost answer gets
the first answer and creates no second document; the client SDK (and so the CLI) sends a
key and reuses it across its own retries."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.client import NodeClient
from node.services import idempotency
from tests.node.conftest import Network, certificate_of_origin
from tests.node.databases import DatabaseFactory, database_factory, require_postgres  # noqa: F401
from tests.node.inprocess import InProcessNetwork

SG_ID = "SG-CUSTOMS"


@pytest.fixture
def net(tmp_path: Path, database_factory: DatabaseFactory  # noqa: F811 (fixture)
        ) -> Iterator[InProcessNetwork]:
    network = InProcessNetwork(tmp_path / "net", database_factory)
    try:
        yield network
    finally:
        network.close()


def _submit(net: InProcessNetwork, body: dict[str, Any], key: str | None,
            caller: str = "trader") -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return net.request(SG_ID, "POST", "/v1/documents", caller=caller, json=body,
                       headers=headers)


def _outbound(net: InProcessNetwork) -> list[str]:
    response = net.request(SG_ID, "GET", "/v1/documents?direction=outbound", caller="officer")
    return [d["id"] for d in response.json()["documents"]]


def test_submit_retried_with_the_same_idempotency_key_creates_one_document(
        net: InProcessNetwork) -> None:
    body = {"document": certificate_of_origin(), "sendTo": ["CN-CUSTOMS"]}  # no id: generated
    first = _submit(net, body, "retry-1")
    again = _submit(net, body, "retry-1")
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _outbound(net) == [first.json()["id"]]
    # Without a key, the same request is a new document.
    assert _submit(net, body, None).json()["id"] != first.json()["id"]


def test_same_idempotency_key_with_another_body_is_refused_conflict(
        net: InProcessNetwork) -> None:
    assert _submit(net, {"document": certificate_of_origin()}, "k-2").status_code == 201
    other = _submit(net, {"document": certificate_of_origin(), "sendTo": ["CN-CUSTOMS"]}, "k-2")
    assert other.status_code == 409, other.text
    assert other.json()["error"]["code"] == "CONFLICT"
    assert len(_outbound(net)) == 1


def test_idempotency_keys_are_per_api_key(net: InProcessNetwork) -> None:
    body = {"document": certificate_of_origin()}
    mine = _submit(net, body, "shared")
    theirs = _submit(net, body, "shared", caller="officer")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


def test_a_refused_request_stores_no_key(net: InProcessNetwork) -> None:
    refused = _submit(net, {"document": {**certificate_of_origin(), "type": "no-such-type"}},
                      "k-3")
    assert refused.status_code == 422, refused.text
    accepted = _submit(net, {"document": certificate_of_origin()}, "k-3")
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "é"])
def test_malformed_idempotency_key_is_refused(net: InProcessNetwork, key: str) -> None:
    response = net.request(SG_ID, "POST", "/v1/documents", caller="trader",
                           json={"document": certificate_of_origin()},
                           headers={"Idempotency-Key": key} if key.isascii() else
                           [("Idempotency-Key", key.encode("utf-8"))])
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "REQUEST_INVALID"
    assert _outbound(net) == []


def test_concurrent_requests_with_one_key_create_one_document(net: InProcessNetwork) -> None:
    body = {"document": certificate_of_origin()}
    node = net[SG_ID]

    async def both() -> list[httpx.Response]:
        transport = httpx.ASGITransport(node.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=node.endpoint) as client:
            headers = {"authorization": f"Bearer {node.keys['trader']}",
                       "Idempotency-Key": "together"}
            return list(await asyncio.gather(*(client.post("/v1/documents", json=body,
                                                           headers=headers)
                                               for _ in range(2))))

    responses = net.run(both())
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert len(_outbound(net)) == 1


@pytest.fixture
def pg_net(tmp_path: Path) -> Iterator[InProcessNetwork]:
    require_postgres()
    databases = DatabaseFactory("postgresql", tmp_path)
    network = InProcessNetwork(tmp_path / "net", databases)
    try:
        yield network
    finally:
        network.close()
        databases.drop_all()


@pytest.mark.postgres
def test_concurrent_requests_with_one_key_race_on_postgresql_and_answer_from_the_winner(
        pg_net: InProcessNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    # Both requests look the key up before either inserts it: the race, made certain.
    barrier = threading.Barrier(2, timeout=30)
    waited: set[int] = set()
    stored = idempotency._stored

    def racing(*args: Any) -> Any:
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait()
        return stored(*args)

    monkeypatch.setattr(idempotency, "_stored", racing)
    test_concurrent_requests_with_one_key_create_one_document(pg_net)


# -- the client SDK: a generated key, reused across its own retries ---------------------------


class LoseFirstAnswer(httpx.BaseTransport):
    """Real HTTP; the first answer is lost after the node has processed the request."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.keys.append(request.headers.get("idempotency-key"))
        if len(self.keys) == 1:
            response.close()
            raise httpx.ReadError("the answer was lost", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_client_retry_after_a_lost_answer_creates_one_document(network: Network) -> None:
    sg = network[SG_ID]
    transport = LoseFirstAnswer()
    with NodeClient(sg.url, sg.keys["trader"], transport=transport) as client:
        submitted = client.submit(certificate_of_origin(), send_to=["CN-CUSTOMS"])
    assert len(transport.keys) == 2 and transport.keys[0] == transport.keys[1] is not None
    with sg.client("officer") as officer:
        assert [d["id"] for d in officer.documents(direction="outbound")] == [submitted["id"]]
