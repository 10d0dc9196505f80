"""Attacks on the registry and agreement operations (``/v1/registry/…`` at SG-CUSTOMS).

Signed statements that are forged, tampered, about another agreement, signed by a look-alike
or an unknown authority; snapshots rolled back, expired or signed by someone else; and
callers without the operator role. Each is refused with its exact code and leaves the
registry (every version), the audit chain and everything else stored as it was.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from node.bootstrap import authority_record, initial_registry
from protocol.canonical import canonicalize
from protocol.jws import GeneralJWS, JWSType, sign
from protocol.timeutil import format_time, utc_now
from tests.adversarial.corpus import (
    AGREEMENT_ID,
    CN_ID,
    DAY,
    SG_ID,
    Attack,
    Request,
    World,
    as_json,
    flip,
    ids,
    rewrite,
    run_attack,
)
from trust_registry import (
    Agreement,
    AgreementId,
    AgreementStatus,
    AuthorityId,
    DocType,
    TrustRegistry,
    build_scope,
    countersign_agreement,
    propose_agreement,
    sign_status_change,
)

REGISTRY = "/v1/registry"
STATUS = f"{REGISTRY}/agreements/{AGREEMENT_ID}/status"


def _op(path: str, body: bytes | None, caller: str | None = "operator") -> Request:
    return Request(SG_ID, "POST", path, caller=caller, body=body)


def _registry(world: World) -> TrustRegistry:
    return world.net[SG_ID].ctx.registry.current()


def _status_change(world: World, signer_of: str = "sg", **changes: Any) -> bytes:
    record = _registry(world).agreement(AGREEMENT_ID)
    signer = {"sg": world.sg, "cn": world.cn, "impostor": world.impostor}[signer_of]
    return sign_status_change(record.signed, signer.root_signer(None),
                              status=AgreementStatus.SUSPENDED, effective_at=utc_now(),
                              signed_at=utc_now(), **changes).to_json()


def _status_change_by_outsider(world: World) -> bytes:
    """JP's root signs a suspension of SG and CN's agreement, naming itself as the party."""
    record = _registry(world).agreement(AGREEMENT_ID)
    payload = {"agreementFormat": "tradeaccord-agreement-status-1.0",
               "agreementId": AGREEMENT_ID, "agreementSha256": record.signed.sha256,
               "status": "suspended", "effectiveAt": format_time(utc_now()),
               "party": "JP-CUSTOMS", "reason": ""}
    return sign(canonicalize(payload), world.jp.root_signer(None), typ=JWSType.AGREEMENT,
                signed_at=utc_now()).to_json()


def _agreement(partner: str = "CN-CUSTOMS", agreement_id: str = "SG-CN-PHYTO-2027",
               proposer: str = SG_ID) -> Agreement:
    scope = build_scope(proposer=AuthorityId(proposer), partner=AuthorityId(partner),
                        document_types=[DocType("phytosanitary-certificate")])
    return Agreement(agreement_id=AgreementId(agreement_id),
                     parties=(AuthorityId(proposer), AuthorityId(partner)),
                     legal_reference="pilot", valid_from=utc_now() - dt.timedelta(minutes=1),
                     valid_until=None, scope=scope)


def _proposal(world: World, signer_of: str = "sg", **kwargs: Any) -> GeneralJWS:
    signer = {"sg": world.sg, "cn": world.cn, "impostor": world.impostor, "jp": world.jp}
    return propose_agreement(_agreement(**kwargs), signer[signer_of].root_signer(None),
                             signed_at=utc_now())


def _dual(world: World, proposer: str, countersigner: str, **kwargs: Any) -> bytes:
    signer = {"sg": world.sg, "cn": world.cn, "impostor": world.impostor, "jp": world.jp}
    return countersign_agreement(_proposal(world, proposer, **kwargs),
                                 signer[countersigner].root_signer(None),
                                 signed_at=utc_now()).to_json()


def _snapshot(world: World, signer_of: str = "sg", *, version_delta: int = 0,
              at: dt.datetime | None = None, expires_in: dt.timedelta = DAY) -> bytes:
    signer = {"sg": world.sg, "cn": world.cn, "impostor": world.impostor}[signer_of]
    # Each signer exports a registry it owns (the exporter refuses any other root).
    registry = _registry(world) if signer_of == "sg" else (
        world.net[CN_ID].ctx.registry.current() if signer_of == "cn"
        else initial_registry(world.impostor, endpoint=None))
    if version_delta:
        registry = TrustRegistry.from_dict({
            **registry.to_dict(), "version": _registry(world).version + version_delta})
    when = at or utc_now()
    return registry.export_snapshot(signer.root_signer(None), at=when,
                                    expires_at=when + expires_in).to_json()


def _authority(world: World, **changes: Any) -> bytes:
    record = authority_record(world.jp).to_dict()
    record.update(changes)
    return as_json(record)


def _sg_authority_again(world: World) -> bytes:
    return as_json(authority_record(world.impostor).to_dict())


def _status_flipped(world: World) -> bytes:
    return rewrite(_status_change(world), lambda d: d["signatures"][0].update(
        signature=flip(d["signatures"][0]["signature"])))


CASES: tuple[Attack, ...] = (
    # -- status changes
    Attack("status-change-signed-for-another-agreement-uploaded-under-this-id",
           lambda w: _op(f"{REGISTRY}/agreements/SG-JP-COO-2026/status", _status_change(w)),
           400, "REQUEST_INVALID"),
    Attack("status-change-signed-by-look-alike-root",
           lambda w: _op(STATUS, _status_change(w, "impostor")), 400,
           "AGREEMENT_INVALID", "CHAIN_UNTRUSTED"),
    Attack("status-change-signed-by-non-party-authority",
           lambda w: _op(STATUS, _status_change_by_outsider(w)), 400, "AGREEMENT_INVALID"),
    Attack("status-change-signature-byte-changed", lambda w: _op(STATUS, _status_flipped(w)),
           400, "AGREEMENT_INVALID", "SIGNATURE_INVALID"),
    Attack("status-change-for-unknown-agreement",
           lambda w: _op(f"{REGISTRY}/agreements/NO-SUCH-2026/status",
                         as_json({"status": "suspended"})), 400, "NO_AGREEMENT"),
    # -- agreements and proposals
    Attack("agreement-with-one-signature-activated",
           lambda w: _op(f"{REGISTRY}/agreements", _proposal(w).to_json()), 422,
           "AGREEMENT_SIGNATURE_MISSING"),
    Attack("agreement-countersigned-by-look-alike-of-proposer",
           lambda w: _op(f"{REGISTRY}/agreements", _dual(w, "impostor", "cn")), 400,
           "AGREEMENT_INVALID", "CHAIN_UNTRUSTED"),
    Attack("agreement-with-unknown-authority",
           lambda w: _op(f"{REGISTRY}/agreements",
                         _dual(w, "sg", "jp", partner="JP-CUSTOMS",
                               agreement_id="SG-JP-COO-2027")), 400, "AGREEMENT_INVALID",
           "ISSUER_UNKNOWN"),
    Attack("agreement-payload-changed-after-signing",
           lambda w: _op(f"{REGISTRY}/agreements", rewrite(
               _dual(w, "sg", "cn"), lambda d: d.update(payload=flip(d["payload"], 30)))),
           400, "AGREEMENT_INVALID"),
    Attack("proposal-signed-by-look-alike-root",
           lambda w: _op(f"{REGISTRY}/proposals", _proposal(w, "impostor").to_json()), 400,
           "AGREEMENT_INVALID", "CHAIN_UNTRUSTED"),
    Attack("countersign-unknown-agreement",
           lambda w: _op(f"{REGISTRY}/agreements/NO-SUCH-2026/countersign", None), 400,
           "NO_AGREEMENT"),
    # -- snapshots
    Attack("snapshot-rollback-to-older-version",
           lambda w: _op(f"{REGISTRY}/snapshots", _snapshot(w, version_delta=-1)), 409,
           "REGISTRY_ROLLBACK"),
    Attack("snapshot-expired",
           lambda w: _op(f"{REGISTRY}/snapshots", _snapshot(
               w, at=utc_now() - dt.timedelta(minutes=2), expires_in=dt.timedelta(minutes=1))),
           400, "REGISTRY_EXPIRED"),
    Attack("snapshot-signed-by-partner-root",
           lambda w: _op(f"{REGISTRY}/snapshots", _snapshot(w, "cn", version_delta=1)), 400,
           "REGISTRY_SIGNER_UNTRUSTED"),
    Attack("snapshot-signed-by-look-alike-root",
           lambda w: _op(f"{REGISTRY}/snapshots", _snapshot(w, "impostor", version_delta=1)),
           400, "REGISTRY_SIGNER_UNTRUSTED"),
    Attack("snapshot-signature-byte-changed",
           lambda w: _op(f"{REGISTRY}/snapshots", rewrite(
               _snapshot(w, version_delta=1), lambda d: d["signatures"][0].update(
                   signature=flip(d["signatures"][0]["signature"])))), 400,
           "REGISTRY_SIGNATURE_INVALID"),
    # -- authorities
    Attack("authority-anchor-not-base64",
           lambda w: _op(f"{REGISTRY}/authorities", _authority(w, anchors=[
               {"certificate": "MIIB\u00e9", "validFrom": format_time(utc_now()),
                "validUntil": None}])), 400, "REGISTRY_INVALID"),
    Attack("authority-without-anchors",
           lambda w: _op(f"{REGISTRY}/authorities", _authority(w, anchors=[])), 400,
           "REGISTRY_INVALID"),
    Attack("authority-id-already-held-by-look-alike",
           lambda w: _op(f"{REGISTRY}/authorities", _sg_authority_again(w)), 409, "CONFLICT"),
    # -- callers
    Attack("trader-imports-snapshot",
           lambda w: _op(f"{REGISTRY}/snapshots", _snapshot(w, version_delta=1), "trader"), 403,
           "FORBIDDEN"),
    Attack("officer-suspends-agreement",
           lambda w: _op(STATUS, as_json({"status": "suspended"}), "officer"), 403, "FORBIDDEN"),
    Attack("anonymous-adds-authority",
           lambda w: _op(f"{REGISTRY}/authorities", _authority(w), None), 401, "AUTH_REQUIRED"),
)


@pytest.mark.parametrize("attack", CASES, ids=ids(CASES))
def test_registry_operation_refused(world: World, attack: Attack) -> None:
    run_attack(world, attack)

