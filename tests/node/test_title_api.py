"""Transferable records through the node's API, nodes in process (``InProcessNetwork``).

Three authorities: the carrier's node ``SG-CARRIER`` (role ``transferable-records``: it
issues and is every record's control registry), ``SG-CUSTOMS`` and ``CN-CUSTOMS``. Every
refusal issue 8 §3 lists has a test asserting its reason code, a 4xx and that nothing
stored changed (records, entries, outbox, inbox) at the node that refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, func, select

from node.services.apikeys import Role
from node.services.titles import records
from node.storage.database import read_session
from node.storage.models import (
    InboundMessageRecord,
    OutboundMessageRecord,
    TitleEntryRow,
    TitleRecordRow,
)
from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.signed_document import document_sha256, sign_document
from protocol.timeutil import utc_now
from protocol.title_chain import TitleState
from protocol.title_entry import TitleAction, TitleRecord, sign_entry
from protocol.title_messages import TitleMessage
from tests.node.databases import DatabaseFactory
from tests.node.inprocess import InProcessNetwork
from tests.node.processes import create_keys
from tests.node.titles_support import (
    AUTHORITIES,
    CARRIER,
    CARRIER_NODE,
    CN_BANK,
    CN_NODE,
    CONSIGNEE,
    PARTIES,
    SG_BANK,
    SG_NODE,
    SHIPPER,
    STRANGER,
    bill,
    next_entry,
    title_envelope,
)
from trust_registry import verify_title

A = TitleAction


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNetwork]:
    base = tmp_path_factory.mktemp("titles")
    databases = DatabaseFactory("sqlite", base)
    network = InProcessNetwork(base / "net", databases, authorities=AUTHORITIES)
    try:
        for node in network.nodes.values():
            node.keys.update(create_keys(node.ctx.settings.database_url or "", {
                party: (Role.TRADER, party) for party in PARTIES}))
        yield network
    finally:
        network.close()


def call(net: InProcessNetwork, node: str, method: str, path: str, caller: str,
         body: Any = None) -> httpx.Response:
    return net.request(node, method, path, caller=caller,
                       **({"json": body} if body is not None else {}))


def issue(net: InProcessNetwork, holder: str = SHIPPER, reference: str | None = None) -> str:
    response = call(net, CARRIER_NODE, "POST", "/v1/titles", "officer",
                    {"bill": bill(reference), "holder": holder})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def show(net: InProcessNetwork, node: str, record_id: str) -> dict[str, Any]:
    response = call(net, node, "GET", f"/v1/titles/{record_id}", "officer")
    assert response.status_code == 200, response.text
    return dict(response.json())


def transfer(net: InProcessNetwork, node: str, record_id: str, caller: str, to: str,
             authority: str | None = None, endorse: bool = True) -> httpx.Response:
    body: dict[str, Any] = {"toParty": to, "endorse": endorse}
    if authority:
        body["toAuthority"] = authority
    return call(net, node, "POST", f"/v1/titles/{record_id}/transfer", caller, body)


def stored(net: InProcessNetwork, node: str) -> tuple[Any, ...]:
    with read_session(net[node].ctx.engine) as session:
        rows = sorted((r.record_id, r.state, r.holder, r.custodian, r.sequence, r.head,
                       r.pending_entry) for r in session.exec(select(TitleRecordRow)).all())
        counts = tuple(session.exec(select(func.count()).select_from(table)).one()
                       for table in (TitleEntryRow, OutboundMessageRecord,
                                     InboundMessageRecord))
    return tuple(rows), counts


def refused(response: httpx.Response, code: ReasonCode) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"] == code.value, response.text


def post_envelope(net: InProcessNetwork, sender: str, recipient: str,
                  message: TitleMessage) -> httpx.Response:
    body = title_envelope(net[sender].ctx, recipient, message)
    return net.request(recipient, "POST", "/v1/peer/envelopes", content=body,
                       headers={"content-type": "application/json"})


def chain(net: InProcessNetwork, node: str, record_id: str) -> TitleRecord:
    with read_session(net[node].ctx.engine) as session:
        row = records.get_row(session, record_id)
        assert row is not None
        return records.chain_of(session, row)


def at_sg(net: InProcessNetwork) -> str:
    """A record issued to the shipper and endorsed to its bank at SG-CUSTOMS."""
    record_id = issue(net)
    assert transfer(net, CARRIER_NODE, record_id, SHIPPER, SG_BANK, SG_NODE).status_code == 200
    net.deliver(CARRIER_NODE)
    assert show(net, SG_NODE, record_id)["status"] == "active"
    return record_id


def at_cn(net: InProcessNetwork) -> str:
    """A record moved on from SG-CUSTOMS to CN-CUSTOMS through the control registry."""
    record_id = at_sg(net)
    response = transfer(net, SG_NODE, record_id, SG_BANK, CN_BANK, CN_NODE)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending-custody"
    net.deliver(SG_NODE)       # custody-request → the control registry
    net.deliver(CARRIER_NODE)  # custody-granted → SG, custody-transfer → CN
    assert show(net, CN_NODE, record_id)["status"] == "active"
    return record_id


# -- the flow --------------------------------------------------------------------------------


def test_issue_answers_the_record(net: InProcessNetwork) -> None:
    view = show(net, CARRIER_NODE, issue(net))
    assert (view["status"], view["holder"], view["custodian"], view["controlRegistry"]) == (
        "active", SHIPPER, CARRIER_NODE, CARRIER_NODE)
    assert [(h["action"], h["from"], h["to"], h["by"]) for h in view["history"]] == [
        ("ISSUE", CARRIER, SHIPPER, CARRIER_NODE)]


def test_three_nodes_then_surrender_and_offline_verification(net: InProcessNetwork) -> None:
    record_id = at_cn(net)
    sg = show(net, SG_NODE, record_id)
    assert (sg["status"], sg["custodian"]) == ("transferred-away", CN_NODE)
    assert show(net, CARRIER_NODE, record_id)["status"] == "transferred-away"
    assert transfer(net, CN_NODE, record_id, CN_BANK, CONSIGNEE).status_code == 200
    response = call(net, CN_NODE, "POST", f"/v1/titles/{record_id}/surrender", CONSIGNEE)
    assert response.json()["status"] == "pending-custody"
    net.deliver(CN_NODE)
    net.deliver(CARRIER_NODE)
    assert show(net, CARRIER_NODE, record_id)["status"] == "surrendered"
    assert show(net, CN_NODE, record_id)["status"] == "transferred-away"
    response = call(net, CARRIER_NODE, "POST", f"/v1/titles/{record_id}/surrender/accept",
                    "officer")
    assert response.json()["status"] == "accomplished"
    exported = call(net, CARRIER_NODE, "GET", f"/v1/titles/{record_id}/export", "officer")
    evidence = verify_title(TitleRecord.parse(exported.content),
                            registry=net[CARRIER_NODE].ctx.registry.current(), at=utc_now(),
                            schemas=net[CARRIER_NODE].ctx.schemas)
    assert (evidence.status.value, evidence.holder) == ("accomplished", CARRIER)
    assert [item.action.value for item in evidence.history] == [
        "ISSUE", "ENDORSE", "ENDORSE", "ENDORSE", "SURRENDER_FOR_DELIVERY",
        "SURRENDER_ACCEPTED"]
    assert evidence.history[2].countersigned_by == CARRIER_NODE


def test_rejected_surrender_returns_the_record(net: InProcessNetwork) -> None:
    record_id = at_sg(net)
    call(net, SG_NODE, "POST", f"/v1/titles/{record_id}/surrender", SG_BANK)
    net.deliver(SG_NODE)
    net.deliver(CARRIER_NODE)
    response = call(net, CARRIER_NODE, "POST", f"/v1/titles/{record_id}/surrender/reject",
                    "officer", {"reason": "freight unpaid"})
    assert response.json()["status"] == "transferred-away"
    net.deliver(CARRIER_NODE)
    view = show(net, SG_NODE, record_id)
    assert (view["status"], view["holder"]) == ("active", SG_BANK)


def test_dcsa_export(net: InProcessNetwork) -> None:
    from protocol.interop.dcsa_ebl import TransportDocumentSchema

    record_id = issue(net)
    response = call(net, CARRIER_NODE, "GET", f"/v1/titles/{record_id}/export?format=dcsa-ebl-3",
                    "officer")
    assert response.status_code == 200
    TransportDocumentSchema.load().validate(response.json())


def test_registry_unreachable_moves_nothing_then_resumes(net: InProcessNetwork) -> None:
    record_id = at_sg(net)
    transfer(net, SG_NODE, record_id, SG_BANK, CN_BANK, CN_NODE)

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    net[SG_NODE].routes.handler = unreachable
    try:
        net.deliver(SG_NODE)
    finally:
        net[SG_NODE].routes.handler = None
    assert show(net, SG_NODE, record_id)["status"] == "pending-custody"
    assert show(net, CARRIER_NODE, record_id)["custodian"] == SG_NODE
    # The request waits in the outbox; the registry is back: it is sent now, as the
    # worker's backoff would later.
    with net[SG_NODE].ctx.engine.begin() as connection:
        connection.execute(update(OutboundMessageRecord).where(
            col(OutboundMessageRecord.state) == "pending").values(next_attempt_at=utc_now()))
    net.deliver(SG_NODE)
    net.deliver(CARRIER_NODE)
    assert show(net, SG_NODE, record_id)["status"] == "transferred-away"
    assert show(net, CN_NODE, record_id)["holder"] == CN_BANK


def test_a_refused_custody_request_returns_the_record_to_active(net: InProcessNetwork) -> None:
    record_id = at_sg(net)
    transfer(net, SG_NODE, record_id, SG_BANK, CN_BANK, CN_NODE)
    net[SG_NODE].routes.handler = lambda request: httpx.Response(
        409, json={"error": {"code": "TITLE_CONFLICT", "message": "stale"}})
    try:
        net.deliver(SG_NODE)
    finally:
        net[SG_NODE].routes.handler = None
    view = show(net, SG_NODE, record_id)
    assert (view["status"], view["holder"], view["lastRefusal"]) == (
        "active", SG_BANK, ["TITLE_CONFLICT"])


# -- refusals at the API ---------------------------------------------------------------------


def test_rejects_second_issue_with_the_same_reference(net: InProcessNetwork) -> None:
    issue(net, reference="SMLNDUPLICATE1")
    before = stored(net, CARRIER_NODE)
    response = call(net, CARRIER_NODE, "POST", "/v1/titles", "officer",
                    {"bill": bill("SMLNDUPLICATE1"), "holder": STRANGER})
    refused(response, ReasonCode.CONFLICT)
    assert stored(net, CARRIER_NODE) == before


def test_rejects_issuance_by_a_node_without_the_role(net: InProcessNetwork) -> None:
    before = stored(net, SG_NODE)
    response = call(net, SG_NODE, "POST", "/v1/titles", "officer",
                    {"bill": bill(), "holder": SHIPPER})
    refused(response, ReasonCode.ISSUER_ROLE_MISSING)
    assert stored(net, SG_NODE) == before


def test_rejects_action_by_a_party_that_is_not_the_holder(net: InProcessNetwork) -> None:
    record_id = issue(net)
    before = stored(net, CARRIER_NODE)
    # The notify party sees the bill (it is one of its parties) but does not hold it.
    refused(transfer(net, CARRIER_NODE, record_id, CONSIGNEE, STRANGER),
            ReasonCode.TITLE_NOT_HOLDER)
    assert stored(net, CARRIER_NODE) == before


def test_rejects_stale_holder_at_the_node_that_handed_custody_over(
        net: InProcessNetwork) -> None:
    record_id = at_cn(net)
    before = stored(net, SG_NODE)
    refused(transfer(net, SG_NODE, record_id, SG_BANK, STRANGER),
            ReasonCode.TITLE_SIGNER_NOT_CUSTODIAN)
    assert stored(net, SG_NODE) == before


def test_rejects_any_action_while_custody_is_pending(net: InProcessNetwork) -> None:
    record_id = at_sg(net)
    transfer(net, SG_NODE, record_id, SG_BANK, CN_BANK, CN_NODE)
    before = stored(net, SG_NODE)
    refused(transfer(net, SG_NODE, record_id, SG_BANK, STRANGER), ReasonCode.TITLE_CONFLICT)
    assert stored(net, SG_NODE) == before
    net.deliver(SG_NODE)
    net.deliver(CARRIER_NODE)


def test_rejects_actions_on_surrendered_and_accomplished_records(net: InProcessNetwork) -> None:
    record_id = issue(net)
    call(net, CARRIER_NODE, "POST", f"/v1/titles/{record_id}/surrender", SHIPPER)
    before = stored(net, CARRIER_NODE)
    refused(transfer(net, CARRIER_NODE, record_id, SHIPPER, STRANGER),
            ReasonCode.TITLE_RECORD_INACTIVE)
    refused(call(net, CARRIER_NODE, "POST", f"/v1/titles/{record_id}/surrender", SHIPPER),
            ReasonCode.TITLE_RECORD_INACTIVE)
    assert stored(net, CARRIER_NODE) == before
    call(net, CARRIER_NODE, "POST", f"/v1/titles/{record_id}/surrender/accept", "officer")
    before = stored(net, CARRIER_NODE)
    refused(call(net, CARRIER_NODE, "POST", f"/v1/titles/{record_id}/surrender/reject",
                 "officer"), ReasonCode.TITLE_RECORD_INACTIVE)
    refused(transfer(net, CARRIER_NODE, record_id, CARRIER, STRANGER),
            ReasonCode.TITLE_RECORD_INACTIVE)
    assert stored(net, CARRIER_NODE) == before


# -- refusals of crafted messages (a misbehaving node) ---------------------------------------


def test_rejects_double_transfer_from_a_stale_state(net: InProcessNetwork) -> None:
    """SG's node, having handed custody to CN, asks again from the state it signed from."""
    record_id = at_cn(net)
    full = chain(net, SG_NODE, record_id)
    stale = TitleRecord(full.bill, full.entries[:-1])
    fork = next_entry(net[SG_NODE].ctx, stale, A.ENDORSE, holder=STRANGER, custodian=CN_NODE,
                      signer=net[SG_NODE].ctx.node_signer)
    before = stored(net, CARRIER_NODE)
    refused(post_envelope(net, SG_NODE, CARRIER_NODE,
                          TitleMessage.request(stale.with_entry(fork))),
            ReasonCode.TITLE_CONFLICT)
    assert stored(net, CARRIER_NODE) == before


