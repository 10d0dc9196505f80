"""Documents sent again, forged ids, conflicting copies and late decisions: who wins."""

from __future__ import annotations

import datetime as dt
import json

import httpx

from node.client import ClientError
from protocol.envelope import EnvelopeKind, StatusChangeNotice, build_envelope, sign_envelope
from protocol.jws import GeneralJWS, sign
from protocol.reason_codes import ReasonCode
from protocol.receipt import Receipt
from protocol.signed_document import sign_document
from protocol.timeutil import format_time, utc_now
from tests.node.conftest import Network, certificate_of_origin, final_delivery, wait_for
from tests.node.shared_network import envelope, issued


def _post(url: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{url}/v1/peer/envelopes", content=body,
                      headers={"content-type": "application/json"})


def _outcomes(response: httpx.Response) -> list[tuple[str, tuple[ReasonCode, ...]]]:
    assert response.status_code == 200, response.text
    receipt = Receipt.from_dict(GeneralJWS.parse(response.content).payload_json())
    return [(o.outcome.value, o.reasons) for o in receipt.outcomes]


def test_two_contents_for_one_id_in_one_envelope(network: Network) -> None:
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    first = issued(sg.directory, certificate_of_origin())
    document = first.payload_json()
    changed = sign_document({**document, "body": {**document["body"], "remarks": "changed"}}
                            if "remarks" in document["body"] else
                            {**document, "issuedAt": format_time(utc_now().replace(
                                microsecond=0, year=2030))},
                            sg.directory.document_signer(None), signed_at=utc_now())
    response = _post(cn.url, envelope(sg.directory, "CN-CUSTOMS", (first, changed, first)))
    # The third copy is the first again: its decision answers it.
    assert _outcomes(response) == [("accepted", ()), ("rejected", (ReasonCode.CONFLICT,)),
                                   ("accepted", ())]
    with cn.client("officer") as officer:
        assert len(officer.inbox()) == 1


def test_forgery_cannot_block_the_genuine_document(network: Network) -> None:
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    genuine = issued(sg.directory, certificate_of_origin())
    # CN-CUSTOMS's own signer is not SG's: a document claiming SG's id is refused ...
    forged_payload = genuine.payload_json()
    forged = sign(json.dumps(forged_payload).encode(), cn.directory.document_signer(None),
                  typ="tradeaccord-document+jws", signed_at=utc_now())
    response = _post(cn.url, envelope(sg.directory, "CN-CUSTOMS", (forged,)))
    [(outcome, reasons)] = _outcomes(response)
    assert outcome == "rejected" and ReasonCode.ISSUER_MISMATCH in reasons
    # ... and the genuine document with that id is still decided on its own merits.
    response = _post(cn.url, envelope(sg.directory, "CN-CUSTOMS", (genuine,)))
    assert _outcomes(response) == [("accepted", ())]
    with cn.client("officer") as officer:
        [stored] = officer.inbox()
        assert stored["outcome"] == "accepted"
        assert GeneralJWS.parse(officer.signed(stored["id"])).payload == genuine.payload


def test_resend_after_rejection_and_officer_rejection_is_final(network_factory) -> None:  # type: ignore[no-untyped-def]
    network = network_factory(hold_for_review_types=["certificate-of-origin"])
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    with sg.client("trader") as trader:
        submitted = trader.submit(certificate_of_origin(), send_to=["CN-CUSTOMS"])
        assert final_delivery(trader, submitted["id"], "CN-CUSTOMS")["outcome"] == \
            "held-for-review"
        # Sending a held document again is idempotent: nothing new is queued.
        again = trader.send(submitted["id"], ["CN-CUSTOMS"])
        assert again["deliveries"][0]["state"] == "delivered-with-warnings"
    with cn.client("officer") as officer:
        officer.reject(submitted["id"], "origin criterion not met")
    with sg.client("trader") as trader:
        wait_for(lambda: trader.status(submitted["id"])["deliveries"][0]["state"] == "rejected")
        # A rejected delivery can be sent again: a new message; the officer's rejection
        # stands at CN and answers the copy.
        trader.send(submitted["id"], ["CN-CUSTOMS"])
        resent = final_delivery(trader, submitted["id"], "CN-CUSTOMS")
    assert (resent["state"], resent["reasons"]) == ("rejected", ["REJECTED_BY_OFFICER"])
    with sg.client("operator") as operator:
        assert [m["kind"] for m in operator.outbox(state="delivered")] == ["documents"] * 2
    with cn.client("operator") as operator:
        assert [m["kind"] for m in operator.outbox()] == ["status-change"]


