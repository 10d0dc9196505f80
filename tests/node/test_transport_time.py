"""Transport signatures authenticate their sender at the time of receipt.

An envelope (and a receipt) is signed by a node key. Its signing time and ``createdAt`` are
the signer's claims: a key whose certificate has expired must not be able to speak by
claiming a time inside its validity. The node certificate is validated when the message
arrives, and the times the message claims must lie inside that certificate's validity.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from node.authority import AuthorityDirectory
from protocol.certificates import generate_private_key, issue_node_certificate
from protocol.envelope import Envelope, build_envelope, envelope_sha256, sign_envelope
from protocol.jws import GeneralJWS, Signer
from protocol.receipt import DocumentOutcome, Outcome, Receipt, sign_receipt
from protocol.signed_document import document_sha256
from protocol.timeutil import utc_now
from tests.node.conftest import certificate_of_origin
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401 (fixture)
from tests.node.inprocess import InProcessNetwork
from tests.node.shared_network import issued

SG_ID, CN_ID = "SG-CUSTOMS", "CN-CUSTOMS"
DAY = dt.timedelta(days=1)


@pytest.fixture
def net(tmp_path: Path, database_factory: DatabaseFactory  # noqa: F811 (fixture)
        ) -> Iterator[InProcessNetwork]:
    # Keys and agreements made 30 days ago: room for a node certificate that has expired.
    network = InProcessNetwork(tmp_path / "net", database_factory,
                               created_at=utc_now() - 30 * DAY)
    try:
        yield network
    finally:
        network.close()


def _node_signer(directory: AuthorityDirectory, *, not_before: dt.datetime,
                 days: int) -> Signer:
    """A further node key of ``directory``'s authority, certified by its root."""
    root = directory.root_signer(None)
    key = generate_private_key()
    certificate = issue_node_certificate(root_key=root.key, root_cert=root.certificate,
                                         public_key=key.public_key(), not_before=not_before,
                                         days=days)
    return Signer(key, (certificate,))


def _register(net: InProcessNetwork, at_node: str, authority_id: str, signer: Signer) -> None:
    """``at_node``'s registry holds ``signer``'s certificate as a node key of the authority."""
    net.install(at_node, lambda registry: registry.update_authority(
        authority_id, node_certificates=(*registry.authority(authority_id).node_certificates,
                                         signer.certificate)))


def _envelope(net: InProcessNetwork, signer: Signer, *, created_at: dt.datetime,
              signed_at: dt.datetime) -> bytes:
    sg = net[SG_ID].directory
    built = build_envelope(message_id=f"msg-{uuid.uuid4()}", sender=SG_ID, recipient=CN_ID,
                           created_at=created_at, ttl=60 * DAY,
                           documents=(issued(sg, certificate_of_origin()),))
    return sign_envelope(built, signer, signed_at=signed_at).to_json()


def _post_envelope(net: InProcessNetwork, body: bytes) -> httpx.Response:
    return net.request(CN_ID, "POST", "/v1/peer/envelopes", content=body,
                       headers={"content-type": "application/json"})


def _inbox(net: InProcessNetwork) -> list[object]:
    response = net.request(CN_ID, "GET", "/v1/inbox", caller="officer")
    assert response.status_code == 200, response.text
    return list(response.json()["documents"])


def test_envelope_signed_by_an_expired_node_key_claiming_a_past_signing_time_is_refused(
        net: InProcessNetwork) -> None:
    now = utc_now()
    expired = _node_signer(net[SG_ID].directory, not_before=now - 20 * DAY, days=5)
    _register(net, CN_ID, SG_ID, expired)
    claimed = now - 18 * DAY  # inside the expired certificate's validity
    response = _post_envelope(net, _envelope(net, expired, created_at=claimed,
                                             signed_at=claimed))
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "ENVELOPE_SIGNATURE_INVALID" and "CERT_EXPIRED" in error["message"]
    assert _inbox(net) == []


@pytest.mark.parametrize("claim", ["createdAt", "signing time"])
def test_envelope_claiming_a_time_before_its_node_certificate_is_refused(
        net: InProcessNetwork, claim: str) -> None:
    now = utc_now()
    fresh = _node_signer(net[SG_ID].directory, not_before=now - DAY, days=30)
    _register(net, CN_ID, SG_ID, fresh)
    before = now - 2 * DAY
    body = _envelope(net, fresh, created_at=before if claim == "createdAt" else now,
                     signed_at=before if claim == "signing time" else now)
    response = _post_envelope(net, body)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "ENVELOPE_SIGNATURE_INVALID"
    assert _inbox(net) == []
    # The same key inside its validity is heard.
    response = _post_envelope(net, _envelope(net, fresh, created_at=now, signed_at=now))
    assert response.status_code == 200, response.text


def test_receipt_signed_by_an_expired_node_key_claiming_a_past_signing_time_is_refused(
        net: InProcessNetwork) -> None:
    now = utc_now()
    expired = _node_signer(net[CN_ID].directory, not_before=now - 20 * DAY, days=5)
    _register(net, SG_ID, CN_ID, expired)
    claimed = now - 18 * DAY

    def forged_receipt(request: httpx.Request) -> httpx.Response:
        jws = GeneralJWS.parse(request.content)
        envelope = Envelope.from_dict(jws.payload_json())
        outcomes = tuple(DocumentOutcome(
            document_id=document.payload_json()["id"], document_sha256=document_sha256(document),
            document_type="certificate-of-origin", outcome=Outcome.ACCEPTED)
            for document in envelope.documents)
        receipt = Receipt(receipt_id=str(uuid.uuid4()), message_id=envelope.message_id,
                          envelope_sha256=envelope_sha256(jws), sender=CN_ID, recipient=SG_ID,
                          received_at=claimed, outcomes=outcomes)
        return httpx.Response(200, content=sign_receipt(receipt, expired,
                                                        signed_at=claimed).to_json())

    net[SG_ID].routes.handler = forged_receipt
    response = net.request(SG_ID, "POST", "/v1/documents", caller="trader",
                           json={"document": certificate_of_origin(), "sendTo": [CN_ID]})
    assert response.status_code == 201, response.text
    assert net.deliver(SG_ID) == 1
    [message] = net.request(SG_ID, "GET", "/v1/outbox", caller="operator").json()["messages"]
    assert message["state"] == "pending"
    assert message["lastError"].startswith("RECEIPT_INVALID")
    assert "CERT_EXPIRED" in message["lastError"]
    status = net.request(SG_ID, "GET", f"/v1/documents/{response.json()['id']}/status",
                         caller="trader").json()
    assert [d["state"] for d in status["deliveries"]] == ["pending"]
