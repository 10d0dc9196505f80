"""The node layer's exception tree and the HTTP status of every reason code.

::

    NodeError                     every refusal by the node; carries a ReasonCode
    ├── AuthError                 missing/invalid credentials (401) or role not allowed (403)
    ├── NotFoundError             no such object, or not visible to the caller (404)
    ├── ConflictError             the object exists with other content / wrong state (409)
    ├── RequestError              a request that is not as documented (400/413/415/422)
    ├── DeliveryError             a peer could not be reached, refused, or answered too much
    ├── ConfigError               the authority directory or settings are invalid
    └── StorageError              the database cannot be reached (503)

Errors from lower layers (``ProtocolError``, ``TrustError``) keep their own classes and
codes; the API's single exception handler maps any of them to a status with ``http_status``.
Foreign exceptions (SQLAlchemy, httpx) are translated at the boundary, chained.
"""

from __future__ import annotations

from protocol.errors import CodedError
from protocol.reason_codes import ReasonCode


class NodeError(CodedError):
    """A node refusal with a stable reason code."""


class AuthError(NodeError):
    """Missing or invalid credentials, or a role that may not do this."""


class NotFoundError(NodeError):
    """No such object, or one the caller may not see."""


class ConflictError(NodeError):
    """The object exists with other content, or is in a state that forbids the operation."""


class RequestError(NodeError):
    """The request is not as documented."""


class DeliveryError(NodeError):
    """A peer could not be reached, answered with a refusal, or answered beyond the size cap
    (JSON_TOO_LARGE, ``node.bounded_read``)."""


class ConfigError(NodeError):
    """The authority directory or the settings are invalid."""


class StorageError(NodeError):
    """The database cannot be reached or refused the operation."""


_STATUS: dict[ReasonCode, int] = {
    ReasonCode.JSON_TOO_LARGE: 413,
    ReasonCode.CONTENT_TYPE_UNSUPPORTED: 415,
    ReasonCode.AUTH_REQUIRED: 401,
    ReasonCode.ENVELOPE_SIGNATURE_INVALID: 401,
    ReasonCode.SENDER_UNKNOWN: 403,
    ReasonCode.NODE_CERTIFICATE_MISSING: 401,
    ReasonCode.FORBIDDEN: 403,
    ReasonCode.STATUS_NOT_ISSUER: 403,
    ReasonCode.NOT_FOUND: 404,
    ReasonCode.DOC_TYPE_UNKNOWN: 422,
    ReasonCode.SCHEMA_INVALID: 422,
    ReasonCode.REFERENCE_UNRESOLVED: 422,
    ReasonCode.REFERENCE_MISMATCH: 422,
    ReasonCode.ISSUER_ROLE_MISSING: 422,
    ReasonCode.CODE_UNKNOWN: 422,
    ReasonCode.AMOUNT_MISMATCH: 422,
    ReasonCode.CONFLICT: 409,
    ReasonCode.TITLE_CONFLICT: 409,
    ReasonCode.TITLE_NOT_HOLDER: 403,
    ReasonCode.TITLE_SIGNER_NOT_CUSTODIAN: 409,
    ReasonCode.TITLE_RECORD_INACTIVE: 409,
    ReasonCode.STATE_INVALID: 409,
    ReasonCode.DOCUMENT_DUPLICATE: 409,
    ReasonCode.MESSAGE_DUPLICATE: 409,
    ReasonCode.AGREEMENT_SIGNATURE_MISSING: 422,
    ReasonCode.REGISTRY_ROLLBACK: 409,
    ReasonCode.WRONG_RECIPIENT: 421,
    ReasonCode.MESSAGE_EXPIRED: 400,
    ReasonCode.STORAGE_UNAVAILABLE: 503,
    ReasonCode.KEY_UNAVAILABLE: 503,
    ReasonCode.PEER_UNREACHABLE: 502,
    ReasonCode.CONFIG_INVALID: 500,
    ReasonCode.INTERNAL_ERROR: 500,
}


def http_status(code: ReasonCode) -> int:
    """The HTTP status for a refusal with ``code``: 400 unless listed otherwise."""
    return _STATUS.get(code, 400)
