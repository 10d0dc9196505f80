"""Agreements negotiated node to node (in process): proposed, declined or countersigned, and
a suspension that reaches the partner while a document is in flight."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.timeutil import format_time, utc_now
from tests.node.conftest import certificate_of_origin
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401 (fixture)
from tests.node.inprocess import InProcessNetwork
from trust_registry import TrustRegistry
from trust_registry.comparison import compare_agreements, partner_view
from trust_registry.errors import SnapshotError

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


def test_expiring_agreement_is_warned_about(net: InProcessNetwork) -> None:
    soon = format_time((utc_now() + dt.timedelta(days=10)).replace(microsecond=0))
    response = net.request(SG, "POST", "/v1/negotiations", caller="operator", **_json({
        "agreementId": "SG-CN-SHORT-2026", "partner": CN,
        "documentTypes": ["commercial-invoice"], "validUntil": soon}))
    assert response.status_code == 201, response.text
    net.deliver(SG)
    assert net.request(CN, "POST", "/v1/negotiations/SG-CN-SHORT-2026/countersign",
                       caller="operator").status_code == 200
    answer = net.request(CN, "GET", "/v1/registry", caller="trader").json()
    [warning] = [w for w in answer["expiring"] if w["kind"] == "agreement"]
    assert warning["subject"] == "SG-CN-SHORT-2026" and 9 < warning["daysLeft"] <= 10
    metrics = net.request(CN, "GET", "/metrics").text
    assert 'tradeaccord_registry_expiring{kind="agreement"} 1.0' in metrics


def test_partners_compare_what_they_hold(net: InProcessNetwork) -> None:
    def compare() -> list[dict[str, Any]]:
        snapshot = net.request(SG, "GET", "/.well-known/tradeaccord/registry").content
        ours = TrustRegistry.from_dict(net.request(CN, "GET", "/v1/registry",
                                                   caller="operator").json()["registry"])
        return compare_agreements(ours, partner_view(snapshot, held=ours, partner=SG,
                                                     at=utc_now()), at=utc_now())

    assert compare() == [{"agreementId": "SG-CN-COO-2026", "ours": "in-force",
                          "theirs": "in-force", "agree": True}]
    # Suspended at SG only (the registry route, not sent to the partner): they differ.
    changed = net.request(SG, "POST", "/v1/registry/agreements/SG-CN-COO-2026/status",
                          caller="operator", **_json({"status": "suspended"}))
    assert changed.status_code == 200, changed.text
    [row] = compare()
    assert (row["ours"], row["theirs"], row["agree"]) == ("in-force", "suspended", False)
    # A snapshot from another signer than the partner's roots is refused.
    ours = TrustRegistry.from_dict(net.request(CN, "GET", "/v1/registry",
                                               caller="operator").json()["registry"])
    own = net.request(CN, "GET", "/.well-known/tradeaccord/registry").content
    with pytest.raises(SnapshotError) as refused:
        partner_view(own, held=ours, partner=SG, at=utc_now())
    assert refused.value.code is ReasonCode.REGISTRY_SIGNATURE_INVALID
