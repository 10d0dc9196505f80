"""``tradeaccord demo``: the single-declaration pilot on five node processes.

SG-CUSTOMS, CN-CUSTOMS, SG-CHAMBER, SG-NPPO and the carrier's node SG-CARRIER (scenario 5,
``node.demo.titles``: an electronic bill of lading) each run ``tradeaccord node serve`` on
127.0.0.1 with embedded SQLite, keys encrypted with a per-run passphrase; SG-ICC signs
offline. Registries and dual-signed agreements are made by ``node.pilot.setup_network``,
the code an operator's tools use. Four consignments of orchids then go through:

1. a clean declaration with a certificate of origin (SG-CHAMBER) and a phytosanitary
   certificate (SG-NPPO) → released at export and at import, preference eligible;
2. the invoice total disagrees with the declared value → held at export with the fields
   named; an officer releases it with a reason; it clears at import;
3. a certificate of origin from SG-ICC, which China does not recognise → released, the
   preference not eligible, with the reason;
4. plants without a phytosanitary certificate → held at import;
5. a certificate of origin revoked after clearance reaches the importing customs, which
   flags the preference for reassessment (``revocation.py``).

Each decision is shown with its reason codes and what they mean; every signed decision is
verified offline against the issuing authority's root; the audit logs are checked. Exit 0
only when every expected outcome happened.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.client import NodeClient
from node.demo import network as pilot
from node.demo import revocation, titles
from node.demo.packages import Consignment, commercial_documents, package
from node.localnet import LocalNetwork
from node.services.apikeys import Role
from protocol.documents import DocumentSchemas
from protocol.reason_codes import ReasonCode
from protocol.signed_document import document_sha256, sign_document, verify_document
from protocol.timeutil import utc_now

Say = Callable[[str], None]
WAIT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Expected:
    """What must happen to a scenario's declaration."""

    state: str
    export: str
    import_: str
    export_reasons: tuple[str, ...] = ()
    import_reasons: tuple[str, ...] = ()
    eligible: bool | None = True
    preference_reasons: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()


@dataclass
class Outcome:
    """What a scenario produced, for the report."""

    title: str
    ok: bool
    seconds: float
    status: dict[str, Any]
    problems: list[str] = field(default_factory=list)


def explain(codes: list[str]) -> str:
    """Reason codes beside their meaning in plain words."""
    words = []
    for code in codes:
        try:
            words.append(f"{code} ({ReasonCode(code).description.rstrip('.')})")
        except ValueError:
            words.append(code)
    return "; ".join(words) if words else "no findings, every document recognised"


