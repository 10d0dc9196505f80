"""Transferable records verified against the registry: scenario tables and properties.

Valid chains move the title across three custodians (the carrier's node, which is the
control registry, an exporting-side node and an importing-side node); every refusal issue 8
lists has a row with its exact code. Assertions are on codes and on the evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.canonical import b64url_decode, b64url_encode, canonicalize
from protocol.errors import ProtocolError
from protocol.jws import GeneralJWS, JWSSignature, JWSType, Signer, sign
from protocol.reason_codes import ReasonCode
from protocol.signed_document import document_sha256
from protocol.title_chain import TitleState, TitleStatus, require_extension
from protocol.title_entry import TitleAction, TitleRecord, digests, sign_entry
from tests.trust_registry.titles_world import (
    CARRIER,
    CARRIER_NODE,
    CN_BANK,
    CN_NODE,
    CONSIGNEE,
    CUSTOMS,
    DAY,
    ISSUED,
    MINUTE,
    SG_BANK,
    SG_NODE,
    SHIPPER,
    STRANGER,
    VERIFY_AT,
    Chain,
    TitleWorld,
)
from trust_registry import TitleChainError, TrustError, current_holder, verify_title

A = TitleAction


@pytest.fixture(scope="module")
def world() -> TitleWorld:
    return TitleWorld()


def verify(world: TitleWorld, record: TitleRecord, **options: Any) -> Any:
    registry = options.pop("registry", world.registry)
    return verify_title(record, registry=registry, at=options.pop("at", VERIFY_AT),
                        schemas=world.schemas, **options)


def refusal(world: TitleWorld, record: TitleRecord, **options: Any) -> ReasonCode:
    with pytest.raises(TitleChainError) as info:
        verify(world, record, **options)
    return info.value.code


# -- chains the scenarios share -----------------------------------------------------------


def across_three(w: TitleWorld) -> Chain:
    """Issued to the shipper at the carrier's node; endorsed to its bank at the SG node;
    endorsed to the consignee's bank at the CN node; endorsed to the consignee there."""
    return (w.issue()
            .act(A.ENDORSE, holder=SG_BANK, custodian=SG_NODE)
            .act(A.ENDORSE, holder=CN_BANK, custodian=CN_NODE)
            .act(A.ENDORSE, holder=CONSIGNEE))


def surrendered(w: TitleWorld) -> Chain:
    return across_three(w).act(A.SURRENDER_FOR_DELIVERY, holder=CARRIER, custodian=CARRIER_NODE)


def accomplished(w: TitleWorld) -> Chain:
    return surrendered(w).act(A.SURRENDER_ACCEPTED)


# -- valid chains -------------------------------------------------------------------------


@dataclass(frozen=True)
class Valid:
    name: str
    build: Callable[[TitleWorld], Chain]
    holder: str
    custodian: str
    status: TitleStatus
    actions: tuple[TitleAction, ...]


