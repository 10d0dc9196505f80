"""Interoperability with other trade-document standards (pure converters, no I/O at import).

- ``dcsa_ebl``: our ``bill-of-lading`` 1.1 ↔ the DCSA eBL 3.0.0 ``TransportDocument``, with
  DCSA's published schema under ``dcsa/`` (origin and licence in ``dcsa/README.md``).
"""
