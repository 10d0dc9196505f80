"""Conversions between TradeAccord documents and other standards' formats.

- ``ephyto``: the phytosanitary certificate and the UN/CEFACT SPS certificate XML exchanged
  through the IPPC ePhyto hub (``EphytoConverter``).

Each converter is pure (bytes and dicts in, bytes and dicts out), is built explicitly
(``load``) and refuses bad input with an ``InteropError`` carrying a reason code.
"""

from protocol.interop.ephyto import EPHYTO_FORMAT, EphytoConverter

__all__ = ["EPHYTO_FORMAT", "EphytoConverter"]
