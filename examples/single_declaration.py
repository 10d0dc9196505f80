"""Single declaration, bilateral clearance: the export declaration becomes the import one.

Two nodes run as real processes. SG-CUSTOMS and CN-CUSTOMS sign an agreement under which
Singapore's export declarations are recognised in China as import declarations, through the
shipped equivalence mapping ``customs-declaration-export-to-import-1.1``. An SG customs
officer sends the exporter's declaration; CN-CUSTOMS recognises it and derives the import
declaration, which keeps the id and SHA-256 of the signed original.
Run: python examples/single_declaration.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from node.client import NodeClient
from node.localnet import LocalNetwork
from node.pilot import AgreementSpec, AuthoritySpec
from node.services.apikeys import Role
from trust_registry import Direction

EXAMPLES = Path(__file__).resolve().parent / "documents"
MAPPING = "customs-declaration-export-to-import-1.1"


def main() -> int:
    declaration = json.loads((EXAMPLES / "customs-declaration.json").read_text("utf-8"))
    declaration.pop("id")
    declaration.pop("issuer")  # the node signing it fills in its own authority id
    with tempfile.TemporaryDirectory() as tmp, LocalNetwork(
        Path(tmp),
        [AuthoritySpec("SG-CUSTOMS", "SG", "Singapore Customs"),
         AuthoritySpec("CN-CUSTOMS", "CN", "General Administration of Customs of China")],
        [AgreementSpec("SG-CN-SD-2026", "SG-CUSTOMS", "CN-CUSTOMS", ("customs-declaration",),
                       mapping_ids=(MAPPING,), direction=Direction.OUTBOUND)],
    ) as network:
        network.setup()
        sg_officer = network.api_key("SG-CUSTOMS", Role.OFFICER)
        cn_officer = network.api_key("CN-CUSTOMS", Role.OFFICER)
        network.start_all()
        with NodeClient(network.urls["SG-CUSTOMS"], sg_officer) as sg:
            sent = sg.submit(declaration, send_to=["CN-CUSTOMS"])
            print(f"SG-CUSTOMS signed export declaration {sent['id']} and sent it to CN-CUSTOMS")
            deadline = time.monotonic() + 30
            delivery = sg.status(sent["id"])["deliveries"][0]
            while delivery["state"] == "pending" and time.monotonic() < deadline:
                time.sleep(0.1)
                delivery = sg.status(sent["id"])["deliveries"][0]
        print(f"receipt from CN-CUSTOMS: {delivery['outcome']} as {delivery['recognisedAs']} "
              f"under {delivery['agreementId']}")
        with NodeClient(network.urls["CN-CUSTOMS"], cn_officer) as cn:
            received = cn.document(sent["id"], direction="inbound")
        mapped = received["mapped"] or {}
        derived = mapped.get("extensions", {}).get("tradeaccord:derivedFrom", {})
        print(f"CN-CUSTOMS holds an {mapped.get('body', {}).get('declarationType')} declaration "
              f"derived from {derived.get('id')} (sha256 {str(derived.get('sha256'))[:16]}…)")
        ok = (delivery["outcome"] == "accepted"
              and mapped.get("body", {}).get("declarationType") == "import"
              and derived.get("sha256") == sent["sha256"])
    print("example passed" if ok else "example FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
