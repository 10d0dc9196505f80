"""The closed list of reason codes shared by every layer.

The same code appears in exceptions, receipts, API error bodies, CLI output and the audit
log. Codes are stable identifiers: never rename one; add new ones at the end of their group.
`docs/errors.md` is generated from this table (``python -m protocol.reason_codes``).
"""

from __future__ import annotations

import sys
from enum import StrEnum


class ReasonCode(StrEnum):
    """A stable, documented reason for a refusal or a non-acceptance outcome."""

    # -- strict JSON input (RFC 7493 I-JSON) --
    JSON_MALFORMED = "JSON_MALFORMED"
    JSON_NOT_UTF8 = "JSON_NOT_UTF8"
    JSON_DUPLICATE_MEMBER = "JSON_DUPLICATE_MEMBER"
    JSON_LONE_SURROGATE = "JSON_LONE_SURROGATE"
    JSON_NON_FINITE_NUMBER = "JSON_NON_FINITE_NUMBER"
    JSON_INTEGER_OUT_OF_RANGE = "JSON_INTEGER_OUT_OF_RANGE"
    JSON_TOO_LARGE = "JSON_TOO_LARGE"
    JSON_TOO_DEEP = "JSON_TOO_DEEP"
    # -- JWS (RFC 7515) --
    JWS_MALFORMED = "JWS_MALFORMED"
    JWS_DUPLICATE_SIGNATURE = "JWS_DUPLICATE_SIGNATURE"
    JWS_TOO_MANY_SIGNATURES = "JWS_TOO_MANY_SIGNATURES"
    JWS_HEADER_INVALID = "JWS_HEADER_INVALID"
    ALG_NOT_ALLOWED = "ALG_NOT_ALLOWED"
    ALG_KEY_MISMATCH = "ALG_KEY_MISMATCH"
    CRIT_UNSUPPORTED = "CRIT_UNSUPPORTED"
    KID_MISMATCH = "KID_MISMATCH"
    TYP_MISMATCH = "TYP_MISMATCH"
    SIGNING_TIME_INVALID = "SIGNING_TIME_INVALID"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    # -- certificates (X.509) --
    CERT_MALFORMED = "CERT_MALFORMED"
    CHAIN_TOO_LONG = "CHAIN_TOO_LONG"
    CHAIN_UNTRUSTED = "CHAIN_UNTRUSTED"
    CHAIN_INVALID = "CHAIN_INVALID"
    CERT_NOT_YET_VALID = "CERT_NOT_YET_VALID"
    CERT_EXPIRED = "CERT_EXPIRED"
    CERT_USAGE_INVALID = "CERT_USAGE_INVALID"
    CERT_REVOKED = "CERT_REVOKED"
    ANCHOR_NOT_VALID = "ANCHOR_NOT_VALID"
    KEY_UNAVAILABLE = "KEY_UNAVAILABLE"
    # -- documents --
    DOC_TYPE_UNKNOWN = "DOC_TYPE_UNKNOWN"
    SCHEMA_INVALID = "SCHEMA_INVALID"
    REFERENCE_UNRESOLVED = "REFERENCE_UNRESOLVED"
    REFERENCE_MISMATCH = "REFERENCE_MISMATCH"
    XML_MALFORMED = "XML_MALFORMED"
    EPHYTO_INVALID = "EPHYTO_INVALID"
    CODE_UNKNOWN = "CODE_UNKNOWN"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    # -- trust registry and recognition --
    ISSUER_UNKNOWN = "ISSUER_UNKNOWN"
    ISSUER_MISMATCH = "ISSUER_MISMATCH"
    NO_AGREEMENT = "NO_AGREEMENT"
    AGREEMENT_NOT_IN_FORCE = "AGREEMENT_NOT_IN_FORCE"
    AGREEMENT_NOT_YET_VALID = "AGREEMENT_NOT_YET_VALID"
    AGREEMENT_EXPIRED = "AGREEMENT_EXPIRED"
    AGREEMENT_SUSPENDED = "AGREEMENT_SUSPENDED"
    AGREEMENT_TERMINATED = "AGREEMENT_TERMINATED"
    AGREEMENT_SIGNATURE_MISSING = "AGREEMENT_SIGNATURE_MISSING"
    AGREEMENT_INVALID = "AGREEMENT_INVALID"
    DOC_TYPE_NOT_COVERED = "DOC_TYPE_NOT_COVERED"
    DIRECTION_NOT_COVERED = "DIRECTION_NOT_COVERED"
    RELIABILITY_INSUFFICIENT = "RELIABILITY_INSUFFICIENT"
    MAPPING_FAILED = "MAPPING_FAILED"
    REGISTRY_INVALID = "REGISTRY_INVALID"
    REGISTRY_ROLLBACK = "REGISTRY_ROLLBACK"
    REGISTRY_EXPIRED = "REGISTRY_EXPIRED"
    REGISTRY_SIGNATURE_INVALID = "REGISTRY_SIGNATURE_INVALID"
    REGISTRY_SIGNER_UNTRUSTED = "REGISTRY_SIGNER_UNTRUSTED"
    ISSUER_ROLE_MISSING = "ISSUER_ROLE_MISSING"
    # -- envelopes, receipts, delivery --
    ENVELOPE_MALFORMED = "ENVELOPE_MALFORMED"
    ENVELOPE_SIGNATURE_INVALID = "ENVELOPE_SIGNATURE_INVALID"
    SENDER_UNKNOWN = "SENDER_UNKNOWN"
    WRONG_RECIPIENT = "WRONG_RECIPIENT"
    MESSAGE_DUPLICATE = "MESSAGE_DUPLICATE"
    MESSAGE_EXPIRED = "MESSAGE_EXPIRED"
    DOCUMENT_DUPLICATE = "DOCUMENT_DUPLICATE"
    RECEIPT_INVALID = "RECEIPT_INVALID"
    TITLE_CONFLICT = "TITLE_CONFLICT"
    REVIEW_REQUIRED = "REVIEW_REQUIRED"
    REJECTED_BY_OFFICER = "REJECTED_BY_OFFICER"
    PEER_UNREACHABLE = "PEER_UNREACHABLE"
    PEER_REFUSED = "PEER_REFUSED"
    NODE_CERTIFICATE_MISSING = "NODE_CERTIFICATE_MISSING"
    # -- declarations and clearance --
    RECONCILIATION_MISMATCH = "RECONCILIATION_MISMATCH"
    CERTIFICATE_NOT_RECOGNISED = "CERTIFICATE_NOT_RECOGNISED"
    CERTIFICATE_MISSING = "CERTIFICATE_MISSING"
    GOODS_NOT_COVERED = "GOODS_NOT_COVERED"
    DECLARATION_NOT_RECOGNISED = "DECLARATION_NOT_RECOGNISED"
    # -- document lifecycle (revocation and replacement) --
    DOCUMENT_REVOKED = "DOCUMENT_REVOKED"
    DOCUMENT_REPLACED = "DOCUMENT_REPLACED"
    STATUS_NOT_ISSUER = "STATUS_NOT_ISSUER"
    STATUS_INVALID = "STATUS_INVALID"
    # -- evidence bundles --
    EVIDENCE_INVALID = "EVIDENCE_INVALID"
    EVIDENCE_TAMPERED = "EVIDENCE_TAMPERED"
    # -- transferable records (title chains) --
    TITLE_SIGNER_NOT_CUSTODIAN = "TITLE_SIGNER_NOT_CUSTODIAN"
    TITLE_NOT_HOLDER = "TITLE_NOT_HOLDER"
    TITLE_ENTRY_REPLAYED = "TITLE_ENTRY_REPLAYED"
    TITLE_CHAIN_BROKEN = "TITLE_CHAIN_BROKEN"
    TITLE_COUNTERSIGNATURE_MISSING = "TITLE_COUNTERSIGNATURE_MISSING"
    TITLE_RECORD_INACTIVE = "TITLE_RECORD_INACTIVE"
    TITLE_ENTRY_INVALID = "TITLE_ENTRY_INVALID"
    # -- node API and operations --
    AUTH_REQUIRED = "AUTH_REQUIRED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    REQUEST_INVALID = "REQUEST_INVALID"
    CONTENT_TYPE_UNSUPPORTED = "CONTENT_TYPE_UNSUPPORTED"
    STATE_INVALID = "STATE_INVALID"
    AUDIT_CHAIN_BROKEN = "AUDIT_CHAIN_BROKEN"
    CONFIG_INVALID = "CONFIG_INVALID"
    STORAGE_UNAVAILABLE = "STORAGE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"

    @property
    def description(self) -> str:
        """One sentence a customs officer or a trader can act on."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS: dict[ReasonCode, str] = {
    ReasonCode.JSON_MALFORMED: "The input is not well-formed JSON.",
    ReasonCode.JSON_NOT_UTF8: "The input is not valid UTF-8 (or starts with a byte-order mark).",
    ReasonCode.JSON_DUPLICATE_MEMBER: "An object has the same member name twice (RFC 7493 §2.3).",
    ReasonCode.JSON_LONE_SURROGATE: "A string holds a lone UTF-16 surrogate (RFC 7493 §2.1).",
    ReasonCode.JSON_NON_FINITE_NUMBER: "A number is NaN, Infinity or overflows IEEE 754 double.",
    ReasonCode.JSON_INTEGER_OUT_OF_RANGE: "An integer lies outside ±(2^53−1) (RFC 7493 §2.2).",
    ReasonCode.JSON_TOO_LARGE: "The input is larger than the configured size limit.",
    ReasonCode.JSON_TOO_DEEP: "The input nests deeper than the configured depth limit.",
    ReasonCode.JWS_MALFORMED: "Not a JWS in JSON General Serialization as this profile requires.",
    ReasonCode.JWS_DUPLICATE_SIGNATURE: "The same signature (or signer) appears twice.",
    ReasonCode.JWS_TOO_MANY_SIGNATURES: "More signatures than the configured limit.",
    ReasonCode.JWS_HEADER_INVALID: "The protected header lacks a required member or has a bad one.",
    ReasonCode.ALG_NOT_ALLOWED: "The algorithm is not on the allow-list (none, HMAC, RSA, unknown).",
    ReasonCode.ALG_KEY_MISMATCH: "The header's alg does not match the certificate's key type.",
    ReasonCode.CRIT_UNSUPPORTED: "The header marks as critical a parameter this profile ignores.",
    ReasonCode.KID_MISMATCH: "The kid is not the RFC 7638 thumbprint of the signer's key.",
    ReasonCode.TYP_MISMATCH: "The typ names another kind of object than the one expected.",
    ReasonCode.SIGNING_TIME_INVALID: "The signing time (sigT) is missing, malformed or in the future.",
    ReasonCode.SIGNATURE_INVALID: "The signature does not verify: the bytes were changed.",
    ReasonCode.CERT_MALFORMED: "A certificate in x5c cannot be decoded.",
    ReasonCode.CHAIN_TOO_LONG: "The certificate chain is longer than the configured limit.",
    ReasonCode.CHAIN_UNTRUSTED: "The chain does not lead to any trust anchor given.",
    ReasonCode.CHAIN_INVALID: "A link of the chain is invalid (signature, CA flag, path length).",
    ReasonCode.CERT_NOT_YET_VALID: "A certificate was not yet valid at the time checked.",
    ReasonCode.CERT_EXPIRED: "A certificate had expired at the time checked.",
    ReasonCode.CERT_USAGE_INVALID: "A certificate's key usage or extended key usage does not fit.",
    ReasonCode.CERT_REVOKED: "The signer certificate was revoked before the signing time.",
    ReasonCode.ANCHOR_NOT_VALID: "The trust anchor was outside its registered validity window.",
    ReasonCode.KEY_UNAVAILABLE: "A private key could not be loaded (missing file or passphrase).",
    ReasonCode.DOC_TYPE_UNKNOWN: "The document type (or its version) has no schema here.",
    ReasonCode.SCHEMA_INVALID: "The document violates its type's JSON Schema (see the pointer).",
    ReasonCode.REFERENCE_UNRESOLVED: "A references[] entry names a document that is neither in the "
    "package nor held by the node.",
    ReasonCode.REFERENCE_MISMATCH: "A references[] entry's SHA-256 is not the digest of the "
    "document it names (SHA-256 of its signed payload).",
    ReasonCode.XML_MALFORMED: "The XML input is not well-formed, is too large or too deep, or "
    "holds a DTD or entity declaration (refused: no entities, no network).",
    ReasonCode.EPHYTO_INVALID: "The data is not a UN/CEFACT SPS certificate (ePhyto) this node "
    "can convert: wrong root, schema violation, or a required field missing either way.",
    ReasonCode.CODE_UNKNOWN: "A code is not in its code list (ISO 3166-1 country, ISO 4217 "
    "currency, HS subheading, UN/ECE Rec 20 unit, Incoterms 2020, the country part of a "
    "UN/LOCODE or UCR); the message names the JSON pointer and the list.",
    ReasonCode.AMOUNT_MISMATCH: "The document's figures do not add up (a line amount is not "
    "unit price × quantity, the lines do not sum to the total, masses or packages disagree); "
    "the message names the JSON pointer.",
    ReasonCode.ISSUER_UNKNOWN: "The issuing authority is not in the trust registry.",
    ReasonCode.ISSUER_MISMATCH: "The document's issuer is not the authority whose key signed it.",
    ReasonCode.NO_AGREEMENT: "No agreement links the issuer and the receiver.",
    ReasonCode.AGREEMENT_NOT_IN_FORCE: "The agreement is only proposed (not signed by both roots).",
    ReasonCode.AGREEMENT_NOT_YET_VALID: "The agreement's validity window had not begun.",
    ReasonCode.AGREEMENT_EXPIRED: "The agreement's validity window had ended.",
    ReasonCode.AGREEMENT_SUSPENDED: "The agreement was suspended at the time that counts.",
    ReasonCode.AGREEMENT_TERMINATED: "The agreement was terminated at the time that counts.",
    ReasonCode.AGREEMENT_SIGNATURE_MISSING: "The agreement lacks a party's root signature.",
    ReasonCode.AGREEMENT_INVALID: "The agreement is malformed or its signatures do not verify.",
    ReasonCode.DOC_TYPE_NOT_COVERED: "No scope item of the agreement covers this document type.",
    ReasonCode.DIRECTION_NOT_COVERED: "The agreement covers this type only in the other direction.",
    ReasonCode.RELIABILITY_INSUFFICIENT: "The issuer's reliability profile is below the minimum.",
    ReasonCode.MAPPING_FAILED: "The equivalence mapping could not be applied to the document.",
    ReasonCode.REGISTRY_INVALID: "The registry or snapshot is malformed or inconsistent.",
    ReasonCode.REGISTRY_ROLLBACK: "The snapshot's version is lower than the one held (rollback).",
    ReasonCode.REGISTRY_EXPIRED: "The snapshot has expired (freeze attack protection).",
    ReasonCode.REGISTRY_SIGNATURE_INVALID: "The snapshot's signature is missing or invalid.",
    ReasonCode.REGISTRY_SIGNER_UNTRUSTED: "The snapshot is not signed by the registry owner's root.",
    ReasonCode.ISSUER_ROLE_MISSING: "The issuer lacks the registry role this document type needs "
    "(origin for a certificate of origin, plant-protection for a phytosanitary certificate, "
    "transferable-records for the issuance of a title chain).",
    ReasonCode.ENVELOPE_MALFORMED: "The envelope is not a valid TradeAccord envelope.",
    ReasonCode.ENVELOPE_SIGNATURE_INVALID: "The envelope is not signed by the sender's node key.",
    ReasonCode.SENDER_UNKNOWN: "The sending authority is not in the receiver's registry.",
    ReasonCode.WRONG_RECIPIENT: "The envelope is addressed to another authority.",
    ReasonCode.MESSAGE_DUPLICATE: "This message id was already received; the first receipt stands.",
    ReasonCode.MESSAGE_EXPIRED: "The envelope's expiresAt has passed (or createdAt is in the future).",
    ReasonCode.DOCUMENT_DUPLICATE: "This document (id and digest) was already received "
    "(no longer sent: a copy is answered with the decision that stands).",
    ReasonCode.RECEIPT_INVALID: "The receipt does not verify or does not match the message.",
    ReasonCode.TITLE_CONFLICT: "A transferable record would have two holders: a second change "
    "from a stale state of the record, refused by its control registry.",
    ReasonCode.REVIEW_REQUIRED: "An officer must review the document before it is accepted.",
    ReasonCode.REJECTED_BY_OFFICER: "An officer rejected the document after review.",
    ReasonCode.PEER_UNREACHABLE: "The peer node could not be reached; delivery will be retried.",
    ReasonCode.PEER_REFUSED: "The peer node refused the envelope.",
    ReasonCode.NODE_CERTIFICATE_MISSING: "The receiver's registry holds no node certificate for the "
    "sending authority, so none of its envelopes can be authenticated (add one with "
    "`registry update-authority --node-cert`).",
    ReasonCode.RECONCILIATION_MISMATCH: "The declaration's documents disagree; the findings name the "
    "rule, the documents, the fields and the values.",
    ReasonCode.CERTIFICATE_NOT_RECOGNISED: "A certificate the declaration relies on is not "
    "recognised here (its own reason codes say why).",
    ReasonCode.CERTIFICATE_MISSING: "The rules require a certificate that the declaration package "
    "does not hold.",
    ReasonCode.GOODS_NOT_COVERED: "The certificate does not cover the declared goods (HS "
    "subheading, origin country or agreement differ).",
    ReasonCode.DECLARATION_NOT_RECOGNISED: "The importing customs did not recognise the forwarded "
    "declaration (its receipt's reason codes say why).",
    ReasonCode.DOCUMENT_REVOKED: "The issuer revoked the document with effect at or before the "
    "time checked (its signed status statement names the effective time and the reason).",
    ReasonCode.DOCUMENT_REPLACED: "The issuer replaced the document with a corrected one with "
    "effect at or before the time checked (the status statement names the replacement).",
    ReasonCode.STATUS_NOT_ISSUER: "A revocation or replacement is not signed by, or not asked "
    "of, the authority that issued the document: only the issuer may withdraw it.",
    ReasonCode.STATUS_INVALID: "A status statement (or status answer) is malformed, does not "
    "verify, or does not fit the document it names (another digest, a second status).",
    ReasonCode.EVIDENCE_INVALID: "The evidence bundle is not a readable bundle, its manifest "
    "is not signed by the producing node's key, or a signed object inside does not verify "
    "(the report names the file).",
    ReasonCode.EVIDENCE_TAMPERED: "A file of the evidence bundle differs from the SHA-256 its "
    "signed manifest lists, or is missing, or was added (the report names the file).",
    ReasonCode.TITLE_SIGNER_NOT_CUSTODIAN: "A title entry is not signed by the node that had "
    "custody of the record (the custodian named by the entry before it).",
    ReasonCode.TITLE_NOT_HOLDER: "The party acting on the transferable record is not its current "
    "holder.",
    ReasonCode.TITLE_ENTRY_REPLAYED: "A title entry repeats one already in the record's chain (a "
    "replay), or asks again for a change the control registry already recorded.",
    ReasonCode.TITLE_CHAIN_BROKEN: "The title chain is reordered, truncated or forked: a hash "
    "link, sequence number, record id or time does not follow from the entry before, or an "
    "entry known to exist is missing.",
    ReasonCode.TITLE_COUNTERSIGNATURE_MISSING: "A change of custody to another node lacks the "
    "countersignature of the record's control registry (its issuing node).",
    ReasonCode.TITLE_RECORD_INACTIVE: "The record was surrendered or accomplished: it admits no "
    "further action (a pending surrender admits only the carrier's answer).",
    ReasonCode.TITLE_ENTRY_INVALID: "A title entry is malformed, or its action does not fit the "
    "record (endorsing a straight bill, answering a surrender that is not pending, a transfer "
    "that changes nothing).",
    ReasonCode.AUTH_REQUIRED: "No valid API key or peer credential was presented.",
    ReasonCode.FORBIDDEN: "The caller's role does not allow this operation.",
    ReasonCode.NOT_FOUND: "No such object, or not visible to this caller.",
    ReasonCode.CONFLICT: "The object already exists with different content.",
    ReasonCode.REQUEST_INVALID: "The request's parameters or body are not as documented.",
    ReasonCode.CONTENT_TYPE_UNSUPPORTED: "The request body must be application/json.",
    ReasonCode.STATE_INVALID: "The operation does not fit the object's current state.",
    ReasonCode.AUDIT_CHAIN_BROKEN: "The audit log's hash chain is broken at the named entry.",
    ReasonCode.CONFIG_INVALID: "The node's configuration or authority directory is invalid.",
    ReasonCode.STORAGE_UNAVAILABLE: "The database cannot be reached.",
    ReasonCode.INTERNAL_ERROR: "An unexpected error; the operator's log has the details.",
}


def markdown_table() -> str:
    """Render the code list as the Markdown table kept in ``docs/errors.md``."""
    rows = ["| code | meaning |", "| --- | --- |"]
    # Each row is the anchor of its code: the API's problem type is errors#CODE (ADR 0030).
    rows += [f'| `{code.value}` | {code.description} <a id="{code.value}"></a> |'
             for code in ReasonCode]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover - documentation generator
    sys.stdout.write(markdown_table())