class Demo:
    """The pilot network, its keys and clients, and the scenarios."""

    def __init__(self, workdir: Path, say: Say,
                 node_settings: dict[str, str] | None = None) -> None:
        self.say = say
        self.network = LocalNetwork(workdir, (*pilot.AUTHORITIES, titles.SG_CARRIER),
                                    pilot.AGREEMENTS,
                                    node_settings=node_settings or {
                                        "worker_poll_seconds": "0.05",
                                        "delivery_backoff_base_seconds": "0.2",
                                        "log_level": "warning"})
        self.keys: dict[str, dict[str, str]] = {}
        self.schemas = DocumentSchemas.load()

    # -- setting up -------------------------------------------------------------------------

    def setup(self) -> None:
        say, network = self.say, self.network
        say(f"1. {len(network.specs)} authorities generate their keys and certificates "
            "(encrypted at rest):")
        network.setup()
        for spec in network.specs:
            where = network.urls.get(spec.authority_id, "signs offline, no node")
            say(f"   {spec.authority_id:<11} {', '.join(spec.roles):<17} {where}")
        say("2. Registries and agreements, each proposed by one root and countersigned by the "
            "other:")
        for agreement in pilot.AGREEMENTS:
            say(f"   {agreement.agreement_id:<22} {agreement.proposer} -> {agreement.partner}: "
                f"{', '.join(agreement.document_types)}")
        self.keys = {
            "SG-CUSTOMS": {"trader": network.api_key("SG-CUSTOMS", Role.TRADER, pilot.EXPORTER),
                           "officer": network.api_key("SG-CUSTOMS", Role.OFFICER),
                           "operator": network.api_key("SG-CUSTOMS", Role.OPERATOR)},
            "CN-CUSTOMS": {"trader": network.api_key("CN-CUSTOMS", Role.TRADER, pilot.IMPORTER),
                           "officer": network.api_key("CN-CUSTOMS", Role.OFFICER),
                           "operator": network.api_key("CN-CUSTOMS", Role.OPERATOR)},
            "SG-CHAMBER": {"trader": network.api_key("SG-CHAMBER", Role.TRADER, pilot.EXPORTER),
                           "operator": network.api_key("SG-CHAMBER", Role.OPERATOR)},
            "SG-NPPO": {"trader": network.api_key("SG-NPPO", Role.TRADER, pilot.EXPORTER),
                        "operator": network.api_key("SG-NPPO", Role.OPERATOR)},
        }
        say(f"3. Starting {len(network.urls)} nodes as separate processes (SQLite, WAL) …")
        started = time.monotonic()
        network.start_all()
        say(f"   all ready in {time.monotonic() - started:.1f} s")

    def client(self, authority_id: str, role: str) -> NodeClient:
        return NodeClient(self.network.urls[authority_id], self.keys[authority_id][role])

    # -- certificates -----------------------------------------------------------------------

    def chamber_certificate(self, consignment: Consignment) -> dict[str, Any]:
        """The exporter asks SG-CHAMBER for a certificate of origin and downloads it signed."""
        certificate = consignment.new("certificate-of-origin")
        with self.client("SG-CHAMBER", "trader") as chamber:
            issued = chamber.submit(certificate)
            signed = chamber.signed(issued["id"])
        consignment.signed_elsewhere("certificate-of-origin", issued["id"], issued["sha256"])
        self.say(f"   SG-CHAMBER  signed certificate of origin "
                 f"{certificate['body']['certificateNumber']} (RCEP); the exporter downloads it")
        return {"signed": json.loads(signed)}

    def offline_certificate(self, consignment: Consignment) -> dict[str, Any]:
        """SG-ICC signs a certificate of origin offline, as `tradeaccord doc sign` does."""
        certificate = consignment.new("certificate-of-origin",
                                      lambda d: d.__setitem__("issuer", "SG-ICC"))
        directory = self.network.directories["SG-ICC"]
        signer = directory.document_signer(self.network.passphrases["SG-ICC"])
        jws = sign_document(certificate, signer, signed_at=utc_now())
        consignment.signed_elsewhere("certificate-of-origin", certificate["id"],
                                     document_sha256(jws))
        self.say("   SG-ICC      signed a certificate of origin offline (no node); CN-CUSTOMS "
                 "has no agreement with it")
        return {"signed": jws.to_dict()}

    def phytosanitary_certificate(self, consignment: Consignment) -> dict[str, Any]:
        """SG-NPPO issues the phytosanitary certificate and sends it to SG-CUSTOMS."""
        certificate = consignment.new("phytosanitary-certificate")
        with self.client("SG-NPPO", "trader") as nppo:
            issued = nppo.submit(certificate, send_to=["SG-CUSTOMS"])
            delivery = self._wait(lambda: next(
                (d for d in nppo.status(issued["id"])["deliveries"] if d["state"] != "pending"),
                None), "the phytosanitary certificate's delivery to SG-CUSTOMS")
        consignment.signed_elsewhere("phytosanitary-certificate", issued["id"],
                                     issued["sha256"])
        self.say(f"   SG-NPPO     signed phytosanitary certificate "
                 f"{certificate['body']['certificateNumber']} and sent it to SG-CUSTOMS: "
                 f"{delivery['outcome']}")
        return {"documentId": issued["id"]}

    # -- running a declaration --------------------------------------------------------------

    @staticmethod
    def _wait(probe: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(0.05)
        raise RuntimeError(f"{what}: nothing within {timeout:.0f} s")

    def declare(self, package_: dict[str, Any], expected: Expected,
                officer_release: str | None = None) -> tuple[dict[str, Any], float]:
        """Submit at SG-CUSTOMS; (an officer releases when told); wait until both decisions
        are known to the trader. Returns the joint status and the seconds it took."""
        say = self.say
        started = time.monotonic()
        with self.client("SG-CUSTOMS", "trader") as trader:
            status = trader.submit_declaration(package_)
            say(f"   SG-CUSTOMS  export decision: {status['export']['decision']} — "
                f"{explain(status['export']['reasons'])}")
            for finding in status["export"]["findings"]:
                if finding["severity"] == "hold":
                    sides = " vs ".join(
                        f"{s['documentType']} {s['pointer']} = {s['value']}"
                        + (f" ({s['note']})" if s.get("note") else "")
                        for s in finding["subjects"])
                    say(f"               {finding['ruleId']} {finding['title']}: {sides}")
            if officer_release is not None and status["state"] == "export-held":
                with self.client("SG-CUSTOMS", "officer") as officer:
                    officer.release_declaration(status["id"], officer_release)
                say(f"   SG-CUSTOMS  officer released it: \"{officer_release}\"")
            final = self._wait(lambda: self._known(trader.declaration(status["id"])),
                               f"both decisions on {status['id']}")
        return final, time.monotonic() - started

    @staticmethod
    def _known(status: dict[str, Any]) -> dict[str, Any] | None:
        if status["state"] in ("export-held", "forwarding", "awaiting-import",
                               "forwarding-failed"):
            return None
        return status

    def report(self, status: dict[str, Any]) -> None:
        imported = status["import"]
        self.say(f"   CN-CUSTOMS  import decision: {imported['decision']} — "
                 f"{explain(imported['reasons'])}")
        for finding in imported["findings"]:
            self.say(f"               {finding['ruleId']} [{finding['severity']}] "
                     f"{finding['title']}")
        preference = imported["preference"]
        if preference["claimed"]:
            word = {True: "eligible", False: "NOT eligible", None: "pending"}[
                preference["eligible"]]
            self.say(f"               preference claimed: {word}"
                     + (f" — {explain(preference['reasons'])}" if preference["reasons"] else ""))

    def check(self, status: dict[str, Any], expected: Expected) -> list[str]:
        problems = []
        actual = {
            "state": status["state"], "export": status["export"]["decision"],
            "import": status["import"]["decision"],
            "export reasons": tuple(status["export"]["reasons"]),
            "import reasons": tuple(status["import"]["reasons"]),
            "eligible": status["import"]["preference"]["eligible"],
            "preference reasons": tuple(status["import"]["preference"]["reasons"]),
            "findings": tuple(f["ruleId"] for f in status["export"]["findings"]
                              if f["severity"] == "hold"),
        }
        wanted = {"state": expected.state, "export": expected.export, "import": expected.import_,
                  "export reasons": expected.export_reasons,
                  "import reasons": expected.import_reasons, "eligible": expected.eligible,
                  "preference reasons": expected.preference_reasons,
                  "findings": expected.findings}
        for name, value in wanted.items():
            if actual[name] != value:
                problems.append(f"{name}: expected {value!r}, got {actual[name]!r}")
        return problems

    def verify_decisions(self, status: dict[str, Any]) -> int:
        """Verify every signed decision of the declaration offline against its issuer's root."""
        roots = {aid: self.network.directories[aid].root_certificate
                 for aid in ("SG-CUSTOMS", "CN-CUSTOMS")}
        count = 0
        with self.client("SG-CUSTOMS", "officer") as officer:
            for document in status["documents"]:
                if document["type"] != "clearance-decision":
                    continue
                signed = officer.signed(document["id"])
                result = verify_document(signed, anchors=[roots[document["issuer"]]],
                                         at=utc_now(), schemas=self.schemas)
                if not result.valid:
                    raise RuntimeError(f"decision {document['id']} does not verify: "
                                       f"{result.reasons}")
                count += 1
        return count

    # -- the scenarios ------------------------------------------------------------------------

    def scenarios(self) -> list[Outcome]:
        say = self.say
        outcomes = []

        def run(title: str, build: Callable[[Consignment], dict[str, Any]], expected: Expected,
                officer_release: str | None = None) -> None:
            say(title)
            consignment = Consignment()
            package_ = build(consignment)
            status, seconds = self.declare(package_, expected, officer_release)
            self.report(status)
            problems = self.check(status, expected)
            verified = self.verify_decisions(status)
            for entry in status["timeline"]:
                if entry["details"].get("reason") and entry["details"].get("officer"):
                    say(f"   the trader reads the officer's reason: "
                        f"\"{entry['details']['reason']}\"")
            say(f"   joint status at SG-CUSTOMS: {status['state']}; {verified} signed decisions "
                f"verified offline; both decisions known {seconds:.2f} s after submission")
            say(f"   {'OK' if not problems else 'UNEXPECTED: ' + '; '.join(problems)}")
            outcomes.append(Outcome(title, not problems, seconds, status, problems))

        def clean(consignment: Consignment) -> dict[str, Any]:
            commercial_documents(consignment)
            certificates = [self.chamber_certificate(consignment),
                            self.phytosanitary_certificate(consignment)]
            return package(consignment, importing="CN-CUSTOMS", certificates=certificates)

        def value_mismatch(consignment: Consignment) -> dict[str, Any]:
            # The seller raised the Dendrobium price to 3.25; order, invoice and payment say
            # so, the declaration still declares the old value.
            commercial_documents(consignment, {
                "purchase-order": _reprice, "commercial-invoice": _reprice,
                "payment-record": lambda d: d["body"]["amount"].__setitem__("amount", 23160.0)})
            certificates = [self.chamber_certificate(consignment),
                            self.phytosanitary_certificate(consignment)]
            return package(consignment, importing="CN-CUSTOMS", certificates=certificates,
                           declaration_change=lambda d: d["body"]["invoiceAmount"].__setitem__(
                               "amount", 23160.0))

        def unrecognised_origin(consignment: Consignment) -> dict[str, Any]:
            commercial_documents(consignment)
            certificates = [self.offline_certificate(consignment),
                            self.phytosanitary_certificate(consignment)]
            return package(consignment, importing="CN-CUSTOMS", certificates=certificates)

        def no_phytosanitary(consignment: Consignment) -> dict[str, Any]:
            commercial_documents(consignment)
            return package(consignment, importing="CN-CUSTOMS",
                           certificates=[self.chamber_certificate(consignment)])

        run("Scenario 1 — orchids with a certificate of origin and a phytosanitary certificate",
            clean, Expected("cleared", "released", "released"))
        run("Scenario 2 — the invoice total disagrees with the declared value",
            value_mismatch,
            Expected("cleared", "released", "released",
                     export_reasons=("RECONCILIATION_MISMATCH",), findings=("REC-VALUE-01",)),
            officer_release="Price revision of 2026-11-15 verified with the seller; the declared "
            "value is amended at post-clearance audit")
        run("Scenario 3 — a certificate of origin from a chamber China does not recognise",
            unrecognised_origin,
            Expected("cleared", "released", "released", eligible=False,
                     preference_reasons=("CERTIFICATE_NOT_RECOGNISED", "NO_AGREEMENT")))
        run("Scenario 4 — plants without a phytosanitary certificate",
            no_phytosanitary,
            Expected("import-held", "released", "held", import_reasons=("CERTIFICATE_MISSING",)))
        outcomes.append(titles.play(self))
        outcomes.append(Outcome(*revocation.run(self)))  # node/demo/revocation.py
        return outcomes

    def audit(self) -> bool:
        self.say("Audit logs (hash-chained):")
        ok = True
        for authority_id in self.network.urls:
            with self.client(authority_id, "operator") as operator:
                result = operator.audit_verify()
            ok = ok and bool(result["valid"])
            self.say(f"   {authority_id:<11} {'intact' if result['valid'] else 'BROKEN'}, "
                     f"{result.get('events', '?')} events")
        return ok

    def credentials(self) -> None:
        self.say("The network stays up (Ctrl-C stops it). Nodes and API keys:")
        for authority_id, url in self.network.urls.items():
            self.say(f"   {authority_id:<11} {url}   (OpenAPI: {url}/docs)")
            for role, key in self.keys[authority_id].items():
                self.say(f"      {role:<9} {key}")
        self.say("   e.g. TRADEACCORD_API_KEY=<SG-CUSTOMS trader key> tradeaccord declaration list "
                 f"--node {self.network.urls['SG-CUSTOMS']}")


def _reprice(document: dict[str, Any]) -> None:
    """Dendrobium at 3.25 instead of 2.75 a plant: line 2 and the total follow."""
    lines = document["body"]["lineItems"]
    lines[1]["unitPrice"] = 3.25
    lines[1]["lineAmount"] = 7800.0
    document["body"]["totalAmount"] = 23160.0