def test_rejects_custody_change_signed_by_a_node_not_in_custody(net: InProcessNetwork) -> None:
    record_id = at_sg(net)
    record = chain(net, SG_NODE, record_id)
    forged = next_entry(net[CN_NODE].ctx, record, A.ENDORSE, holder=CN_BANK,
                        custodian=CN_NODE, signer=net[CN_NODE].ctx.node_signer,
                        acting=SG_BANK)
    before = stored(net, CARRIER_NODE)
    refused(post_envelope(net, CN_NODE, CARRIER_NODE,
                          TitleMessage.request(record.with_entry(forged))),
            ReasonCode.TITLE_SIGNER_NOT_CUSTODIAN)
    assert stored(net, CARRIER_NODE) == before


def test_replayed_custody_request_is_answered_with_the_recorded_grant(
        net: InProcessNetwork) -> None:
    """SG asks again (a new envelope) for the change the registry recorded: the registry
    answers with the countersigned entry it stored (PINT's DUPE) and records nothing."""
    record_id = at_cn(net)
    full = chain(net, SG_NODE, record_id)
    last = full.entries[-1]
    unsigned = GeneralJWS(last.payload_b64, last.signatures[:1])
    titles_before, (entries, outbound, inbound) = stored(net, CARRIER_NODE)
    response = post_envelope(net, SG_NODE, CARRIER_NODE, TitleMessage.request(
        TitleRecord(full.bill, (*full.entries[:-1], unsigned))))
    assert response.status_code == 200, response.text
    assert stored(net, CARRIER_NODE) == (titles_before, (entries, outbound + 1, inbound + 1))
    before = stored(net, SG_NODE)
    net.deliver(CARRIER_NODE)  # the grant again: SG already holds it, nothing changes
    assert stored(net, SG_NODE)[0] == before[0]
    assert show(net, SG_NODE, record_id)["status"] == "transferred-away"


