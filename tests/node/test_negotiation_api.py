"""Agreements negotiated node to node (in process): proposed, declined or countersigned, and
a suspension that reaches the partner while a document is in flight."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.jws import GeneralJWS
from tests.node.conftest import certificate_of_origin
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401 (fixture)
from tests.node.inprocess import InProcessNetwork
from trust_registry import TrustRegistry

SG, CN = "SG-CUSTOMS", "CN-CUSTOMS"


@pytest.fixture
def net(tmp_path: Path, database_factory: DatabaseFactory  # noqa: F811 (fixture)
        ) -> Iterator[InProcessNetwork]:
    # One message at a time from SG, oldest first: the suspension leaves before the
    # document queued earlier is assembled into its envelope.
    network = InProcessNetwork(tmp_path / "net", database_factory,
                               settings={SG: {"delivery_concurrency": 1}})
    try:
        yield network
    finally:
        network.close()


def _json(body: Any) -> dict[str, Any]:
    return {"content": json.dumps(body).encode(), "headers": {"content-type": "application/json"}}


def _negotiation(net: InProcessNetwork, node: str, agreement_id: str) -> dict[str, Any]:
    response = net.request(node, "GET", f"/v1/negotiations/{agreement_id}", caller="operator")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _propose(net: InProcessNetwork, agreement_id: str) -> None:
    response = net.request(SG, "POST", "/v1/negotiations", caller="operator", **_json({
        "agreementId": agreement_id, "partner": CN, "documentTypes": ["commercial-invoice"]}))
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "proposed"
    net.deliver(SG)
    assert _negotiation(net, CN, agreement_id)["state"] == "received"


def _agreement_status(net: InProcessNetwork, node: str, agreement_id: str) -> str | None:
    registry = TrustRegistry.from_dict(net.request(node, "GET", "/v1/registry",
                                                   caller="operator").json()["registry"])
    record = registry.agreements.get(agreement_id)  # type: ignore[call-overload]
    if record is None:
        return None
    return "in-force" if record.is_dual_signed else "proposed"


def test_a_proposal_declined(net: InProcessNetwork) -> None:
    _propose(net, "SG-CN-INV-2026")
    assert _agreement_status(net, CN, "SG-CN-INV-2026") == "proposed"
    for caller, body, status, code in (
            ("trader", {"reason": "no"}, 403, "FORBIDDEN"),
            ("operator", {}, 400, "REQUEST_INVALID"),
            ("operator", {"reason": " "}, 400, "REQUEST_INVALID")):
        refused = net.request(CN, "POST", "/v1/negotiations/SG-CN-INV-2026/decline",
                              caller=caller, **_json(body))
        assert (refused.status_code, refused.json()["error"]["code"]) == (status, code)
    declined = net.request(CN, "POST", "/v1/negotiations/SG-CN-INV-2026/decline",
                           caller="operator", **_json({"reason": "invoices are not covered"}))
    assert declined.status_code == 200 and declined.json()["state"] == "declined"
    net.deliver(CN)
    at_sg = _negotiation(net, SG, "SG-CN-INV-2026")
    assert (at_sg["state"], at_sg["reason"]) == ("declined", "invoices are not covered")
    assert _agreement_status(net, SG, "SG-CN-INV-2026") == "proposed"
    again = net.request(CN, "POST", "/v1/negotiations/SG-CN-INV-2026/countersign",
                        caller="operator")
    assert again.status_code == 409 and again.json()["error"]["code"] == "STATE_INVALID"
    assert net.request(CN, "GET", "/v1/negotiations/none", caller="operator").status_code == 404


def test_a_proposal_countersigned_is_in_force_at_both_nodes(net: InProcessNetwork) -> None:
    _propose(net, "SG-CN-INV-2026")
    response = net.request(CN, "POST", "/v1/negotiations/SG-CN-INV-2026/countersign",
                           caller="operator")
    assert response.status_code == 200, response.text
    net.deliver(CN)
    assert _negotiation(net, SG, "SG-CN-INV-2026")["state"] == "in-force"
    assert _agreement_status(net, SG, "SG-CN-INV-2026") == "in-force"
    assert _agreement_status(net, CN, "SG-CN-INV-2026") == "in-force"
    duplicate = net.request(SG, "POST", "/v1/negotiations", caller="operator", **_json({
        "agreementId": "SG-CN-INV-2026", "partner": CN, "documentTypes": ["commercial-invoice"]}))
    assert duplicate.status_code == 409


def test_a_suspension_reaches_the_partner_while_a_document_is_in_flight(
        net: InProcessNetwork) -> None:
    sent = net.request(SG, "POST", "/v1/documents", caller="officer",
                       **_json({"document": certificate_of_origin(), "sendTo": [CN]}))
    assert sent.status_code == 201
    suspended = net.request(SG, "POST", "/v1/negotiations/SG-CN-COO-2026/status",
                            caller="operator", **_json({"status": "suspended",
                                                        "reason": "audit of the chamber"}))
    assert suspended.status_code == 200, suspended.text
    net.deliver(SG, passes=2)
    received = net.request(CN, "GET", f"/v1/documents/{sent.json()['id']}", caller="officer")
    assert received.json()["outcome"] == "rejected"
    assert "AGREEMENT_SUSPENDED" in received.json()["reasons"]
    registry = TrustRegistry.from_dict(net.request(CN, "GET", "/v1/registry",
                                                   caller="operator").json()["registry"])
    assert registry.agreement("SG-CN-COO-2026").status_changes


def test_published_registry_snapshot(net: InProcessNetwork) -> None:
    response = net.request(SG, "GET", "/.well-known/tradeaccord/registry")
    assert response.status_code == 200
    snapshot = GeneralJWS.parse(response.content)
    assert snapshot.payload_json()["registry"]["owner"] == SG
