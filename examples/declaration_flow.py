"""Single declaration, bilateral clearance, with the package files of examples/declarations/.

The pilot network of ``tradeaccord demo`` (``node.demo.network``) runs as four real node
processes on 127.0.0.1: SG-CUSTOMS (exporting customs), CN-CUSTOMS (importing customs),
SG-CHAMBER (certificates of origin) and SG-NPPO (phytosanitary certificates).

1. SG-CHAMBER and SG-NPPO issue the example certificates (examples/documents/) with the ids
   the package files name, and send them to SG-CUSTOMS, which recognises them.
2. The exporter submits ``orchids-value-mismatch.json`` at SG-CUSTOMS: held at export, the
   finding names the declared value and the invoice total; an officer rejects it.
3. The exporter submits ``orchids.json``: released at export, forwarded with its documents
   and certificates, released at import with the tariff preference eligible.
4. Both signed clearance decisions verify offline against their issuers' roots.

Run: python examples/declaration_flow.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from node.client import NodeClient
from node.demo import network as pilot
from node.localnet import LocalNetwork
from node.services.apikeys import Role
from protocol.documents import DocumentSchemas
from protocol.signed_document import verify_document
from protocol.timeutil import utc_now

HERE = Path(__file__).resolve().parent
SETTINGS = {"worker_poll_seconds": "0.05", "delivery_backoff_base_seconds": "0.2",
            "log_level": "warning"}


def read(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def wait(probe: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """Poll until ``probe`` answers something true (at most ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError(f"{what}: nothing within {timeout:.0f} s")


def issue_certificate(network: LocalNetwork, authority_id: str, key: str, doc_type: str) -> bool:
    """The issuing authority signs the example certificate and sends it to SG-CUSTOMS."""
    certificate = read(HERE / "documents" / f"{doc_type}.json")
    with NodeClient(network.urls[authority_id], key) as issuer:
        issued = issuer.submit(certificate, send_to=["SG-CUSTOMS"])
        delivery = wait(lambda: next((d for d in issuer.status(issued["id"])["deliveries"]
                                      if d["state"] != "pending"), None),
                        f"{authority_id}'s delivery to SG-CUSTOMS")
    print(f"{authority_id} issued {doc_type} {issued['id']} and sent it to SG-CUSTOMS: "
          f"{delivery['outcome']}")
    return bool(issued["id"] == certificate["id"] and delivery["outcome"] == "accepted")


def main() -> int:
    held = read(HERE / "declarations" / "orchids-value-mismatch.json")
    clean = read(HERE / "declarations" / "orchids.json")
    checks: dict[str, bool] = {}
    with tempfile.TemporaryDirectory() as tmp, LocalNetwork(
            Path(tmp), pilot.AUTHORITIES, pilot.AGREEMENTS, node_settings=SETTINGS) as network:
        network.setup()
        trader = {aid: network.api_key(aid, Role.TRADER, pilot.EXPORTER)
                  for aid in ("SG-CUSTOMS", "SG-CHAMBER", "SG-NPPO")}
        officer = {aid: network.api_key(aid, Role.OFFICER) for aid in ("SG-CUSTOMS", "CN-CUSTOMS")}
        network.start_all()
        print(f"four nodes up: {', '.join(network.urls)}")

        # 1. The certificates reach SG-CUSTOMS with the ids the packages name.
        checks["certificates"] = all([
            issue_certificate(network, "SG-CHAMBER", trader["SG-CHAMBER"],
                              "certificate-of-origin"),
            issue_certificate(network, "SG-NPPO", trader["SG-NPPO"],
                              "phytosanitary-certificate")])

        sg_url = network.urls["SG-CUSTOMS"]
        with NodeClient(sg_url, trader["SG-CUSTOMS"]) as exporter, \
                NodeClient(sg_url, officer["SG-CUSTOMS"]) as sg_officer:
            # 2. The declared value disagrees with the invoice: held at export.
            status = exporter.submit_declaration(held)
            holds = [f for f in status["export"]["findings"] if f["severity"] == "hold"]
            print(f"{status['id']}: {status['state']}, {status['export']['reasons']}")
            for finding in holds:
                print(f"  {finding['ruleId']} {finding['title']}: " + " vs ".join(
                    f"{s['documentType']} {s['pointer']} = {s['value']}"
                    for s in finding["subjects"]))
            rejected = sg_officer.reject_declaration(
                status["id"], "Goods item 2 is declared below its invoiced value; lodge a "
                "corrected declaration")
            print(f"  the SG officer rejects it: {rejected['state']}")
            checks["held at export"] = (
                status["state"] == "export-held"
                and status["export"]["reasons"] == ["RECONCILIATION_MISMATCH"]
                and [f["ruleId"] for f in holds] == ["REC-VALUE-01"]
                and rejected["state"] == "export-rejected"
                and rejected["forwarding"]["state"] == "not-started")

            # 3. The corrected declaration: released, forwarded, cleared at import.
            submitted = exporter.submit_declaration(clean)
            print(f"{submitted['id']}: export {submitted['export']['decision']}, "
                  f"forwarding {submitted['forwarding']['state']}")
            final = wait(lambda: (lambda s: s if s["state"] not in (
                "forwarding", "awaiting-import") else None)(
                    exporter.declaration(submitted["id"])), "the import decision")
            preference = final["import"]["preference"]
            print(f"  import {final['import']['decision']} at CN-CUSTOMS, preference "
                  f"{'eligible' if preference['eligible'] else 'not eligible'}; "
                  f"state {final['state']}")
            checks["cleared"] = (
                final["state"] == "cleared" and final["export"]["decision"] == "released"
                and final["import"]["decision"] == "released"
                and preference == {"claimed": True, "eligible": True, "reasons": []}
                and final["forwarding"]["state"] == "delivered")

            # 4. Each decision is a signed document that verifies offline (an officer's key:
            # officers see every document the node holds).
            roots = {aid: network.directories[aid].root_certificate
                     for aid in ("SG-CUSTOMS", "CN-CUSTOMS")}
            schemas = DocumentSchemas.load()
            decisions = [d for d in final["documents"] if d["type"] == "clearance-decision"]
            verified = [verify_document(sg_officer.signed(d["id"]), anchors=[roots[d["issuer"]]],
                                        at=utc_now(), schemas=schemas).valid
                        for d in decisions]
            print(f"  {sum(verified)} of {len(decisions)} signed decisions verify offline")
            checks["decisions verify"] = len(decisions) == 2 and all(verified)

        with NodeClient(network.urls["CN-CUSTOMS"], officer["CN-CUSTOMS"]) as cn_officer:
            imported = cn_officer.declaration(clean["declaration"]["document"]["id"])
        checks["import side"] = (imported["side"], imported["state"]) == ("import", "cleared")

    for name, ok in checks.items():
        if not ok:
            print(f"unexpected: {name}")
    ok = len(checks) == 5 and all(checks.values())
    print("example passed" if ok else "example FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
