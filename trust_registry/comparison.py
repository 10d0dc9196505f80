"""Compare what two partners believe: a partner's published snapshot against our registry.

``partner_view(snapshot, held=…, partner=…, at=…)`` verifies a snapshot the partner's node
publishes (``/.well-known/tradeaccord/registry``): signed by one of the partner's roots that
*our* registry holds, valid at ``at``, not expired, of the partner's registry; it returns the
partner's registry, re-verified. ``compare_agreements`` lists, for every agreement between
the two, how each side holds it (missing, proposed, in force, suspended, terminated) at
``at``, and whether they agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from protocol.certificates import CertUsage
from protocol.errors import ProtocolError
from protocol.jws import GeneralJWS, JWSType, verify
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from protocol.timeutil import parse_time, require_aware
from trust_registry.errors import SnapshotError
from trust_registry.registry import TrustRegistry


def partner_view(snapshot: bytes, *, held: TrustRegistry, partner: str,
                 at: dt.datetime) -> TrustRegistry:
    """The partner's registry from its signed snapshot (module docstring); SnapshotError."""
    require_aware(at, "at")
    authority = held.authorities.get(partner)  # type: ignore[call-overload]
    if authority is None:
        raise SnapshotError(ReasonCode.REGISTRY_SIGNER_UNTRUSTED,
                            f"{partner} is not in this registry")
    roots = [anchor.certificate for anchor in authority.anchors_valid_at(at)]
    try:
        jws = GeneralJWS.parse(snapshot)
        verified = verify(jws, typ=JWSType.SNAPSHOT, anchors=roots, at=at,
                          usage=CertUsage.ROOT_SIGNING)
        payload = parse_json(verified.payload, max_bytes=256 * 1024 * 1024)
    except ProtocolError as exc:
        raise SnapshotError(ReasonCode.REGISTRY_SIGNATURE_INVALID,
                            f"the snapshot of {partner}: {exc.code.value}: {exc.message}"
                            ) from exc
    if not isinstance(payload, Mapping) or payload.get("owner") != partner:
        raise SnapshotError(ReasonCode.REGISTRY_INVALID, f"not a snapshot of {partner}'s registry")
    try:
        if parse_time(payload["expiresAt"]) <= at:
            raise SnapshotError(ReasonCode.REGISTRY_EXPIRED, "the snapshot has expired")
        return TrustRegistry.from_dict(payload["registry"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(ReasonCode.REGISTRY_INVALID, f"snapshot payload: {exc}") from exc


def _state(registry: TrustRegistry, agreement_id: str, at: dt.datetime) -> str:
    record = registry.agreements.get(agreement_id)  # type: ignore[call-overload]
    if record is None:
        return "missing"
    if not record.is_dual_signed:
        return "proposed"
    return str(record.status_at(at).value)


def compare_agreements(ours: TrustRegistry, theirs: TrustRegistry, *,
                       at: dt.datetime) -> list[dict[str, Any]]:
    """Per agreement between the two owners: each side's state at ``at`` and ``agree``."""
    both = {ours.owner, theirs.owner}
    ids = sorted({str(agreement_id) for registry in (ours, theirs)
                  for agreement_id, record in registry.agreements.items()
                  if both <= set(record.agreement.parties)})
    rows = []
    for agreement_id in ids:
        mine, partner = _state(ours, agreement_id, at), _state(theirs, agreement_id, at)
        rows.append({"agreementId": agreement_id, "ours": mine, "theirs": partner,
                     "agree": mine == partner})
    return rows