VALID = [
    Valid("issued", lambda w: w.issue(), SHIPPER, CARRIER_NODE, TitleStatus.ACTIVE, (A.ISSUE,)),
    Valid("issued-into-another-node", lambda w: w.issue(custodian=SG_NODE), SHIPPER, SG_NODE,
          TitleStatus.ACTIVE, (A.ISSUE,)),
    Valid("endorsed-across-three-custodians", across_three, CONSIGNEE, CN_NODE,
          TitleStatus.ACTIVE, (A.ISSUE, A.ENDORSE, A.ENDORSE, A.ENDORSE)),
    Valid("surrendered-for-delivery", surrendered, CARRIER, CARRIER_NODE,
          TitleStatus.SURRENDERED, (A.ISSUE, A.ENDORSE, A.ENDORSE, A.ENDORSE,
                                    A.SURRENDER_FOR_DELIVERY)),
    Valid("accomplished", accomplished, CARRIER, CARRIER_NODE, TitleStatus.ACCOMPLISHED,
          (A.ISSUE, A.ENDORSE, A.ENDORSE, A.ENDORSE, A.SURRENDER_FOR_DELIVERY,
           A.SURRENDER_ACCEPTED)),
    Valid("surrender-rejected-returns-it",
          lambda w: surrendered(w).act(A.SURRENDER_REJECTED, holder=CONSIGNEE,
                                       custodian=CN_NODE, reason="Freight unpaid"),
          CONSIGNEE, CN_NODE, TitleStatus.ACTIVE,
          (A.ISSUE, A.ENDORSE, A.ENDORSE, A.ENDORSE, A.SURRENDER_FOR_DELIVERY,
           A.SURRENDER_REJECTED)),
    Valid("straight-bill-transferred",
          lambda w: w.issue(to_order=False).act(A.TRANSFER, holder=CONSIGNEE, custodian=CN_NODE),
          CONSIGNEE, CN_NODE, TitleStatus.ACTIVE, (A.ISSUE, A.TRANSFER)),
    Valid("blank-endorsed-then-passed-as-bearer",
          lambda w: (w.issue().act(A.BLANK_ENDORSE)
                     .act(A.TRANSFER, holder=SG_BANK, custodian=SG_NODE)
                     .act(A.TRANSFER, holder=CN_BANK, custodian=CN_NODE)),
          CN_BANK, CN_NODE, TitleStatus.ACTIVE,
          (A.ISSUE, A.BLANK_ENDORSE, A.TRANSFER, A.TRANSFER)),
    Valid("holder-moves-its-record-to-another-node",
          lambda w: w.issue().act(A.TRANSFER, custodian=SG_NODE).act(A.TRANSFER,
                                                                      custodian=CN_NODE),
          SHIPPER, CN_NODE, TitleStatus.ACTIVE, (A.ISSUE, A.TRANSFER, A.TRANSFER)),
]


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.name)
def test_valid_chain(world: TitleWorld, case: Valid) -> None:
    chain = case.build(world)
    evidence = verify(world, chain.record)
    assert (evidence.holder, evidence.custodian, evidence.status) == (
        case.holder, case.custodian, case.status)
    assert tuple(item.action for item in evidence.history) == case.actions
    assert evidence.control_registry == CARRIER_NODE
    assert evidence.head == digests(chain.entries)[-1]
    assert evidence.state == chain.state  # the builder's state machine agrees


def test_history_names_parties_nodes_and_countersignatures(world: TitleWorld) -> None:
    summary = verify(world, accomplished(world).record).summary()
    assert summary["status"] == "accomplished"
    assert summary["controlRegistry"] == CARRIER_NODE
    assert [(h["action"], h["from"], h["to"], h["by"], h["custodian"], h["countersignedBy"])
            for h in summary["history"]] == [
        ("ISSUE", CARRIER, SHIPPER, CARRIER_NODE, CARRIER_NODE, None),
        ("ENDORSE", SHIPPER, SG_BANK, CARRIER_NODE, SG_NODE, None),
        ("ENDORSE", SG_BANK, CN_BANK, SG_NODE, CN_NODE, CARRIER_NODE),
        ("ENDORSE", CN_BANK, CONSIGNEE, CN_NODE, CN_NODE, None),
        ("SURRENDER_FOR_DELIVERY", CONSIGNEE, CARRIER, CN_NODE, CARRIER_NODE, CARRIER_NODE),
        ("SURRENDER_ACCEPTED", CARRIER, CARRIER, CARRIER_NODE, CARRIER_NODE, None),
    ]
    assert summary["history"][0]["at"] == "2026-11-21T14:00:00Z"


def test_each_node_sees_its_own_status(world: TitleWorld) -> None:
    evidence = verify(world, across_three(world).record)
    assert evidence.status_for(CN_NODE) is TitleStatus.ACTIVE
    assert evidence.status_for(SG_NODE) is TitleStatus.TRANSFERRED_AWAY
    assert evidence.status_for(CARRIER_NODE) is TitleStatus.TRANSFERRED_AWAY
    assert evidence.summary(viewer=SG_NODE)["status"] == "transferred-away"
    assert verify(world, accomplished(world).record).status_for(SG_NODE) is (
        TitleStatus.ACCOMPLISHED)


