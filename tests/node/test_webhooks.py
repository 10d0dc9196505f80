"""Webhooks (ADR 0031): registration, who gets which event, signed delivery with retries.

Nodes run in process; the webhook worker is driven one pass at a time through an
``httpx.MockTransport`` that plays the receiver (5xx, timeout, success, …).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from node.demo.packages import Consignment, commercial_documents, package
from node.services.webhooks import WebhookWorker, sign, verify_signature
from node.storage.database import read_session
from node.storage.models import WebhookDeliveryRecord, WebhookSubscriptionRecord
from tests.node.conftest import certificate_of_origin
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401
from tests.node.inprocess import InProcessNetwork

SG_ID, CN_ID = "SG-CUSTOMS", "CN-CUSTOMS"
HOOK = "http://127.0.0.1:8999/hook"
MAX_ATTEMPTS = 3


@pytest.fixture
def net(tmp_path: Path, database_factory: DatabaseFactory  # noqa: F811 (fixture)
        ) -> Iterator[InProcessNetwork]:
    network = InProcessNetwork(
        tmp_path / "net", database_factory, delivery_max_attempts=MAX_ATTEMPTS,
        settings={CN_ID: {"hold_for_review_types": ["certificate-of-origin"]}})
    try:
        yield network
    finally:
        network.close()


def _register(net: InProcessNetwork, node: str, caller: str, **body: Any) -> dict[str, Any]:
    response = net.request(node, "POST", "/v1/webhooks", caller=caller,
                           json={"url": HOOK, **body})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _deliveries(net: InProcessNetwork, node: str, webhook_id: str) -> list[WebhookDeliveryRecord]:
    with read_session(net[node].ctx.engine) as session:
        subscription = session.exec(select(WebhookSubscriptionRecord).where(
            WebhookSubscriptionRecord.subscription_id == webhook_id)).one()
        return list(session.exec(select(WebhookDeliveryRecord).where(
            WebhookDeliveryRecord.subscription_pk == subscription.pk)
            .order_by(col(WebhookDeliveryRecord.pk))).all())


def _payloads(net: InProcessNetwork, node: str, webhook_id: str) -> list[dict[str, Any]]:
    return [json.loads(row.payload) for row in _deliveries(net, node, webhook_id)]


def _held_at_cn(net: InProcessNetwork) -> str:
    """SG's trader sends a certificate of origin; CN holds it for review."""
    answer = net.request(SG_ID, "POST", "/v1/documents", caller="trader",
                         json={"document": certificate_of_origin(), "sendTo": [CN_ID]})
    assert answer.status_code == 201, answer.text
    assert net.deliver(SG_ID) == 1
    return str(answer.json()["id"])


def _worker(net: InProcessNetwork, node: str,
            handler: Callable[[httpx.Request], httpx.Response]) -> WebhookWorker:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return WebhookWorker(net[node].ctx, client)


def _passes(net: InProcessNetwork, worker: WebhookWorker, node: str, webhook_id: str,
            until: Callable[[list[WebhookDeliveryRecord]], bool]) -> list[WebhookDeliveryRecord]:
    """Run the worker until ``until`` holds (bounded: backoff is at most 0.5 s here)."""
    for _ in range(300):
        net.run(worker.run_once())
        rows = _deliveries(net, node, webhook_id)
        if until(rows):
            return rows
        time.sleep(0.02)
    pytest.fail("the webhook worker did not get there")


# -- registration ------------------------------------------------------------------------------


def test_register_shows_the_secret_once_and_lists_without_it(net: InProcessNetwork) -> None:
    created = _register(net, CN_ID, "trader", events=["document.received"])
    assert created["secret"].startswith("whsec_")
    assert created["party"] == "SG-UEN-201912345K" and created["events"] == ["document.received"]
    listed = net.request(CN_ID, "GET", "/v1/webhooks", caller="trader").json()["webhooks"]
    assert listed == [{k: v for k, v in created.items() if k != "secret"}]
    # Another caller does not see it; an operator sees every webhook.
    assert net.request(CN_ID, "GET", "/v1/webhooks", caller="trader-other").json() == \
        {"webhooks": []}
    assert [w["id"] for w in net.request(CN_ID, "GET", "/v1/webhooks",
                                         caller="operator").json()["webhooks"]] == [created["id"]]


