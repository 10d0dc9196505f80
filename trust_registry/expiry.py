"""What in a registry expires soon: agreements, trust anchors, root and node certificates.

``expiring(registry, at=…, within=…)`` lists, soonest first, every agreement whose validity
window ends, every trust anchor whose registered window or certificate ends, and every node
certificate that expires, within ``within`` of ``at`` (things already expired at ``at`` are
listed with a negative ``days_left``: they still need the operator). Pure; the node shows the
list in ``GET /v1/registry``, a metric and ``tradeaccord registry show``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from protocol.timeutil import format_time, require_aware
from trust_registry.registry import TrustRegistry


class ExpiringKind(StrEnum):
    AGREEMENT = "agreement"
    ANCHOR = "anchor"
    NODE_CERTIFICATE = "node-certificate"


@dataclass(frozen=True, slots=True)
class ExpiryWarning:
    kind: ExpiringKind
    subject: str  # agreement id, or authority id and certificate fingerprint
    authority: str
    expires_at: dt.datetime
    days_left: float

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "subject": self.subject, "authority": self.authority,
                "expiresAt": format_time(self.expires_at),
                "daysLeft": round(self.days_left, 1)}


def expiring(registry: TrustRegistry, *, at: dt.datetime,
             within: dt.timedelta) -> list[ExpiryWarning]:
    """Everything that ends before ``at + within`` (see the module docstring)."""
    require_aware(at, "at")
    horizon = at + within
    found: list[ExpiryWarning] = []

    def add(kind: ExpiringKind, subject: str, authority: str, end: dt.datetime) -> None:
        if end <= horizon:
            found.append(ExpiryWarning(kind, subject, authority, end,
                                       (end - at).total_seconds() / 86400))

    for agreement_id, record in registry.agreements.items():
        until = record.agreement.valid_until
        if until is not None:
            add(ExpiringKind.AGREEMENT, str(agreement_id), " – ".join(record.agreement.parties),
                until)
    for authority_id, authority in registry.authorities.items():
        for anchor in authority.anchors:
            ends = [anchor.certificate.not_valid_after_utc]
            if anchor.valid_until is not None:
                ends.append(anchor.valid_until)
            add(ExpiringKind.ANCHOR, f"{authority_id} root {anchor.fingerprint[:16]}",
                str(authority_id), min(ends))
        for certificate in authority.node_certificates:
            add(ExpiringKind.NODE_CERTIFICATE,
                f"{authority_id} node {certificate.serial_number:x}"[:64], str(authority_id),
                certificate.not_valid_after_utc)
    return sorted(found, key=lambda warning: warning.expires_at)