def test_status_change_cannot_reverse_a_settled_outcome(network: Network) -> None:
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    with sg.client("trader") as trader:
        submitted = trader.submit(certificate_of_origin(), send_to=["CN-CUSTOMS"])
        assert final_delivery(trader, submitted["id"], "CN-CUSTOMS")["outcome"] == "accepted"
    notice = StatusChangeNotice(document_id=submitted["id"], document_sha256=submitted["sha256"],
                                outcome="rejected", reasons=(ReasonCode.REJECTED_BY_OFFICER,),
                                decided_at=utc_now())
    built = build_envelope(message_id="notice-1", sender="CN-CUSTOMS", recipient="SG-CUSTOMS",
                           created_at=utc_now(), ttl=dt.timedelta(hours=1),
                           kind=EnvelopeKind.STATUS_CHANGE, body=notice.to_dict())
    body = sign_envelope(built, cn.directory.node_signer(None), signed_at=utc_now()).to_json()
    response = _post(sg.url, body)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "STATE_INVALID"
    with sg.client("trader") as trader:
        [delivery] = trader.status(submitted["id"])["deliveries"]
    assert (delivery["state"], delivery["outcome"]) == ("delivered", "accepted")


def test_propose_refuses_malformed_types(network: Network) -> None:
    with network["SG-CUSTOMS"].client("operator") as operator:
        for types, code in (("certificate-of-origin", "REQUEST_INVALID"),
                            (["no-such-type"], "DOC_TYPE_UNKNOWN")):
            try:
                operator._request("POST", "/v1/registry/agreements/propose", json_body={
                    "agreementId": "X-1", "partner": "CN-CUSTOMS", "documentTypes": types})
            except ClientError as exc:
                assert exc.code.value == code
            else:
                raise AssertionError("must be refused")


def test_expired_control_message_is_signed_afresh_on_retry(network_factory) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from node.context import NodeContext
    from node.services.delivery import retry_message
    from node.services.documents import enqueue_control
    from node.storage.database import write_session
    from node.storage.models import OutboundMessageRecord

    network = network_factory(start=False)
    ctx = NodeContext.build(network["CN-CUSTOMS"].settings)
    notice = StatusChangeNotice(document_id="doc-1", document_sha256="a" * 64,
                                outcome="accepted", reasons=(), decided_at=utc_now())
    long_ago = utc_now() - dt.timedelta(days=3)
    try:
        with write_session(ctx.engine) as session:
            old = enqueue_control(ctx, session, peer="SG-CUSTOMS",
                                  kind=EnvelopeKind.STATUS_CHANGE, body=notice.to_dict(),
                                  at=long_ago)
            old.state = "dead"
            session.commit()
        with write_session(ctx.engine) as session:
            retired = retry_message(ctx, session, old.message_id, "operator:test", utc_now())
            session.commit()
        assert retired.state == "retired"
        with write_session(ctx.engine) as session:
            rows = session.exec(select(OutboundMessageRecord)).all()
        [fresh] = [row for row in rows if row.message_id != old.message_id]
        assert fresh.state == "pending" and fresh.expires_at > utc_now()
        body = GeneralJWS.parse(fresh.envelope_bytes).payload_json()["body"]
        assert body == notice.to_dict()
    finally:
        ctx.close()