def test_importing_customs_sees_the_current_holder(world: TitleWorld) -> None:
    assert current_holder(across_three(world).record, registry=world.registry, at=VERIFY_AT,
                          schemas=world.schemas) == CONSIGNEE


def test_the_node_that_handed_custody_away_refuses_to_sign(world: TitleWorld) -> None:
    state = across_three(world).state
    state.check_signer(CN_NODE)
    with pytest.raises(ProtocolError) as info:
        state.check_signer(SG_NODE)
    assert info.value.code is ReasonCode.TITLE_SIGNER_NOT_CUSTODIAN


def test_control_registry_checks_a_request_before_countersigning(world: TitleWorld) -> None:
    chain = across_three(world)
    request = chain.act(A.TRANSFER, custodian=SG_NODE, countersign=False, check=False)
    assert refusal(world, request.record) is ReasonCode.TITLE_COUNTERSIGNATURE_MISSING
    evidence = verify(world, request.record, allow_pending_countersignature=True)
    assert evidence.countersignature_pending and evidence.custodian == SG_NODE
    # only the last entry may be pending
    older = surrendered(world)
    pending_inside = older.with_entries(*older.entries[:2],
                                        _without_countersignature(older.entries[2]),
                                        *older.entries[3:])
    assert refusal(world, pending_inside, allow_pending_countersignature=True) is (
        ReasonCode.TITLE_COUNTERSIGNATURE_MISSING)


def _without_countersignature(entry: GeneralJWS) -> GeneralJWS:
    return GeneralJWS(entry.payload_b64, entry.signatures[:1])


# -- refusals, one code each --------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    name: str
    build: Callable[[TitleWorld], tuple[TitleRecord, dict[str, Any]]]
    code: ReasonCode


def plain(build: Callable[[TitleWorld], TitleRecord]) -> Callable[
        [TitleWorld], tuple[TitleRecord, dict[str, Any]]]:
    return lambda w: (build(w), {})


def _entries(w: TitleWorld) -> tuple[GeneralJWS, ...]:
    return across_three(w).entries


def _forked(w: TitleWorld) -> TitleRecord:
    # the SG node endorses onwards; a stale copy of the state before endorses elsewhere
    stale = w.issue().act(A.ENDORSE, holder=SG_BANK, custodian=SG_NODE)
    other = stale.act(A.ENDORSE, holder=STRANGER)
    main = _entries(w)
    return TitleRecord(stale.bill, (*main[:3], other.entries[2]))


def _other_record(w: TitleWorld) -> TitleRecord:
    other = w.issue(bill=w.bill(record_id="another-bill-0001")).act(
        A.ENDORSE, holder=SG_BANK, custodian=SG_NODE)
    main = across_three(w)
    return main.with_entries(main.entries[0], other.entries[1], *main.entries[2:])


def _issued_before_the_bill(w: TitleWorld) -> TitleRecord:
    bill = w.bill()
    state = TitleState.initial(bill.payload_json(), bill_sha256=document_sha256(bill),
                               signed_at=ISSUED)
    entry = state.next_entry(A.ISSUE, acting_holder=CARRIER, holder=SHIPPER,
                             custodian=CARRIER_NODE, at=ISSUED - MINUTE)
    return TitleRecord(bill, (sign_entry(entry, w.node(CARRIER_NODE), signed_at=entry.at),))


def _next_signed_by(w: TitleWorld, chain: Chain, signer: Signer) -> TitleRecord:
    """The holder endorses to a stranger; the entry is signed by ``signer``."""
    state = chain.state
    assert state.holder is not None and state.custodian is not None
    entry = state.next_entry(A.ENDORSE, acting_holder=state.holder, holder=STRANGER,
                             custodian=state.custodian, at=state.at + MINUTE)
    return chain.with_entries(*chain.entries, sign_entry(entry, signer, signed_at=entry.at))


