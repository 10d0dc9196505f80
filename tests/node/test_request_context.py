"""Every answer carries its request id; each request is logged once and measured by route.

In process (``ASGITransport``), on the app ``node serve`` runs: the request-context
middleware (``node/api/request_context.py``) wraps every route, error handler and the
console alike.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from tests.node.databases import DatabaseFactory
from tests.node.inprocess import InProcessNetwork
from tests.node.shared_network import shared_databases  # noqa: F401 (fixture)

SG = "SG-CUSTOMS"


@pytest.fixture(scope="module")
def net(shared_databases: DatabaseFactory,  # noqa: F811 (fixture)
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNetwork]:
    network = InProcessNetwork(tmp_path_factory.mktemp("request-context") / "net",
                               shared_databases)
    yield network
    network.close()


def _records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "tradeaccord.api" and r.msg == "request"]


def test_the_callers_request_id_comes_back_and_is_logged_with_the_principal(
        net: InProcessNetwork, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tradeaccord.api")
    response = net.request(SG, "GET", "/v1/documents", caller="officer",
                           headers={"X-Request-Id": "trace-42"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "trace-42"
    [record] = _records(caplog)
    assert (record.request_id, record.method, record.path, record.status) == (  # type: ignore[attr-defined]
        "trace-42", "GET", "/v1/documents", 200)
    assert record.principal.startswith("officer")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("path", "status", "route"), [
    ("/v1/documents/no-such-document", 404, "/v1/documents/{document_id}"),
    ("/v1/no-such-route", 404, "unmatched"),
])
def test_refusals_carry_a_fresh_request_id_too(
        net: InProcessNetwork, caplog: pytest.LogCaptureFixture,
        path: str, status: int, route: str) -> None:
    caplog.set_level(logging.INFO, logger="tradeaccord.api")
    response = net.request(SG, "GET", path, caller="officer")
    assert response.status_code == status
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    [record] = _records(caplog)
    assert (record.request_id, record.path, record.status) == (  # type: ignore[attr-defined]
        response.headers["x-request-id"], route, status)


def test_an_unauthenticated_refusal_is_logged_without_a_principal(
        net: InProcessNetwork, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tradeaccord.api")
    response = net.request(SG, "GET", "/v1/documents")
    assert response.status_code == 401
    assert response.headers["x-request-id"]
    [record] = _records(caplog)
    assert record.status == 401 and not hasattr(record, "principal")  # type: ignore[attr-defined]


def test_latency_is_measured_per_route_template(net: InProcessNetwork) -> None:
    for _ in range(3):
        net.request(SG, "GET", "/v1/documents/some-id", caller="officer")
    metrics = net.request(SG, "GET", "/metrics").text
    counts = re.findall(r'tradeaccord_http_request_seconds_count\{method="GET",'
                        r'route="/v1/documents/\{document_id\}"\} ([0-9.]+)', metrics)
    assert counts and float(counts[0]) >= 3

