"""TradeAccord protocol layer: pure formats, no I/O, no database, no HTTP.

- ``strict_json``: I-JSON (RFC 7493) input with size and depth limits.
- ``canonical``: RFC 8785 canonical form and digests.
- ``jws``: the JWS (RFC 7515) General Serialization profile: sign, add a signature,
  parse, verify with evidence.
- ``certificates``: X.509 profiles (root, document signer, node, rotation) and chain
  validation at an explicit time.
- ``documents``: the JSON Schemas of the document types; ``signed_document``: signing a
  document and verifying it as named checks.
- ``codelists``, ``content``, ``validation_profile``: code lists as data (ISO 3166-1,
  ISO 4217, HS, UN/ECE Rec 20, Incoterms) and the validation profiles that check a
  document's codes by membership and its arithmetic.
- ``envelope``, ``receipt``: node-to-node messages and signed receipts.
- ``title_entry``, ``title_chain``, ``title_messages``: transferable records — title entries,
  verifying a bill's whole title chain, and the custody messages between nodes.
- ``reason_codes``, ``errors``: the closed list of reason codes and the exception tree.
- ``interop``: conversions to and from other standards' formats (``interop.ephyto``: the
  UN/CEFACT SPS certificate XML of the IPPC ePhyto hub); import it explicitly (it needs lxml).
"""

from protocol.canonical import canonicalize, sha256_hex
from protocol.certificates import CertUsage, KeyAlgorithm, ValidatedChain, validate_chain
from protocol.codelists import CodeList, CodeLists
from protocol.content import ContentChecker
from protocol.documents import DOCUMENT_TYPES, DocumentSchemas
from protocol.envelope import Envelope, EnvelopeKind, StatusChangeNotice
from protocol.errors import (
    CertificateError,
    CodedError,
    ContentError,
    EnvelopeError,
    InteropError,
    JSONInputError,
    JWSError,
    KeyLoadError,
    ProtocolError,
    ReceiptError,
    SchemaError,
    TitleError,
)
from protocol.jws import GeneralJWS, JWSType, Signer, VerifiedJWS, add_signature, sign, verify
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.receipt import DocumentOutcome, Outcome, Receipt
from protocol.signed_document import DocumentVerification, sign_document, verify_document
from protocol.strict_json import parse_json
from protocol.title_chain import TitleEvidence, TitleState, TitleStatus, TitleTrust, verify_chain
from protocol.title_entry import TitleAction, TitleEntry, TitleRecord
from protocol.title_messages import TitleMessage, TitleMessageKind
from protocol.validation_profile import DEFAULT_PROFILE, ValidationProfile

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_PROFILE",
    "DOCUMENT_TYPES",
    "CertUsage",
    "CertificateError",
    "CodeList",
    "CodeLists",
    "CodedError",
    "ContentChecker",
    "ContentError",
    "DocumentOutcome",
    "DocumentSchemas",
    "DocumentVerification",
    "Envelope",
    "EnvelopeError",
    "EnvelopeKind",
    "GeneralJWS",
    "InteropError",
    "JSONInputError",
    "JWSError",
    "JWSType",
    "KeyAlgorithm",
    "KeyLoadError",
    "Limits",
    "Outcome",
    "ProtocolError",
    "ReasonCode",
    "Receipt",
    "ReceiptError",
    "SchemaError",
    "Signer",
    "StatusChangeNotice",
    "TitleAction",
    "TitleEntry",
    "TitleError",
    "TitleEvidence",
    "TitleMessage",
    "TitleMessageKind",
    "TitleRecord",
    "TitleState",
    "TitleStatus",
    "TitleTrust",
    "ValidatedChain",
    "ValidationProfile",
    "VerifiedJWS",
    "add_signature",
    "canonicalize",
    "parse_json",
    "sha256_hex",
    "sign",
    "sign_document",
    "validate_chain",
    "verify",
    "verify_chain",
    "verify_document",
]
