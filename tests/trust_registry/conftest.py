"""Keys, certificates and registry builders shared by the trust registry tests.

Keys are generated once per session. Times are fixed (``T0`` and offsets from it), never
read from the clock. ``World`` builds registries and signed documents on demand.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509

from protocol.canonical import canonicalize
from protocol.certificates import (
    PrivateKey,
    generate_private_key,
    issue_document_signer,
    issue_node_certificate,
    issue_root,
    issue_rotation_certificate,
)
from protocol.jws import GeneralJWS, IntegrityEvidence, JWSType, Signer, check_integrity, sign
from protocol.timeutil import format_time
from trust_registry import (
    Agreement,
    AgreementStatus,
    Authority,
    AuthorityId,
    DocType,
    ReliabilityProfile,
    ScopeItem,
    TrustAnchor,
    TrustRegistry,
    countersign_agreement,
    propose_agreement,
    sign_status_change,
)

DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

# The base agreement SG-CN-1 (see World.base_agreement).
VALID_FROM = T0
VALID_UNTIL = T0 + 365 * DAY
PROPOSED_AT = T0 - 20 * DAY
COUNTERSIGNED_AT = T0 - 10 * DAY
REGISTERED_AT = T0 - 9 * DAY
ROOT_NOT_BEFORE = T0 - 400 * DAY
SIGNER_NOT_BEFORE = T0 - 30 * DAY
SIGNER_DAYS = 730

COO = DocType("certificate-of-origin")
PHYTO = DocType("phytosanitary-certificate")
INVOICE = DocType("commercial-invoice")
BILL = DocType("bill-of-lading")
SG = AuthorityId("SG-CUSTOMS")
CN = AuthorityId("CN-CUSTOMS")
JP = AuthorityId("JP-CUSTOMS")
KR = AuthorityId("KR-CUSTOMS")

HIGH = ReliabilityProfile.from_dict({"keyProtection": "hsm", "signerIdentityProofing": "high"})
SOFTWARE = ReliabilityProfile.from_dict({"keyProtection": "software"})


@dataclass(frozen=True)
class Party:
    """One authority's keys: root signer, document signer, node certificate."""

    id: AuthorityId
    root_key: PrivateKey
    root: Signer
    signer: Signer
    node_certificate: x509.Certificate

    @property
    def root_certificate(self) -> x509.Certificate:
        return self.root.certificate

    def authority(self, *, reliability: ReliabilityProfile = HIGH, **changes: Any) -> Authority:
        fields: dict[str, Any] = {
            "id": self.id,
            "country": self.id[:2],
            "name": f"{self.id} authority",
            "roles": ("customs", "origin", "plant-protection"),
            "anchors": (TrustAnchor(certificate=self.root_certificate,
                                    valid_from=ROOT_NOT_BEFORE),),
            "endpoints": (f"https://{self.id.lower()}.example:8700",),
            "node_certificates": (self.node_certificate,),
            "reliability": reliability,
        }
        fields.update(changes)
        return Authority(**fields)

    def new_signer(self, *, not_before: dt.datetime = SIGNER_NOT_BEFORE,
                   days: int = SIGNER_DAYS) -> Signer:
        key = generate_private_key()
        cert = issue_document_signer(root_key=self.root_key, root_cert=self.root_certificate,
                                     public_key=key.public_key(), not_before=not_before, days=days)
        return Signer(key, (cert,))


def make_party(authority_id: str, *, root_not_before: dt.datetime = ROOT_NOT_BEFORE) -> Party:
    root_key = generate_private_key()
    root = issue_root(key=root_key, authority_id=authority_id, country=authority_id[:2],
                      organisation=f"{authority_id} authority", not_before=root_not_before)
    signer_key = generate_private_key()
    signer = issue_document_signer(root_key=root_key, root_cert=root,
                                   public_key=signer_key.public_key(),
                                   not_before=SIGNER_NOT_BEFORE, days=SIGNER_DAYS)
    node_key = generate_private_key()
    node = issue_node_certificate(root_key=root_key, root_cert=root,
                                  public_key=node_key.public_key(), not_before=SIGNER_NOT_BEFORE)
    return Party(AuthorityId(authority_id), root_key, Signer(root_key, (root,)),
                 Signer(signer_key, (signer,)), node)


@dataclass(frozen=True)
class Rotation:
    """CN's second root, the old root's endorsement of it, and a signer under the new root."""

    new_root: Signer
    new_root_key: PrivateKey
    endorsement: x509.Certificate
    signer: Signer


_document_numbers = itertools.count(1)