def _dated_in_the_future(w: TitleWorld) -> TitleRecord:
    """Signed now, dated after the verification time (beyond the clock skew)."""
    chain = across_three(w)
    state = chain.state
    assert state.holder is not None and state.custodian is not None
    entry = state.next_entry(A.ENDORSE, acting_holder=state.holder, holder=STRANGER,
                             custodian=state.custodian, at=VERIFY_AT + DAY)
    return chain.with_entries(*chain.entries, sign_entry(
        entry, w.node(state.custodian), signed_at=state.at + MINUTE))


def _signed_by_impostor(w: TitleWorld) -> TitleRecord:
    # the impostor's node certificate names SG-TRADENET, under a root the registry lacks
    chain = w.issue().act(A.ENDORSE, holder=SG_BANK, custodian=SG_NODE)
    return _next_signed_by(w, chain, w.impostor.node_signer)


def _signed_with_document_key(w: TitleWorld) -> TitleRecord:
    return _next_signed_by(w, across_three(w), w.nodes[CN_NODE].document_signer)


REFUSED = [
    # issue 8's list
    Refused("transfer-signed-by-a-node-not-in-custody",
            plain(lambda w: across_three(w).act(A.ENDORSE, holder=STRANGER, signer=SG_NODE,
                                                check=False).record),
            ReasonCode.TITLE_SIGNER_NOT_CUSTODIAN),
    Refused("action-by-a-party-that-is-not-the-holder",
            plain(lambda w: across_three(w).act(A.ENDORSE, holder=STRANGER, actor=CN_BANK,
                                                check=False).record),
            ReasonCode.TITLE_NOT_HOLDER),
    Refused("replayed-entry",
            plain(lambda w: across_three(w).with_entries(*_entries(w), _entries(w)[3])),
            ReasonCode.TITLE_ENTRY_REPLAYED),
    Refused("replayed-issuance",
            plain(lambda w: across_three(w).with_entries(*_entries(w)[:2], _entries(w)[0])),
            ReasonCode.TITLE_ENTRY_REPLAYED),
    Refused("reordered-chain",
            plain(lambda w: across_three(w).with_entries(_entries(w)[0], _entries(w)[2],
                                                         _entries(w)[1], _entries(w)[3])),
            ReasonCode.TITLE_CHAIN_BROKEN),
    Refused("truncated-at-the-start",
            plain(lambda w: across_three(w).with_entries(*_entries(w)[1:])),
            ReasonCode.TITLE_CHAIN_BROKEN),
    Refused("truncated-in-the-middle",
            plain(lambda w: across_three(w).with_entries(_entries(w)[0], *_entries(w)[2:])),
            ReasonCode.TITLE_CHAIN_BROKEN),
    Refused("truncated-at-the-end-below-a-known-head",
            lambda w: (across_three(w).with_entries(*_entries(w)[:2]),
                       {"known_head": digests(_entries(w))[-1]}),
            ReasonCode.TITLE_CHAIN_BROKEN),
    Refused("forked-chain", plain(_forked), ReasonCode.TITLE_CHAIN_BROKEN),
    Refused("entry-of-another-record-spliced-in", plain(_other_record),
            ReasonCode.TITLE_CHAIN_BROKEN),
    Refused("no-entry-at-all", plain(lambda w: across_three(w).with_entries()),
            ReasonCode.TITLE_CHAIN_BROKEN),
    Refused("issued-by-an-authority-without-the-transferable-records-role",
            plain(lambda w: w.issue(bill=w.bill(issuer=CUSTOMS)).record),
            ReasonCode.ISSUER_ROLE_MISSING),
    Refused("custody-change-without-the-countersignature",
            plain(lambda w: across_three(w).act(A.TRANSFER, custodian=SG_NODE,
                                                countersign=False, check=False).record),
            ReasonCode.TITLE_COUNTERSIGNATURE_MISSING),
    Refused("custody-change-countersigned-by-another-node",
            plain(lambda w: across_three(w).act(A.TRANSFER, custodian=SG_NODE,
                                                countersigner=SG_NODE, check=False).record),
            ReasonCode.TITLE_ENTRY_INVALID),
    Refused("action-on-an-accomplished-record",
            plain(lambda w: accomplished(w).act(A.TRANSFER, holder=STRANGER,
                                                custodian=SG_NODE, check=False).record),
            ReasonCode.TITLE_RECORD_INACTIVE),
    Refused("action-on-a-surrendered-record",
            plain(lambda w: surrendered(w).act(A.ENDORSE, holder=STRANGER,
                                               check=False).record),
            ReasonCode.TITLE_RECORD_INACTIVE),
    # the action must fit the record
    Refused("endorsing-a-straight-bill",
            plain(lambda w: w.issue(to_order=False).act(A.ENDORSE, holder=SG_BANK,
                                                        check=False).record),
            ReasonCode.TITLE_ENTRY_INVALID),
    Refused("order-bill-transferred-to-a-party-it-is-not-endorsed-to",
            plain(lambda w: w.issue().act(A.TRANSFER, holder=SG_BANK, check=False).record),
            ReasonCode.TITLE_ENTRY_INVALID),
    Refused("surrender-answered-when-none-is-pending",
            plain(lambda w: across_three(w).act(A.SURRENDER_ACCEPTED, check=False).record),
            ReasonCode.TITLE_ENTRY_INVALID),
    Refused("surrender-to-someone-else-than-the-carrier",
            plain(lambda w: across_three(w).act(A.SURRENDER_FOR_DELIVERY, holder=SG_BANK,
                                                custodian=CARRIER_NODE,
                                                check=False).record),
            ReasonCode.TITLE_ENTRY_INVALID),
    Refused("rejected-surrender-returned-elsewhere",
            plain(lambda w: surrendered(w).act(A.SURRENDER_REJECTED, holder=STRANGER,
                                               custodian=SG_NODE, check=False).record),
            ReasonCode.TITLE_ENTRY_INVALID),
    Refused("transfer-that-changes-nothing",
            plain(lambda w: across_three(w).act(A.TRANSFER, check=False).record),
            ReasonCode.TITLE_ENTRY_INVALID),
    # time
    Refused("entry-dated-before-the-previous",
            plain(lambda w: across_three(w).act(A.ENDORSE, holder=SG_BANK,
                                                at=ISSUED + MINUTE, check=False).record),
            ReasonCode.TITLE_CHAIN_BROKEN),
    Refused("issued-before-the-bill-was-signed", plain(_issued_before_the_bill),
            ReasonCode.TITLE_CHAIN_BROKEN),
    Refused("entry-dated-in-the-future", plain(_dated_in_the_future),
            ReasonCode.TITLE_ENTRY_INVALID),
    Refused("entry-signed-in-the-future",
            lambda w: (across_three(w).record, {"at": ISSUED - DAY}),
            ReasonCode.SIGNING_TIME_INVALID),
    # who signed
    Refused("entry-signed-by-an-impostor-node",
            plain(_signed_by_impostor), ReasonCode.CHAIN_UNTRUSTED),
    Refused("entry-signed-by-a-revoked-node-key",
            lambda w: (across_three(w).record,
                       {"registry": w.with_revoked_node(CN_NODE, ISSUED)}),
            ReasonCode.CERT_REVOKED),
    Refused("bill-signed-by-another-authority-than-its-issuer",
            plain(lambda w: w.issue(bill=w.bill(signer=w.nodes[SG_NODE].document_signer))
                  .record), ReasonCode.ISSUER_MISMATCH),
    Refused("entry-signed-with-a-document-signer-key",
            plain(_signed_with_document_key), ReasonCode.CERT_USAGE_INVALID),
]


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_refused_chain(world: TitleWorld, case: Refused) -> None:
    record, options = case.build(world)
    assert refusal(world, record, **options) is case.code