def test_every_event_type_by_default(net: InProcessNetwork) -> None:
    assert _register(net, CN_ID, "operator")["events"] == sorted(
        ["document.received", "document.decision", "document.status-changed",
         "declaration.status"])


BAD_REGISTRATIONS: dict[str, dict[str, Any]] = {
    "ftp": {"url": "ftp://127.0.0.1/hook"},
    "file": {"url": "file:///etc/passwd"},
    "relative": {"url": "/relative/hook"},
    "credentials": {"url": "http://user:pw@127.0.0.1/hook"},
    "space": {"url": "http://127.0.0.1/ho ok"},
    "not-a-string": {"url": 42},
    "too-long": {"url": "http://" + "a" * 2000},
    "unknown-event": {"url": HOOK, "events": ["document.exploded"]},
    "no-events": {"url": HOOK, "events": []},
    "events-not-a-list": {"url": HOOK, "events": "document.received"},
    "unknown-member": {"url": HOOK, "secret": "mine"},
    "no-url": {},
}


def test_bad_registrations_are_refused_and_store_nothing(net: InProcessNetwork) -> None:
    # One network for every case: each is refused before anything is stored.
    for name, body in BAD_REGISTRATIONS.items():
        response = net.request(CN_ID, "POST", "/v1/webhooks", caller="trader", json=body)
        assert response.status_code == 400, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json", name
        assert response.json()["code"] == "REQUEST_INVALID", name
    assert net.request(CN_ID, "GET", "/v1/webhooks", caller="operator").json() == \
        {"webhooks": []}


def test_register_needs_an_api_key(net: InProcessNetwork) -> None:
    response = net.request(CN_ID, "POST", "/v1/webhooks", json={"url": HOOK})
    assert response.status_code == 401 and response.json()["code"] == "AUTH_REQUIRED"


def test_remove_own_webhook_drops_its_pending_notifications(net: InProcessNetwork) -> None:
    created = _register(net, CN_ID, "trader")
    _held_at_cn(net)
    assert [row.state for row in _deliveries(net, CN_ID, created["id"])] == ["pending"]
    # Not another caller's to remove.
    other = net.request(CN_ID, "DELETE", f"/v1/webhooks/{created['id']}", caller="trader-other")
    assert other.status_code == 404 and other.json()["code"] == "NOT_FOUND"
    removed = net.request(CN_ID, "DELETE", f"/v1/webhooks/{created['id']}", caller="trader")
    assert removed.status_code == 200 and removed.json()["removedAt"]
    assert net.request(CN_ID, "GET", "/v1/webhooks", caller="trader").json() == {"webhooks": []}
    assert [row.state for row in _deliveries(net, CN_ID, created["id"])] == ["dead"]
    again = net.request(CN_ID, "DELETE", f"/v1/webhooks/{created['id']}", caller="trader")
    assert again.status_code == 404


# -- who gets which event ----------------------------------------------------------------------


def test_events_reach_only_the_party_they_concern(net: InProcessNetwork) -> None:
    mine = _register(net, CN_ID, "trader")
    others = _register(net, CN_ID, "trader-other")
    operator = _register(net, CN_ID, "operator", events=["document.decision"])
    sender = _register(net, SG_ID, "trader", events=["document.status-changed"])
    document_id = _held_at_cn(net)

    [received] = _payloads(net, CN_ID, mine["id"])
    assert received["type"] == "document.received"
    assert received["subject"]["documentId"] == document_id
    assert received["subject"]["outcome"] == "held-for-review"
    assert _payloads(net, CN_ID, others["id"]) == []
    assert _payloads(net, CN_ID, operator["id"]) == []

    released = net.request(CN_ID, "POST", f"/v1/inbox/{document_id}/release",
                           caller="officer", json={"reason": "origin checked"})
    assert released.status_code == 200, released.text
    assert [p["type"] for p in _payloads(net, CN_ID, mine["id"])] == \
        ["document.received", "document.decision"]
    [decision] = _payloads(net, CN_ID, operator["id"])
    assert decision["data"] == {"reason": "origin checked"}
    assert _payloads(net, CN_ID, others["id"]) == []

    # The decision travels back to SG as a status change: SG's trader hears of it.
    assert net.deliver(CN_ID) == 1
    [changed] = _payloads(net, SG_ID, sender["id"])
    assert changed["type"] == "document.status-changed"
    assert changed["subject"]["documentId"] == document_id
    assert changed["data"]["outcome"] == "accepted"
    assert changed["data"]["reason"] == "origin checked"


