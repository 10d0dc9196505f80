"""Two real nodes over real HTTP: sign, send, verify, recognise, answer with signed receipts."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import httpx

from node.client import ClientError
from protocol.certificates import CertUsage
from protocol.envelope import build_envelope, sign_envelope
from protocol.jws import GeneralJWS, JWSType, verify
from protocol.receipt import Receipt
from protocol.timeutil import utc_now
from tests.node.conftest import Network, certificate_of_origin, example, final_delivery, wait_for


def test_certificate_of_origin_recognised_with_signed_receipt(network: Network) -> None:
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    with sg.client("trader") as trader:
        submitted = trader.submit(certificate_of_origin(), send_to=["CN-CUSTOMS"])
        delivery = final_delivery(trader, submitted["id"], "CN-CUSTOMS")
        assert delivery["state"] == "delivered"
        assert delivery["outcome"] == "accepted"
        assert delivery["agreementId"] == "SG-CN-COO-2026"
        assert delivery["recognisedAs"] == "certificate-of-origin"
        receipt_jws = GeneralJWS.parse(json.dumps(delivery["receipt"]))
    # The receipt verifies against CN's root, signed by CN's node key, and names the document.
    verified = verify(receipt_jws, typ=JWSType.RECEIPT, anchors=[cn.directory.root_certificate],
                      at=utc_now(), usage=CertUsage.ENVELOPE_SIGNING)
    receipt = Receipt.from_dict(verified.payload_json())
    assert receipt.sender == "CN-CUSTOMS" and receipt.recipient == "SG-CUSTOMS"
    assert [o.document_id for o in receipt.outcomes] == [submitted["id"]]
    assert receipt.outcomes[0].document_sha256 == submitted["sha256"]
    with cn.client("officer") as officer:
        inbox = officer.inbox()
        assert [(d["id"], d["outcome"], d["sha256"]) for d in inbox] == [
            (submitted["id"], "accepted", submitted["sha256"])]
        # The signed bytes at CN are the bytes SG signed.
        assert GeneralJWS.parse(officer.signed(submitted["id"])).payload == \
            GeneralJWS.parse(json.dumps(submitted["signed"])).payload


def test_document_outside_agreement_rejected_with_code(network: Network) -> None:
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    with sg.client("trader") as trader:
        submitted = trader.submit(example("commercial-invoice"), send_to=["CN-CUSTOMS"])
        delivery = final_delivery(trader, submitted["id"], "CN-CUSTOMS")
    assert delivery["state"] == "rejected"
    assert delivery["outcome"] == "rejected"
    assert delivery["reasons"] == ["DOC_TYPE_NOT_COVERED"]
    with cn.client("officer") as officer:
        [stored] = officer.inbox()
    assert stored["outcome"] == "rejected" and stored["reasons"] == ["DOC_TYPE_NOT_COVERED"]


def test_no_agreement_at_all_rejected(network_factory) -> None:  # type: ignore[no-untyped-def]
    network = network_factory(agreements=())
    with network["SG-CUSTOMS"].client("trader") as trader:
        submitted = trader.submit(certificate_of_origin(), send_to=["CN-CUSTOMS"])
        delivery = final_delivery(trader, submitted["id"], "CN-CUSTOMS")
    assert delivery["state"] == "rejected"
    assert delivery["reasons"] == ["NO_AGREEMENT"]


def test_officer_holds_and_releases(network_factory) -> None:  # type: ignore[no-untyped-def]
    network = network_factory(hold_for_review_types=["certificate-of-origin"])
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    with sg.client("trader") as trader:
        submitted = trader.submit(certificate_of_origin(), send_to=["CN-CUSTOMS"])
        delivery = final_delivery(trader, submitted["id"], "CN-CUSTOMS")
    assert delivery["state"] == "delivered-with-warnings"
    assert delivery["outcome"] == "held-for-review"
    assert delivery["reasons"] == ["REVIEW_REQUIRED"]
    with cn.client("officer") as officer:
        [held] = officer.inbox(outcome="held-for-review")
        released = officer.release(held["id"], "documents checked at the counter")
        assert released["outcome"] == "accepted" and released["reasons"] == []
        # The decision travels back to SG as a signed status-change envelope.
        with sg.client("trader") as trader:
            wait_for(lambda: trader.status(submitted["id"])["deliveries"][0]["state"]
                     == "delivered")
            [after] = trader.status(submitted["id"])["deliveries"]
            assert (after["outcome"], after["reasons"]) == ("accepted", [])
        assert [d["outcome"] for d in officer.inbox()] == ["accepted"]
        # Releasing twice is a state error, and nothing changes.
        try:
            officer.release(held["id"])
        except Exception as exc:  # noqa: BLE001
            assert getattr(exc, "code", None) is not None and exc.code.value == "STATE_INVALID"  # type: ignore[attr-defined]
        else:
            raise AssertionError("a second release must be refused")


def test_officer_rejection_reaches_the_sender(network_factory) -> None:  # type: ignore[no-untyped-def]
    network = network_factory(hold_for_review_types=["certificate-of-origin"])
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    with sg.client("trader") as trader:
        submitted = trader.submit(certificate_of_origin(), send_to=["CN-CUSTOMS"])
        final_delivery(trader, submitted["id"], "CN-CUSTOMS")
    with cn.client("officer") as officer:
        officer.reject(submitted["id"], "origin criterion not met")
    with sg.client("trader") as trader:
        wait_for(lambda: trader.status(submitted["id"])["deliveries"][0]["state"] == "rejected")
        [after] = trader.status(submitted["id"])["deliveries"]
    assert (after["outcome"], after["reasons"]) == ("rejected", ["REJECTED_BY_OFFICER"])
    with sg.client("operator") as operator:
        assert operator.audit_verify()["valid"] is True


def test_rejected_document_is_decided_afresh_when_sent_again(network: Network) -> None:
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    with sg.client("trader") as trader:
        submitted = trader.submit(certificate_of_origin())  # signed while the agreement holds
    status = "/v1/registry/agreements/SG-CN-COO-2026/status"
    with cn.client("operator") as operator:
        operator._request("POST", status, json_body={"status": "suspended"})
    with sg.client("trader") as trader:
        trader.send(submitted["id"], ["CN-CUSTOMS"])
        first = final_delivery(trader, submitted["id"], "CN-CUSTOMS")
    assert (first["outcome"], first["reasons"]) == ("rejected", ["AGREEMENT_SUSPENDED"])
    with cn.client("operator") as operator:
        operator._request("POST", status, json_body={"status": "in-force"})
    # The same signed document, sent again in a new message once the cause is gone, is
    # decided afresh and recognised; CN still holds it once.
    with sg.client("officer") as officer:
        signed = officer.signed(submitted["id"])
    envelope = build_envelope(message_id=str(uuid.uuid4()), sender="SG-CUSTOMS",
                              recipient="CN-CUSTOMS", created_at=utc_now(),
                              ttl=dt.timedelta(hours=1), documents=(GeneralJWS.parse(signed),))
    body = sign_envelope(envelope, sg.directory.node_signer(None), signed_at=utc_now()).to_json()
    response = httpx.post(f"{cn.url}/v1/peer/envelopes", content=body,
                          headers={"content-type": "application/json"})
    assert response.status_code == 200
    receipt = Receipt.from_dict(GeneralJWS.parse(response.content).payload_json())
    assert [o.outcome.value for o in receipt.outcomes] == ["accepted"]
    with cn.client("officer") as officer:
        assert [(d["id"], d["outcome"]) for d in officer.inbox()] == [(submitted["id"],
                                                                      "accepted")]
    # A third copy is a duplicate of the accepted one: the decision that stands answers it.
    again = build_envelope(message_id=str(uuid.uuid4()), sender="SG-CUSTOMS",
                           recipient="CN-CUSTOMS", created_at=utc_now(),
                           ttl=dt.timedelta(hours=1), documents=(GeneralJWS.parse(signed),))
    response = httpx.post(f"{cn.url}/v1/peer/envelopes", headers={"content-type":
                          "application/json"}, content=sign_envelope(
                              again, sg.directory.node_signer(None), signed_at=utc_now()).to_json())
    receipt = Receipt.from_dict(GeneralJWS.parse(response.content).payload_json())
    assert [(o.outcome.value, o.reasons, o.agreement_id) for o in receipt.outcomes] == [
        ("accepted", (), "SG-CN-COO-2026")]


def test_agreement_made_through_the_operator_api(network_factory) -> None:  # type: ignore[no-untyped-def]
    network = network_factory(agreements=())
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    with sg.client("operator") as sg_operator, cn.client("operator") as cn_operator:
        proposed = sg_operator._request("POST", "/v1/registry/agreements/propose", json_body={
            "agreementId": "SG-CN-COO-API", "partner": "CN-CUSTOMS",
            "documentTypes": ["certificate-of-origin"]}).json()
        assert proposed["changed"] is True
        proposal = json.dumps(proposed["proposal"]).encode()
        # A proposal alone is not an agreement: activating it is refused, nothing changes.
        version = cn_operator.registry()["version"]
        try:
            cn_operator.add_agreement(proposal)
        except ClientError as exc:
            assert exc.code.value == "AGREEMENT_SIGNATURE_MISSING" and exc.status == 422
        else:
            raise AssertionError("a one-signature proposal must be refused")
        assert cn_operator.registry()["version"] == version
        cn_operator._request("POST", "/v1/registry/proposals", content=proposal)
        countersigned = cn_operator._request(
            "POST", "/v1/registry/agreements/SG-CN-COO-API/countersign").json()
        sg_operator.add_agreement(json.dumps(countersigned["agreement"]).encode())
    with sg.client("trader") as trader:
        submitted = trader.submit(certificate_of_origin(), send_to=["CN-CUSTOMS"])
        delivery = final_delivery(trader, submitted["id"], "CN-CUSTOMS")
    assert (delivery["outcome"], delivery["agreementId"]) == ("accepted", "SG-CN-COO-API")
