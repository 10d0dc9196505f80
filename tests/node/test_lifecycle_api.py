"""Revocation and replacement through the API, in process: the flow and every refusal.

SG-CUSTOMS issues certificates of origin that CN-CUSTOMS recognises (one agreement). Each
refusal is checked for its reason code and for leaving the stored statements as they were.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol.envelope import EnvelopeKind, build_envelope, sign_envelope
from protocol.jws import GeneralJWS, Signer
from protocol.reason_codes import ReasonCode
from protocol.status_statement import (
    DocumentStatus,
    StatusAnswer,
    StatusStatement,
    sign_statement,
    verify_answer,
)
from protocol.timeutil import format_time, utc_now
from tests.node.conftest import certificate_of_origin
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401 (fixture)
from tests.node.inprocess import InProcessNetwork

SG, CN = "SG-CUSTOMS", "CN-CUSTOMS"


@pytest.fixture
def net(tmp_path: Path, database_factory: DatabaseFactory  # noqa: F811 (fixture)
        ) -> Iterator[InProcessNetwork]:
    network = InProcessNetwork(tmp_path / "net", database_factory)
    try:
        yield network
    finally:
        network.close()


def _json(body: Any) -> dict[str, Any]:
    return {"content": json.dumps(body).encode(), "headers": {"content-type": "application/json"}}


def _error(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def _issue_and_deliver(net: InProcessNetwork) -> dict[str, Any]:
    """A certificate of origin issued at SG and recognised at CN."""
    response = net.request(SG, "POST", "/v1/documents", caller="officer",
                           **_json({"document": certificate_of_origin(), "sendTo": [CN]}))
    assert response.status_code == 201, response.text
    net.deliver(SG)
    document: dict[str, Any] = response.json()
    inbound = net.request(CN, "GET", f"/v1/documents/{document['id']}", caller="officer").json()
    assert inbound["outcome"] == "accepted"
    return document


def _statements(net: InProcessNetwork, node: str) -> list[dict[str, Any]]:
    response = net.request(node, "GET", "/v1/statements", caller="operator")
    assert response.status_code == 200, response.text
    return list(response.json()["statements"])


def _peer_post(net: InProcessNetwork, sender: str, recipient: str, statement: GeneralJWS,
               signer: Signer | None = None) -> httpx.Response:
    built = build_envelope(message_id=f"msg-{uuid.uuid4()}", sender=sender, recipient=recipient,
                           created_at=utc_now(), ttl=dt.timedelta(hours=1),
                           kind=EnvelopeKind.REVOCATION, body={"statement": statement.to_dict()})
    signed = sign_envelope(built, signer or net[sender].directory.node_signer(None),
                           signed_at=utc_now())
    return net.request(recipient, "POST", "/v1/peer/envelopes", content=signed.to_json(),
                       headers={"content-type": "application/json"})


def _statement(document: dict[str, Any], *, issuer: str = SG, sha256: str | None = None,
               status: DocumentStatus = DocumentStatus.REVOKED) -> StatusStatement:
    now = utc_now()
    return StatusStatement(
        statement_id=str(uuid.uuid4()), status=status, document_id=document["id"],
        document_sha256=sha256 or document["sha256"], issuer=issuer, effective_at=now,
        issued_at=now, reason="issued in error",
        replacement_id="other-id" if status is DocumentStatus.REPLACED else None,
        replacement_sha256="0" * 64 if status is DocumentStatus.REPLACED else None)


# -- the flow -----------------------------------------------------------------------------


def test_revocation_reaches_the_receiver_and_verification_refuses_after_it(
        net: InProcessNetwork) -> None:
    document = _issue_and_deliver(net)
    signed = net.request(SG, "GET", f"/v1/documents/{document['id']}/signed",
                         caller="officer").content
    response = net.request(SG, "POST", f"/v1/documents/{document['id']}/revoke",
                           caller="officer", **_json({"reason": "origin criterion not met"}))
    assert response.status_code == 201, response.text
    issued = response.json()
    assert issued["state"] == "revoked"
    assert [d["to"] for d in issued["deliveries"]] == [CN]
    # Not yet sent: the operator sees where it has not arrived.
    [pending] = [s for s in _statements(net, SG) if s["documentId"] == document["id"]]
    assert pending["pending"] == [CN]
    net.deliver(SG)
    [done] = _statements(net, SG)
    assert done["pending"] == [] and done["deliveries"][0]["state"] == "delivered"
    assert done["deliveries"][0]["receipt"] is not None
    # The receiver records it: document view, inbox, status answer.
    view = net.request(CN, "GET", f"/v1/documents/{document['id']}", caller="officer").json()
    assert view["lifecycle"]["state"] == "revoked"
    assert view["lifecycle"]["reason"] == "origin criterion not met"
    inbox = net.request(CN, "GET", "/v1/inbox", caller="officer").json()["documents"]
    assert inbox[0]["lifecycle"]["state"] == "revoked"
    answer_bytes = net.request(CN, "GET", f"/v1/status/{document['id']}").content
    registry = net[CN].ctx.registry.current()
    answer = verify_answer(answer_bytes, anchors=lambda _e: [
        a.certificate for a in registry.authorities[CN].anchors_valid_at(utc_now())],  # type: ignore[index]
        at=utc_now())
    assert isinstance(answer, StatusAnswer) and answer.status.value == "revoked"
    # Verification now (after the effective time) refuses.
    report = net.request(CN, "POST", "/v1/verify", caller="officer", content=signed,
                         headers={"content-type": "application/json"}).json()
    assert report["valid"] is False
    assert ReasonCode.DOCUMENT_REVOKED.value in report["reasons"]
    assert report["checks"]["status"] == "INVALID"


def test_revocation_effective_later_still_accepts_before(net: InProcessNetwork) -> None:
    document = _issue_and_deliver(net)
    later = format_time((utc_now() + dt.timedelta(days=3)).replace(microsecond=0))
    response = net.request(SG, "POST", f"/v1/documents/{document['id']}/revoke",
                           caller="officer", **_json({"reason": "expires with the contract",
                                                      "effectiveAt": later}))
    assert response.status_code == 201, response.text
    net.deliver(SG)
    signed = net.request(SG, "GET", f"/v1/documents/{document['id']}/signed",
                         caller="officer").content
    report = net.request(CN, "POST", "/v1/verify", caller="officer", content=signed,
                         headers={"content-type": "application/json"}).json()
    assert report["valid"] is True and report["status"]["state"] == "revoked"
    assert report["status"]["inEffect"] is False
    view = net.request(CN, "GET", f"/v1/documents/{document['id']}", caller="officer").json()
    assert view["lifecycle"]["effectiveAt"] == later


def test_replacement_reaches_the_receiver_with_its_corrected_document(
        net: InProcessNetwork) -> None:
    document = _issue_and_deliver(net)
    corrected = certificate_of_origin()
    response = net.request(SG, "POST", f"/v1/documents/{document['id']}/replace",
                           caller="officer",
                           **_json({"reason": "wrong HS code", "document": corrected}))
    assert response.status_code == 201, response.text
    replacement_id = response.json()["replacementId"]
    net.deliver(SG, passes=2)
    view = net.request(CN, "GET", f"/v1/documents/{document['id']}", caller="officer").json()
    assert view["lifecycle"]["state"] == "replaced"
    assert view["lifecycle"]["replacementId"] == replacement_id
    new = net.request(CN, "GET", f"/v1/documents/{replacement_id}", caller="officer").json()
    assert new["outcome"] == "accepted"
    references = new["signed"] and GeneralJWS.parse(new["signed"]).payload_json()["references"]
    assert {"id": document["id"], "type": "certificate-of-origin",
            "sha256": document["sha256"]} in references


def test_same_statement_again_is_answered_and_not_recorded_twice(net: InProcessNetwork) -> None:
    document = _issue_and_deliver(net)
    statement = sign_statement(_statement(document), net[SG].directory.document_signer(None),
                               signed_at=utc_now())
    assert _peer_post(net, SG, CN, statement).status_code == 200
    assert _peer_post(net, SG, CN, statement).status_code == 200
    assert len(_statements(net, CN)) == 1


# -- refusals at the issuing node ----------------------------------------------------------


@pytest.mark.parametrize(("caller", "body", "code"), [
    ("trader", {"reason": "x"}, ReasonCode.FORBIDDEN),
    ("operator", {"reason": "x"}, ReasonCode.FORBIDDEN),
    ("officer", {}, ReasonCode.REQUEST_INVALID),
    ("officer", {"reason": "   "}, ReasonCode.REQUEST_INVALID),
    ("officer", {"reason": "x" * 2001}, ReasonCode.REQUEST_INVALID),
    ("officer", {"reason": "x", "effectiveAt": "tomorrow"}, ReasonCode.REQUEST_INVALID),
    ("officer", {"reason": "x", "effectiveAt": "2026-12-01T10:00:00"},
     ReasonCode.REQUEST_INVALID),
    ("officer", {"reason": "x", "alsoTo": ["XX-NOBODY"]}, ReasonCode.REQUEST_INVALID),
    ("officer", {"reason": "x", "alsoTo": "CN-CUSTOMS"}, ReasonCode.REQUEST_INVALID),
    ("officer", {"reason": "x", "extra": 1}, ReasonCode.REQUEST_INVALID),
], ids=["trader", "operator", "no-reason", "blank-reason", "long-reason", "bad-time",
        "naive-time", "unknown-peer", "peers-not-a-list", "unknown-member"])
def test_revoke_refusals(net: InProcessNetwork, caller: str, body: dict[str, Any],
                         code: ReasonCode) -> None:
    document = _issue_and_deliver(net)
    response = net.request(SG, "POST", f"/v1/documents/{document['id']}/revoke",
                           caller=caller, **_json(body))
    assert 400 <= response.status_code < 500 and _error(response) == code.value
    assert _statements(net, SG) == []


def test_revoke_unknown_document_is_not_found(net: InProcessNetwork) -> None:
    response = net.request(SG, "POST", "/v1/documents/no-such-doc/revoke", caller="officer",
                           **_json({"reason": "x"}))
    assert response.status_code == 404 and _error(response) == "NOT_FOUND"


def test_revoke_at_a_node_that_did_not_issue_it_is_refused(net: InProcessNetwork) -> None:
    document = _issue_and_deliver(net)
    response = net.request(CN, "POST", f"/v1/documents/{document['id']}/revoke",
                           caller="officer", **_json({"reason": "x"}))
    assert response.status_code == 403 and _error(response) == "STATUS_NOT_ISSUER"
    assert _statements(net, CN) == []


def test_a_status_is_final(net: InProcessNetwork) -> None:
    document = _issue_and_deliver(net)
    path = f"/v1/documents/{document['id']}"
    assert net.request(SG, "POST", f"{path}/revoke", caller="officer",
                       **_json({"reason": "x"})).status_code == 201
    again = net.request(SG, "POST", f"{path}/revoke", caller="officer", **_json({"reason": "y"}))
    assert again.status_code == 409 and _error(again) == "STATE_INVALID"
    replace = net.request(SG, "POST", f"{path}/replace", caller="officer",
                          **_json({"reason": "y", "document": certificate_of_origin()}))
    assert replace.status_code == 409 and _error(replace) == "STATE_INVALID"
    assert len(_statements(net, SG)) == 1


def test_replace_refusals(net: InProcessNetwork) -> None:
    document = _issue_and_deliver(net)
    path = f"/v1/documents/{document['id']}/replace"
    # An unrelated document issued here: it does not name the original.
    other = net.request(SG, "POST", "/v1/documents", caller="officer",
                        **_json({"document": certificate_of_origin()})).json()
    wrong_reference = {**certificate_of_origin(), "references": [
        {"id": document["id"], "type": "certificate-of-origin", "sha256": "0" * 64}]}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"reason": "x"}, 400, "REQUEST_INVALID"),
        ({"reason": "x", "document": certificate_of_origin(), "replacementId": other["id"]},
         400, "REQUEST_INVALID"),
        ({"reason": "x", "replacementId": "no-such-doc"}, 404, "NOT_FOUND"),
        ({"reason": "x", "replacementId": other["id"]}, 400, "REQUEST_INVALID"),
        ({"reason": "x", "replacementId": 7}, 400, "REQUEST_INVALID"),
        ({"reason": "x", "document": "not an object"}, 422, "SCHEMA_INVALID"),
        ({"reason": "x", "document": wrong_reference}, 422, "REFERENCE_MISMATCH"),
        ({"reason": "x", "document": {**certificate_of_origin(), "id": document["id"]}},
         409, "CONFLICT"),
    ]
    for body, status, code in cases:
        response = net.request(SG, "POST", path, caller="officer", **_json(body))
        assert (response.status_code, _error(response)) == (status, code), body
    assert _statements(net, SG) == []
    # Nothing was issued by the refused attempts either.
    listed = net.request(SG, "GET", "/v1/documents", caller="officer").json()["documents"]
    assert len(listed) == 2


def test_statement_listing_is_for_officers_and_operators(net: InProcessNetwork) -> None:
    response = net.request(SG, "GET", "/v1/statements", caller="trader")
    assert response.status_code == 403 and _error(response) == "FORBIDDEN"
    assert net.request(SG, "GET", "/v1/statements").status_code == 401


def test_status_answer_good_and_unknown(net: InProcessNetwork) -> None:
    document = _issue_and_deliver(net)
    for node, document_id, expected in ((CN, document["id"], "good"),
                                        (CN, "never-seen", "unknown")):
        raw = net.request(node, "GET", f"/v1/status/{document_id}").content
        payload = GeneralJWS.parse(raw).payload_json()
        assert payload["status"] == expected and payload["statement"] is None
    bad = net.request(CN, "GET", "/v1/status/bad%20id")
    assert bad.status_code == 422 and _error(bad) == "REQUEST_INVALID"


# -- refusals at a receiving node -------------------------------------------------------------


def test_statement_signed_by_another_authority_is_refused(net: InProcessNetwork) -> None:
    document = _issue_and_deliver(net)
    cn_signer = net[CN].directory.document_signer(None)
    # CN's key claiming to speak for SG ...
    forged = sign_statement(_statement(document), cn_signer, signed_at=utc_now())
    response = _peer_post(net, SG, CN, forged)
    assert response.status_code == 403 and _error(response) == "STATUS_NOT_ISSUER"
    # ... and CN naming itself the issuer of SG's document (held at SG: SG is the receiver).
    own = sign_statement(_statement(document, issuer=CN), cn_signer, signed_at=utc_now())
    response = _peer_post(net, CN, SG, own)
    assert response.status_code == 403 and _error(response) == "STATUS_NOT_ISSUER"
    assert _statements(net, CN) == [] and _statements(net, SG) == []


def test_statement_for_another_digest_or_tampered_is_refused(net: InProcessNetwork) -> None:
    document = _issue_and_deliver(net)
    signer = net[SG].directory.document_signer(None)
    other = sign_statement(_statement(document, sha256="1" * 64), signer, signed_at=utc_now())
    response = _peer_post(net, SG, CN, other)
    assert response.status_code == 400 and _error(response) == "STATUS_INVALID"
    good = sign_statement(_statement(document), signer, signed_at=utc_now()).to_dict()
    payload = json.loads(GeneralJWS.parse(good).payload)
    payload["reason"] = "changed in transit"
    import base64

    good["payload"] = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    response = _peer_post(net, SG, CN, GeneralJWS.parse(good))
    assert response.status_code == 400 and _error(response) == "STATUS_INVALID"
    assert _statements(net, CN) == []


def test_a_second_statement_for_one_document_is_refused(net: InProcessNetwork) -> None:
    document = _issue_and_deliver(net)
    signer = net[SG].directory.document_signer(None)
    first = sign_statement(_statement(document), signer, signed_at=utc_now())
    assert _peer_post(net, SG, CN, first).status_code == 200
    second = sign_statement(_statement(document, status=DocumentStatus.REPLACED), signer,
                            signed_at=utc_now())
    response = _peer_post(net, SG, CN, second)
    assert response.status_code == 409 and _error(response) == "STATE_INVALID"
    [held] = _statements(net, CN)
    assert held["state"] == "revoked"


def test_malformed_revocation_envelope_is_refused(net: InProcessNetwork) -> None:
    built = {"messageId": "m-1", "from": SG, "to": CN, "createdAt": format_time(utc_now()),
             "expiresAt": format_time(utc_now() + dt.timedelta(hours=1)),
             "kind": "revocation", "body": {"statement": "not a jws"}}
    from protocol.canonical import canonicalize
    from protocol.jws import JWSType, sign

    signed = sign(canonicalize(built), net[SG].directory.node_signer(None),
                  typ=JWSType.ENVELOPE, signed_at=utc_now())
    response = net.request(CN, "POST", "/v1/peer/envelopes", content=signed.to_json(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 400 and _error(response) == "ENVELOPE_MALFORMED"
    not_statement = sign(canonicalize({"hello": 1}), net[SG].directory.document_signer(None),
                         typ=JWSType.STATUS, signed_at=utc_now())
    response = _peer_post(net, SG, CN, not_statement)
    assert response.status_code == 400 and _error(response) == "STATUS_INVALID"
    assert _statements(net, CN) == []


def test_the_officers_console_page_shows_a_revocation_with_its_reason(
        net: InProcessNetwork) -> None:
    """The receiving officer's document page (the console) says the issuer withdrew it."""
    import re

    document = _issue_and_deliver(net)
    response = net.request(SG, "POST", f"/v1/documents/{document['id']}/revoke",
                           caller="officer", **_json({"reason": "origin criterion not met"}))
    assert response.status_code == 201, response.text
    net.deliver(SG)
    node = net[CN]

    async def _page() -> httpx.Response:
        transport = httpx.ASGITransport(node.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=node.endpoint) as client:
            signin = await client.get("/signin")
            csrf = re.search(r'name="csrf" value="([^"]+)"', signin.text)
            assert csrf is not None
            await client.post("/signin", data={"csrf": csrf.group(1),
                                               "api_key": node.keys["officer"], "next": "/"})
            return await client.get(f"/documents/{document['id']}")

    page = net.run(_page())
    assert page.status_code == 200, page.text
    assert 'id="lifecycle"' in page.text
    assert "Revoked by its issuer" in page.text
    assert "origin criterion not met" in page.text
