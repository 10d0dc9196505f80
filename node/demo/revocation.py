"""Demo scenario 5: a certificate of origin revoked after clearance reaches the importing
customs, which flags the declaration's preference for reassessment.

SG-CHAMBER issues the certificate and sends it to SG-CUSTOMS; the exporter's package names
it; SG-CUSTOMS forwards it with the declaration and CN-CUSTOMS grants the preference. Then
SG-CHAMBER's officer revokes it (``doc revoke``): the signed statement goes to SG-CUSTOMS
(the node it was sent to), which passes it on to CN-CUSTOMS (the node it forwarded it to).
The scenario checks that both nodes hold it revoked, that the importing customs' verification
refuses the certificate (DOCUMENT_REVOKED) and that the trader's joint status at SG-CUSTOMS
and the declaration at CN-CUSTOMS both say ``reassessment required``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from node.demo.packages import Consignment, commercial_documents, package
from node.services.apikeys import Role

if TYPE_CHECKING:
    from node.demo.runner import Demo

TITLE = "Scenario 5 — SG-CHAMBER revokes a certificate of origin after clearance"
REASON = "Origin criterion not met: the orchids were grown from imported seedlings"


def chamber_certificate_sent(demo: Demo, consignment: Consignment) -> dict[str, Any]:
    """SG-CHAMBER issues a certificate of origin and sends it to SG-CUSTOMS itself (so it
    knows who holds it); the package names it by id."""
    certificate = consignment.new("certificate-of-origin")
    with demo.client("SG-CHAMBER", "trader") as chamber:
        issued = chamber.submit(certificate, send_to=["SG-CUSTOMS"])
        demo._wait(lambda: next((d for d in chamber.status(issued["id"])["deliveries"]
                                 if d["state"] != "pending"), None),
                   "the certificate of origin's delivery to SG-CUSTOMS")
    consignment.signed_elsewhere("certificate-of-origin", issued["id"], issued["sha256"])
    demo.say(f"   SG-CHAMBER  signed certificate of origin {issued['id'][:8]}… and sent it "
             "to SG-CUSTOMS")
    return {"documentId": issued["id"]}


def run(demo: Demo) -> tuple[str, bool, float, dict[str, Any], list[str]]:
    """Play the scenario; (title, ok, seconds, the trader's joint status, problems)."""
    from node.demo.runner import Expected

    say = demo.say
    say(TITLE)
    keys = demo.keys["SG-CHAMBER"]
    if "officer" not in keys:
        keys["officer"] = demo.network.api_key("SG-CHAMBER", Role.OFFICER)
    consignment = Consignment()
    commercial_documents(consignment)
    certificates = [chamber_certificate_sent(demo, consignment),
                    demo.phytosanitary_certificate(consignment)]
    coo_id = str(certificates[0]["documentId"])
    status, _seconds = demo.declare(package(consignment, importing="CN-CUSTOMS",
                                            certificates=certificates),
                                    Expected("cleared", "released", "released"))
    demo.report(status)
    problems = demo.check(status, Expected("cleared", "released", "released"))
    started = time.monotonic()
    with demo.client("SG-CHAMBER", "officer") as chamber:
        issued = chamber.revoke(coo_id, REASON)
    say(f"   SG-CHAMBER  officer revoked it: \"{REASON}\"; statement queued to "
        f"{', '.join(d['to'] for d in issued['deliveries']) or 'nobody'}")
    with demo.client("CN-CUSTOMS", "officer") as customs:
        held = demo._wait(lambda: (lambda d: d if d["lifecycle"]["state"] == "revoked" else None)(
            customs.document(coo_id)), "the revocation at CN-CUSTOMS")
        say(f"   CN-CUSTOMS  holds it {held['lifecycle']['state']} (from "
            f"{held['lifecycle']['receivedFrom']}, passed on by the forwarding customs) "
            f"{time.monotonic() - started:.2f} s after the revocation")
        report = customs.verify(customs.signed(coo_id))
        say(f"   CN-CUSTOMS  verifies the certificate now: "
            f"{'VALID' if report['valid'] else 'INVALID ' + ', '.join(report['reasons'])}")
        if report["valid"] or "DOCUMENT_REVOKED" not in report["reasons"]:
            problems.append(f"verification at CN-CUSTOMS: {report['reasons']}")
        imported = demo._wait(lambda: (lambda s: s if s["reassessment"]["required"] else None)(
            customs.declaration(status["id"])), "the reassessment flag at CN-CUSTOMS")
    say(f"   CN-CUSTOMS  declaration {status['id'][:8]}…: preference reassessment required "
        f"({imported['reassessment']['documents'][0]['status']} certificate)")
    with demo.client("SG-CUSTOMS", "trader") as trader:
        joint = demo._wait(lambda: (lambda s: s if s["reassessment"]["required"] else None)(
            trader.declaration(status["id"])), "the reassessment flag in the joint status")
    say(f"   the trader's joint status at SG-CUSTOMS: {joint['state']}, reassessment required "
        f"— \"{joint['reassessment']['documents'][0]['reason']}\"")
    seconds = time.monotonic() - started
    say(f"   {'OK' if not problems else 'UNEXPECTED: ' + '; '.join(problems)}")
    return TITLE, not problems, seconds, joint, problems
