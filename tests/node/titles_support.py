"""Shared pieces of the transferable-record tests on the node: the network's authorities,
parties, bills, and crafted ``title-transfer`` envelopes (what a misbehaving node sends)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from node.context import NodeContext
from node.pilot import AuthoritySpec
from node.services.titles import records
from protocol.envelope import EnvelopeKind, build_envelope, sign_envelope
from protocol.jws import GeneralJWS, Signer
from protocol.timeutil import utc_now
from protocol.title_entry import TitleAction, TitleEntry, TitleRecord, sign_entry
from protocol.title_messages import TitleMessage
from tests.node.conftest import CN, SG

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_BILL = ROOT / "examples" / "documents" / "bill-of-lading.json"

CARRIER_NODE = "SG-CARRIER"
SG_NODE = SG.authority_id  # SG-CUSTOMS: an exporting-side node without the role
CN_NODE = CN.authority_id  # CN-CUSTOMS: the importing side
CARRIER_SPEC = AuthoritySpec(CARRIER_NODE, "SG", "Straits Meridian Line (carrier node)",
                             ("transferable-records",))
AUTHORITIES = (CARRIER_SPEC, SG, CN)

SHIPPER = "SG-UEN-201912345K"
CARRIER = "SG-UEN-199801234D"
SG_BANK = "SG-BIC-DBSSSGSG"
CN_BANK = "CN-BIC-ICBKCNBJ"
CONSIGNEE = "CN-USCC-91310000MA1FL5ABCD"
STRANGER = "CN-USCC-91310000XXXXXXXXXX"
PARTIES = (SHIPPER, CARRIER, SG_BANK, CN_BANK, CONSIGNEE, STRANGER)


def bill(reference: str | None = None, *, to_order: bool = True) -> dict[str, Any]:
    """The example bill without issuer, id and time (the carrier's node fills them), with a
    fresh ``transportDocumentReference``."""
    document: dict[str, Any] = json.loads(EXAMPLE_BILL.read_text(encoding="utf-8"))
    for name in ("id", "issuer", "issuedAt"):
        document.pop(name)
    document["body"]["transportDocumentReference"] = reference or \
        f"SMLN{uuid.uuid4().hex[:10].upper()}"
    document["body"]["isToOrder"] = to_order
    return document


def title_envelope(ctx: NodeContext, recipient: str, message: TitleMessage,
                   at: dt.datetime | None = None) -> bytes:
    """A ``title-transfer`` envelope signed by ``ctx``'s node (for crafted messages)."""
    at = at or utc_now()
    envelope = build_envelope(message_id=str(uuid.uuid4()), sender=ctx.authority_id,
                              recipient=recipient, created_at=at,
                              ttl=dt.timedelta(hours=1), kind=EnvelopeKind.TITLE_TRANSFER,
                              body=message.to_dict())
    return sign_envelope(envelope, ctx.node_signer, signed_at=at).to_json()


def next_entry(ctx: NodeContext, record: TitleRecord, action: TitleAction, *, holder: str,
               custodian: str, signer: Signer, acting: str | None = None) -> GeneralJWS:
    """The entry after ``record`` (verified with ``ctx``'s registry), signed by ``signer``
    — unchecked: the way a misbehaving node would sign it."""
    at = utc_now()
    state = records.verify_chain_of(ctx, record, at).state
    entry: TitleEntry = state.next_entry(action, acting_holder=acting or state.holder or "",
                                         holder=holder, custodian=custodian,
                                         at=max(at, state.at))
    return sign_entry(entry, signer, signed_at=entry.at)
