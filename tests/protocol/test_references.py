"""References resolve by id to a document with the exact digest and type."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.errors import DocumentReferenceError
from protocol.reason_codes import ReasonCode
from protocol.references import check_references, reference_problems

INVOICE_SHA = "a" * 64
ORDER_SHA = "b" * 64
HELD = {"inv-1": {INVOICE_SHA: "commercial-invoice"}, "po-1": {ORDER_SHA: "purchase-order"}}


def resolve(document_id: str) -> dict[str, str]:
    return HELD.get(document_id, {})


def document(*references: dict[str, Any]) -> dict[str, Any]:
    return {"id": "decl-1", "type": "customs-declaration", "references": list(references)}


def ref(document_id: str, sha256: str, doc_type: str = "commercial-invoice") -> dict[str, str]:
    return {"id": document_id, "type": doc_type, "sha256": sha256}


def test_true_references_resolve() -> None:
    good = document(ref("inv-1", INVOICE_SHA), ref("po-1", ORDER_SHA, "purchase-order"))
    assert reference_problems(good, resolve) == []
    check_references(good, resolve)
    check_references({"id": "x"}, resolve)  # no references at all


@pytest.mark.parametrize(("reference", "code", "pointer"), [
    (ref("inv-2", INVOICE_SHA), ReasonCode.REFERENCE_UNRESOLVED, "/references/1"),
    (ref("inv-1", "c" * 64), ReasonCode.REFERENCE_MISMATCH, "/references/1/sha256"),
    (ref("inv-1", INVOICE_SHA, "purchase-order"), ReasonCode.REFERENCE_MISMATCH,
     "/references/1/type"),
], ids=["unknown-id", "wrong-digest", "wrong-type"])
def test_each_problem_named_with_its_pointer(reference: dict[str, str], code: ReasonCode,
                                             pointer: str) -> None:
    bad = document(ref("po-1", ORDER_SHA, "purchase-order"), reference)
    [problem] = reference_problems(bad, resolve)
    assert (problem.code, problem.pointer, problem.document_id, problem.reference_id) == (
        code, pointer, "decl-1", reference["id"])
    with pytest.raises(DocumentReferenceError) as caught:
        check_references(bad, resolve)
    assert (caught.value.code, caught.value.pointer) == (code, pointer)
    assert caught.value.context["reference_id"] == reference["id"]


def test_every_problem_is_listed_in_order() -> None:
    bad = document(ref("x", INVOICE_SHA), ref("inv-1", "d" * 64))
    assert [p.code for p in reference_problems(bad, resolve)] == [
        ReasonCode.REFERENCE_UNRESOLVED, ReasonCode.REFERENCE_MISMATCH]


def test_several_documents_with_one_id_any_digest_resolves() -> None:
    def two(document_id: str) -> dict[str, str]:
        return {INVOICE_SHA: "commercial-invoice", "e" * 64: "commercial-invoice"}

    check_references(document(ref("inv-1", "e" * 64)), two)
