"""Properties that must hold for any input (Hypothesis)."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.canonical import b64url_decode, b64url_encode, canonicalize
from protocol.jws import GeneralJWS, JWSSignature, JWSType, sign
from protocol.reason_codes import ReasonCode
from tests.trust_registry.conftest import CN, COUNTERSIGNED_AT, DAY, SG, T0, World
from trust_registry import (
    AgreementStatus,
    DocType,
    NotRecognisedError,
    ScopeItem,
    SnapshotError,
    TrustError,
    TrustRegistry,
    recognise,
)

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

DOC_TYPES = [DocType(t) for t in (
    "certificate-of-origin", "phytosanitary-certificate", "bill-of-lading", "commercial-invoice",
    "customs-declaration", "transport-document", "payment-record", "clearance-decision")]

offsets = st.integers(min_value=-400, max_value=800).map(lambda days: T0 + days * DAY)


@st.composite
def scopes(draw: st.DrawFn, types: list[DocType] = DOC_TYPES) -> tuple[ScopeItem, ...]:
    flows = draw(st.lists(st.tuples(st.sampled_from(types), st.sampled_from([(CN, SG), (SG, CN)])),
                          min_size=1, max_size=6, unique=True))
    return tuple(ScopeItem(document_type=doc_type, issuer=issuer, receiver=receiver,
                           recognised_as=doc_type) for doc_type, (issuer, receiver) in flows)


@SETTINGS
@given(scope=scopes(), valid_from=offsets, length=st.none() | st.integers(1, 900),
       doc_type=st.sampled_from(DOC_TYPES), signed_at=offsets, delay=st.integers(0, 400),
       proposer=st.sampled_from([SG, CN]))
def test_an_agreement_with_one_signature_never_recognises_anything(
        world: World, scope: tuple[ScopeItem, ...], valid_from: dt.datetime, length: int | None,
        doc_type: DocType, signed_at: dt.datetime, delay: int, proposer: str) -> None:
    partner = CN if proposer == SG else SG
    agreement = world.agreement(parties=(proposer, partner), scope=scope, valid_from=valid_from,
                                valid_until=None if length is None else valid_from + length * DAY)
    registry = world.authorities_registry().add_proposal(world.proposal(agreement),
                                                        at=COUNTERSIGNED_AT)
    issuer = world.party(partner if delay % 2 else proposer)
    header, evidence = world.document(issuer.signer, issuer=issuer.id, doc_type=doc_type,
                                      signed_at=signed_at)
    with pytest.raises(NotRecognisedError):
        recognise(registry, receiver=proposer if issuer.id == partner else partner,
                  document=header, evidence=evidence, at=signed_at + delay * DAY)


@SETTINGS
@given(data=st.data())
def test_a_type_outside_every_scope_item_is_never_accepted(world: World, data: st.DataObject) -> None:
    covered = data.draw(st.lists(st.sampled_from(DOC_TYPES), min_size=1, max_size=len(DOC_TYPES) - 1,
                                 unique=True))
    outside = data.draw(st.sampled_from([t for t in DOC_TYPES if t not in covered]))
    scope = data.draw(scopes(covered))
    agreement = world.agreement(scope=scope, valid_until=None)
    registry = world.authorities_registry().add_agreement(world.signed(agreement),
                                                         at=COUNTERSIGNED_AT)
    if data.draw(st.booleans()):
        registry = world.with_status(registry, AgreementStatus.SUSPENDED, T0 + 10 * DAY)
        registry = world.with_status(registry, AgreementStatus.IN_FORCE, T0 + 20 * DAY)
    issuer = world.party(data.draw(st.sampled_from([CN, SG])))
    signed_at = data.draw(offsets)
    header, evidence = world.document(issuer.signer, issuer=issuer.id, doc_type=outside,
                                      signed_at=signed_at)
    with pytest.raises(NotRecognisedError) as caught:
        recognise(registry, receiver=SG if issuer.id == CN else CN, document=header,
                  evidence=evidence, at=signed_at + DAY)
    # Only failures that come before the scope step, or the scope step itself.
    assert caught.value.code in {ReasonCode.DOC_TYPE_NOT_COVERED, ReasonCode.CERT_NOT_YET_VALID,
                                 ReasonCode.CERT_EXPIRED, ReasonCode.ANCHOR_NOT_VALID}


def _snapshot_attack(world: World, held: TrustRegistry, attack: str, byte: int) -> object:
    newer = held.update_authority(CN, name=f"renamed {byte}")
    issued = T0 + 10 * DAY
    snapshot = newer.export_snapshot(world.sg.root, at=issued, expires_at=issued + 7 * DAY)
    raw = bytearray(snapshot.to_json())
    if attack == "flip-a-byte":
        raw[byte % len(raw)] ^= 0x01
        return bytes(raw)
    if attack == "truncate":
        return bytes(raw[: byte % len(raw)])
    if attack == "rollback":  # a fork of the held value's parent: same version, other content
        fork = world.base_registry().update_authority(CN, name=f"fork {byte}")
        return fork.export_snapshot(world.sg.root, at=issued, expires_at=issued + DAY)
    if attack == "zeroed-signature":
        return snapshot.to_dict() | {"signatures": [JWSSignature(
            snapshot.signatures[0].protected_b64, b64url_encode(bytes(64))).to_dict()]}
    if attack == "other-signer":
        return sign(snapshot.payload, world.cn.root, typ=JWSType.SNAPSHOT, signed_at=issued)
    if attack == "edit-payload":
        payload = json.loads(b64url_decode(snapshot.payload_b64))
        payload["registry"]["authorities"][0]["name"] = f"edited {byte}"
        return GeneralJWS(b64url_encode(canonicalize(payload)), snapshot.signatures)
    return snapshot  # "expired": imported after expiry below


ATTACKS = ["flip-a-byte", "truncate", "rollback", "zeroed-signature", "other-signer",
           "edit-payload", "expired"]


@SETTINGS
@given(attack=st.sampled_from(ATTACKS), byte=st.integers(0, 10_000))
def test_a_refused_import_leaves_the_registry_unchanged(world: World, attack: str, byte: int) -> None:
    # "rollback" offers a fork with the held version and other content.
    held = world.base_registry().update_authority(CN, name="held")
    before = copy.deepcopy(held.to_dict())
    offered = _snapshot_attack(world, held, attack, byte)
    at = T0 + 30 * DAY if attack == "expired" else T0 + 11 * DAY
    try:
        imported = held.import_snapshot(offered, at=at)  # type: ignore[arg-type]
    except SnapshotError:
        refused = True
    else:
        refused = False
        assert imported.to_dict() != before
    assert refused, f"{attack} was imported"
    assert held.to_dict() == before


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8),
                                                                      children, max_size=3),
    max_leaves=8,
)


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@SETTINGS
@given(data=st.data())
def test_any_malformed_working_file_is_refused_with_a_trust_error_only(
        world: World, data: st.DataObject) -> None:
    """Foreign exceptions never escape ``from_dict``: every defect is a REGISTRY_INVALID."""
    original = world.base_registry().to_dict()
    mutated = copy.deepcopy(original)
    path = data.draw(st.sampled_from(_paths(mutated)[1:]))
    target = mutated
    for step in path[:-1]:
        target = target[step]  # type: ignore[index]
    target[path[-1]] = data.draw(json_values)  # type: ignore[index]
    try:
        TrustRegistry.from_dict(mutated)
    except TrustError as error:
        assert error.code is ReasonCode.REGISTRY_INVALID
    else:
        assert mutated == original or TrustRegistry.from_dict(mutated).to_dict() == mutated
