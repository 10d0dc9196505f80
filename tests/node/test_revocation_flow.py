"""Revocation, replacement and a negotiation between real node processes.

The pilot network of ``tradeaccord demo`` (SG-CUSTOMS, CN-CUSTOMS, SG-CHAMBER, SG-NPPO as
``tradeaccord node serve`` processes), shared by the tests of this module; each test issues
its own certificates. SG-CHAMBER issues certificates of origin that SG-CUSTOMS and
CN-CUSTOMS both recognise.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from evidence import verify_bundle
from node.cli.main import build_app
from node.client import ClientError, NodeClient
from node.demo import revocation
from node.demo.packages import Consignment
from node.demo.runner import Demo
from node.services.apikeys import Role
from protocol.envelope import EnvelopeKind, build_envelope, sign_envelope
from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.status_statement import DocumentStatus, StatusStatement, sign_statement
from protocol.timeutil import format_time, utc_now
from trust_registry import TrustRegistry

FAST = {"worker_poll_seconds": "0.05", "delivery_backoff_base_seconds": "0.05",
        "delivery_backoff_max_seconds": "0.5", "delivery_max_attempts": "1000",
        "delivery_timeout_seconds": "5", "log_level": "warning"}
CHAMBER, SG, CN, NPPO = "SG-CHAMBER", "SG-CUSTOMS", "CN-CUSTOMS", "SG-NPPO"


@pytest.fixture(scope="module")
def pilot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    demo = Demo(tmp_path_factory.mktemp("pilot"), say=lambda _line: None, node_settings=FAST)
    try:
        demo.setup()
        demo.keys[CHAMBER]["officer"] = demo.network.api_key(CHAMBER, Role.OFFICER)
        demo.keys[NPPO]["officer"] = demo.network.api_key(NPPO, Role.OFFICER)
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


def issue(pilot: Demo, send_to: list[str], *, references: list[dict[str, str]] | None = None
          ) -> dict[str, Any]:
    """A certificate of origin issued by SG-CHAMBER and accepted by each of ``send_to``."""
    certificate = Consignment().new("certificate-of-origin")
    if references:
        certificate["references"] = references
    with pilot.client(CHAMBER, "officer") as chamber:
        issued = chamber.submit(certificate, send_to=send_to)
        deliveries = wait(lambda: (lambda ds: ds if len(ds) == len(send_to) and all(
            d["state"] != "pending" for d in ds) else None)(
                chamber.status(issued["id"])["deliveries"]), "the deliveries")
    assert {(d["to"], d["outcome"]) for d in deliveries} == {(p, "accepted") for p in send_to}
    return issued


def lifecycle_at(pilot: Demo, authority_id: str, document_id: str) -> dict[str, Any]:
    with pilot.client(authority_id, "officer") as officer:
        return dict(officer.document(document_id)["lifecycle"])


def test_revoke_after_recognition_at_two_receivers_one_down(pilot: Demo) -> None:
    issued = issue(pilot, [SG, CN])
    network = pilot.network
    process = network.processes[CN]
    process.terminate()
    process.wait(timeout=30)
    try:
        with pilot.client(CHAMBER, "officer") as chamber:
            result = chamber.revoke(issued["id"], "issued in error")
            assert {d["to"] for d in result["deliveries"]} == {SG, CN}
            wait(lambda: lifecycle_at(pilot, SG, issued["id"])["state"] == "revoked",
                 "the revocation at SG-CUSTOMS")
            # CN-CUSTOMS is down: the operator sees where the statement has not arrived.
            [pending] = chamber.statements(issued["id"], undelivered=True)
            assert pending["pending"] == [CN]
    finally:
        network.start(CN)
    with pilot.client(CHAMBER, "officer") as chamber:
        wait(lambda: chamber.statements(issued["id"], undelivered=True) == [],
             "the statement's arrival everywhere")
        [done] = chamber.statements(issued["id"])
    assert {(d["to"], d["state"]) for d in done["deliveries"]} == {(SG, "delivered"),
                                                                   (CN, "delivered")}
    assert all(d["receipt"] is not None for d in done["deliveries"])
    for authority_id in (SG, CN):
        held = lifecycle_at(pilot, authority_id, issued["id"])
        assert (held["state"], held["reason"], held["receivedFrom"]) == (
            "revoked", "issued in error", CHAMBER)
    with pilot.client(CN, "officer") as officer:
        report = officer.verify(officer.signed(issued["id"]))
    assert report["valid"] is False and ReasonCode.DOCUMENT_REVOKED.value in report["reasons"]


def test_replacement_received_before_the_originals_revocation(pilot: Demo) -> None:
    original = issue(pilot, [CN])
    corrected = issue(pilot, [CN], references=[{"id": original["id"],
                                                "type": "certificate-of-origin",
                                                "sha256": original["sha256"]}])
    with pilot.client(CHAMBER, "officer") as chamber:
        chamber.replace(original["id"], "corrected consignee address",
                        replacement_id=corrected["id"])
    held = wait(lambda: (lambda v: v if v["state"] == "replaced" else None)(
        lifecycle_at(pilot, CN, original["id"])), "the replacement at CN-CUSTOMS")
    assert held["replacementId"] == corrected["id"]
    assert lifecycle_at(pilot, CN, corrected["id"])["state"] == "active"
    with pilot.client(CN, "officer") as officer:
        old = officer.verify(officer.signed(original["id"]))
        new = officer.verify(officer.signed(corrected["id"]))
    assert ReasonCode.DOCUMENT_REPLACED.value in old["reasons"] and old["valid"] is False
    assert new["valid"] is True and new["status"]["state"] == "active"


def test_revocation_signed_by_a_non_issuer_is_refused(pilot: Demo) -> None:
    issued = issue(pilot, [SG])
    network = pilot.network
    nppo = network.directories[NPPO]
    passphrase = network.passphrases[NPPO]
    now = utc_now()
    for claimed_issuer in (CHAMBER, NPPO):
        statement = StatusStatement(
            statement_id=str(uuid.uuid4()), status=DocumentStatus.REVOKED,
            document_id=issued["id"], document_sha256=issued["sha256"], issuer=claimed_issuer,
            effective_at=now, issued_at=now, reason="not ours to revoke")
        signed = sign_statement(statement, nppo.document_signer(passphrase), signed_at=now)
        envelope = build_envelope(message_id=f"msg-{uuid.uuid4()}", sender=NPPO, recipient=SG,
                                  created_at=now, ttl=dt.timedelta(hours=1),
                                  kind=EnvelopeKind.REVOCATION,
                                  body={"statement": signed.to_dict()})
        body = sign_envelope(envelope, nppo.node_signer(passphrase), signed_at=now).to_json()
        response = httpx.post(f"{network.urls[SG]}/v1/peer/envelopes", content=body,
                              headers={"content-type": "application/json"}, timeout=30)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == ReasonCode.STATUS_NOT_ISSUER.value
    # Through the API of a node that did not issue it: refused as well.
    with pilot.client(NPPO, "officer") as officer, pytest.raises(ClientError) as refused:
        officer.revoke(issued["id"], "not ours")
    assert refused.value.code in (ReasonCode.STATUS_NOT_ISSUER, ReasonCode.NOT_FOUND)
    with pilot.client(SG, "officer") as officer, pytest.raises(ClientError) as refused:
        officer.revoke(issued["id"], "not ours")
    assert refused.value.code is ReasonCode.STATUS_NOT_ISSUER
    assert lifecycle_at(pilot, SG, issued["id"])["state"] == "active"


def test_revocation_forwarded_to_the_importing_customs_flags_the_preference(
        pilot: Demo) -> None:
    _title, ok, _seconds, joint, problems = revocation.run(pilot)
    assert ok, problems
    assert joint["reassessment"]["required"] is True
    [withdrawn] = joint["reassessment"]["documents"]
    assert withdrawn["status"] == "revoked" and withdrawn["preferenceAffected"] is True
    coo = withdrawn["documentId"]
    # SG-CUSTOMS received it from SG-CHAMBER and passed it on to CN-CUSTOMS.
    assert lifecycle_at(pilot, CN, coo)["receivedFrom"] == SG
    with NodeClient(pilot.network.urls[CN]) as anyone:
        answer = anyone.status_answer(coo)
    assert GeneralJWS.parse(answer).payload_json()["status"] == "revoked"
    # The importing customs' evidence of the declaration re-checks offline and shows it.
    with pilot.client(CN, "officer") as officer:
        bundle = officer.evidence(joint["id"], declaration=True)
    report = verify_bundle(bundle, at=utc_now())
    assert report.subject == {"kind": "declaration", "id": joint["id"]}
    statuses = {d["id"]: d["status"] for d in report.documents}
    assert statuses[coo] == "revoked" and "clearance-decision" in {
        d["type"] for d in report.documents}


def test_a_proposal_declined_between_nodes(pilot: Demo) -> None:
    agreement_id = f"SG-CN-INV-{uuid.uuid4().hex[:6].upper()}"
    with pilot.client(SG, "operator") as sg, pilot.client(CN, "operator") as cn:
        proposed = sg.propose_negotiation({"agreementId": agreement_id, "partner": CN,
                                           "documentTypes": ["commercial-invoice"]})
        assert proposed["state"] == "proposed"
        wait(lambda: any(n["agreementId"] == agreement_id and n["state"] == "received"
                         for n in cn.negotiations()), "the proposal at CN-CUSTOMS")
        cn.decline_negotiation(agreement_id, "invoices are outside our legal basis")
        declined = wait(lambda: (lambda n: n if n["state"] == "declined" else None)(
            sg.negotiation(agreement_id)), "the refusal at SG-CUSTOMS")
        assert declined["reason"] == "invoices are outside our legal basis"
        with pytest.raises(ClientError) as refused:
            cn.countersign_negotiation(agreement_id)
        assert refused.value.code is ReasonCode.STATE_INVALID
        registry = TrustRegistry.from_dict(sg.registry()["registry"])
    assert registry.agreement(agreement_id).is_dual_signed is False  # a proposal, not in force


def test_doc_verify_asks_a_node_for_the_status(pilot: Demo, tmp_path: Path) -> None:
    issued = issue(pilot, [SG])
    effective = (utc_now() + dt.timedelta(hours=1)).replace(microsecond=0)
    with pilot.client(CHAMBER, "officer") as chamber:
        chamber.revoke(issued["id"], "superseded by a new shipment",
                       effective_at=format_time(effective))
        signed = chamber.signed(issued["id"])
    wait(lambda: lifecycle_at(pilot, SG, issued["id"])["state"] == "revoked",
         "the revocation at SG-CUSTOMS")
    with pilot.client(SG, "operator") as operator:
        registry = operator.registry()["registry"]
    (tmp_path / "signed.json").write_bytes(signed)
    (tmp_path / "registry.json").write_text(json.dumps(registry))
    base = ["doc", "verify", str(tmp_path / "signed.json"), "--registry",
            str(tmp_path / "registry.json"), "--as", SG, "--status-from",
            pilot.network.urls[SG]]
    runner = CliRunner()
    before = runner.invoke(build_app(), base)
    assert before.exit_code == 0, before.output
    assert "VALID" in before.output and "revoked with effect from" in before.output
    after = runner.invoke(build_app(), [*base, "--at",
                                        format_time(effective + dt.timedelta(seconds=1))])
    assert after.exit_code == 1, after.output
    assert ReasonCode.DOCUMENT_REVOKED.value in after.output


def test_cli_revoke_replace_and_statements(pilot: Demo, tmp_path: Path) -> None:
    first, second = issue(pilot, [SG]), issue(pilot, [SG])
    key = ["--node", pilot.network.urls[CHAMBER], "--api-key", pilot.keys[CHAMBER]["officer"]]
    runner = CliRunner()
    revoked = runner.invoke(build_app(), ["doc", "revoke", first["id"], "--reason",
                                          "issued in error", *key])
    assert revoked.exit_code == 0, revoked.output
    assert f"document {first['id']} revoked" in revoked.output and SG in revoked.output
    corrected = Consignment().new("certificate-of-origin")
    (tmp_path / "corrected.json").write_text(json.dumps(corrected))
    replaced = runner.invoke(build_app(), ["doc", "replace", second["id"],
                                           str(tmp_path / "corrected.json"), "--reason",
                                           "wrong consignee", *key])
    assert replaced.exit_code == 0, replaced.output
    assert f"replaced by {corrected['id']}" in replaced.output
    again = runner.invoke(build_app(), ["doc", "revoke", first["id"], "--reason", "x", *key])
    assert again.exit_code == 1 and "STATE_INVALID" in again.output
    wait(lambda: runner.invoke(build_app(), ["doc", "statements", "--undelivered", *key]
                               ).output.strip() == "no statements", "every statement delivered")
    listed = runner.invoke(build_app(), ["doc", "statements", first["id"], "--json", *key])
    [statement] = json.loads(listed.output)
    assert statement["pending"] == [] and statement["deliveries"][0]["to"] == SG
