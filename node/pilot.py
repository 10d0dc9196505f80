"""Standing up a pilot network: authorities, their registries and dual-signed agreements.

Used by ``tradeaccord demo``, the examples, the benchmarks and the integration tests, so
that all of them build networks the way an operator would: each authority generates its
own keys; each registry holds its partners' anchors, node certificates and endpoints; each
agreement is proposed by one root and countersigned by the other.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from node.authority import AuthorityDirectory, write_atomic
from node.bootstrap import authority_record, initial_registry
from protocol.jws import GeneralJWS
from trust_registry import (
    Agreement,
    AgreementId,
    AuthorityId,
    Direction,
    DocType,
    ReliabilityProfile,
    TrustRegistry,
    build_scope,
    countersign_agreement,
    propose_agreement,
)


@dataclass(frozen=True, slots=True)
class AuthoritySpec:
    """An authority of a pilot network. ``serve`` false: it signs offline (its directory
    and registry entry exist) but runs no node."""

    authority_id: str
    country: str
    name: str
    roles: tuple[str, ...] = ("customs",)
    serve: bool = True


@dataclass(frozen=True, slots=True)
class AgreementSpec:
    """A bilateral agreement: ``proposer`` signs first, ``partner`` countersigns."""

    agreement_id: str
    proposer: str
    partner: str
    document_types: tuple[str, ...]
    recognised_as: tuple[str, ...] = ()
    mapping_ids: tuple[str | None, ...] = ()
    direction: Direction = Direction.BOTH
    legal_reference: str = "Framework Agreement on Facilitation of Cross-border Paperless " \
        "Trade in Asia and the Pacific (2016), art. 8; pilot arrangement"
    minimum_reliability: Mapping[str, str] = field(default_factory=dict)


def make_agreement(proposer: AuthorityDirectory, partner: AuthorityDirectory, spec: AgreementSpec,
                   *, at: dt.datetime, passphrases: Mapping[str, bytes | None]) -> GeneralJWS:
    """The agreement of ``spec``, signed by both roots (valid from ``at`` − 1 minute)."""
    scope = build_scope(
        proposer=AuthorityId(spec.proposer), partner=AuthorityId(spec.partner),
        document_types=[DocType(t) for t in spec.document_types],
        recognised_as=[DocType(t) for t in spec.recognised_as],
        mapping_ids=list(spec.mapping_ids), direction=spec.direction,
        minimum_reliability=ReliabilityProfile.from_dict(spec.minimum_reliability))
    agreement = Agreement(
        agreement_id=AgreementId(spec.agreement_id),
        parties=(AuthorityId(spec.proposer), AuthorityId(spec.partner)),
        legal_reference=spec.legal_reference, valid_from=at - dt.timedelta(minutes=1),
        valid_until=None, scope=scope)
    proposal = propose_agreement(
        agreement, proposer.root_signer(passphrases.get(proposer.authority_id)), signed_at=at)
    return countersign_agreement(
        proposal, partner.root_signer(passphrases.get(partner.authority_id)), signed_at=at)


def setup_network(base: Path, authorities: Sequence[AuthoritySpec], urls: Mapping[str, str],
                  agreements: Sequence[AgreementSpec], *, at: dt.datetime,
                  passphrases: Mapping[str, bytes | None] | None = None,
                  ) -> dict[str, AuthorityDirectory]:
    """Create one authority directory per spec under ``base`` with a ``registry.json``
    holding every authority of the network and every agreement it is party to."""
    passphrases = dict(passphrases or {})
    directories = {
        spec.authority_id: AuthorityDirectory.create(
            base / spec.authority_id, authority_id=spec.authority_id, country=spec.country,
            name=spec.name, roles=spec.roles, passphrase=passphrases.get(spec.authority_id),
            at=at - dt.timedelta(minutes=10))
        for spec in authorities
    }
    signed = [make_agreement(directories[s.proposer], directories[s.partner], s, at=at,
                             passphrases=passphrases) for s in agreements]
    for authority_id, directory in directories.items():
        registry = initial_registry(directory, endpoint=urls.get(authority_id))
        for other_id, other in directories.items():
            if other_id != authority_id:
                registry = registry.add_authority(authority_record(other,
                                                                   endpoint=urls.get(other_id)))
        mine = [jws for jws, spec in zip(signed, agreements, strict=True)
                if authority_id in (spec.proposer, spec.partner)]
        if mine:
            registry = registry.add_agreements(mine, at=at)
        write_registry(directory.registry_path, registry)
    return directories


def write_registry(path: Path, registry: TrustRegistry) -> None:
    write_atomic(path, (json.dumps(registry.to_dict(), indent=2, sort_keys=True) + "\n").encode())
