"""Size and count limits, checked before any cryptography runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Bounds on untrusted input. Defaults suit trade documents of up to a few hundred KB.

    - ``max_document_bytes``: one signed document (JWS JSON) as received.
    - ``max_envelope_bytes``: one node-to-node envelope, documents included.
    - ``max_depth``: JSON nesting (objects and arrays) anywhere.
    - ``max_signatures``: signatures on one JWS (issuer plus endorsements).
    - ``max_chain_length``: certificates in one ``x5c`` (signer plus intermediates).
    - ``max_documents_per_envelope``: documents carried by one envelope.
    - ``max_clock_skew_seconds``: tolerated difference between a peer's clock and ours.
    - ``max_title_entries``: entries in one transferable record's title chain.
    - ``max_xml_bytes``: one XML document read for conversion (an ePhyto SPS certificate,
      attachments included).
    """

    max_document_bytes: int = 1_048_576
    max_envelope_bytes: int = 16_777_216
    max_depth: int = 64
    max_signatures: int = 8
    max_chain_length: int = 4
    max_documents_per_envelope: int = 100
    max_clock_skew_seconds: int = 300
    max_title_entries: int = 1_000
    max_xml_bytes: int = 4_194_304


DEFAULT_LIMITS = Limits()
