"""The pilot network of the single declaration: who runs a node, who holds which role, and
the agreements each pair signs (used by ``tradeaccord demo``, the tests and the benchmarks).

- ``SG-CUSTOMS`` exports, ``CN-CUSTOMS`` imports (role ``customs``);
- ``SG-CHAMBER`` issues certificates of origin (role ``origin``), ``SG-NPPO`` phytosanitary
  certificates (role ``plant-protection``), each from its own node;
- ``SG-ICC`` is a chamber that signs offline (``tradeaccord doc sign``) and runs no node;
  Singapore recognises its certificates, China has no agreement with it.

Agreements, each proposed by the first party's root and countersigned by the second's:
the single declaration (export declaration → import declaration through the equivalence
mapping, and the trader's commercial and transport documents, SG → CN), the clearance
decisions (both ways), certificates of origin (SG-CHAMBER → CN-CUSTOMS) and phytosanitary
certificates (SG-NPPO → CN-CUSTOMS), and the domestic ones that let SG-CUSTOMS recognise
the certificates it is given (SG-CHAMBER, SG-ICC, SG-NPPO → SG-CUSTOMS).
"""

from __future__ import annotations

from node.pilot import AgreementSpec, AuthoritySpec
from trust_registry import Direction

EXPORTER = "SG-UEN-201912345K"
IMPORTER = "CN-USCC-91310000MA1FL5ABCD"
MAPPING = "customs-declaration-export-to-import-1.1"

SG_CUSTOMS = AuthoritySpec("SG-CUSTOMS", "SG", "Singapore Customs", ("customs",))
CN_CUSTOMS = AuthoritySpec("CN-CUSTOMS", "CN", "General Administration of Customs of China",
                           ("customs",))
SG_CHAMBER = AuthoritySpec("SG-CHAMBER", "SG", "Singapore Chamber of Commerce (pilot)",
                           ("origin",))
SG_NPPO = AuthoritySpec("SG-NPPO", "SG", "National Parks Board, Plant Health (pilot NPPO)",
                        ("plant-protection",))
SG_ICC = AuthoritySpec("SG-ICC", "SG", "Singapore International Chamber (pilot, offline)",
                       ("origin",), serve=False)

AUTHORITIES = (SG_CUSTOMS, CN_CUSTOMS, SG_CHAMBER, SG_NPPO, SG_ICC)

SUPPORTING = ("commercial-invoice", "purchase-order", "bill-of-lading", "transport-document",
              "payment-record")

AGREEMENTS = (
    AgreementSpec("SG-CN-SD-2026", "SG-CUSTOMS", "CN-CUSTOMS",
                  ("customs-declaration", *SUPPORTING),
                  mapping_ids=(MAPPING, *(None,) * len(SUPPORTING)),
                  direction=Direction.OUTBOUND,
                  legal_reference="China–Singapore single declaration, bilateral clearance "
                  "pilot arrangement (2026); Framework Agreement on Facilitation of "
                  "Cross-border Paperless Trade in Asia and the Pacific, art. 8"),
    AgreementSpec("SG-CN-CLEARANCE-2026", "SG-CUSTOMS", "CN-CUSTOMS", ("clearance-decision",)),
    AgreementSpec("SGCHAMBER-CN-COO-2026", "SG-CHAMBER", "CN-CUSTOMS",
                  ("certificate-of-origin",), direction=Direction.OUTBOUND),
    AgreementSpec("SGNPPO-CN-SPS-2026", "SG-NPPO", "CN-CUSTOMS",
                  ("phytosanitary-certificate",), direction=Direction.OUTBOUND),
    AgreementSpec("SGCHAMBER-SG-COO-2026", "SG-CHAMBER", "SG-CUSTOMS",
                  ("certificate-of-origin",), direction=Direction.OUTBOUND),
    AgreementSpec("SGICC-SG-COO-2026", "SG-ICC", "SG-CUSTOMS",
                  ("certificate-of-origin",), direction=Direction.OUTBOUND),
    AgreementSpec("SGNPPO-SG-SPS-2026", "SG-NPPO", "SG-CUSTOMS",
                  ("phytosanitary-certificate",), direction=Direction.OUTBOUND),
)
