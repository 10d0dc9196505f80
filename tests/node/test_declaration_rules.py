"""Every reconciliation rule holds (or warns about) a real package at a running node.

The mutation table of ``tests/clearance/test_reconciliation.py`` (one mismatch per shipped
rule) is replayed through the API of an exporting customs node: each mutated package gets
fresh document ids and true references, is submitted once, and the export decision must
name exactly the rules the pure engine names, with the same subjects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from node.demo import network as pilot
from node.demo.packages import PACKAGE_FORMAT, digest
from tests.clearance.conftest import Package, air_package, sea_package
from tests.clearance.test_reconciliation import CASES, Case
from tests.node.databases import DatabaseFactory
from tests.node.shared_network import SharedNetwork, start_network, stop_network

AGREEMENTS = tuple(a for a in pilot.AGREEMENTS
                   if {a.proposer, a.partner} == {"SG-CUSTOMS", "CN-CUSTOMS"})


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedNetwork]:
    databases = DatabaseFactory("sqlite", tmp_path_factory.mktemp("db"))
    network = start_network(tmp_path_factory.mktemp("net"), databases,
                            authorities=(pilot.SG_CUSTOMS, pilot.CN_CUSTOMS),
                            agreements=AGREEMENTS)
    try:
        yield network
    finally:
        stop_network(network)


def as_package(documents: Package) -> dict[str, Any]:
    """Fresh ids; every reference pointed at the package's document of its type (dropped
    when the package has none), digests computed in dependency order."""
    documents = {key: {**document, "id": str(uuid.uuid4())} for key, document in documents.items()}
    by_type = {document["type"]: key for key, document in documents.items()}
    done: dict[str, tuple[str, str]] = {}
    while len(done) < len(documents):
        progressed = False
        for key, document in documents.items():
            if key in done:
                continue
            wanted = [ref["type"] for ref in document.get("references", ())
                      if ref["type"] in by_type]
            if any(by_type[t] not in done for t in wanted):
                continue
            references = [{"id": done[by_type[t]][0], "type": t, "sha256": done[by_type[t]][1]}
                          for t in wanted]
            if references:
                document["references"] = references
            else:
                document.pop("references", None)
            done[key] = (document["id"], digest(document))
            progressed = True
        assert progressed, "the references form a cycle"
    declaration = documents.pop("customs-declaration")
    return {"packageFormat": PACKAGE_FORMAT, "importingAuthority": "CN-CUSTOMS",
            "declaration": {"document": declaration},
            "documents": [{"document": document} for document in documents.values()]}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_holds_or_warns_at_the_exporting_node(node: SharedNetwork, case: Case) -> None:
    documents = sea_package() if case.kind == "sea" else air_package()
    case.mutate(documents)
    package = as_package(documents)
    with node["SG-CUSTOMS"].client("trader") as trader:
        status = trader.submit_declaration(package)
    findings = {finding["ruleId"]: finding for finding in status["export"]["findings"]}
    assert set(findings) == {case.rule_id} | case.also
    finding = findings[case.rule_id]
    assert [(s["documentType"], s["pointer"], s["value"]) for s in finding["subjects"]] == [
        tuple(subject) for subject in case.subjects]
    holds = any(f["severity"] == "hold" for f in findings.values())
    assert status["export"]["decision"] == ("held" if holds else "released")
    assert status["state"] == ("export-held" if holds else "forwarding")
    if holds:
        assert status["export"]["reasons"] == ["RECONCILIATION_MISMATCH"]

