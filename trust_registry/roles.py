"""Authority roles, and the role an issuer must hold for each kind of document.

A registry entry lists the roles its owner believes the authority holds (``customs``,
``origin``, ``plant-protection``, ``transferable-records``, …): the receiving authority
decides, in its own registry, who may issue what. The decision (``decision.py``, step 6)
recognises a document only from an issuer holding one of the roles its type requires:

=========================== =====================================================
document type               issuer must hold
=========================== =====================================================
certificate-of-origin       ``origin`` (a chamber, or a customs administration that
                            issues certificates of origin and holds the role)
phytosanitary-certificate   ``plant-protection`` (a national plant protection
                            organisation, IPPC art. IV)
customs-declaration         ``customs``
clearance-decision          ``customs``
=========================== =====================================================

Other types (commercial documents a customs node signs for a trader, transport documents)
require no role. The table is protocol policy, not configuration: who holds a role is what
each receiver configures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType


class Role(StrEnum):
    """Roles this software gives meaning to (a registry may list others)."""

    CUSTOMS = "customs"
    ORIGIN = "origin"
    PLANT_PROTECTION = "plant-protection"
    TRANSFERABLE_RECORDS = "transferable-records"
    REGISTRY = "registry"


ISSUER_ROLES: Mapping[str, frozenset[str]] = MappingProxyType({
    "certificate-of-origin": frozenset({Role.ORIGIN.value}),
    "phytosanitary-certificate": frozenset({Role.PLANT_PROTECTION.value}),
    "customs-declaration": frozenset({Role.CUSTOMS.value}),
    "clearance-decision": frozenset({Role.CUSTOMS.value}),
})


def required_roles(document_type: str) -> frozenset[str]:
    """The roles of which an issuer of ``document_type`` must hold one (empty: none)."""
    return ISSUER_ROLES.get(document_type, frozenset())


def holds_required_role(document_type: str, roles: Iterable[str]) -> bool:
    """True when ``roles`` satisfy the requirement of ``document_type``."""
    required = ISSUER_ROLES.get(document_type)
    return required is None or not required.isdisjoint(roles)
