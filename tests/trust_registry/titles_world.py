"""Builders for transferable-record tests: nodes with keys, a registry, bills and chains.

Keys are generated once per session (``titles_world`` fixture in the test modules). Times
are fixed offsets from ``ISSUED``; nothing reads the clock. A :class:`Chain` is immutable:
acting on an old one builds a fork (the stale holder's second transfer).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from protocol.certificates import (
    PrivateKey,
    generate_private_key,
    issue_document_signer,
    issue_node_certificate,
    issue_root,
)
from protocol.documents import DocumentSchemas
from protocol.jws import GeneralJWS, Signer
from protocol.signed_document import document_sha256, sign_document
from protocol.strict_json import parse_json
from protocol.timeutil import format_time
from protocol.title_chain import TitleState
from protocol.title_entry import (
    TitleAction,
    TitleRecord,
    countersign_entry,
    entry_sha256,
    sign_entry,
)
from trust_registry import Authority, AuthorityId, Revocation, TrustAnchor, TrustRegistry

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "documents" / "bill-of-lading.json"

MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)
ISSUED = dt.datetime(2026, 11, 21, 14, 0, tzinfo=dt.UTC)
VERIFY_AT = dt.datetime(2026, 12, 20, tzinfo=dt.UTC)
ROOT_NOT_BEFORE = ISSUED - 400 * DAY
LEAF_NOT_BEFORE = ISSUED - 30 * DAY

# Authorities whose nodes hold custody. CARRIER_NODE issues (transferable-records role) and
# is therefore every record's control registry.
CARRIER_NODE = "SG-SMLN"
SG_NODE = "SG-TRADENET"
CN_NODE = "CN-TRADENET"
CUSTOMS = "SG-CUSTOMS"  # in the registry, without the transferable-records role
IMPOSTOR = "SG-TRADENET"  # same name as SG_NODE, another root (not in the registry)
OUTSIDER = "JP-TRADENET"  # not in the registry

# Parties (trader ids).
SHIPPER = "SG-UEN-201912345K"
CARRIER = "SG-UEN-199801234D"
SG_BANK = "SG-BIC-DBSSSGSG"
CN_BANK = "CN-BIC-ICBKCNBJ"
CONSIGNEE = "CN-USCC-91310000MA1FL5ABCD"
STRANGER = "CN-USCC-91310000XXXXXXXXXX"


@dataclass(frozen=True)
class Node:
    """One authority's keys: root, document signer, node key."""

    authority_id: str
    root_key: PrivateKey
    root: x509.Certificate
    document_signer: Signer
    node_signer: Signer

    def authority(self, *, roles: tuple[str, ...] = ("customs",)) -> Authority:
        return Authority(id=AuthorityId(self.authority_id), country=self.authority_id[:2],
                         name=f"{self.authority_id} node", roles=roles,
                         anchors=(TrustAnchor(certificate=self.root,
                                              valid_from=ROOT_NOT_BEFORE),),
                         node_certificates=(self.node_signer.certificate,))


def make_node(authority_id: str) -> Node:
    root_key = generate_private_key()
    root = issue_root(key=root_key, authority_id=authority_id, country=authority_id[:2],
                      organisation=f"{authority_id} authority", not_before=ROOT_NOT_BEFORE)
    signer_key, node_key = generate_private_key(), generate_private_key()
    signer = issue_document_signer(root_key=root_key, root_cert=root,
                                   public_key=signer_key.public_key(),
                                   not_before=LEAF_NOT_BEFORE, days=730)
    node = issue_node_certificate(root_key=root_key, root_cert=root,
                                  public_key=node_key.public_key(), not_before=LEAF_NOT_BEFORE,
                                  days=730)
    return Node(authority_id, root_key, root, Signer(signer_key, (signer,)),
                Signer(node_key, (node,)))


