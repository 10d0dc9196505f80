"""The UN/CEFACT SPS certificate (ePhyto) mapping of the phytosanitary certificate.

- ``converter``: ``EphytoConverter`` (both directions, schema-checked);
- ``codes``: the code lists (data files in ``codelists/``, each naming its origin);
- ``names``: namespaces and fixed values of the hub profile;
- ``xsd/``: the XML schema tested against, with its origin and licence (``xsd/README.md``).
"""

from protocol.interop.ephyto.codes import CodeLists
from protocol.interop.ephyto.converter import EPHYTO_FORMAT, XSD_DIRECTORY, EphytoConverter

__all__ = ["EPHYTO_FORMAT", "XSD_DIRECTORY", "CodeLists", "EphytoConverter"]
