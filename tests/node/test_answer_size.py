"""A peer's (or a node's) answer is read as a stream and refused beyond a cap.

The delivery worker reads a receipt no larger than a document may be; a bigger answer is a
failed attempt (JSON_TOO_LARGE, retried), and the worker stops reading it at the cap. The
client SDK (and so the CLI) caps a node's answers the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from node.client import ClientError, NodeClient
from protocol.reason_codes import ReasonCode
from tests.node.conftest import certificate_of_origin
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401 (fixture)
from tests.node.inprocess import InProcessNetwork

CHUNK = 64 * 1024
LIMIT = 1024 * 1024  # the nodes' max_document_bytes (the default)


@pytest.fixture
def net(tmp_path: Path, database_factory: DatabaseFactory  # noqa: F811 (fixture)
        ) -> Iterator[InProcessNetwork]:
    network = InProcessNetwork(tmp_path / "net", database_factory, max_document_bytes=LIMIT)
    try:
        yield network
    finally:
        network.close()


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_peer_answer_beyond_the_cap_is_a_failed_attempt_not_read_whole(
        net: InProcessNetwork, declared: bool) -> None:
    produced = [0]

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(10_000):  # 640 MiB if it were all read
            produced[0] += 1
            yield b" " * CHUNK

    def huge_answer(request: httpx.Request) -> httpx.Response:
        if declared:
            return httpx.Response(200, content=b" " * (LIMIT + 1))
        return httpx.Response(200, content=endless())

    net["SG-CUSTOMS"].routes.handler = huge_answer
    response = net.request("SG-CUSTOMS", "POST", "/v1/documents", caller="trader",
                           json={"document": certificate_of_origin(), "sendTo": ["CN-CUSTOMS"]})
    assert response.status_code == 201, response.text
    assert net.deliver("SG-CUSTOMS") == 1
    [message] = net.request("SG-CUSTOMS", "GET", "/v1/outbox", caller="operator").json()[
        "messages"]
    assert message["state"] == "pending"  # retried, like any failed attempt
    assert message["lastError"].startswith(ReasonCode.JSON_TOO_LARGE.value)
    assert produced[0] <= LIMIT // CHUNK + 2  # read no further than the cap


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_node_answer_beyond_the_cap_is_refused_by_the_client(declared: bool) -> None:
    produced = [0]

    def endless() -> Iterator[bytes]:
        for _ in range(10_000):
            produced[0] += 1
            yield b" " * CHUNK

    def huge_answer(request: httpx.Request) -> httpx.Response:
        if declared:
            return httpx.Response(200, content=b" " * (LIMIT + 1))
        return httpx.Response(200, content=endless())

    with NodeClient("http://127.0.0.1:9", "ta_x.y", transport=httpx.MockTransport(huge_answer),
                    max_answer_bytes=LIMIT) as client, pytest.raises(ClientError) as caught:
        client.registry()
    assert caught.value.code is ReasonCode.JSON_TOO_LARGE
    assert produced[0] <= LIMIT // CHUNK + 2
