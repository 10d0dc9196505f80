"""Interoperability with other trade-document standards (pure converters, no I/O at import).

- ``dcsa_ebl``: our ``bill-of-lading`` 1.1 ↔ the DCSA eBL 3.0.0 ``TransportDocument``, with
  DCSA's published schema under ``dcsa/`` (origin and licence in ``dcsa/README.md``).
- ``ephyto``: the phytosanitary certificate and the UN/CEFACT SPS certificate XML exchanged
  through the IPPC ePhyto hub (``EphytoConverter``).

Each converter is pure (bytes and dicts in, bytes and dicts out), is built explicitly
(``load``) and refuses bad input with an ``InteropError`` carrying a reason code.
"""

from protocol.interop.ephyto import EPHYTO_FORMAT, EphytoConverter

__all__ = ["EPHYTO_FORMAT", "EphytoConverter"]