def test_rejects_entry_replayed_inside_a_chain(net: InProcessNetwork) -> None:
    record_id = at_sg(net)
    record = chain(net, SG_NODE, record_id)
    replayed = TitleRecord(record.bill, (*record.entries, record.entries[-1]))
    before = stored(net, CARRIER_NODE)
    refused(post_envelope(net, SG_NODE, CARRIER_NODE, TitleMessage.request(replayed)),
            ReasonCode.TITLE_ENTRY_REPLAYED)
    assert stored(net, CARRIER_NODE) == before


def test_rejects_replayed_custody_transfer(net: InProcessNetwork) -> None:
    record_id = at_cn(net)
    before = stored(net, CN_NODE)
    refused(post_envelope(net, CARRIER_NODE, CN_NODE,
                          TitleMessage.transfer(chain(net, CN_NODE, record_id))),
            ReasonCode.TITLE_ENTRY_REPLAYED)
    assert stored(net, CN_NODE) == before


@pytest.mark.parametrize("mangle", ["reordered", "truncated", "forked-issue"])
def test_rejects_reordered_truncated_or_forked_chain(net: InProcessNetwork, mangle: str) -> None:
    record_id = at_sg(net)
    transfer(net, SG_NODE, record_id, SG_BANK, SHIPPER)  # a local entry at SG
    record = chain(net, SG_NODE, record_id)
    request = record.with_entry(next_entry(net[SG_NODE].ctx, record, A.ENDORSE, holder=CN_BANK,
                                           custodian=CN_NODE,
                                           signer=net[SG_NODE].ctx.node_signer))
    entries = list(request.entries)
    if mangle == "reordered":
        entries[1], entries[2] = entries[2], entries[1]
    elif mangle == "truncated":
        entries = entries[1:]
    else:
        other = chain(net, CARRIER_NODE, issue(net))
        entries[0] = other.entries[0]
    before = stored(net, CARRIER_NODE)
    refused(post_envelope(net, SG_NODE, CARRIER_NODE,
                          TitleMessage.request(TitleRecord(request.bill, tuple(entries)))),
            ReasonCode.TITLE_CHAIN_BROKEN)
    assert stored(net, CARRIER_NODE) == before


