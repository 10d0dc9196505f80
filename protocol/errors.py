"""The protocol layer's exception tree.

::

    CodedError                    the base every layer's tree derives from (code, message)
    ProtocolError                 every refusal by the protocol layer; carries a ReasonCode
    ├── JSONInputError            strict-JSON (I-JSON) parsing and size/depth limits
    ├── JWSError                  structure, header, algorithm and signature checks
    ├── CertificateError          X.509 decoding and chain validation
    ├── SchemaError               document JSON Schema validation (carries the JSON pointer)
    ├── EnvelopeError             node-to-node envelopes
    ├── ReceiptError              signed receipts
    ├── DocumentReferenceError    a references[] entry that does not resolve (carries the pointer)
    ├── ContentError              a code not in its list, figures that do not add up (pointer)
    ├── TitleError                title entries, title chains and their messages
    ├── StatusError               signed status statements (revocation, replacement)
    └── InteropError              conversion to and from other standards' formats (ePhyto XML)
    KeyLoadError                  private keys that cannot be loaded (a ProtocolError too)

Misuse by our own code (wrong argument types, naive datetimes) raises ``TypeError`` or
``ValueError``, never a domain error.
"""

from __future__ import annotations

from typing import Any

from protocol.reason_codes import ReasonCode


class CodedError(Exception):
    """What every layer's refusals share: a reason code, a message saying what was expected
    and what was found, and the objects a handler needs (``context``). Each layer derives
    its own tree from it (``ProtocolError``, ``TrustError``, ``NodeError``)."""

    def __init__(self, code: ReasonCode, message: str, **context: Any) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
        self.context = context

    @property
    def codes(self) -> tuple[ReasonCode, ...]:
        """All reason codes this error stands for, the primary one first."""
        return (self.code,)

    def diagnostics(self) -> str:
        """A human-readable, multi-line explanation for CLI output."""
        lines = [f"{self.code.value}: {self.message}", f"  ({self.code.description})"]
        lines += [f"  also: {code.value}" for code in self.codes[1:]]
        lines += [f"  {key}: {value}" for key, value in self.context.items()]
        return "\n".join(lines)


class ProtocolError(CodedError):
    """A refusal by the protocol layer."""


class JSONInputError(ProtocolError):
    """The input is not strict I-JSON or exceeds a limit."""


class JWSError(ProtocolError):
    """A JWS is malformed, uses a refused algorithm or header, or does not verify."""


class CertificateError(ProtocolError):
    """A certificate is malformed or its chain does not validate at the given time."""


class SchemaError(ProtocolError):
    """A document violates its JSON Schema. ``pointer`` locates the first violation."""

    def __init__(self, code: ReasonCode, message: str, *, pointer: str = "", **context: Any) -> None:
        super().__init__(code, message, pointer=pointer, **context)
        self.pointer = pointer


class EnvelopeError(ProtocolError):
    """A node-to-node envelope is malformed or inconsistent."""


class ReceiptError(ProtocolError):
    """A receipt is malformed, does not verify, or does not match its message."""


class DocumentReferenceError(ProtocolError):
    """A ``references[]`` entry names no known document, or the wrong digest or type.
    ``pointer`` locates the entry (``/references/i`` or one of its members)."""

    def __init__(self, code: ReasonCode, message: str, *, pointer: str = "", **context: Any) -> None:
        super().__init__(code, message, pointer=pointer, **context)
        self.pointer = pointer


class ContentError(ProtocolError):
    """A schema-valid document fails a content check of the validation profile: a code is
    not in its code list (``CODE_UNKNOWN``) or its figures do not add up
    (``AMOUNT_MISMATCH``). ``pointer`` locates the first problem; ``problems`` lists every
    one as ``(pointer, message)``."""

    def __init__(self, code: ReasonCode, message: str, *, pointer: str = "",
                 problems: tuple[tuple[str, str], ...] = (), **context: Any) -> None:
        super().__init__(code, message, pointer=pointer, **context)
        self.pointer = pointer
        self.problems = problems or ((pointer, message),)


class TitleError(ProtocolError):
    """A title entry, title chain or title message is malformed or does not verify."""


class StatusError(ProtocolError):
    """A status statement (revocation or replacement) or a status answer is malformed, does
    not verify, or is signed by another authority than the document's issuer."""


class KeyLoadError(ProtocolError):
    """A private key cannot be loaded (missing, wrong passphrase, unsupported type)."""


class InteropError(ProtocolError):
    """A document cannot be converted to or from another standard's format (e.g. the
    UN/CEFACT SPS certificate XML of the IPPC ePhyto hub). ``where`` locates the problem:
    an XML path, a line number or a JSON pointer."""