def test_refusals_are_trust_errors_chained_to_the_protocol_error(world: TitleWorld) -> None:
    with pytest.raises(TrustError) as info:
        verify(world, across_three(world).with_entries(*_entries(world)[1:]))
    assert isinstance(info.value.__cause__, ProtocolError)
    assert info.value.codes == (ReasonCode.TITLE_CHAIN_BROKEN,)


# -- the control registry's rule: one successor per recorded entry -------------------------


def test_rejects_double_transfer_from_a_stale_holder(world: TitleWorld) -> None:
    """The SG node endorses the record to the CN node (recorded and countersigned); from its
    stale copy it then tries a second custody change. Each chain verifies alone; the
    control registry, which recorded the first, refuses the second with TITLE_CONFLICT."""
    before = world.issue().act(A.ENDORSE, holder=SG_BANK, custodian=SG_NODE)
    first = before.act(A.ENDORSE, holder=CN_BANK, custodian=CN_NODE)
    second = before.act(A.ENDORSE, holder=STRANGER, custodian=CARRIER_NODE)
    recorded = digests(first.entries)
    verify(world, first.record)
    verify(world, second.record)  # a valid-looking chain: why the registry must decide
    with pytest.raises(ProtocolError) as info:
        require_extension(recorded, digests(second.entries))
    assert info.value.code is ReasonCode.TITLE_CONFLICT
    # and a node that knows the recorded head refuses the stale chain offline
    assert refusal(world, second.record, known_head=recorded[-1]) is (
        ReasonCode.TITLE_CHAIN_BROKEN)