def test_rejects_custody_change_without_countersignature(net: InProcessNetwork) -> None:
    record_id = at_sg(net)
    record = chain(net, SG_NODE, record_id)
    entry = next_entry(net[SG_NODE].ctx, record, A.ENDORSE, holder=CN_BANK, custodian=CN_NODE,
                       signer=net[SG_NODE].ctx.node_signer)
    before = stored(net, CN_NODE)
    refused(post_envelope(net, SG_NODE, CN_NODE,
                          TitleMessage.transfer(record.with_entry(entry))),
            ReasonCode.TITLE_COUNTERSIGNATURE_MISSING)
    assert stored(net, CN_NODE) == before


def test_rejects_chain_issued_without_the_role(net: InProcessNetwork) -> None:
    """SG-CUSTOMS (no ``transferable-records`` role) signs a bill and hands it to CN."""
    ctx = net[SG_NODE].ctx
    now = utc_now()
    document = bill()
    document.update({"id": "forged-bill-1", "issuer": SG_NODE,
                     "issuedAt": now.strftime("%Y-%m-%dT%H:%M:%SZ")})
    signed = sign_document(document, ctx.document_signer, signed_at=now)
    state = TitleState.initial(document, bill_sha256=document_sha256(signed), signed_at=now)
    entry = state.next_entry(A.ISSUE, acting_holder=CARRIER, holder=SHIPPER, custodian=CN_NODE,
                             at=now)
    record = TitleRecord(signed, (sign_entry(entry, ctx.node_signer, signed_at=now),))
    before = stored(net, CN_NODE)
    refused(post_envelope(net, SG_NODE, CN_NODE, TitleMessage.transfer(record)),
            ReasonCode.ISSUER_ROLE_MISSING)
    assert stored(net, CN_NODE) == before


