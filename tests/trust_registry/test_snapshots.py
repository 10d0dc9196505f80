"""Signed registry snapshots: export, import, and the attacks import must refuse."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from protocol.canonical import b64url_decode, b64url_encode, canonicalize
from protocol.certificates import fingerprint, generate_private_key, issue_root
from protocol.jws import GeneralJWS, JWSSignature, JWSType, sign
from protocol.reason_codes import ReasonCode
from tests.trust_registry.conftest import CN, DAY, SECOND, SG, SOFTWARE, T0, World
from trust_registry import SnapshotError, TrustAnchor, TrustError, TrustRegistry

ISSUED = T0 + 10 * DAY
EXPIRES = T0 + 17 * DAY


def _held_and_newer(world: World) -> tuple[TrustRegistry, TrustRegistry]:
    held = world.base_registry()
    newer = held.update_authority(CN, reliability=SOFTWARE).update_authority(CN, name="GACC")
    return held, newer


def _resign(world: World, payload: dict[str, object], signer: object | None = None) -> GeneralJWS:
    return sign(canonicalize(payload), signer or world.sg.root,  # type: ignore[arg-type]
                typ=JWSType.SNAPSHOT, signed_at=ISSUED)


def test_import_of_a_newer_snapshot_returns_the_newer_value(world: World) -> None:
    held, newer = _held_and_newer(world)
    snapshot = newer.export_snapshot(world.sg.root, at=ISSUED, expires_at=EXPIRES)
    imported = held.import_snapshot(snapshot.to_json(), at=ISSUED + DAY)
    assert imported == newer
    assert imported.version == newer.version
    assert held.version == newer.version - 2  # the held value is untouched
    # The same snapshot again: nothing to do.
    assert imported.import_snapshot(snapshot, at=ISSUED + DAY) is imported


def test_bootstrap_from_a_snapshot_and_a_root_obtained_out_of_band(world: World) -> None:
    registry = world.base_registry()
    snapshot = registry.export_snapshot(world.sg.root, at=ISSUED, expires_at=EXPIRES)
    loaded = TrustRegistry.from_snapshot(snapshot.to_dict(),
                                         trusted_root=world.sg.root_certificate, at=ISSUED)
    assert loaded == registry
    with pytest.raises(SnapshotError) as caught:
        TrustRegistry.from_snapshot(snapshot, trusted_root=world.cn.root_certificate, at=ISSUED)
    assert caught.value.code is ReasonCode.REGISTRY_SIGNER_UNTRUSTED


def test_rejects_registry_rollback(world: World) -> None:
    held, newer = _held_and_newer(world)
    old_snapshot = held.export_snapshot(world.sg.root, at=ISSUED, expires_at=EXPIRES)
    with pytest.raises(SnapshotError) as caught:
        newer.import_snapshot(old_snapshot, at=ISSUED + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_ROLLBACK


def test_rejects_equal_version_with_other_content(world: World) -> None:
    held = world.base_registry()
    fork = held.update_authority(CN, reliability=SOFTWARE)
    other_fork = held.update_authority(CN, name="Another change")
    assert fork.version == other_fork.version
    snapshot = other_fork.export_snapshot(world.sg.root, at=ISSUED, expires_at=EXPIRES)
    with pytest.raises(SnapshotError) as caught:
        fork.import_snapshot(snapshot, at=ISSUED + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_ROLLBACK


@pytest.mark.parametrize(("at", "refused"), [
    (EXPIRES - SECOND, False),
    (EXPIRES, True),
    (EXPIRES + SECOND, True),
], ids=["expiry-1s", "at-expiry", "expiry+1s"])
def test_rejects_expired_snapshot_freeze(world: World, at: dt.datetime, refused: bool) -> None:
    held, newer = _held_and_newer(world)
    snapshot = newer.export_snapshot(world.sg.root, at=ISSUED, expires_at=EXPIRES)
    if not refused:
        assert held.import_snapshot(snapshot, at=at).version == newer.version
        return
    with pytest.raises(SnapshotError) as caught:
        held.import_snapshot(snapshot, at=at)
    assert caught.value.code is ReasonCode.REGISTRY_EXPIRED


def test_rejects_forged_snapshot_signature(world: World) -> None:
    held, newer = _held_and_newer(world)
    snapshot = newer.export_snapshot(world.sg.root, at=ISSUED, expires_at=EXPIRES)
    # The attacker edits the content (adds an anchor of its choosing would be the goal) and
    # keeps the owner's signature.
    payload = json.loads(b64url_decode(snapshot.payload_b64))
    payload["version"] += 100
    payload["registry"]["version"] += 100
    forged = GeneralJWS(b64url_encode(canonicalize(payload)), snapshot.signatures)
    with pytest.raises(SnapshotError) as caught:
        held.import_snapshot(forged, at=ISSUED + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_SIGNATURE_INVALID
    # A signature of the right length and form that does not verify.
    zeroed = GeneralJWS(snapshot.payload_b64, (JWSSignature(
        snapshot.signatures[0].protected_b64, b64url_encode(bytes(64))),))
    with pytest.raises(SnapshotError) as caught:
        held.import_snapshot(zeroed, at=ISSUED + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_SIGNATURE_INVALID


def test_rejects_snapshot_without_signature(world: World) -> None:
    held, newer = _held_and_newer(world)
    snapshot = newer.export_snapshot(world.sg.root, at=ISSUED, expires_at=EXPIRES)
    with pytest.raises(SnapshotError) as caught:
        held.import_snapshot({"payload": snapshot.payload_b64, "signatures": []}, at=ISSUED)
    assert caught.value.code is ReasonCode.REGISTRY_INVALID


def test_rejects_snapshot_signed_by_other_authority(world: World) -> None:
    held, newer = _held_and_newer(world)
    payload = json.loads(b64url_decode(newer.export_snapshot(
        world.sg.root, at=ISSUED, expires_at=EXPIRES).payload_b64))
    # CN's root signs SG's registry content, verbatim.
    with pytest.raises(SnapshotError) as caught:
        held.import_snapshot(_resign(world, payload, world.cn.root), at=ISSUED + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_SIGNER_UNTRUSTED
    # A rogue root carrying SG's own name.
    rogue = world.rogue_cn  # any root not anchored for SG
    with pytest.raises(SnapshotError) as caught:
        held.import_snapshot(_resign(world, payload, rogue.root), at=ISSUED + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_SIGNER_UNTRUSTED
    # CN's own registry, signed by CN: not the registry this node holds.
    cn_registry = TrustRegistry.create(world.cn.authority()).add_authority(world.sg.authority())
    cn_registry = cn_registry.update_authority(SG, name="x").update_authority(SG, name="y")
    with pytest.raises(SnapshotError) as caught:
        held.import_snapshot(cn_registry.export_snapshot(world.cn.root, at=ISSUED,
                                                         expires_at=EXPIRES), at=ISSUED + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_SIGNER_UNTRUSTED


def test_rejects_snapshot_signed_by_a_document_signer_of_the_owner(world: World) -> None:
    held, newer = _held_and_newer(world)
    payload = json.loads(b64url_decode(newer.export_snapshot(
        world.sg.root, at=ISSUED, expires_at=EXPIRES).payload_b64))
    with pytest.raises(SnapshotError) as caught:
        held.import_snapshot(_resign(world, payload, world.sg.signer), at=ISSUED + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_SIGNER_UNTRUSTED


def test_rejects_snapshot_signed_by_a_retired_owner_root(world: World) -> None:
    held = world.base_registry().retire_anchor(SG, fingerprint(world.sg.root_certificate),
                                               valid_until=ISSUED)
    snapshot_payload = held.update_authority(CN, name="x").to_dict()
    payload = {"snapshotVersion": 1, "owner": SG, "version": held.version + 1,
               "issuedAt": "2026-01-11T00:00:00Z", "expiresAt": "2026-01-18T00:00:00Z",
               "registry": snapshot_payload}
    with pytest.raises(SnapshotError) as caught:
        held.import_snapshot(_resign(world, payload), at=ISSUED + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_SIGNER_UNTRUSTED


def test_rejects_a_snapshot_typed_as_an_agreement(world: World) -> None:
    held, newer = _held_and_newer(world)
    snapshot = newer.export_snapshot(world.sg.root, at=ISSUED, expires_at=EXPIRES)
    retyped = sign(snapshot.payload, world.sg.root, typ=JWSType.AGREEMENT, signed_at=ISSUED)
    with pytest.raises(SnapshotError) as caught:
        held.import_snapshot(retyped, at=ISSUED + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_SIGNATURE_INVALID
    assert ReasonCode.TYP_MISMATCH in caught.value.codes


@pytest.mark.parametrize("defect", [
    "unknown-member", "missing-member", "snapshot-version-2", "owner-mismatch",
    "inner-version-mismatch", "expires-before-issued", "registry-content-invalid",
])
def test_rejects_malformed_snapshot_content(world: World, defect: str) -> None:
    held, newer = _held_and_newer(world)
    payload = json.loads(b64url_decode(newer.export_snapshot(
        world.sg.root, at=ISSUED, expires_at=EXPIRES).payload_b64))
    if defect == "unknown-member":
        payload["note"] = "x"
    elif defect == "missing-member":
        del payload["issuedAt"]
    elif defect == "snapshot-version-2":
        payload["snapshotVersion"] = 2
    elif defect == "owner-mismatch":
        payload["owner"] = CN
    elif defect == "inner-version-mismatch":
        payload["registry"]["version"] += 1
    elif defect == "expires-before-issued":
        payload["expiresAt"] = "2026-01-01T00:00:00Z"
    else:
        payload["registry"]["authorities"][0]["anchors"][0]["fingerprint"] = "0" * 64
    with pytest.raises(SnapshotError) as caught:
        held.import_snapshot(_resign(world, payload), at=ISSUED + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_INVALID


def test_rejects_a_snapshot_whose_registry_drops_its_signer(world: World) -> None:
    held = world.authorities_registry()
    # Signed by the held owner root, but the content anchors SG at another root only.
    other_root = issue_root(key=generate_private_key(), authority_id=SG, country="SG",
                            organisation="SG-CUSTOMS authority", not_before=T0 - DAY)
    content = held.update_authority(SG, node_certificates=()).to_dict()
    sg_entry = next(a for a in content["authorities"] if a["id"] == SG)
    sg_entry["anchors"] = [TrustAnchor(certificate=other_root, valid_from=T0).to_dict()]
    content["version"] = held.version + 1
    payload = {"snapshotVersion": 1, "owner": SG, "version": content["version"],
               "issuedAt": "2026-01-11T00:00:00Z", "expiresAt": "2026-01-18T00:00:00Z",
               "registry": content}
    with pytest.raises(SnapshotError) as caught:
        held.import_snapshot(_resign(world, payload), at=ISSUED + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_SIGNER_UNTRUSTED


def test_export_needs_a_current_owner_root(world: World) -> None:
    registry = world.base_registry()
    for signer in (world.cn.root, world.rogue_cn.root):
        with pytest.raises(TrustError) as caught:
            registry.export_snapshot(signer, at=ISSUED, expires_at=EXPIRES)
        assert caught.value.code is ReasonCode.REGISTRY_SIGNER_UNTRUSTED
    with pytest.raises(ValueError, match="later"):
        registry.export_snapshot(world.sg.root, at=ISSUED, expires_at=ISSUED)
    with pytest.raises(ValueError, match="root Signer"):
        registry.export_snapshot(world.sg.signer, at=ISSUED, expires_at=EXPIRES)