@pytest.mark.parametrize(
    ("known", "candidate", "result"),
    [(["a"], ["a", "b"], 1), (["a", "b"], ["a", "b", "c", "d"], 2),
     (["a", "b"], ["a", "b"], ReasonCode.TITLE_ENTRY_REPLAYED),
     (["a", "b", "c"], ["a", "b"], ReasonCode.TITLE_CHAIN_BROKEN),
     (["a", "b"], ["a", "x", "y"], ReasonCode.TITLE_CONFLICT),
     (["a", "b"], ["z", "b", "c"], ReasonCode.TITLE_CHAIN_BROKEN),
     ([], ["a"], 1)],
    ids=["one-more", "two-more", "replayed", "truncated", "stale-second-successor",
         "another-issuance", "first-record"])
def test_require_extension(known: list[str], candidate: list[str],
                           result: int | ReasonCode) -> None:
    if isinstance(result, int):
        assert require_extension(known, candidate) == result
        return
    with pytest.raises(ProtocolError) as info:
        require_extension(known, candidate)
    assert info.value.code is result


def test_a_later_rejection_of_an_old_signer_leaves_the_chain_valid(world: TitleWorld) -> None:
    """Node keys are trusted at their signing time: revoking the CN node's key later does
    not undo entries it signed before."""
    registry = world.with_revoked_node(CN_NODE, VERIFY_AT - DAY)
    assert verify(world, across_three(world).record, registry=registry).holder == CONSIGNEE


# -- properties: any changed byte of any entry or signature fails ---------------------------


@pytest.fixture(scope="module")
def long_chain(world: TitleWorld) -> Chain:
    return accomplished(world)


# What a changed protected header can be refused with: it no longer parses, breaks the
# profile, names another key or certificate, or its signature no longer verifies.
HEADER_REFUSALS = {code for code in ReasonCode if code.value.startswith(("JSON_", "JWS_", "ALG_"))} | {
    ReasonCode.CRIT_UNSUPPORTED, ReasonCode.KID_MISMATCH, ReasonCode.TYP_MISMATCH,
    ReasonCode.SIGNING_TIME_INVALID, ReasonCode.SIGNATURE_INVALID, ReasonCode.CERT_MALFORMED,
    ReasonCode.CHAIN_TOO_LONG}


def _changed(data: bytes, position: int, delta: int) -> bytes:
    out = bytearray(data)
    out[position % len(out)] = (out[position % len(out)] + delta) % 256
    return bytes(out)


def _replace(chain: Chain, index: int, jws: GeneralJWS) -> TitleRecord:
    entries = list(chain.entries)
    if index == len(entries):
        return TitleRecord(jws, chain.entries)
    entries[index] = jws
    return TitleRecord(chain.bill, tuple(entries))


def _target(chain: Chain, index: int) -> GeneralJWS:
    return chain.bill if index == len(chain.entries) else chain.entries[index]


