"""Scenario 5 of ``tradeaccord demo``: an electronic bill of lading.

The carrier's node ``SG-CARRIER`` (role ``transferable-records``: it issues and is the
record's control registry) issues the bill to the shipper; the shipper endorses it to the
consignee's bank at the importing side (custody moves to CN-CUSTOMS's node); the bank
endorses it to the consignee there; the consignee surrenders it for delivery (the custody
change goes through the control registry). Then the consignee's node, from its stale copy,
asks the registry to move the title elsewhere — a double transfer — and is refused with
``TITLE_CONFLICT``; the carrier accepts the surrender and the record, verified offline, is
accomplished.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import TYPE_CHECKING, Any

import httpx

from node.authority import AuthorityDirectory
from node.client import ClientError
from node.demo import network as pilot
from node.demo.packages import template
from node.pilot import AuthoritySpec
from node.services.apikeys import Role
from protocol.envelope import EnvelopeKind, build_envelope, sign_envelope
from protocol.strict_json import parse_json
from protocol.timeutil import utc_now
from protocol.title_entry import TitleAction, TitleRecord, sign_entry
from protocol.title_messages import TitleMessage
from trust_registry import TrustRegistry, verify_title

if TYPE_CHECKING:
    from node.demo.runner import Demo, Outcome

__all__ = ["SG_CARRIER", "TITLE", "play"]

SG_CARRIER = AuthoritySpec("SG-CARRIER", "SG", "Straits Meridian Line, carrier's node (pilot)",
                           ("transferable-records",))
CARRIER = SG_CARRIER.authority_id
IMPORTING = "CN-CUSTOMS"
CN_BANK = "CN-BIC-ICBKCNBJ"
ELSEWHERE = "SG-UEN-000000000X"
TITLE = "Scenario 5 — an electronic bill of lading across the border"


def _bill() -> dict[str, Any]:
    document = template("bill-of-lading")
    for name in ("id", "issuer", "issuedAt"):
        document.pop(name, None)
    document["body"]["transportDocumentReference"] = f"SMLN{uuid.uuid4().hex[:8].upper()}"
    document["body"]["isToOrder"] = True
    return document


def _registry(demo: Demo, authority: str) -> TrustRegistry:
    path = demo.network.directories[authority].registry_path
    return TrustRegistry.from_dict(parse_json(path.read_bytes(), max_bytes=256 * 1024 * 1024))


def _stale_fork(demo: Demo, record: TitleRecord, authority: str) -> bytes:
    """What a misbehaving node sends: from the state before the last recorded entry, a
    second change moving the title elsewhere, signed with its own node key."""
    stale = TitleRecord(record.bill, record.entries[:-1])
    now = utc_now()
    state = verify_title(stale, registry=_registry(demo, authority), at=now,
                         schemas=demo.schemas).state
    at = max(now, state.at)
    entry = state.next_entry(TitleAction.ENDORSE, acting_holder=state.holder or "",
                             holder=ELSEWHERE, custodian="SG-CUSTOMS", at=at)
    directory: AuthorityDirectory = demo.network.directories[authority]
    signer = directory.node_signer(demo.network.passphrases[authority])
    envelope = build_envelope(message_id=str(uuid.uuid4()), sender=authority, recipient=CARRIER,
                              created_at=at, ttl=dt.timedelta(minutes=10),
                              kind=EnvelopeKind.TITLE_TRANSFER,
                              body=TitleMessage.request(stale.with_entry(
                                  sign_entry(entry, signer, signed_at=at))).to_dict())
    return sign_envelope(envelope, signer, signed_at=at).to_json()


def play(demo: Demo) -> Outcome:
    """Run the scenario; its outcome for the report (``status['state']``: the record's)."""
    from node.demo.runner import Outcome

    say, network = demo.say, demo.network
    say(TITLE)
    started = time.monotonic()
    problems: list[str] = []
    demo.keys[CARRIER] = {"officer": network.api_key(CARRIER, Role.OFFICER),
                          "operator": network.api_key(CARRIER, Role.OPERATOR),
                          "shipper": network.api_key(CARRIER, Role.TRADER, pilot.EXPORTER)}
    demo.keys[IMPORTING]["bank"] = network.api_key(IMPORTING, Role.TRADER, CN_BANK)

    def wait_status(authority: str, caller: str, record_id: str, status: str) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            try:
                with demo.client(authority, caller) as client:
                    view = client.title(record_id)
            except ClientError:
                return None
            return view if view["status"] == status else None

        return demo._wait(probe, f"{record_id} {status} at {authority}")  # type: ignore[no-any-return]

    with demo.client(CARRIER, "officer") as carrier:
        record = carrier.issue_title(_bill(), pilot.EXPORTER)
    record_id = record["id"]
    say(f"   {CARRIER} issues bill {record['transportDocumentReference']} to the shipper "
        f"{pilot.EXPORTER}; it is the record's control registry")
    with demo.client(CARRIER, "shipper") as shipper:
        shipper.transfer_title(record_id, CN_BANK, to_authority=IMPORTING, endorse=True)
    wait_status(IMPORTING, "bank", record_id, "active")
    say(f"   the shipper endorses it to the consignee's bank {CN_BANK}; custody moves to "
        f"{IMPORTING}'s node")
    with demo.client(IMPORTING, "bank") as bank:
        bank.transfer_title(record_id, pilot.IMPORTER, endorse=True)
    with demo.client(IMPORTING, "trader") as consignee:
        consignee.surrender_title(record_id)
    say(f"   the bank endorses it to the consignee {pilot.IMPORTER}, who surrenders it for "
        "delivery (recorded and countersigned by the control registry)")
    wait_status(CARRIER, "officer", record_id, "surrendered")
    with demo.client(IMPORTING, "officer") as officer:
        record_at_cn = TitleRecord.parse(officer.export_title(record_id))
    with httpx.Client(timeout=30) as http:
        answer = http.post(network.urls[CARRIER] + "/v1/peer/envelopes",
                           content=_stale_fork(demo, record_at_cn, IMPORTING),
                           headers={"content-type": "application/json"})
    code = answer.json().get("error", {}).get("code") if answer.status_code >= 400 else None
    say(f"   {IMPORTING}'s node, from its stale copy, asks to move the title elsewhere: "
        f"HTTP {answer.status_code} {code}")
    if code != "TITLE_CONFLICT":
        problems.append(f"the double transfer was answered {answer.status_code} {code}")
    with demo.client(CARRIER, "officer") as carrier:
        final = carrier.answer_surrender(record_id, accept=True)
        exported = TitleRecord.parse(carrier.export_title(record_id))
    evidence = verify_title(exported, registry=_registry(demo, CARRIER), at=utc_now(),
                            schemas=demo.schemas)
    say(f"   the carrier accepts the surrender: {final['status']}; the chain of "
        f"{len(evidence.history)} entries verifies offline, holder {evidence.holder}")
    if (final["status"], evidence.status.value) != ("accomplished", "accomplished"):
        problems.append(f"the record ended {final['status']}")
    say(f"   {'OK' if not problems else 'UNEXPECTED: ' + '; '.join(problems)}")
    return Outcome(TITLE, not problems, time.monotonic() - started,
                   {"state": evidence.status.value}, problems)
