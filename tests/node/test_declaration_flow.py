"""Single declaration, bilateral clearance between real node processes.

The pilot network of ``tradeaccord demo`` (SG-CUSTOMS, CN-CUSTOMS, SG-CHAMBER, SG-NPPO as
``tradeaccord node serve`` processes; SG-ICC signing offline), shared by the tests of this
module: each test declares its own consignment (fresh document ids), so they do not disturb
one another. The agreement suspension test runs last and resumes the agreement.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from node.client import ClientError, NodeClient
from node.demo.packages import Consignment, commercial_documents, package
from node.demo.runner import Demo
from node.pilot import write_registry
from protocol.documents import DocumentSchemas
from protocol.jws import GeneralJWS
from protocol.signed_document import sign_document, verify_document
from protocol.strict_json import parse_json
from protocol.timeutil import utc_now
from trust_registry import AgreementStatus, TrustRegistry, sign_status_change

FAST = {"worker_poll_seconds": "0.05", "delivery_backoff_base_seconds": "0.05",
        "delivery_backoff_max_seconds": "0.5", "delivery_max_attempts": "1000",
        "delivery_timeout_seconds": "5", "log_level": "warning"}


@pytest.fixture(scope="module")
def pilot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    demo = Demo(tmp_path_factory.mktemp("pilot"), say=lambda _line: None, node_settings=FAST)
    try:
        demo.setup()
        yield demo
    finally:
        demo.network.stop()


def wait(probe: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {timeout:.0f} s")


def settled(client: NodeClient, declaration_id: str, *states: str) -> dict[str, Any]:
    return wait(lambda: (lambda s: s if s["state"] in states else None)(  # type: ignore[no-any-return]
        client.declaration(declaration_id)), f"declaration {declaration_id} in {states}")


def clean_package(pilot: Demo, consignment: Consignment) -> dict[str, Any]:
    commercial_documents(consignment)
    certificates = [pilot.chamber_certificate(consignment),
                    pilot.phytosanitary_certificate(consignment)]
    return package(consignment, importing="CN-CUSTOMS", certificates=certificates)


def test_clean_declaration_cleared_on_both_sides(pilot: Demo) -> None:
    consignment = Consignment()
    submitted = clean_package(pilot, consignment)
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        first = trader.submit_declaration(submitted)
        assert (first["export"]["decision"], first["export"]["findings"]) == ("released", [])
        status = settled(trader, first["id"], "cleared")
    assert status["import"]["decision"] == "released"
    assert status["import"]["preference"] == {"claimed": True, "eligible": True, "reasons": []}
    assert status["forwarding"]["state"] == "delivered"
    assert {o["outcome"] for o in status["forwarding"]["outcomes"]} == {"accepted"}
    events = [entry["event"] for entry in status["timeline"]]
    for event in ("submitted", "export-released", "forward-queued", "forward-delivered",
                  "import-released"):
        assert event in events
    # The importing side: the import declaration derived through the mapping, signed by CN,
    # bound to the original by id and digest; the importer follows it at its own node.
    with pilot.client("CN-CUSTOMS", "trader") as importer:
        imported = importer.declaration(first["id"])
    assert (imported["side"], imported["state"]) == ("import", "cleared")
    with pilot.client("CN-CUSTOMS", "officer") as officer:
        derived = officer.document(imported["import"]["importDeclarationId"])
        signed = GeneralJWS.parse(officer.signed(derived["id"]))
    content = signed.payload_json()
    assert content["issuer"] == "CN-CUSTOMS" and content["body"]["declarationType"] == "import"
    assert content["body"]["ucr"] == consignment.documents["customs-declaration"]["body"]["ucr"]
    origin = content["extensions"]["tradeaccord:derivedFrom"]
    assert (origin["id"], origin["sha256"]) == (first["id"], first["declarationSha256"])


def test_forwarded_documents_keep_their_issuers_bytes(pilot: Demo) -> None:
    consignment = Consignment()
    submitted = clean_package(pilot, consignment)
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        status = settled(trader, trader.submit_declaration(submitted)["id"], "cleared")
    certificates = {d["type"]: d for d in status["documents"] if d["part"] == "certificate"}
    issued = {}
    with pilot.client("SG-CHAMBER", "trader") as chamber:
        issued["certificate-of-origin"] = chamber.signed(
            certificates["certificate-of-origin"]["id"])
    with pilot.client("SG-NPPO", "trader") as nppo:
        issued["phytosanitary-certificate"] = nppo.signed(
            certificates["phytosanitary-certificate"]["id"])
    with pilot.client("CN-CUSTOMS", "officer") as officer:
        for doc_type, original in issued.items():
            received = officer.signed(certificates[doc_type]["id"], direction="inbound")
            assert received == original, doc_type  # byte for byte, the issuer's signature
            assert officer.document(certificates[doc_type]["id"], direction="inbound")[
                "outcome"] == "accepted"


def test_every_decision_is_signed_and_verifies_offline(pilot: Demo) -> None:
    consignment = Consignment()
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        status = settled(trader, trader.submit_declaration(
            clean_package(pilot, consignment))["id"], "cleared")
    roots = {aid: pilot.network.directories[aid].root_certificate
             for aid in ("SG-CUSTOMS", "CN-CUSTOMS")}
    schemas = DocumentSchemas.load()
    decisions = [d for d in status["documents"] if d["type"] == "clearance-decision"]
    assert {d["issuer"] for d in decisions} == {"SG-CUSTOMS", "CN-CUSTOMS"}
    with pilot.client("SG-CUSTOMS", "officer") as officer:
        for decision in decisions:
            result = verify_document(officer.signed(decision["id"]),
                                     anchors=[roots[decision["issuer"]]], at=utc_now(),
                                     schemas=schemas)
            assert result.valid, result.reasons
            body = result.document["body"]  # type: ignore[index]
            assert body["declarationId"] in (status["id"], status["import"]["importDeclarationId"])
            assert body["decision"] == "released"


def test_value_mismatch_held_at_export_officer_releases_trader_reads_reason(pilot: Demo
                                                                            ) -> None:
    consignment = Consignment()
    commercial_documents(consignment, {"commercial-invoice": _reprice})
    certificates = [pilot.chamber_certificate(consignment),
                    pilot.phytosanitary_certificate(consignment)]
    submitted = package(consignment, importing="CN-CUSTOMS", certificates=certificates)
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        held = trader.submit_declaration(submitted)
        assert (held["state"], held["export"]["decision"]) == ("export-held", "held")
        assert held["export"]["reasons"] == ["RECONCILIATION_MISMATCH"]
        assert held["forwarding"]["state"] == "not-started"
        findings = {f["ruleId"]: f for f in held["export"]["findings"] if f["severity"] == "hold"}
        assert "REC-VALUE-01" in findings
        subjects = [(s["documentType"], s["pointer"], s["value"])
                    for s in findings["REC-VALUE-01"]["subjects"]]
        assert ("commercial-invoice", "/body/totalAmount", 23160.0) in subjects
        with pytest.raises(ClientError) as refused:
            trader.release_declaration(held["id"], "I am sure")
        assert refused.value.code.value == "FORBIDDEN"
    reason = "Price revision verified with the seller; value amended at post-clearance audit"
    with pilot.client("SG-CUSTOMS", "officer") as officer:
        released = officer.release_declaration(held["id"], reason)
        assert released["export"]["decision"] == "released"
        with pytest.raises(ClientError) as again:
            officer.release_declaration(held["id"], reason)
        assert again.value.code.value == "STATE_INVALID"
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        status = settled(trader, held["id"], "cleared")
    officer_events = [e for e in status["timeline"] if e["details"].get("officer")]
    assert [e["details"]["reason"] for e in officer_events] == [reason]
    decisions = [d for d in status["documents"] if d["part"] == "export-decision"]
    assert len(decisions) == 2  # the rules' held decision, then the officer's release
    with pilot.client("SG-CUSTOMS", "officer") as officer:
        latest = GeneralJWS.parse(officer.signed(decisions[-1]["id"])).payload_json()
    assert (latest["body"]["decision"], latest["body"]["decidedBy"], latest["body"]["reason"]) \
        == ("released", "officer", reason)


def test_officer_rejects_at_export_nothing_is_forwarded(pilot: Demo) -> None:
    consignment = Consignment()
    commercial_documents(consignment, {"commercial-invoice": _reprice})
    submitted = package(consignment, importing="CN-CUSTOMS",
                        certificates=[pilot.chamber_certificate(consignment)])
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        held = trader.submit_declaration(submitted)
    with pilot.client("SG-CUSTOMS", "officer") as officer:
        rejected = officer.reject_declaration(held["id"], "Value not substantiated")
    assert (rejected["state"], rejected["export"]["decision"]) == ("export-rejected", "rejected")
    assert rejected["export"]["reasons"][0] == "REJECTED_BY_OFFICER"
    assert rejected["forwarding"]["state"] == "not-started"
    with pilot.client("CN-CUSTOMS", "officer") as officer, pytest.raises(ClientError) as missing:
        officer.declaration(held["id"])
    assert missing.value.code.value == "NOT_FOUND"


def test_certificate_china_does_not_recognise_preference_not_eligible(pilot: Demo) -> None:
    consignment = Consignment()
    commercial_documents(consignment)
    certificates = [pilot.offline_certificate(consignment),
                    pilot.phytosanitary_certificate(consignment)]
    submitted = package(consignment, importing="CN-CUSTOMS", certificates=certificates)
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        status = settled(trader, trader.submit_declaration(submitted)["id"], "cleared")
    assert status["export"]["decision"] == "released"  # Singapore recognises SG-ICC
    assert status["import"]["preference"] == {
        "claimed": True, "eligible": False,
        "reasons": ["CERTIFICATE_NOT_RECOGNISED", "NO_AGREEMENT"]}
    outcomes = {o["documentType"]: o for o in status["forwarding"]["outcomes"]}
    assert outcomes["certificate-of-origin"]["reasons"] == ["NO_AGREEMENT"]


def test_certificate_of_origin_from_an_authority_without_the_role(pilot: Demo) -> None:
    """SG-CUSTOMS holds only the customs role: it may not sign a certificate of origin in a
    package, and one signed by the NPPO is not recognised (held at export)."""
    consignment = Consignment()
    commercial_documents(consignment)
    own = package(consignment, importing="CN-CUSTOMS", certificates=[
        {"document": consignment.new("certificate-of-origin",
                                     lambda d: d.__setitem__("issuer", "SG-CUSTOMS"))}])
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        with pytest.raises(ClientError) as refused:
            trader.submit_declaration(own)
        assert (refused.value.status, refused.value.code.value) == (422, "ISSUER_ROLE_MISSING")
        assert trader.declarations() == [] or all(
            d["id"] != own["declaration"]["document"]["id"] for d in trader.declarations())
    consignment = Consignment()
    commercial_documents(consignment)
    certificate = consignment.new("certificate-of-origin",
                                  lambda d: d.__setitem__("issuer", "SG-NPPO"))
    with pilot.client("SG-NPPO", "trader") as nppo:
        # The NPPO's node refuses to sign a certificate of origin for it …
        with pytest.raises(ClientError) as refused_at_nppo:
            nppo.submit(certificate)
        assert refused_at_nppo.value.code.value == "ISSUER_ROLE_MISSING"
    # … so the certificate is signed with its key by other means (an older node, a script).
    nppo_dir = pilot.network.directories["SG-NPPO"]
    signed = sign_document(certificate, nppo_dir.document_signer(
        pilot.network.passphrases["SG-NPPO"]), signed_at=utc_now()).to_dict()
    wrong_role = package(consignment, importing="CN-CUSTOMS", certificates=[{"signed": signed}])
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        held = trader.submit_declaration(wrong_role)
    assert held["state"] == "export-held"
    assert held["export"]["reasons"] == ["CERTIFICATE_NOT_RECOGNISED", "ISSUER_ROLE_MISSING"]
    [entry] = [d for d in held["documents"] if d["type"] == "certificate-of-origin"]
    assert entry["recognition"]["reasons"] == ["ISSUER_ROLE_MISSING"]


def test_plants_without_phytosanitary_certificate_held_at_import(pilot: Demo) -> None:
    consignment = Consignment()
    commercial_documents(consignment)
    submitted = package(consignment, importing="CN-CUSTOMS",
                        certificates=[pilot.chamber_certificate(consignment)])
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        status = settled(trader, trader.submit_declaration(submitted)["id"], "import-held")
    assert status["import"]["reasons"] == ["CERTIFICATE_MISSING"]
    assert [f["ruleId"] for f in status["import"]["findings"] if f["severity"] == "hold"] == [
        "IMP-PLANTS-01"]
    # The importing officer releases it after a physical inspection; the signed decision
    # reaches the trader with the reason.
    reason = "Inspected at Yangshan: no pests found; phytosanitary certificate to follow"
    with pilot.client("CN-CUSTOMS", "officer") as officer:
        officer.release_declaration(status["id"], reason)
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        cleared = settled(trader, status["id"], "cleared")
    [entry] = [e for e in cleared["timeline"] if e["event"] == "import-released"]
    assert (entry["by"], entry["details"]["reason"]) == ("CN-CUSTOMS", reason)


def test_import_officer_rejection_reaches_the_trader(pilot: Demo) -> None:
    consignment = Consignment()
    commercial_documents(consignment)
    submitted = package(consignment, importing="CN-CUSTOMS",
                        certificates=[pilot.chamber_certificate(consignment)])
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        status = settled(trader, trader.submit_declaration(submitted)["id"], "import-held")
    with pilot.client("CN-CUSTOMS", "officer") as officer:
        officer.reject_declaration(status["id"], "Plants for planting need a phytosanitary "
                                   "certificate: re-export ordered")
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        rejected = settled(trader, status["id"], "import-rejected")
    assert rejected["import"]["reasons"][0] == "REJECTED_BY_OFFICER"


@pytest.mark.parametrize(("edit", "code", "pointer"), [
    (lambda refs: refs[0].__setitem__("sha256", "0" * 64), "REFERENCE_MISMATCH",
     "/references/0/sha256"),
    (lambda refs: refs[0].__setitem__("id", "no-such-document"), "REFERENCE_UNRESOLVED",
     "/references/0"),
], ids=["wrong-digest", "unknown-id"])
def test_bad_reference_refused_and_nothing_stored(pilot: Demo, edit: Callable[[Any], None],
                                                  code: str, pointer: str) -> None:
    consignment = Consignment()
    submitted = clean_package(pilot, consignment)
    declaration = submitted["declaration"]["document"]
    edit(declaration["references"])
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        before = len(trader.declarations(limit=500))
        with pytest.raises(ClientError) as refused:
            trader.submit_declaration(submitted)
        assert (refused.value.status, refused.value.code.value) == (422, code)
        assert pointer in refused.value.message
        assert len(trader.declarations(limit=500)) == before
        invoice_id = consignment.documents["commercial-invoice"]["id"]
        with pytest.raises(ClientError) as unknown:
            trader.document(invoice_id)
        assert unknown.value.code.value == "NOT_FOUND"  # the package's documents were not kept


def test_importing_node_down_during_forwarding_cleared_after_it_returns(pilot: Demo) -> None:
    consignment = Consignment()
    submitted = clean_package(pilot, consignment)
    network = pilot.network
    network.processes["CN-CUSTOMS"].kill()
    network.processes["CN-CUSTOMS"].wait(timeout=30)
    try:
        with pilot.client("SG-CUSTOMS", "trader") as trader:
            first = trader.submit_declaration(submitted)
            assert first["state"] == "forwarding"
            pending = wait(lambda: (lambda s: s if s["forwarding"]["attempts"] >= 2 else None)(
                trader.declaration(first["id"])), "retries while CN-CUSTOMS is down")
            assert pending["forwarding"]["state"] in ("pending", "sending")
            assert "PEER_UNREACHABLE" in (pending["forwarding"]["lastError"] or "")
    finally:
        network.start("CN-CUSTOMS")
    with pilot.client("SG-CUSTOMS", "trader") as trader:
        status = settled(trader, first["id"], "cleared")
    assert status["import"]["decision"] == "released"
    with pilot.client("CN-CUSTOMS", "officer") as officer:
        assert officer.declaration(first["id"])["state"] == "cleared"


def test_agreement_suspended_between_export_release_and_import(pilot: Demo) -> None:
    """SG releases and forwards while CN is down; CN's operator suspends the single-
    declaration agreement before CN comes back: the declaration is not recognised there."""
    network = pilot.network
    consignment = Consignment()
    submitted = clean_package(pilot, consignment)
    network.processes["CN-CUSTOMS"].kill()
    network.processes["CN-CUSTOMS"].wait(timeout=30)
    cn = network.directories["CN-CUSTOMS"]
    try:
        with pilot.client("SG-CUSTOMS", "trader") as trader:
            released = trader.submit_declaration(submitted)
        assert released["export"]["decision"] == "released"
        _change_status(cn, network.passphrases["CN-CUSTOMS"], AgreementStatus.SUSPENDED)
    finally:
        network.start("CN-CUSTOMS")
    try:
        with pilot.client("SG-CUSTOMS", "trader") as trader:
            status = settled(trader, released["id"], "import-rejected")
        assert status["import"]["reasons"] == ["DECLARATION_NOT_RECOGNISED",
                                               "AGREEMENT_SUSPENDED"]
        [outcome] = [o for o in status["forwarding"]["outcomes"]
                     if o["documentId"] == released["id"]]
        assert (outcome["outcome"], outcome["reasons"]) == ("rejected", ["AGREEMENT_SUSPENDED"])
        with pilot.client("CN-CUSTOMS", "officer") as officer, \
                pytest.raises(ClientError) as missing:
            officer.declaration(released["id"])
        assert missing.value.code.value == "NOT_FOUND"
    finally:
        with pilot.client("CN-CUSTOMS", "operator") as operator:
            operator._request("POST", "/v1/registry/agreements/SG-CN-SD-2026/status",
                              json_body={"status": "in-force"})


def _change_status(directory: Any, passphrase: bytes, status: AgreementStatus) -> None:
    """The operator's offline edit of a stopped node's registry file (as the CLI does)."""
    path: Path = directory.registry_path
    registry = TrustRegistry.from_dict(parse_json(path.read_bytes(), max_bytes=1 << 26))
    at = utc_now()
    change = sign_status_change(registry.agreement("SG-CN-SD-2026").signed,
                                directory.root_signer(passphrase), status=status,
                                effective_at=at, signed_at=at, reason="pilot review")
    write_registry(path, registry.change_agreement_status(change, at=at))


def _reprice(document: dict[str, Any]) -> None:
    lines = document["body"]["lineItems"]
    lines[1]["unitPrice"] = 3.25
    lines[1]["lineAmount"] = 7800.0
    document["body"]["totalAmount"] = 23160.0