@settings(max_examples=120, deadline=None)
@given(data=st.data(), position=st.integers(min_value=0),
       delta=st.integers(min_value=1, max_value=255))
def test_any_payload_byte_change_fails(world: TitleWorld, long_chain: Chain, data: st.DataObject,
                                       position: int, delta: int) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(long_chain.entries)))
    target = _target(long_chain, index)
    tampered = GeneralJWS(b64url_encode(_changed(target.payload, position, delta)),
                          target.signatures)
    assert refusal(world, _replace(long_chain, index, tampered)) is ReasonCode.SIGNATURE_INVALID


@settings(max_examples=120, deadline=None)
@given(data=st.data(), position=st.integers(min_value=0),
       delta=st.integers(min_value=1, max_value=255))
def test_any_signature_byte_change_fails(world: TitleWorld, long_chain: Chain,
                                         data: st.DataObject, position: int, delta: int) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(long_chain.entries)))
    target = _target(long_chain, index)
    which = data.draw(st.integers(min_value=0, max_value=len(target.signatures) - 1))
    signatures = list(target.signatures)
    raw = b64url_decode(signatures[which].signature_b64)
    signatures[which] = JWSSignature(signatures[which].protected_b64,
                                     b64url_encode(_changed(raw, position, delta)))
    tampered = GeneralJWS(target.payload_b64, tuple(signatures))
    assert refusal(world, _replace(long_chain, index, tampered)) is ReasonCode.SIGNATURE_INVALID


@settings(max_examples=120, deadline=None)
@given(data=st.data(), position=st.integers(min_value=0),
       delta=st.integers(min_value=1, max_value=255))
def test_any_protected_header_byte_change_fails(world: TitleWorld, long_chain: Chain,
                                                data: st.DataObject, position: int,
                                                delta: int) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(long_chain.entries)))
    target = _target(long_chain, index)
    which = data.draw(st.integers(min_value=0, max_value=len(target.signatures) - 1))
    signatures = list(target.signatures)
    header = b64url_decode(signatures[which].protected_b64)
    signatures[which] = JWSSignature(b64url_encode(_changed(header, position, delta)),
                                     signatures[which].signature_b64)
    tampered = GeneralJWS(target.payload_b64, tuple(signatures))
    with pytest.raises(TitleChainError) as info:
        verify(world, _replace(long_chain, index, tampered))
    assert info.value.code in HEADER_REFUSALS


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_reordering_or_repetition_fails(world: TitleWorld, long_chain: Chain,
                                            data: st.DataObject) -> None:
    count = len(long_chain.entries)
    order = data.draw(st.lists(st.integers(min_value=0, max_value=count - 1), min_size=1,
                               max_size=count + 2))
    if order == list(range(len(order))):
        return  # a prefix of the chain in order: valid (a record's earlier state)
    record = TitleRecord(long_chain.bill, tuple(long_chain.entries[i] for i in order))
    assert refusal(world, record) in {ReasonCode.TITLE_CHAIN_BROKEN,
                                      ReasonCode.TITLE_ENTRY_REPLAYED}


@settings(max_examples=60, deadline=None)
@given(junk=st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["version", "recordId", "sequence", "action", "actingHolder", "holder",
                         "custodian", "at", "previous", "reason"]), inner, max_size=9),
    max_leaves=12))
def test_a_validly_signed_junk_entry_is_refused_with_a_code(world: TitleWorld, junk: Any) -> None:
    """The custodian's node signs anything as an entry: it is refused with a code, never a
    stray exception (the translation at the boundary is complete)."""
    chain = across_three(world)
    jws = sign(canonicalize(junk), world.node(CN_NODE), typ=JWSType.TITLE_ENTRY,
               signed_at=chain.state.at + MINUTE)
    with pytest.raises(TitleChainError) as info:
        verify(world, chain.with_entries(*chain.entries, jws))
    assert info.value.code in {ReasonCode.TITLE_ENTRY_INVALID, ReasonCode.TITLE_CHAIN_BROKEN}
