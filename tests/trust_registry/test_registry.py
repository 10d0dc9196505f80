"""The registry value: edits and versions, authorities and anchors, the working file."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from protocol.canonical import b64url_decode
from protocol.certificates import (
    fingerprint,
    generate_private_key,
    issue_root,
    issue_rotation_certificate,
)
from protocol.reason_codes import ReasonCode
from tests.trust_registry.conftest import (
    CN,
    COO,
    DAY,
    JP,
    ROOT_NOT_BEFORE,
    SECOND,
    SG,
    SOFTWARE,
    T0,
    World,
)
from trust_registry import (
    AgreementStatus,
    AuthorityId,
    RegistryLimits,
    Revocation,
    RevocationMatch,
    ScopeItem,
    TrustAnchor,
    TrustError,
    TrustRegistry,
)
from trust_registry.model import END_OF_TIME

SCHEMAS = Path(__file__).resolve().parents[2] / "trust_registry" / "schemas"


def _full_registry(world: World) -> TrustRegistry:
    """Every kind of entry: rotation, revocations both ways, proposal, status history."""
    registry = world.base_registry()
    registry = registry.rotate_anchor(CN, new_root=world.rotation.new_root.certificate,
                                      endorsement=world.rotation.endorsement, at=T0 + DAY,
                                      retire_previous_at=T0 + 90 * DAY)
    registry = registry.revoke(CN, Revocation.of_certificate(world.cn.signer.certificate,
                                                             effective_at=T0 + 5 * DAY))
    registry = registry.revoke(JP, Revocation.of_certificate(
        world.jp.signer.certificate, effective_at=T0, match=RevocationMatch.ISSUER_SERIAL))
    registry = registry.add_proposal(world.proposal(world.agreement(
        agreement_id="SG-JP-1", parties=(SG, JP), scope=(_scope_item(SG, JP),))), at=T0)
    registry = world.with_status(registry, AgreementStatus.SUSPENDED, T0 + 10 * DAY)
    return world.with_status(registry, AgreementStatus.IN_FORCE, T0 + 20 * DAY)


def _scope_item(issuer: str, receiver: str) -> ScopeItem:
    return ScopeItem(document_type=COO, issuer=AuthorityId(issuer), receiver=AuthorityId(receiver),
                     recognised_as=COO)


# -- versions and immutability ----------------------------------------------------------------


def test_every_edit_returns_a_new_value_one_version_up(world: World) -> None:
    first = TrustRegistry.create(world.sg.authority())
    assert first.version == 1
    second = first.add_authority(world.cn.authority())
    third = second.update_authority(CN, reliability=SOFTWARE)
    fourth = third.revoke(CN, Revocation.of_certificate(world.cn.signer.certificate,
                                                        effective_at=T0))
    assert [r.version for r in (first, second, third, fourth)] == [1, 2, 3, 4]
    assert list(first.authorities) == [SG]  # never mutated
    assert second.authorities[CN].reliability != SOFTWARE
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.version = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        first.authorities[JP] = world.jp.authority()  # type: ignore[index]


def test_edits_that_change_nothing_return_the_same_value(world: World) -> None:
    registry = world.base_registry()
    revocation = Revocation.of_certificate(world.cn.signer.certificate, effective_at=T0)
    revoked = registry.revoke(CN, revocation)
    assert revoked.revoke(CN, revocation) is revoked
    assert registry.add_authority(registry.authorities[CN]) is registry
    assert registry.update_authority(CN, name=registry.authorities[CN].name) is registry


def test_adding_an_authority_twice_with_other_content_is_a_conflict(world: World) -> None:
    registry = world.base_registry()
    with pytest.raises(TrustError) as caught:
        registry.add_authority(world.cn.authority(name="Someone else"))
    assert caught.value.code is ReasonCode.CONFLICT


def test_unknown_authority_is_named(world: World) -> None:
    with pytest.raises(TrustError) as caught:
        world.base_registry().revoke("KR-CUSTOMS", Revocation.of_certificate(
            world.kr.signer.certificate, effective_at=T0))
    assert caught.value.code is ReasonCode.ISSUER_UNKNOWN


def test_index_is_built_once_per_value(world: World) -> None:
    registry = world.base_registry()
    assert registry.index is registry.index
    updated = registry.update_authority(CN, reliability=SOFTWARE)
    assert updated.index is not registry.index
    assert updated.chain_cache is registry.chain_cache  # content-keyed, safely shared


# -- anchors and rotation ---------------------------------------------------------------------


def test_rotation_endorsed_by_the_current_anchor_is_accepted(world: World) -> None:
    registry = world.base_registry().rotate_anchor(
        CN, new_root=world.rotation.new_root.certificate, endorsement=world.rotation.endorsement,
        at=T0 + DAY, retire_previous_at=T0 + 30 * DAY)
    old, new = registry.authorities[CN].anchors
    assert old.valid_until == T0 + 30 * DAY
    assert new.valid_from == T0 + DAY
    assert new.endorsed_by == old.fingerprint
    assert [a.fingerprint for a in registry.authorities[CN].anchors_valid_at(T0 + 30 * DAY)] == [
        new.fingerprint]
    assert len(registry.authorities[CN].anchors_valid_at(T0 + 30 * DAY - SECOND)) == 2


def test_rotation_without_a_valid_endorsement_is_refused(world: World) -> None:
    registry = world.base_registry()
    # A new root "endorsed" by a rogue root carrying CN's name.
    rogue = issue_rotation_certificate(old_root_key=world.rogue_cn.root_key,
                                       old_root_cert=world.rogue_cn.root_certificate,
                                       new_root_cert=world.rotation.new_root.certificate,
                                       not_before=T0)
    with pytest.raises(TrustError) as caught:
        registry.rotate_anchor(CN, new_root=world.rotation.new_root.certificate, endorsement=rogue,
                               at=T0 + DAY)
    assert caught.value.code is ReasonCode.CHAIN_UNTRUSTED
    # The real endorsement, presented after the old anchor's window closed.
    retired = registry.retire_anchor(CN, fingerprint(world.cn.root_certificate),
                                     valid_until=T0 + DAY)
    with pytest.raises(TrustError) as caught:
        retired.rotate_anchor(CN, new_root=world.rotation.new_root.certificate,
                              endorsement=world.rotation.endorsement, at=T0 + DAY)
    assert caught.value.code is ReasonCode.ANCHOR_NOT_VALID
    # An endorsement of another key.
    other_key = generate_private_key()
    other_root = issue_root(key=other_key, authority_id=CN, country="CN", organisation="x",
                            not_before=T0)
    with pytest.raises(TrustError) as caught:
        registry.rotate_anchor(CN, new_root=other_root, endorsement=world.rotation.endorsement,
                               at=T0 + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_INVALID
    # The new root of another authority.
    with pytest.raises(TrustError) as caught:
        registry.rotate_anchor(JP, new_root=world.rotation.new_root.certificate,
                               endorsement=world.rotation.endorsement, at=T0 + DAY)
    assert caught.value.code is ReasonCode.ISSUER_MISMATCH


def test_a_later_anchor_needs_an_endorsement(world: World) -> None:
    bare = TrustAnchor(certificate=world.rotation.new_root.certificate, valid_from=T0)
    with pytest.raises(TrustError) as caught:
        world.cn.authority(anchors=(*world.cn.authority().anchors, bare))
    assert caught.value.code is ReasonCode.REGISTRY_INVALID


# -- authority rules --------------------------------------------------------------------------


AUTHORITY_DEFECTS = {
    "id-without-country": {"id": "CUSTOMS"},
    "id-of-another-country": {"id": "SG-OTHER"},
    "lower-case-country": {"country": "cn"},
    "empty-name": {"name": ""},
    "bad-role": {"roles": ("Customs Officer",)},
    "role-twice": {"roles": ("customs", "customs")},
    "bad-endpoint": {"endpoints": ("ftp://cn.example",)},
    "no-anchor": {"anchors": ()},
}


@pytest.mark.parametrize("defect", list(AUTHORITY_DEFECTS), ids=str)
def test_authority_defects_are_refused(world: World, defect: str) -> None:
    with pytest.raises(TrustError) as caught:
        world.cn.authority(**AUTHORITY_DEFECTS[defect])
    assert caught.value.code is ReasonCode.REGISTRY_INVALID


def test_anchor_of_another_authority_is_refused(world: World) -> None:
    with pytest.raises(TrustError) as caught:
        world.cn.authority(anchors=(TrustAnchor(certificate=world.jp.root_certificate,
                                                valid_from=T0),))
    assert caught.value.code is ReasonCode.REGISTRY_INVALID


def test_non_root_anchor_is_refused(world: World) -> None:
    with pytest.raises(TrustError) as caught:
        world.cn.authority(anchors=(TrustAnchor(certificate=world.cn.signer.certificate,
                                                valid_from=T0),))
    assert caught.value.code is ReasonCode.REGISTRY_INVALID


def test_node_certificate_must_come_from_the_authoritys_anchor(world: World) -> None:
    with pytest.raises(TrustError) as caught:
        world.cn.authority(node_certificates=(world.rogue_cn.node_certificate,))
    assert caught.value.code is ReasonCode.REGISTRY_INVALID


def test_anchor_window_is_half_open(world: World) -> None:
    anchor = TrustAnchor(certificate=world.cn.root_certificate, valid_from=T0,
                         valid_until=T0 + DAY)
    assert [anchor.is_valid_at(t) for t in (T0 - SECOND, T0, T0 + DAY - SECOND, T0 + DAY)] == [
        False, True, True, False]
    with pytest.raises(TrustError):
        TrustAnchor(certificate=world.cn.root_certificate, valid_from=T0, valid_until=T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        TrustAnchor(certificate=world.cn.root_certificate, valid_from=T0.replace(tzinfo=None))


def test_revocation_names_one_certificate_one_way(world: World) -> None:
    with pytest.raises(TrustError):
        Revocation(effective_at=T0)
    with pytest.raises(TrustError):
        Revocation(effective_at=T0, fingerprint="0" * 64, issuer="CN=x", serial_number=1)
    by_serial = Revocation.of_certificate(world.cn.signer.certificate, effective_at=T0,
                                          match=RevocationMatch.ISSUER_SERIAL)
    assert Revocation.from_dict(by_serial.to_dict()) == by_serial


# -- the working file -------------------------------------------------------------------------


def test_to_dict_round_trips_every_kind_of_entry(world: World) -> None:
    registry = _full_registry(world)
    data = registry.to_dict()
    again = TrustRegistry.from_dict(json.loads(json.dumps(data)))
    assert again == registry
    assert again.to_dict() == data


def test_registry_and_snapshot_match_their_schemas(world: World) -> None:
    registry = _full_registry(world)
    snapshot_schema = json.loads((SCHEMAS / "registry-snapshot-1.0.schema.json").read_text())
    agreement_schema = json.loads((SCHEMAS / "agreement-1.0.schema.json").read_text())
    _validator(snapshot_schema, "registry").validate(registry.to_dict())
    snapshot = registry.export_snapshot(world.sg.root, at=T0, expires_at=T0 + DAY)
    jsonschema.Draft202012Validator(snapshot_schema).validate(
        json.loads(b64url_decode(snapshot.payload_b64)))
    for record in registry.agreements.values():
        jsonschema.Draft202012Validator(agreement_schema).validate(
            json.loads(record.signed.jws.payload))
        for change in record.status_changes:
            _validator(agreement_schema, "statusChange").validate(json.loads(change.jws.payload))


def _validator(schema: dict[str, Any], definition: str) -> jsonschema.Draft202012Validator:
    """A validator for one ``$defs`` entry of ``schema``."""
    return jsonschema.Draft202012Validator(
        {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"})


def _mutations(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    def edit(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
        changed = copy.deepcopy(data)
        target = changed
        for step in path[:-1]:
            target = target[step]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return changed

    authority = data["authorities"][0]
    return {
        "wrong-format": edit(("registryFormat",), "tradeaccord-registry-0.1"),
        "unknown-member": edit(("extra",), True),
        "negative-version": edit(("version",), -1),
        "float-version": edit(("version",), 1.5),
        "owner-not-an-authority": edit(("owner",), "KR-CUSTOMS"),
        "authority-twice": edit(("authorities",), [authority, authority]),
        "missing-revocations": edit(("authorities", 0, "revocations"), _DELETE),
        "wrong-fingerprint": edit(("authorities", 0, "anchors", 0, "fingerprint"), "0" * 64),
        "certificate-not-base64": edit(("authorities", 0, "anchors", 0, "certificate"), "%%%"),
        "unknown-reliability-level": edit(("authorities", 0, "reliability"), {"keyProtection": "x"}),
        "agreement-twice": edit(("agreements",), [data["agreements"][0]] * 2),
        "agreement-not-a-jws": edit(("agreements", 0, "agreement"), {"payload": "e30"}),
        "forged-agreement-signature": edit(
            ("agreements", 0, "agreement", "signatures", 0, "signature"),
            data["agreements"][0]["agreement"]["signatures"][1]["signature"]),
        "status-change-dropped-ordering": edit(
            ("agreements", 0, "statusChanges"),
            list(reversed(data["agreements"][0]["statusChanges"]))),
    }


_DELETE = object()


def test_malformed_working_files_are_refused_as_registry_invalid(world: World) -> None:
    data = _full_registry(world).to_dict()
    for name, mutated in _mutations(data).items():
        with pytest.raises(TrustError) as caught:
            TrustRegistry.from_dict(mutated)
        assert caught.value.code is ReasonCode.REGISTRY_INVALID, name


def test_count_limits_are_checked(world: World) -> None:
    data = world.base_registry().to_dict()
    with pytest.raises(TrustError) as caught:
        TrustRegistry.from_dict(data, limits=RegistryLimits(max_authorities=2))
    assert caught.value.code is ReasonCode.REGISTRY_INVALID


def test_end_of_time_is_later_than_any_certificate(world: World) -> None:
    assert world.cn.root_certificate.not_valid_after_utc < END_OF_TIME
    assert world.cn.authority().anchors[0].valid_from == ROOT_NOT_BEFORE
