"""A two-authority world for the sign and verify benchmarks, built in memory.

SG-CUSTOMS issues certificates of origin (the example document, ``examples/documents``,
with a distinct ``id`` each); CN-CUSTOMS receives them under one agreement signed by both
roots. Keys are Ed25519 (the default algorithm). Times are fixed: nothing reads the clock.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.certificates import generate_private_key, issue_document_signer, issue_root
from protocol.documents import DocumentSchemas
from protocol.jws import JWSType, Signer, add_signature
from trust_registry import (
    Agreement,
    AgreementId,
    Authority,
    AuthorityId,
    DocType,
    ReliabilityProfile,
    TrustAnchor,
    TrustRegistry,
    build_scope,
    propose_agreement,
)

ROOT = Path(__file__).resolve().parents[1]
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SIGNED_AT = T0 + dt.timedelta(days=40)
AT = SIGNED_AT + dt.timedelta(hours=1)
ISSUER = AuthorityId("SG-CUSTOMS")
RECEIVER = AuthorityId("CN-CUSTOMS")
DOC_TYPE = DocType("certificate-of-origin")
PROFILE = ReliabilityProfile.from_dict({"keyProtection": "hsm", "signerIdentityProofing": "high",
                                        "timeSource": "ntp"})


@dataclass(frozen=True)
class World:
    registry: TrustRegistry
    signer: Signer
    schemas: DocumentSchemas
    template: dict[str, Any]

    def document(self, number: int) -> dict[str, Any]:
        """The example certificate of origin with a distinct id."""
        return {**self.template, "id": f"SG-COO-2026-{number:08d}"}


def _root(authority_id: AuthorityId) -> tuple[Signer, Authority]:
    key = generate_private_key()
    certificate = issue_root(key=key, authority_id=authority_id, country=authority_id[:2],
                             organisation=f"{authority_id} Authority", not_before=T0)
    authority = Authority(id=authority_id, country=authority_id[:2], name=str(authority_id),
                          anchors=(TrustAnchor(certificate=certificate, valid_from=T0),),
                          reliability=PROFILE, roles=("customs", "origin"))
    return Signer(key, (certificate,)), authority


def build_world() -> World:
    sg_root, sg = _root(ISSUER)
    cn_root, cn = _root(RECEIVER)
    registry = TrustRegistry.create(cn).add_authority(sg)
    agreement = Agreement(
        agreement_id=AgreementId("SG-CN-COO-2026"), parties=(ISSUER, RECEIVER),
        legal_reference="Benchmark arrangement", valid_from=T0 + dt.timedelta(days=2),
        valid_until=None,
        scope=build_scope(proposer=ISSUER, partner=RECEIVER, document_types=[DOC_TYPE]))
    proposal = propose_agreement(agreement, sg_root, signed_at=T0 + dt.timedelta(days=1))
    signed = add_signature(proposal, cn_root, typ=JWSType.AGREEMENT,
                           signed_at=T0 + dt.timedelta(days=1, hours=1))
    registry = registry.add_agreements([signed], at=T0 + dt.timedelta(days=2))
    signer_key = generate_private_key()
    signer_cert = issue_document_signer(root_key=sg_root.key, root_cert=sg_root.certificate,
                                        public_key=signer_key.public_key(), not_before=T0)
    template = json.loads((ROOT / "examples" / "documents" / "certificate-of-origin.json")
                          .read_text("utf-8"))
    template["issuedAt"] = "2026-02-09T00:00:00Z"
    # The example names the chamber (SG-CHAMBER) as its issuer; here SG-CUSTOMS issues it.
    template["issuer"] = str(ISSUER)
    return World(registry=registry, signer=Signer(signer_key, (signer_cert,)),
                 schemas=DocumentSchemas.load(), template=template)
