"""Title entries, title records and title-transfer bodies as wire objects.

Chains are verified in ``tests/trust_registry/test_titles.py``; here each constructor parses
strictly and round-trips, and every defect is refused with its code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.canonical import canonicalize
from protocol.errors import JWSError, ProtocolError, TitleError
from protocol.jws import JWSType, check_integrity, sign
from protocol.reason_codes import ReasonCode
from protocol.title_entry import (
    TITLE_RECORD_FORMAT,
    TitleAction,
    TitleEntry,
    TitleRecord,
    countersign_entry,
    entry_sha256,
    sign_entry,
)
from protocol.title_messages import TitleMessage, TitleMessageKind

AT = dt.datetime(2026, 11, 21, 14, 0, tzinfo=dt.UTC)
DIGEST = "ab" * 32


def entry_dict(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1, "recordId": "5f0c2a8e-9d1b-4c57-8e43-2b7d6a9c1f04", "sequence": 1,
        "action": "ENDORSE", "actingHolder": "SG-UEN-201912345K",
        "holder": "SG-BIC-DBSSSGSG", "custodian": "SG-TRADENET",
        "at": "2026-11-21T14:01:00Z", "previous": DIGEST}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_entry_round_trips() -> None:
    entry = TitleEntry.from_dict(entry_dict())
    assert entry.action is TitleAction.ENDORSE
    assert entry.to_dict() == entry_dict()
    assert entry.canonical() == canonicalize(entry_dict())
    rejected = TitleEntry.from_dict(entry_dict(action="SURRENDER_REJECTED", reason="Unpaid"))
    assert rejected.to_dict()["reason"] == "Unpaid"


@pytest.mark.parametrize(
    "changes",
    [{"version": 2}, {"version": "1"}, {"action": "BURN"}, {"sequence": -1},
     {"sequence": 1.0}, {"sequence": True}, {"sequence": 0}, {"action": "ISSUE"},
     {"recordId": ""}, {"recordId": "a b"}, {"actingHolder": "SG-CUSTOMS"},
     {"holder": "nobody"}, {"custodian": "sg-node"}, {"previous": DIGEST.upper()},
     {"previous": DIGEST[:-1]}, {"at": "2026-11-21T14:01:00+00:00"},
     {"at": "2026-11-21T14:01:00.000Z"}, {"at": "2026-11-21"}, {"at": 1},
     {"reason": "not on an endorsement"}, {"extra": 1}, {"custodian": None}],
    ids=["version-2", "version-string", "unknown-action", "negative-sequence", "float-sequence",
         "bool-sequence", "sequence-0-not-issue", "issue-not-sequence-0", "empty-record-id",
         "record-id-space", "authority-as-party", "bad-holder", "lower-case-custodian",
         "upper-case-digest", "short-digest", "offset-time", "padded-time", "date-only",
         "number-time", "reason-on-endorse", "unknown-member", "missing-member"])
def test_entry_refuses(changes: dict[str, Any]) -> None:
    with pytest.raises(TitleError) as info:
        TitleEntry.from_dict(entry_dict(**changes))
    assert info.value.code is ReasonCode.TITLE_ENTRY_INVALID


def test_entry_refuses_a_non_object() -> None:
    for value in ([], "entry", None, 1):
        with pytest.raises(TitleError):
            TitleEntry.from_dict(value)


def test_entry_constructor_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        TitleEntry(record_id="r", sequence=0, action=TitleAction.ISSUE,
                   acting_holder="SG-UEN-1", holder="SG-UEN-1", custodian="SG-A",
                   at=dt.datetime(2026, 1, 1), previous=DIGEST)


def test_signed_entry_carries_its_typ_and_parses_back(make_authority) -> None:
    node = make_authority("SG-TRADENET").node_signer
    entry = TitleEntry.from_dict(entry_dict())
    jws = sign_entry(entry, node, signed_at=AT)
    assert check_integrity(jws, 0, typ=JWSType.TITLE_ENTRY).typ == "tradeaccord-title-entry+jws"
    assert TitleEntry.from_jws(jws) == entry
    assert entry_sha256(jws) == __import__("hashlib").sha256(entry.canonical()).hexdigest()
    with pytest.raises(JWSError) as info:
        check_integrity(jws, 0, typ=JWSType.DOCUMENT)
    assert info.value.code is ReasonCode.TYP_MISMATCH


def test_entry_payload_must_be_canonical(make_authority) -> None:
    node = make_authority("SG-TRADENET").node_signer
    spaced = b'{"version": 1}'
    jws = sign(canonicalize(entry_dict()).replace(b'"version":1', b'"version": 1'), node,
               typ=JWSType.TITLE_ENTRY, signed_at=AT)
    with pytest.raises(TitleError) as info:
        TitleEntry.from_jws(jws)
    assert info.value.code is ReasonCode.TITLE_ENTRY_INVALID
    not_json = sign(spaced[:-1], node, typ=JWSType.TITLE_ENTRY, signed_at=AT)
    with pytest.raises(TitleError):
        TitleEntry.from_jws(not_json)


def test_countersignature_is_a_second_signature_over_the_same_bytes(make_authority) -> None:
    custodian = make_authority("SG-TRADENET").node_signer
    registry = make_authority("SG-SMLN").node_signer
    jws = sign_entry(TitleEntry.from_dict(entry_dict()), custodian, signed_at=AT)
    countersigned = countersign_entry(jws, registry, signed_at=AT)
    assert countersigned.payload_b64 == jws.payload_b64
    assert len(countersigned.signatures) == 2
    assert entry_sha256(countersigned) == entry_sha256(jws)  # the digest names the content
    with pytest.raises(ValueError, match="exactly"):
        countersign_entry(countersigned, registry, signed_at=AT)
    with pytest.raises(JWSError) as info:
        countersign_entry(jws, custodian, signed_at=AT)
    assert info.value.code is ReasonCode.JWS_DUPLICATE_SIGNATURE


# -- title records ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def record(make_authority) -> TitleRecord:
    node = make_authority("SG-TRADENET").node_signer
    bill = sign(b'{"type":"bill-of-lading"}', make_authority("SG-SMLN").document_signer,
                typ=JWSType.DOCUMENT, signed_at=AT)
    entry = sign_entry(TitleEntry.from_dict(entry_dict()), node, signed_at=AT)
    return TitleRecord(bill, (entry,))


def test_record_round_trips(record: TitleRecord) -> None:
    data = record.to_dict()
    assert data["format"] == TITLE_RECORD_FORMAT
    assert TitleRecord.from_dict(data) == record
    assert TitleRecord.parse(record.to_json()) == record
    assert record.with_entry(record.entries[0]).entries == record.entries * 2


@pytest.mark.parametrize(
    ("mutate", "code"),
    [(lambda d: d.pop("format"), ReasonCode.TITLE_ENTRY_INVALID),
     (lambda d: d.update(format="tradeaccord-title-record-9"), ReasonCode.TITLE_ENTRY_INVALID),
     (lambda d: d.update(extra=1), ReasonCode.TITLE_ENTRY_INVALID),
     (lambda d: d.update(entries=[]), ReasonCode.TITLE_CHAIN_BROKEN),
     (lambda d: d.update(entries={}), ReasonCode.TITLE_CHAIN_BROKEN),
     (lambda d: d.update(bill="jws"), ReasonCode.TITLE_ENTRY_INVALID),
     (lambda d: d["entries"].append(7), ReasonCode.TITLE_ENTRY_INVALID),
     (lambda d: d["entries"].append({"payload": "e30"}), ReasonCode.JWS_MALFORMED)],
    ids=["no-format", "other-format", "unknown-member", "no-entries", "entries-object",
         "bill-string", "entry-number", "entry-not-jws"])
def test_record_refuses(record: TitleRecord, mutate: Any, code: ReasonCode) -> None:
    data = record.to_dict()
    mutate(data)
    with pytest.raises(ProtocolError) as info:
        TitleRecord.from_dict(data)
    assert info.value.code is code


def test_record_refuses_more_entries_than_the_limit(record: TitleRecord) -> None:
    from protocol.limits import Limits

    data = record.to_dict()
    data["entries"] = data["entries"] * 3
    with pytest.raises(TitleError) as info:
        TitleRecord.from_dict(data, limits=Limits(max_title_entries=2))
    assert info.value.code is ReasonCode.TITLE_ENTRY_INVALID


# -- title-transfer bodies ----------------------------------------------------------------


def test_every_message_round_trips(record: TitleRecord) -> None:
    messages = [
        TitleMessage.request(record),
        TitleMessage.transfer(record),
        TitleMessage.granted(record_id="r-1", sequence=3, entry=record.entries[0]),
        TitleMessage.refused(record_id="r-1", sequence=3, entry_sha256=DIGEST,
                             reasons=(ReasonCode.TITLE_CONFLICT,)),
    ]
    assert sorted(m.kind for m in messages) == sorted(TitleMessageKind)
    for message in messages:
        assert TitleMessage.from_dict(message.to_dict()) == message
        assert canonicalize(message.to_dict())  # JSON all the way down


@pytest.mark.parametrize(
    "body",
    [[], {"message": "custody-lost"}, {"message": "custody-request"},
     {"message": "custody-granted", "recordId": "r", "sequence": 1, "entry": "x"},
     {"message": "custody-granted", "recordId": "r", "sequence": -1, "entry": {}},
     {"message": "custody-granted", "recordId": "r r", "sequence": 1, "entry": {}},
     {"message": "custody-refused", "recordId": "r", "sequence": 1, "entrySha256": DIGEST,
      "reasons": []},
     {"message": "custody-refused", "recordId": "r", "sequence": 1, "entrySha256": DIGEST,
      "reasons": ["NOT_A_CODE"]},
     {"message": "custody-refused", "recordId": "r", "sequence": 1, "entrySha256": "x",
      "reasons": ["TITLE_CONFLICT"]},
     {"message": "custody-refused", "recordId": "r", "sequence": 1, "entrySha256": DIGEST,
      "reasons": ["TITLE_CONFLICT"], "extra": True}],
    ids=["array", "unknown-message", "request-without-record", "granted-entry-string",
         "granted-negative-sequence", "granted-bad-record-id", "refused-no-reasons",
         "refused-unknown-code", "refused-bad-digest", "refused-unknown-member"])
def test_message_refuses(body: Any) -> None:
    with pytest.raises(TitleError) as info:
        TitleMessage.from_dict(body)
    assert info.value.code is ReasonCode.TITLE_ENTRY_INVALID


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(["message", "record", "recordId",
                                                       "sequence", "entry", "entrySha256",
                                                       "reasons", "format", "bill",
                                                       "entries"]), inner, max_size=5),
                    max_leaves=12))
def test_only_protocol_errors_escape_the_parsers(value: Any) -> None:
    """Junk of any shape is refused with a coded error, never a stray TypeError/KeyError."""
    for parse in (TitleMessage.from_dict, TitleRecord.from_dict, TitleEntry.from_dict):
        with contextlib.suppress(ProtocolError):
            parse(value)


def test_a_title_entry_jws_with_a_padded_payload_is_refused(record: TitleRecord) -> None:
    data = record.to_dict()
    data["entries"][0]["payload"] += "="
    with pytest.raises(JWSError) as info:
        TitleRecord.from_dict(data)
    assert info.value.code is ReasonCode.JWS_MALFORMED
