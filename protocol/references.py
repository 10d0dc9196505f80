"""Document references: every ``references[]`` entry must name a document that is really there.

A reference is ``{"id", "type", "sha256"}`` (``header-1.0``). Its digest is defined exactly:
the lower-case hex SHA-256 of the referenced document's **signed payload bytes** (the JWS
``payload`` decoded), which for a document signed by this protocol are the RFC 8785 bytes of
the document (``sign_document`` signs ``canonicalize(document)``). So anyone holding the
signed referenced document checks a reference without trusting the referrer.

``reference_problems`` checks one document's references against what a caller can resolve —
the documents of a declaration package and those a node holds — and returns every problem,
in order; ``check_references`` raises the first as a ``DocumentReferenceError``:

1. The id resolves to no document (``REFERENCE_UNRESOLVED``, pointer ``/references/i``).
2. No document with that id has the digest (``REFERENCE_MISMATCH``, ``/references/i/sha256``).
3. The document with that id and digest has another type than the reference says
   (``REFERENCE_MISMATCH``, ``/references/i/type``).

Documents are identified by id: when several held documents share an id (two issuers may
choose the same one), a reference resolves when any of them has its digest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from protocol.errors import DocumentReferenceError
from protocol.reason_codes import ReasonCode

__all__ = ["ReferenceProblem", "Resolver", "check_references", "reference_problems"]

Resolver = Callable[[str], Mapping[str, str]]
"""Given a document id, the digests (SHA-256 hex) of the documents with that id, each mapped
to its document type; empty when none is known."""


@dataclass(frozen=True, slots=True)
class ReferenceProblem:
    """One reference that does not hold: which document, where, and why."""

    code: ReasonCode
    document_id: str
    pointer: str
    reference_id: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "documentId": self.document_id,
                "pointer": self.pointer, "referenceId": self.reference_id,
                "message": self.message}


def reference_problems(document: Mapping[str, Any], resolve: Resolver) -> list[ReferenceProblem]:
    """Every reference of ``document`` that does not resolve with its digest and type.

    ``document`` is schema-valid (references, when present, are well-formed).
    """
    document_id = str(document.get("id", ""))
    problems: list[ReferenceProblem] = []
    references = document.get("references") or []
    for index, reference in enumerate(references):
        reference_id, digest = str(reference["id"]), str(reference["sha256"])
        claimed_type = str(reference["type"])
        known = resolve(reference_id)
        if not known:
            problems.append(ReferenceProblem(
                ReasonCode.REFERENCE_UNRESOLVED, document_id, f"/references/{index}",
                reference_id, f"{document_id} references {claimed_type} {reference_id}, which "
                "is neither in the package nor held by this node"))
        elif digest not in known:
            problems.append(ReferenceProblem(
                ReasonCode.REFERENCE_MISMATCH, document_id, f"/references/{index}/sha256",
                reference_id, f"{document_id} names {reference_id} with SHA-256 {digest}; the "
                f"document with that id has {', '.join(sorted(known))}"))
        elif known[digest] != claimed_type:
            problems.append(ReferenceProblem(
                ReasonCode.REFERENCE_MISMATCH, document_id, f"/references/{index}/type",
                reference_id, f"{document_id} names {reference_id} as a {claimed_type}; it is a "
                f"{known[digest]}"))
    return problems


def check_references(document: Mapping[str, Any], resolve: Resolver) -> None:
    """Raise ``DocumentReferenceError`` for the first problem ``reference_problems`` finds."""
    problems = reference_problems(document, resolve)
    if problems:
        first = problems[0]
        raise DocumentReferenceError(first.code, first.message, pointer=first.pointer,
                                     document_id=first.document_id,
                                     reference_id=first.reference_id)
