"""The declaration packages in examples/declarations/ are true and submit as documented.

- Each file is a structurally valid ``tradeaccord-declaration-package-1.0``
  (``DeclarationPackage.from_dict``, the node's own parser).
- The clean package is the orchid consignment of ``examples/documents/``: its documents are
  those files, and its certificates are named by the ids of the example certificate of
  origin and phytosanitary certificate (which SG-CHAMBER and SG-NPPO issue and send to
  SG-CUSTOMS in ``examples/declaration_flow.py``). The value-mismatch package differs from
  it only in the declaration's id, time and the customs value of goods item 2.
- Every ``references[]`` entry of every document resolves, with its digest, among the
  documents *as the nodes will sign them*: the package's documents prepared and signed as
  SG-CUSTOMS signs them, the certificates signed by SG-CHAMBER and SG-NPPO.
- Reconciliation (the shipped rules) finds nothing in the clean package, and exactly the
  declared-value rule ``REC-VALUE-01`` in the other, with the values a trader reads.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from clearance import RuleSet, Severity, reconcile
from node.authority import AuthorityDirectory
from node.services.declarations.package import DeclarationPackage, ItemForm
from node.services.documents import prepare
from protocol.documents import DocumentSchemas
from protocol.limits import Limits
from protocol.references import reference_problems
from protocol.signed_document import document_sha256, sign_document
from protocol.strict_json import parse_json

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "examples" / "declarations"
DOCUMENTS = ROOT / "examples" / "documents"
CLEAN = "orchids.json"
MISMATCH = "orchids-value-mismatch.json"
AT = dt.datetime(2026, 11, 21, 16, 0, tzinfo=dt.UTC)
ISSUERS = {"SG-CUSTOMS": ("customs",), "SG-CHAMBER": ("origin",),
           "SG-NPPO": ("plant-protection",)}


def load(name: str) -> dict[str, Any]:
    return parse_json((PACKAGES / name).read_bytes())  # type: ignore[no-any-return]


def example(doc_type: str) -> dict[str, Any]:
    return parse_json((DOCUMENTS / f"{doc_type}.json").read_bytes())  # type: ignore[no-any-return]


def certificates() -> dict[str, dict[str, Any]]:
    """The example certificates by id: what a package names with ``documentId``."""
    return {document["id"]: document for document in
            (example("certificate-of-origin"), example("phytosanitary-certificate"))}


def documents_of(package: dict[str, Any]) -> list[dict[str, Any]]:
    """The package's documents (the declaration first), certificates resolved by id."""
    held = certificates()
    items = [package["declaration"], *package["documents"]]
    return [item["document"] if "document" in item else held[item["documentId"]]
            for item in items]


@pytest.fixture(scope="module")
def signers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A document signer per issuing authority, from real authority directories."""
    base = tmp_path_factory.mktemp("issuers")
    return {authority_id: AuthorityDirectory.create(
        base / authority_id, authority_id=authority_id, country="SG", name=authority_id,
        roles=roles, passphrase=None, at=AT - dt.timedelta(days=1)).document_signer(None)
        for authority_id, roles in ISSUERS.items()}


@pytest.mark.parametrize("name", [CLEAN, MISMATCH])
def test_package_parses(name: str) -> None:
    package = DeclarationPackage.from_dict(load(name), limits=Limits(), max_documents=98)
    assert package.importing_authority == "CN-CUSTOMS"
    forms = [item.form for item in package.documents]
    assert forms == [ItemForm.DOCUMENT] * 4 + [ItemForm.HELD] * 2


def test_clean_package_is_the_example_consignment() -> None:
    package = load(CLEAN)
    assert package["declaration"]["document"] == example("customs-declaration")
    given = [item["document"] for item in package["documents"] if "document" in item]
    assert given == [example(t) for t in ("commercial-invoice", "purchase-order",
                                          "bill-of-lading", "payment-record")]
    held = [item["documentId"] for item in package["documents"] if "documentId" in item]
    assert held == list(certificates())


def test_mismatch_package_differs_only_in_the_declared_value() -> None:
    clean, mismatch = load(CLEAN), load(MISMATCH)
    assert mismatch["documents"] == clean["documents"]
    expected = clean["declaration"]["document"]
    declared = mismatch["declaration"]["document"]
    assert declared["id"] != expected["id"]
    assert declared["body"]["goodsItems"][1]["customsValue"]["amount"] == 5400
    for document in (expected, declared):
        document.pop("id")
        document.pop("issuedAt")
        document["body"]["goodsItems"][1].pop("customsValue")
    assert declared == expected


@pytest.mark.parametrize("name", [CLEAN, MISMATCH])
def test_references_are_true_as_the_nodes_sign(name: str, signers: dict[str, Any]) -> None:
    schemas = DocumentSchemas.load()
    package = load(name)
    known: dict[str, dict[str, str]] = {}
    signed = []
    for item in (package["declaration"], *package["documents"]):
        if "document" in item:
            # What SG-CUSTOMS does with a document to sign: fill what is absent (nothing:
            # the files give id, issuedAt and issuer), validate, sign.
            document = prepare(item["document"], "SG-CUSTOMS", AT)
            assert document == item["document"]
        else:
            document = certificates()[item["documentId"]]
        schemas.validate(document)
        jws = sign_document(document, signers[document["issuer"]], signed_at=AT)
        known.setdefault(document["id"], {})[document_sha256(jws)] = document["type"]
        signed.append(document)
    problems = [problem.to_dict() for document in signed
                for problem in reference_problems(document, lambda i: known.get(i, {}))]
    assert problems == []
    declaration = package["declaration"]["document"]
    assert {ref["id"] for ref in declaration["references"]} == \
        {document["id"] for document in signed[1:]}


def test_clean_package_reconciles_without_findings() -> None:
    assert reconcile(documents_of(load(CLEAN)), RuleSet.load()) == ()


def test_mismatch_package_holds_on_the_declared_value() -> None:
    findings = reconcile(documents_of(load(MISMATCH)), RuleSet.load())
    assert [(f.rule_id, f.severity) for f in findings] == [("REC-VALUE-01", Severity.HOLD)]
    subjects = [(s.document_type, s.pointer, s.value) for s in findings[0].subjects]
    assert subjects == [("customs-declaration", "/body/goodsItems", 20760),
                        ("commercial-invoice", "/body/totalAmount", 21960)]


def test_readme_names_the_files() -> None:
    readme = (PACKAGES / "README.md").read_text("utf-8")
    for path in sorted(PACKAGES.glob("*.json")):
        assert path.name in readme
        json.loads(path.read_text("utf-8"))  # plain JSON too, for any other tool
