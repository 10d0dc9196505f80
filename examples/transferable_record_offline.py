"""A transferable bill of lading, moved across three nodes and verified offline.

No node, no database: three authorities' keys, a trust registry value, the protocol layer.
The carrier's node (SG-SMLN, role transferable-records) issues the orchid consignment's bill
to the shipper; the shipper endorses it to its bank at SG-TRADENET; the bank endorses it to
the consignee's bank at CN-TRADENET (a custody change the carrier's node countersigns as the
record's control registry); that bank endorses it to the consignee, who surrenders it for
delivery; the carrier accepts. The chain is verified offline; a second transfer from the SG
bank's stale copy is refused with TITLE_CONFLICT; the bill converts to a DCSA eBL 3.0
TransportDocument and back. Run: python examples/transferable_record_offline.py
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path

from protocol.certificates import (
    generate_private_key,
    issue_document_signer,
    issue_node_certificate,
    issue_root,
)
from protocol.documents import DocumentSchemas
from protocol.errors import ProtocolError
from protocol.interop.dcsa_ebl import (
    TransportDocumentSchema,
    from_transport_document,
    to_transport_document,
)
from protocol.jws import GeneralJWS, Signer
from protocol.signed_document import document_sha256, sign_document
from protocol.timeutil import format_time, utc_now
from protocol.title_chain import TitleState, require_extension
from protocol.title_entry import (
    TitleAction,
    TitleRecord,
    countersign_entry,
    digests,
    entry_sha256,
    sign_entry,
)
from trust_registry import Authority, AuthorityId, TrustAnchor, TrustRegistry, verify_title

EXAMPLE = Path(__file__).resolve().parent / "documents" / "bill-of-lading.json"
CARRIER_NODE, SG_NODE, CN_NODE = "SG-SMLN", "SG-TRADENET", "CN-TRADENET"
SHIPPER, CARRIER = "SG-UEN-201912345K", "SG-UEN-199801234D"
SG_BANK, CN_BANK = "SG-BIC-DBSSSGSG", "CN-BIC-ICBKCNBJ"
CONSIGNEE = "CN-USCC-91310000MA1FL5ABCD"


@dataclasses.dataclass(frozen=True)
class Keys:
    authority: Authority
    document_signer: Signer
    node_signer: Signer


def authority(authority_id: str, roles: tuple[str, ...], at: dt.datetime) -> Keys:
    root_key, signer_key, node_key = (generate_private_key() for _ in range(3))
    root = issue_root(key=root_key, authority_id=authority_id, country=authority_id[:2],
                      organisation=f"{authority_id} node", not_before=at)
    signer = issue_document_signer(root_key=root_key, root_cert=root,
                                   public_key=signer_key.public_key(), not_before=at)
    node = issue_node_certificate(root_key=root_key, root_cert=root,
                                  public_key=node_key.public_key(), not_before=at)
    entry = Authority(id=AuthorityId(authority_id), country=authority_id[:2],
                      name=f"{authority_id} node", roles=roles,
                      anchors=(TrustAnchor(certificate=root, valid_from=at),),
                      node_certificates=(node,))
    return Keys(entry, Signer(signer_key, (signer,)), Signer(node_key, (node,)))


def act(keys: dict[str, Keys], record: TitleRecord, state: TitleState, action: TitleAction,
        *, holder: str, custodian: str, at: dt.datetime) -> tuple[TitleRecord, TitleState]:
    """The node in custody signs the next entry; the control registry countersigns a custody
    change; the state machine checks it as every verifier will."""
    signer = state.custodian if state.issued else state.control_registry
    assert signer is not None
    entry = state.next_entry(action, acting_holder=state.holder or CARRIER, holder=holder,
                             custodian=custodian, at=at)
    jws = sign_entry(entry, keys[signer].node_signer, signed_at=at)
    signers = [signer]
    if custodian != signer and signer != state.control_registry:
        jws = countersign_entry(jws, keys[state.control_registry].node_signer, signed_at=at)
        signers.append(state.control_registry)
    state = state.apply(entry, digest=entry_sha256(jws), signers=signers)
    return record.with_entry(jws), state


def main() -> int:
    now = utc_now().replace(microsecond=0)
    start = now - dt.timedelta(hours=1)
    keys = {CARRIER_NODE: authority(CARRIER_NODE, ("transferable-records",), start - dt.timedelta(days=1)),
            SG_NODE: authority(SG_NODE, ("customs",), start - dt.timedelta(days=1)),
            CN_NODE: authority(CN_NODE, ("customs",), start - dt.timedelta(days=1))}
    registry = TrustRegistry.create(keys[CARRIER_NODE].authority)
    for node in (SG_NODE, CN_NODE):
        registry = registry.add_authority(keys[node].authority)
    schemas = DocumentSchemas.load()

    document = json.loads(EXAMPLE.read_text("utf-8"))
    document["issuer"] = CARRIER_NODE
    document["issuedAt"] = format_time(start)
    schemas.validate(document)
    bill: GeneralJWS = sign_document(document, keys[CARRIER_NODE].document_signer,
                                     signed_at=start)
    state = TitleState.initial(document, bill_sha256=document_sha256(bill), signed_at=start)
    record = TitleRecord(bill, ())
    minute = dt.timedelta(minutes=1)
    steps = [(TitleAction.ISSUE, SHIPPER, CARRIER_NODE),
             (TitleAction.ENDORSE, SG_BANK, SG_NODE),
             (TitleAction.ENDORSE, CN_BANK, CN_NODE),
             (TitleAction.ENDORSE, CONSIGNEE, CN_NODE),
             (TitleAction.SURRENDER_FOR_DELIVERY, CARRIER, CARRIER_NODE),
             (TitleAction.SURRENDER_ACCEPTED, CARRIER, CARRIER_NODE)]
    stale: tuple[TitleRecord, TitleState] | None = None
    for number, (action, holder, custodian) in enumerate(steps):
        if number == 2:
            stale = (record, state)  # the SG bank's copy before it endorses onwards
        record, state = act(keys, record, state, action, holder=holder, custodian=custodian,
                            at=start + number * minute)

    evidence = verify_title(record, registry=registry, at=now, schemas=schemas)
    summary = evidence.summary()
    print(f"record {summary['id']} ({summary['transportDocumentReference']}): "
          f"{summary['status']}, holder {summary['holder']} at {summary['custodian']}")
    for item in summary["history"]:
        countersigned = f", countersigned by {item['countersignedBy']}" \
            if item["countersignedBy"] else ""
        print(f"  {item['sequence']} {item['action']:<22} {item['from']} -> {item['to']} "
              f"at {item['custodian']} (signed by {item['by']}{countersigned})")

    assert stale is not None
    forked, _ = act(keys, stale[0], stale[1], TitleAction.ENDORSE, holder="SG-UEN-200012345X",
                    custodian=SG_NODE, at=start + 10 * minute)
    try:
        require_extension(digests(record.entries), digests(forked.entries))
        conflict = "accepted"
    except ProtocolError as error:
        conflict = error.code.value
    print(f"a second transfer from the SG bank's stale copy: {conflict}")

    transport_document = to_transport_document(document, schemas=schemas)
    TransportDocumentSchema.load().validate(transport_document)
    back = from_transport_document(transport_document, schemas=schemas)
    print("DCSA eBL 3.0.0 TransportDocument: valid; back to ours:",
          "identical" if back == document else "DIFFERENT")

    ok = (summary["status"] == "accomplished" and conflict == "TITLE_CONFLICT"
          and back == document and evidence.status_for(SG_NODE).value == "accomplished")
    print("example passed" if ok else "example FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
