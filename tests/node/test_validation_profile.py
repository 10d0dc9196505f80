"""The node's validation profile (TRADEACCORD_VALIDATION_PROFILE) at submission, at
POST /v1/verify and on the receiving path."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

from node.client import ClientError
from protocol.envelope import build_envelope, sign_envelope
from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.receipt import Receipt
from protocol.signed_document import sign_document
from protocol.timeutil import utc_now
from tests.node.conftest import Network, certificate_of_origin


def _unknown_codes() -> dict[str, Any]:
    document = certificate_of_origin()
    document["body"]["importingCountry"] = "ZZ"
    document["body"]["goodsItems"][0]["hsCode"] = "999999"
    return document


def test_submission_refuses_unknown_codes_with_the_pointer(network: Network) -> None:
    with network["SG-CUSTOMS"].client("trader") as trader, pytest.raises(ClientError) as caught:
        trader.submit(_unknown_codes())
    assert (caught.value.status, caught.value.code) == (422, ReasonCode.CODE_UNKNOWN)
    assert "/body/importingCountry" in caught.value.message
    assert "/body/goodsItems/0/hsCode" in caught.value.message


def test_verify_and_receive_report_the_codes_check(network: Network) -> None:
    sg_dir = network.directories["SG-CUSTOMS"]
    document = {**_unknown_codes(), "id": str(uuid.uuid4()), "issuer": "SG-CUSTOMS"}
    now = utc_now()
    signed = sign_document(document, sg_dir.document_signer(None), signed_at=now)
    cn = network["CN-CUSTOMS"]
    with cn.client("officer") as officer:
        report = officer.verify(signed.to_json())
    assert report["profile"] == "standard"
    assert report["checks"]["codes"] == "INVALID"
    assert report["checks"]["arithmetic"] == "DISABLED"
    assert report["reasons"] == ["CODE_UNKNOWN"]
    envelope = build_envelope(message_id=str(uuid.uuid4()), sender="SG-CUSTOMS",
                              recipient="CN-CUSTOMS", created_at=now, ttl=dt.timedelta(hours=1),
                              documents=(signed,))
    body = sign_envelope(envelope, sg_dir.node_signer(None), signed_at=now).to_json()
    answer = httpx.post(f"{cn.url}/v1/peer/envelopes", content=body,
                        headers={"content-type": "application/json"})
    assert answer.status_code == 200
    receipt = Receipt.from_dict(GeneralJWS.parse(answer.content).payload_json())
    [outcome] = receipt.outcomes
    assert (outcome.outcome.value, outcome.reasons) == ("rejected", (ReasonCode.CODE_UNKNOWN,))


def test_syntax_profile_accepts_what_standard_refuses(network_factory) -> None:
    network = network_factory(validation_profile="syntax")
    with network["SG-CUSTOMS"].client("trader") as trader:
        submitted = trader.submit(_unknown_codes())
    assert submitted["id"]
