"""Namespaces and fixed values of the SPS certificate profile used by the IPPC ePhyto hub."""

from __future__ import annotations

from typing import Final

RSM: Final = "urn:un:unece:uncefact:data:standard:SPSCertificate:17"
RAM: Final = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21"
UDT: Final = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:21"
NSMAP: Final = {"rsm": RSM, "ram": RAM, "udt": UDT}

STATUS_ISSUED: Final = "70"
"""UNTDID 4405 ``Issued``: the status of every certificate TradeAccord writes."""

STANDARD_NAMES: Final = {
    "export": "Phytosanitary Certificate",
    "re-export": "Phytosanitary Certificate for Re-Export",
}
"""``SPSExchangedDocument/Name`` written per certificate type (the ISPM 12 model titles)."""

EXTENSION_SUBJECT: Final = "TRADEACCORD"
"""Subject of the one ``IncludedSPSNote`` that carries TradeAccord-only data as JSON."""

EXTENSION_VERSION: Final = 1

TRADER_ID_LIST: Final = "TradeAccordTraderId"
"""``listName`` of the party ``TypeCode`` that carries a TradeAccord trader id."""
