"""The trust registry's exception tree.

::

    TrustError                    every refusal by the trust registry; carries ReasonCodes
    ├── NotRecognisedError        the recognition decision said no (codes say why)
    ├── AgreementError            an agreement is malformed, unsigned or in the wrong state
    ├── SnapshotError             a snapshot import was refused (rollback, freeze, signature)
    ├── MappingError              an equivalence mapping could not be applied
    └── TitleChainError           a transferable record's title chain does not verify

Reason codes come from ``protocol.reason_codes.ReasonCode`` (one closed list for all layers).
A ``ProtocolError`` met during a trust check is translated to a ``TrustError`` with the same
code, chained to the original.
"""

from __future__ import annotations

from typing import Any

from protocol.errors import CodedError, ProtocolError
from protocol.reason_codes import ReasonCode


class TrustError(CodedError):
    """A trust refusal: a primary reason code, any further codes, and a message."""

    def __init__(
        self,
        code: ReasonCode,
        message: str,
        *,
        more_codes: tuple[ReasonCode, ...] = (),
        **context: Any,
    ) -> None:
        super().__init__(code, message, **context)
        self.more_codes = more_codes

    @property
    def codes(self) -> tuple[ReasonCode, ...]:
        """The primary code followed by any further codes, without repeats."""
        return tuple(dict.fromkeys((self.code, *self.more_codes)))

    @classmethod
    def from_protocol(cls, error: ProtocolError) -> TrustError:
        """Translate a protocol-layer refusal, keeping its code (caller chains with ``from``)."""
        return cls(error.code, error.message, **error.context)


class NotRecognisedError(TrustError):
    """The document is not recognised by the receiver at the given time."""


class AgreementError(TrustError):
    """An agreement is malformed, lacks a party's signature, or is in the wrong state."""


class SnapshotError(TrustError):
    """A registry snapshot was refused; the registry is unchanged."""


class MappingError(TrustError):
    """An equivalence mapping could not be applied to a document."""


class TitleChainError(TrustError):
    """A transferable record's bill or title chain was refused (code from either layer)."""
