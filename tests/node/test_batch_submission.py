"""``POST /v1/documents:batch``: each item has its own result; good items are stored (with
their deliveries and audit events, in one transaction), bad ones are refused with their
reason codes and change nothing; the batch size is bounded by a setting. The client SDK and
``tradeaccord doc submit`` with several files use it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from node.cli.main import build_app
from tests.node.conftest import Network, certificate_of_origin, final_delivery
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401
from tests.node.inprocess import InProcessNetwork

SG_ID, CN_ID = "SG-CUSTOMS", "CN-CUSTOMS"


@pytest.fixture
def net(tmp_path: Path, database_factory: DatabaseFactory  # noqa: F811 (fixture)
        ) -> Iterator[InProcessNetwork]:
    network = InProcessNetwork(tmp_path / "net", database_factory, batch_max_documents=10)
    try:
        yield network
    finally:
        network.close()


def _batch(net: InProcessNetwork, items: Any, caller: str = "trader") -> httpx.Response:
    return net.request(SG_ID, "POST", "/v1/documents:batch", caller=caller,
                       json={"documents": items})


def _stored(net: InProcessNetwork) -> tuple[list[str], list[tuple[str, str]], int]:
    """Outbound document ids, (document id, peer) of every delivery, audit event count."""
    documents = net.request(SG_ID, "GET", "/v1/documents?direction=outbound",
                            caller="officer").json()["documents"]
    ids = sorted(d["id"] for d in documents)
    deliveries = sorted((d["id"], delivery["to"]) for d in documents
                        for delivery in d["deliveries"])
    audit = net.request(SG_ID, "GET", "/v1/audit/verify", caller="operator").json()
    return ids, deliveries, int(audit["events"])


def test_mixed_batch_stores_the_good_items_and_refuses_the_bad_with_codes(
        net: InProcessNetwork) -> None:
    held = net.request(SG_ID, "POST", "/v1/documents", caller="trader",
                       json={"document": certificate_of_origin("COO-HELD")})
    assert held.status_code == 201, held.text
    before = _stored(net)
    no_schema = certificate_of_origin("COO-BAD-SCHEMA")
    del no_schema["parties"]
    other_issuer = {**certificate_of_origin("COO-OTHER-ISSUER"), "issuer": "CN-CUSTOMS"}
    other_party = certificate_of_origin("COO-OTHER-PARTY")
    parties: list[dict[str, Any]] = other_party["parties"]  # type: ignore[assignment]
    other_party["parties"] = [{**p, "id": "SG-UEN-000000000X"} for p in parties]
    items = [
        {"document": certificate_of_origin("COO-GOOD-1"), "sendTo": [CN_ID]},
        {"document": no_schema},
        {"document": other_issuer},
        {"document": other_party},
        {"document": certificate_of_origin("COO-UNKNOWN-PEER"), "sendTo": ["JP-CUSTOMS"]},
        {"document": certificate_of_origin("COO-GOOD-1")},  # the same id again in the batch
        {"document": certificate_of_origin("COO-HELD")},  # already stored
        {"document": certificate_of_origin("COO-GOOD-2")},
        {"document": certificate_of_origin("COO-EXTRA"), "extra": 1},
        "not an object",
    ]
    response = _batch(net, items)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["stored"], answer["refused"]) == (2, 8)
    results = answer["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert [(r["status"], r.get("error", {}).get("code")) for r in results] == [
        (201, None), (422, "SCHEMA_INVALID"), (400, "ISSUER_MISMATCH"), (403, "FORBIDDEN"),
        (400, "REQUEST_INVALID"), (409, "CONFLICT"), (409, "CONFLICT"), (201, None),
        (400, "REQUEST_INVALID"), (400, "REQUEST_INVALID")]
    good = results[0]["document"]
    assert good["id"] == "COO-GOOD-1" and good["issuer"] == SG_ID
    assert [d["to"] for d in good["deliveries"]] == [CN_ID]
    assert results[7]["document"]["deliveries"] == []
    # What is stored: the two good documents (one delivery), and their audit events
    # (issued ×2, send-requested ×1), in an intact chain; nothing of the refused items.
    ids, deliveries, events = _stored(net)
    assert ids == sorted([*before[0], "COO-GOOD-1", "COO-GOOD-2"])
    assert deliveries == [*before[1], ("COO-GOOD-1", CN_ID)]
    assert events == before[2] + 3
    # The stored signed form is the one answered, and the queued one is delivered.
    signed = net.request(SG_ID, "GET", "/v1/documents/COO-GOOD-1/signed", caller="trader")
    assert json.loads(signed.content) == good["signed"]
    assert net.deliver(SG_ID) == 1
    status = net.request(SG_ID, "GET", "/v1/documents/COO-GOOD-1", caller="trader").json()
    assert status["deliveries"][0]["outcome"] == "accepted"


def test_batch_beyond_the_limit_or_malformed_is_refused_whole(net: InProcessNetwork) -> None:
    before = _stored(net)
    eleven = [{"document": certificate_of_origin(f"COO-{n}")} for n in range(11)]
    response = _batch(net, eleven)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "REQUEST_INVALID"
    assert "at most 10" in response.json()["error"]["message"]
    bodies: list[Any] = [{"documents": []}, {"documents": {}}, {"items": []}, []]
    for body in bodies:
        refused = net.request(SG_ID, "POST", "/v1/documents:batch", caller="trader",
                              json=body)
        assert refused.status_code == 400, body
        assert refused.json()["error"]["code"] == "REQUEST_INVALID"
    operator = _batch(net, eleven[:1], caller="operator")
    assert operator.status_code == 403 and operator.json()["error"]["code"] == "FORBIDDEN"
    anonymous = net.request(SG_ID, "POST", "/v1/documents:batch", json={"documents": []})
    assert anonymous.status_code == 401
    assert _stored(net) == before
    # Exactly the limit is accepted.
    ten = _batch(net, eleven[:10])
    assert ten.status_code == 200 and ten.json()["stored"] == 10


def test_batch_is_described_in_openapi(net: InProcessNetwork) -> None:
    document = net.request(SG_ID, "GET", "/openapi.json").json()
    operation = document["paths"]["/v1/documents:batch"]["post"]
    assert operation["operationId"] == "submitDocuments"
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"] == \
        "#/components/schemas/BatchSubmission"
    assert {"BatchSubmission", "BatchResult", "BatchItemResult"} <= \
        set(document["components"]["schemas"])


def test_sdk_and_cli_submit_several_documents(network: Network, tmp_path: Path) -> None:
    sg = network[SG_ID]
    with sg.client("trader") as client:
        answer = client.submit_batch([certificate_of_origin("COO-SDK-1"),
                                      certificate_of_origin("COO-SDK-2")], send_to=[CN_ID])
        assert [r["status"] for r in answer["results"]] == [201, 201]
        final_delivery(client, "COO-SDK-2", CN_ID)
    files = []
    for name in ("COO-CLI-1", "COO-SDK-1", "COO-CLI-2"):  # the middle one exists already
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(certificate_of_origin(name)))
        files.append(str(path))
    result = CliRunner().invoke(build_app(), ["doc", "submit", *files, "--send-to", CN_ID,
                                              "--node", sg.url, "--api-key", sg.keys["trader"]])
    assert result.exit_code == 1
    assert result.stdout.split() == ["COO-CLI-1", "COO-CLI-2"]
    assert "COO-SDK-1.json: CONFLICT" in result.output
    one = CliRunner().invoke(build_app(), ["doc", "submit", files[0], "--batch", "--node",
                                           sg.url, "--api-key", sg.keys["trader"]])
    assert one.exit_code == 1 and "CONFLICT" in one.output
