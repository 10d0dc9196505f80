"""Sign a certificate of origin offline and verify it, as a receiving authority would.

No node, no database: an authority directory (keys and certificates), the protocol layer,
and the issuer's root certificate as the trust anchor. The issuer is the chamber that
certifies origin, SG-CHAMBER, as named in the example. Run: python examples/offline_sign_verify.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from node.authority import AuthorityDirectory
from protocol.documents import DocumentSchemas
from protocol.jws import GeneralJWS
from protocol.signed_document import sign_document, verify_document
from protocol.timeutil import format_time, utc_now

EXAMPLES = Path(__file__).resolve().parent / "documents"


def main() -> int:
    now = utc_now()
    with tempfile.TemporaryDirectory() as tmp:
        chamber = AuthorityDirectory.create(Path(tmp) / "chamber", authority_id="SG-CHAMBER",
                                            country="SG", name="Singapore Chamber of Commerce",
                                            roles=("origin",), passphrase=None, at=now)
        other = AuthorityDirectory.create(Path(tmp) / "xx", authority_id="XX-UNKNOWN",
                                          country="XX", name="Unknown", passphrase=None, at=now)
        document = json.loads((EXAMPLES / "certificate-of-origin.json").read_text("utf-8"))
        document["issuedAt"] = format_time(now.replace(microsecond=0))
        schemas = DocumentSchemas.load()
        schemas.validate(document)
        signed = sign_document(document, chamber.document_signer(None), signed_at=now)
        print(f"signed {document['type']} {document['id']}")

        good = verify_document(signed, anchors=[chamber.root_certificate], at=now,
                               schemas=schemas)
        print("with SG-CHAMBER's root as anchor:", good.summary()["checks"], "->",
              "VALID" if good.valid else "INVALID")

        foreign = verify_document(signed, anchors=[other.root_certificate], at=now,
                                  schemas=schemas)
        print("with an unrelated root:", [code.value for code in foreign.reasons])

        tampered = signed.to_dict()
        payload = tampered["payload"]
        tampered["payload"] = payload[:40] + ("A" if payload[40] != "A" else "B") + payload[41:]
        changed = verify_document(GeneralJWS.parse(tampered),
                                  anchors=[chamber.root_certificate], at=now, schemas=schemas)
        print("after a one-character change:", [code.value for code in changed.reasons])
        ok = (good.valid and [c.value for c in foreign.reasons] == ["CHAIN_UNTRUSTED"]
              and changed.reasons[0].value == "SIGNATURE_INVALID")
    print("example passed" if ok else "example FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
