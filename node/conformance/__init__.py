"""The conformance kit: a synthetic peer that plays scenarios against any node speaking the
TradeAccord peer protocol, and the fixed vector pack of signed objects it uses.

- ``vectors``: the vector pack (one valid object and one per reason code, for each signed
  object type and algorithm) and how each is verified; ``generate_vectors`` writes it.
- ``mutations``: how a signed object is spoilt, shared by the vectors and the scenarios.
- ``peer``, ``scenarios``, ``runner``: the synthetic peer, the scenarios and the run that
  writes the report (``tradeaccord conformance run``).

Nothing here is imported by the node itself.
"""
