"""``tradeaccord demo``: a two-node pilot network as real processes on 127.0.0.1.

SG-CUSTOMS and CN-CUSTOMS each generate their keys (encrypted with a per-run passphrase),
hold each other in their registries and sign one agreement that recognises certificates of
origin both ways. Each node runs as its own ``tradeaccord node serve`` process on SQLite in
a temporary folder. A Singapore exporter then sends a certificate of origin (recognised) and
a commercial invoice (outside the agreement: rejected with DOC_TYPE_NOT_COVERED); the
demo verifies each signed receipt itself, shows the Chinese officer's inbox, checks both
audit logs, stops the nodes and exits 0 only when every expected outcome happened.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.client import ClientError, ConnectionProblem, NodeClient
from node.localnet import LocalNetwork
from node.pilot import AgreementSpec, AuthoritySpec
from node.services.apikeys import Role
from protocol.certificates import CertUsage
from protocol.jws import GeneralJWS, JWSType, verify
from protocol.receipt import Receipt
from protocol.timeutil import utc_now

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "documents"
EXPORTER = "SG-UEN-201912345K"


@dataclass(frozen=True, slots=True)
class Expectation:
    doc_type: str
    state: str
    outcome: str
    reasons: tuple[str, ...]


EXPECTED = (
    Expectation("certificate-of-origin", "delivered", "accepted", ()),
    Expectation("commercial-invoice", "rejected", "rejected", ("DOC_TYPE_NOT_COVERED",)),
)


def _example(doc_type: str) -> dict[str, Any]:
    document = json.loads((EXAMPLES / f"{doc_type}.json").read_text("utf-8"))
    document.pop("id", None)  # the node assigns a fresh id: the demo can run again and again
    document.pop("issuer", None)  # and names itself issuer (the examples name SG-CHAMBER etc.)
    return document  # type: ignore[no-any-return]


class Demo:
    def __init__(self, workdir: Path, say: Callable[[str], None]) -> None:
        self.say = say
        self.network = LocalNetwork(
            workdir,
            [AuthoritySpec("SG-CUSTOMS", "SG", "Singapore Customs", ("customs", "origin")),
             AuthoritySpec("CN-CUSTOMS", "CN", "General Administration of Customs of China")],
            [AgreementSpec("SG-CN-COO-2026", "SG-CUSTOMS", "CN-CUSTOMS",
                           ("certificate-of-origin",))])

    def stop(self) -> None:
        self.network.stop()

    def run(self) -> bool:
        say, network = self.say, self.network
        say("1. Two authorities generate their keys and certificates (encrypted at rest)")
        network.setup()
        say("2. Each registry holds the partner's trust anchor, node certificate and endpoint;")
        say("   agreement SG-CN-COO-2026 (certificates of origin, both ways) is proposed by")
        say("   SG-CUSTOMS's root and countersigned by CN-CUSTOMS's root: in force")
        trader_key = network.api_key("SG-CUSTOMS", Role.TRADER, EXPORTER)
        officer_key = network.api_key("CN-CUSTOMS", Role.OFFICER)
        operator_keys = {aid: network.api_key(aid, Role.OPERATOR) for aid in network.urls}
        say("3. Starting both nodes as separate processes (SQLite, WAL):")
        for authority_id, url in network.urls.items():
            network.start(authority_id)
            say(f"   {authority_id:<11} {url}  ready")
        urls = network.urls
        say(f"4. Exporter {EXPORTER} submits two documents at SG-CUSTOMS for CN-CUSTOMS")
        submitted: dict[str, dict[str, Any]] = {}
        with NodeClient(urls["SG-CUSTOMS"], trader_key) as trader:
            for expectation in EXPECTED:
                result = trader.submit(_example(expectation.doc_type), send_to=["CN-CUSTOMS"])
                submitted[expectation.doc_type] = result
                say(f"   {expectation.doc_type:<26} id {result['id']}  signed, queued")
            finals = self._wait_final(trader, submitted)
        say("5. Outcomes, from the signed receipts returned by CN-CUSTOMS:")
        ok = True
        cn_root = network.directories["CN-CUSTOMS"].root_certificate
        for expectation in EXPECTED:
            delivery = finals[expectation.doc_type]
            receipt = self._verified_receipt(delivery, cn_root)
            reasons = tuple(delivery["reasons"])
            good = (delivery["state"], delivery["outcome"], reasons) == (
                expectation.state, expectation.outcome, expectation.reasons)
            ok = ok and good and receipt is not None
            detail = (f"recognised as {delivery['recognisedAs']} under {delivery['agreementId']}"
                      if delivery["outcome"] == "accepted" else " ".join(reasons))
            say(f"   {'OK ' if good else 'BAD'} {expectation.doc_type:<26} {delivery['outcome']:<9}"
                f" {detail}")
            if receipt is not None:
                say(f"       receipt {receipt.receipt_id} signed by {receipt.sender}'s node key"
                    f" at {receipt.received_at.isoformat()}: signature verified")
            else:
                say("       receipt missing or not verifiable")
        say("6. CN-CUSTOMS officer's inbox:")
        with NodeClient(urls["CN-CUSTOMS"], officer_key) as officer:
            for item in officer.inbox():
                say(f"   {item['type']:<26} from {item['receivedFrom']}  {item['outcome']:<9} "
                    f"{' '.join(item['reasons'])}")
        say("7. Audit logs (hash-chained):")
        for authority_id, key in operator_keys.items():
            with NodeClient(urls[authority_id], key) as operator:
                audit = operator.audit_verify()
            ok = ok and bool(audit["valid"])
            say(f"   {authority_id:<11} intact, {audit['events']} events")
        return ok

    def _wait_final(self, client: NodeClient, submitted: dict[str, dict[str, Any]],
                    timeout: float = 30) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        finals: dict[str, dict[str, Any]] = {}
        while len(finals) < len(submitted) and time.monotonic() < deadline:
            for doc_type, result in submitted.items():
                if doc_type in finals:
                    continue
                for delivery in client.status(result["id"])["deliveries"]:
                    if delivery["state"] != "pending":
                        finals[doc_type] = delivery
            time.sleep(0.1)
        missing = set(submitted) - set(finals)
        if missing:
            raise RuntimeError(f"no outcome within {timeout:.0f} s for {sorted(missing)}")
        return finals

    @staticmethod
    def _verified_receipt(delivery: dict[str, Any], anchor: Any) -> Receipt | None:
        if not delivery.get("receipt"):
            return None
        jws = GeneralJWS.parse(json.dumps(delivery["receipt"]))
        verified = verify(jws, typ=JWSType.RECEIPT, anchors=[anchor], at=utc_now(),
                          usage=CertUsage.ENVELOPE_SIGNING)
        return Receipt.from_dict(verified.payload_json())


@contextmanager
def _workdir(path: Path | None, keep: bool) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    created = Path(tempfile.mkdtemp(prefix="tradeaccord-demo-"))
    try:
        yield created
    finally:
        if not keep:
            shutil.rmtree(created, ignore_errors=True)


def run_demo(*, workdir: Path | None = None, keep: bool = False,
             say: Callable[[str], None] = print) -> bool:
    """Run the demo; True when every expected outcome happened."""
    started = time.monotonic()
    with _workdir(workdir, keep) as path:
        demo = Demo(path, say)
        try:
            ok = demo.run()
        except (ClientError, ConnectionProblem, RuntimeError) as exc:
            say(f"demo failed: {exc}")
            ok = False
        finally:
            demo.stop()
        if keep or workdir is not None:
            say(f"working directory kept: {path}")
    say(f"{'demo passed' if ok else 'demo FAILED'} in {time.monotonic() - started:.1f} s")
    return ok