class TitleWorld:
    """Nodes, the registry that knows them, the schema set and bills."""

    def __init__(self) -> None:
        self.nodes = {authority: make_node(authority)
                      for authority in (CARRIER_NODE, SG_NODE, CN_NODE, CUSTOMS)}
        self.impostor = make_node(IMPOSTOR)
        self.outsider = make_node(OUTSIDER)
        self.schemas = DocumentSchemas.load()
        registry = TrustRegistry.create(self.nodes[CARRIER_NODE].authority(
            roles=("transferable-records",)))
        for authority in (SG_NODE, CN_NODE, CUSTOMS):
            registry = registry.add_authority(self.nodes[authority].authority())
        self.registry = registry

    def node(self, authority: str) -> Signer:
        return self.nodes[authority].node_signer

    def with_revoked_node(self, authority: str, effective_at: dt.datetime) -> TrustRegistry:
        return self.registry.revoke(authority, Revocation.of_certificate(
            self.node(authority).certificate, effective_at=effective_at))

    def document(self, *, issuer: str = CARRIER_NODE, to_order: bool = True,
                 record_id: str = "5f0c2a8e-9d1b-4c57-8e43-2b7d6a9c1f04") -> dict[str, Any]:
        document: dict[str, Any] = parse_json(EXAMPLE.read_bytes())
        document["issuer"] = issuer
        document["id"] = record_id
        document["issuedAt"] = format_time(ISSUED)
        document["body"]["isToOrder"] = to_order
        self.schemas.validate(document)
        return document

    def bill(self, *, issuer: str = CARRIER_NODE, to_order: bool = True,
             record_id: str = "5f0c2a8e-9d1b-4c57-8e43-2b7d6a9c1f04",
             signer: Signer | None = None) -> GeneralJWS:
        document = self.document(issuer=issuer, to_order=to_order, record_id=record_id)
        signer = signer or self.nodes[issuer].document_signer
        return sign_document(document, signer, signed_at=ISSUED)

    def issue(self, *, holder: str = SHIPPER, custodian: str = CARRIER_NODE,
              bill: GeneralJWS | None = None, to_order: bool = True) -> Chain:
        bill = bill or self.bill(to_order=to_order)
        document = bill.payload_json()
        state = TitleState.initial(document, bill_sha256=document_sha256(bill), signed_at=ISSUED)
        return Chain(self, bill, (), state).act(TitleAction.ISSUE, holder=holder,
                                                custodian=custodian, actor=CARRIER)


@dataclass(frozen=True)
class Chain:
    """A bill and its entries so far, with the state they lead to."""

    world: TitleWorld
    bill: GeneralJWS
    entries: tuple[GeneralJWS, ...]
    state: TitleState

    @property
    def record(self) -> TitleRecord:
        return TitleRecord(self.bill, self.entries)

    def act(self, action: TitleAction, *, holder: str | None = None,
            custodian: str | None = None, actor: str | None = None,
            signer: str | None = None, countersign: bool | None = None,
            countersigner: str | None = None, at: dt.datetime | None = None,
            reason: str | None = None, check: bool = True) -> Chain:
        """The chain with one more entry. Defaults: the holder acts, keeps the title and
        custody, signed by the custodian's node, countersigned by the control registry when
        custody moves, one minute after the previous entry. ``check=False`` appends an entry
        the state machine would refuse (the state stays as it was)."""
        state = self.state
        before = state.custodian if state.issued else state.control_registry
        entry = state.next_entry(
            action, acting_holder=actor or state.holder or CARRIER,
            holder=holder or state.holder or SHIPPER, custodian=custodian or before or "",
            at=at or (ISSUED if not state.issued else state.at + MINUTE), reason=reason)
        signer_id = signer or before or state.control_registry
        jws = sign_entry(entry, self.world.node(signer_id), signed_at=entry.at)
        registry = state.control_registry
        if countersign is None:
            countersign = entry.custodian != before and signer_id != registry
        if countersign:
            jws = countersign_entry(jws, self.world.node(countersigner or registry),
                                    signed_at=entry.at)
        if not check:
            return dataclasses.replace(self, entries=(*self.entries, jws))
        signers = [signer_id] + ([countersigner or registry] if countersign else [])
        new_state = state.apply(entry, digest=entry_sha256(jws), signers=signers)
        return dataclasses.replace(self, entries=(*self.entries, jws), state=new_state)

    def with_entries(self, *entries: GeneralJWS) -> TitleRecord:
        return TitleRecord(self.bill, tuple(entries))