def test_trader_sees_only_records_naming_its_party(net: InProcessNetwork) -> None:
    record_id = issue(net)
    response = call(net, CARRIER_NODE, "GET", f"/v1/titles/{record_id}", STRANGER)
    refused(response, ReasonCode.NOT_FOUND)
    listed = call(net, CARRIER_NODE, "GET", "/v1/titles", SHIPPER).json()["titles"]
    assert record_id in [item["id"] for item in listed]
    assert json.loads(json.dumps(listed))  # plain JSON




def test_a_declaration_shows_the_holder_of_a_record_held_here(net: InProcessNetwork) -> None:
    """The joint status lists the declaration's bills of lading that are records held at
    this node, with their current holder (what the importing customs reads)."""
    from node.services.declarations.views import transferable_records

    record_id = at_cn(net)
    with read_session(net[CN_NODE].ctx.engine) as session:
        [held] = transferable_records(session, [record_id, "not-a-record"])
    assert (held["id"], held["holder"], held["custodian"], held["status"]) == (
        record_id, CN_BANK, CN_NODE, "active")


def test_console_draws_the_title_chain(net: InProcessNetwork) -> None:
    """The console's titles pages: the list, and a record's chain of holders and nodes
    (signed by, countersigned by); another party's record is not shown."""
    import re

    record_id = at_cn(net)
    csrf = re.compile(r'name="csrf" value="([^"]+)"')

    async def pages(key: str) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=net[CN_NODE].app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console.test",
                                     follow_redirects=False) as client:
            form = await client.get("/signin")
            found = csrf.search(form.text)
            assert found is not None
            await client.post("/signin", data={"csrf": found.group(1), "api_key": key,
                                               "next": "/"})
            return [await client.get("/titles"), await client.get(f"/titles/{record_id}")]

    listing, page = net.run(pages(net[CN_NODE].keys[CN_BANK]))
    assert listing.status_code == 200 and record_id in listing.text
    assert page.status_code == 200
    assert "countersigned by SG-CARRIER" in page.text and CN_BANK in page.text
    _, hidden = net.run(pages(net[CN_NODE].keys[STRANGER]))
    assert "No such record here" in hidden.text and SG_BANK not in hidden.text