class World:
    """Builders for registries, agreements and signed documents over the session's parties."""

    def __init__(self, sg: Party, cn: Party, jp: Party, kr: Party, rotation: Rotation,
                 rogue_cn: Party) -> None:
        self.sg, self.cn, self.jp, self.kr = sg, cn, jp, kr
        self.rotation = rotation
        self.rogue_cn = rogue_cn  # claims to be CN-CUSTOMS, under another root
        self._cache: dict[str, Any] = {}

    def party(self, authority_id: str) -> Party:
        return {SG: self.sg, CN: self.cn, JP: self.jp, KR: self.kr}[AuthorityId(authority_id)]

    # -- registries -------------------------------------------------------------------------

    def authorities_registry(self, *, cn_reliability: ReliabilityProfile = HIGH) -> TrustRegistry:
        """SG (owner), CN and JP; no agreement."""
        return (TrustRegistry.create(self.sg.authority())
                .add_authority(self.cn.authority(reliability=cn_reliability))
                .add_authority(self.jp.authority()))

    @staticmethod
    def base_scope() -> tuple[ScopeItem, ...]:
        """SG-CN-1's scope: COO both ways, phyto SG→CN only, invoice CN→SG needing HSM."""
        return (
            ScopeItem(document_type=COO, issuer=CN, receiver=SG,
                      recognised_as=DocType("preferential-certificate-of-origin"),
                      mapping_id="coo-cn-to-sg-1.0"),
            ScopeItem(document_type=COO, issuer=SG, receiver=CN, recognised_as=COO),
            ScopeItem(document_type=PHYTO, issuer=SG, receiver=CN, recognised_as=PHYTO),
            ScopeItem(document_type=INVOICE, issuer=CN, receiver=SG, recognised_as=INVOICE,
                      minimum_reliability=HIGH),
        )

    def agreement(
        self,
        *,
        agreement_id: str = "SG-CN-1",
        parties: tuple[str, str] = (SG, CN),
        scope: Sequence[ScopeItem] | None = None,
        valid_from: dt.datetime = VALID_FROM,
        valid_until: dt.datetime | None = VALID_UNTIL,
    ) -> Agreement:
        return Agreement(
            agreement_id=agreement_id,  # type: ignore[arg-type]
            parties=(AuthorityId(parties[0]), AuthorityId(parties[1])),
            legal_reference="ASEAN-China MRA, art. 8 (test)",
            valid_from=valid_from,
            valid_until=valid_until,
            scope=tuple(scope if scope is not None else self.base_scope()),
        )

    def proposal(self, agreement: Agreement, *, at: dt.datetime = PROPOSED_AT) -> GeneralJWS:
        return propose_agreement(agreement, self.party(agreement.parties[0]).root, signed_at=at)

    def signed(self, agreement: Agreement, *, proposed_at: dt.datetime = PROPOSED_AT,
               countersigned_at: dt.datetime = COUNTERSIGNED_AT) -> GeneralJWS:
        proposal = self.proposal(agreement, at=proposed_at)
        return countersign_agreement(proposal, self.party(agreement.parties[1]).root,
                                     signed_at=countersigned_at)

    def base_registry(self) -> TrustRegistry:
        """SG (owner), CN, JP, and SG-CN-1 dual-signed and in force from VALID_FROM."""
        if "base" not in self._cache:
            self._cache["base"] = self.authorities_registry().add_agreement(
                self.signed(self.agreement()), at=REGISTERED_AT)
        registry: TrustRegistry = self._cache["base"]
        return registry

    def with_status(self, registry: TrustRegistry, status: AgreementStatus,
                    effective_at: dt.datetime, *, by: str = SG,
                    agreement_id: str = "SG-CN-1") -> TrustRegistry:
        record = registry.agreement(agreement_id)
        statement = sign_status_change(record.signed, self.party(by).root, status=status,
                                       effective_at=effective_at, signed_at=effective_at - DAY)
        return registry.change_agreement_status(statement, at=effective_at - DAY)

    # -- documents --------------------------------------------------------------------------

    @staticmethod
    def document(signer: Signer, *, issuer: str, doc_type: str,
                 signed_at: dt.datetime) -> tuple[dict[str, Any], IntegrityEvidence]:
        """A signed document header and the integrity evidence of its issuer signature."""
        header = {"id": f"doc-{next(_document_numbers)}", "type": doc_type, "version": "1.0",
                  "issuer": issuer, "issuedAt": format_time(signed_at)}
        jws = sign(canonicalize(header), signer, typ=JWSType.DOCUMENT, signed_at=signed_at)
        return header, check_integrity(jws, 0, typ=JWSType.DOCUMENT)


@pytest.fixture(scope="session")
def world() -> World:
    sg, cn, jp, kr = (make_party(a) for a in (SG, CN, JP, KR))
    new_key = generate_private_key()
    new_root = issue_root(key=new_key, authority_id=CN, country="CN",
                          organisation=f"{CN} authority", not_before=T0)
    endorsement = issue_rotation_certificate(old_root_key=cn.root_key,
                                             old_root_cert=cn.root_certificate,
                                             new_root_cert=new_root, not_before=T0)
    new_signer_key = generate_private_key()
    new_signer = issue_document_signer(root_key=new_key, root_cert=new_root,
                                       public_key=new_signer_key.public_key(), not_before=T0)
    rotation = Rotation(Signer(new_key, (new_root,)), new_key, endorsement,
                        Signer(new_signer_key, (new_signer,)))
    return World(sg, cn, jp, kr, rotation, make_party(CN))
