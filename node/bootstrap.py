"""Registry entries for an authority directory: what ``node init`` and the demo write.

An authority's registry entry holds its root as the initial trust anchor (valid from the
root's notBefore), its node certificate (envelopes and receipts), its endpoint and the
reliability profile it declares. The default profile describes what this software does:
keys encrypted at rest (or plain, for throw-away authorities), a hash-chained audit log,
the system clock kept by NTP, revocation published through the registry. Operators declare
more (HSM, externally audited) only when it is true.
"""

from __future__ import annotations

from node.authority import AuthorityDirectory
from trust_registry import Authority, AuthorityId, ReliabilityProfile, TrustAnchor, TrustRegistry


def default_reliability(directory: AuthorityDirectory) -> ReliabilityProfile:
    return ReliabilityProfile.from_dict({
        "signerIdentityProofing": "substantial",
        "keyProtection": "software" if directory.plaintext_keys else "software-encrypted",
        "auditAndRetention": "hash-chained-log",
        "timeSource": "ntp",
        "revocationPractice": "registry-published",
    })


def authority_record(directory: AuthorityDirectory, *, endpoint: str | None = None,
                     reliability: ReliabilityProfile | None = None) -> Authority:
    """The registry entry for the authority in ``directory``."""
    root = directory.root_certificate
    return Authority(
        id=AuthorityId(directory.authority_id),
        country=directory.country,
        name=directory.name,
        roles=directory.roles,
        anchors=(TrustAnchor(certificate=root, valid_from=root.not_valid_before_utc),),
        endpoints=(endpoint,) if endpoint else (),
        node_certificates=(directory.node_certificate,),
        reliability=reliability or default_reliability(directory),
    )


def initial_registry(directory: AuthorityDirectory, *, endpoint: str | None = None
                     ) -> TrustRegistry:
    """A registry owned by and holding this authority (version 1)."""
    return TrustRegistry.create(authority_record(directory, endpoint=endpoint))