def test_declaration_changes_reach_the_declaring_trader(net: InProcessNetwork) -> None:
    mine = _register(net, SG_ID, "trader", events=["declaration.status"])
    others = _register(net, SG_ID, "trader-other")
    consignment = Consignment()
    # The invoice total disagrees with the declared value: held at export.
    commercial_documents(consignment, {
        "commercial-invoice": lambda d: d["body"].__setitem__("totalAmount", 1.0)})
    answer = net.request(SG_ID, "POST", "/v1/declarations", caller="trader",
                         json=package(consignment, importing=CN_ID, certificates=[]))
    assert answer.status_code == 201, answer.text
    declaration_id, state = answer.json()["id"], answer.json()["state"]
    events = _payloads(net, SG_ID, mine["id"])
    assert events and {e["type"] for e in events} == {"declaration.status"}
    assert {e["subject"]["declarationId"] for e in events} == {declaration_id}
    assert events[-1]["subject"]["state"] == state == "export-held"
    assert _payloads(net, SG_ID, others["id"]) == []


# -- delivery ------------------------------------------------------------------------------------


def test_retries_a_5xx_and_a_timeout_then_delivers_signed(net: InProcessNetwork) -> None:
    created = _register(net, CN_ID, "trader")
    _held_at_cn(net)
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(503)
        if len(seen) == 2:
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(204)

    rows = _passes(net, _worker(net, CN_ID, receiver), CN_ID, created["id"],
                   lambda rows: rows[0].state != "pending")
    [row] = rows
    assert (row.state, row.attempts, row.delivered_at is not None) == ("delivered", 3, True)
    assert len(seen) == 3
    for request in seen:
        assert str(request.url) == HOOK
        assert request.headers["content-type"] == "application/json"
        # The same event id and body on every attempt: the receiver's deduplication key.
        assert request.headers["webhook-id"] == row.event_id
        assert request.content == row.payload
        assert verify_signature(created["secret"], request.headers, request.content,
                                now=int(request.headers["webhook-timestamp"]))
        assert not verify_signature(created["secret"], request.headers,
                                    request.content + b" ", now=int(time.time()))


def test_gives_up_per_schedule(net: InProcessNetwork) -> None:
    created = _register(net, CN_ID, "trader")
    _held_at_cn(net)
    calls: list[int] = []

    def failing(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(500)

    worker = _worker(net, CN_ID, failing)
    [row] = _passes(net, worker, CN_ID, created["id"], lambda rows: rows[0].state == "dead")
    assert row.attempts == MAX_ATTEMPTS and len(calls) == MAX_ATTEMPTS
    assert row.last_error == "HTTP 500"
    assert net.run(worker.run_once()) == 0  # a dead notification is not sent again


def test_an_unreachable_receiver_is_retried(net: InProcessNetwork) -> None:
    created = _register(net, CN_ID, "trader")
    _held_at_cn(net)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    [row] = _passes(net, _worker(net, CN_ID, refused), CN_ID, created["id"],
                    lambda rows: rows[0].state == "dead")
    assert row.attempts == MAX_ATTEMPTS
    assert row.last_error is not None and row.last_error.startswith("ConnectError")


# -- signatures (pure) ----------------------------------------------------------------------------


def test_signature_refuses_tampering_replay_and_another_secret() -> None:
    secret = "whsec_" + "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="
    body, stamp = b'{"id":"e-1"}', 1_800_000_000
    headers = {"webhook-id": "e-1", "webhook-timestamp": str(stamp),
               "webhook-signature": sign(secret, "e-1", stamp, body)}
    assert verify_signature(secret, headers, body, now=stamp + 10)
    assert not verify_signature(secret, headers, body + b" ", now=stamp)
    assert not verify_signature(secret, headers, body, now=stamp + 301)  # too old: a replay
    assert not verify_signature(secret, {**headers, "webhook-id": "e-2"}, body, now=stamp)
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpBQkNERUY="
    assert not verify_signature(other, headers, body, now=stamp)
    assert not verify_signature(secret, {**headers, "webhook-timestamp": "soon"}, body, now=stamp)
