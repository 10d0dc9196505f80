"""The authorisation matrix of the node's HTTP API: every route × every kind of caller.

Role policy, as implemented:

- documents submit, list, get, signed, send, status and the inbox list: trader, officer;
- inbox release and reject: officer;
- revoke and replace (a document issued here), evidence bundles: officer; the status statements: officer,
  operator; ``GET /v1/status/{id}`` (the signed status answer): public;
- declarations submit, list and get: trader, officer; release and reject: officer;
- titles issue, list, get and export: trader, officer; transfer, blank-endorse and
  surrender: trader (the holder's key); surrender accept and reject: officer;
- verify and reading the registry: any authenticated caller;
- webhooks: any authenticated caller registers and lists its own; removes its own (an
  operator: any), another's answers 404 NOT_FOUND;
- registry changes, the outbox and the audit check: operator;
- negotiations (propose, list, show, countersign, decline, status): operator;
- ``/healthz``, ``/readyz``, ``/metrics``, ``/.well-known/tradeaccord`` (and its
  ``/registry``, the signed snapshot) and the API
  documentation (``/docs``, ``/redoc``, ``/openapi.json``, ``/docs/assets/…``): public;
- ``POST /v1/peer/envelopes``: the envelope's signature, never an API key.

A missing or bad key answers 401 AUTH_REQUIRED, a role that is not allowed 403 FORBIDDEN,
an allowed role the route's success status. A trader sees only documents that name its
party: another party's document answers 404 NOT_FOUND, never data.

One network per backend serves the whole module. Each cell of the matrix either creates
something new or acts on an object seeded for that cell alone, and a refused cell must
leave the node as it was, so the cells do not depend on each other or on their order.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from node.api.app import create_app
from node.authority import AuthorityDirectory
from node.bootstrap import authority_record
from node.demo.packages import Consignment, commercial_documents, package
from node.pilot import AgreementSpec, AuthoritySpec, make_agreement
from node.storage.models import (
    ApiKeyRecord,
    DeclarationRecord,
    DeliveryRecord,
    DocumentRecord,
    DocumentStatusRecord,
    IdempotencyKeyRecord,
    NegotiationRecord,
    OutboundMessageRecord,
    RegistryStateRecord,
    TitleEntryRow,
    TitleRecordRow,
    WebhookSubscriptionRecord,
)
from protocol.timeutil import utc_now
from tests.node.conftest import (
    CN,
    EXPORTER,
    SG,
    Network,
    RunningNode,
    certificate_of_origin,
    final_delivery,
)
from tests.node.databases import DatabaseFactory
from tests.node.shared_network import (  # noqa: F401 (fixture)
    OTHER_PARTY,
    envelope,
    issued,
    shared_databases,
    start_network,
    stop_network,
)
from tests.node.titles_support import bill
from trust_registry import (
    Agreement,
    AgreementId,
    AuthorityId,
    DocType,
    TrustRegistry,
    build_scope,
    propose_agreement,
)

SG_ID, CN_ID = "SG-CUSTOMS", "CN-CUSTOMS"
CALLERS = ("no-key", "bad-key", "trader", "officer", "operator")
TRADER_OFFICER = frozenset({"trader", "officer"})
OFFICER = frozenset({"officer"})
TRADER = frozenset({"trader"})
OPERATOR = frozenset({"operator"})
OFFICER_OPERATOR = frozenset({"officer", "operator"})
ANY_ROLE = frozenset({"trader", "officer", "operator"})
PUBLIC = "public"  # no key needed; a bad key is ignored
PEER = "peer"      # authenticated by the envelope signature; API keys are ignored
# Any role, on its own objects: an operator's on every one; another caller's is NOT_FOUND.
OWNER = "owner"


@dataclass(frozen=True)
class Seed:
    """Objects at SG made for the matrix, each used by the cells of one route."""

    network: Network
    http: httpx.Client
    document_id: str       # outbound, names EXPORTER
    sha256: str
    signed: bytes          # its signed form (JWS JSON)
    held: dict[str, str]   # "release" / "reject" → an inbound document held for review
    failed_message: str    # an outbound message its peer refused (retryable)
    agreement: bytes       # a dual-signed agreement SG holds (the status cell suspends it)
    agreement_id: str
    proposal: bytes        # a proposal signed by CN's root (the countersign cell signs it)
    proposal_id: str
    authority: dict[str, Any]  # CN's entry as SG's registry holds it
    declaration_id: str        # a declaration of EXPORTER, submitted at SG
    held_declarations: dict[str, str]  # "release" / "reject" → a declaration held at export
    titles: dict[str, str]  # route → a transferable record of EXPORTER issued at SG for it
    withdrawn: dict[str, str]  # "revoke" / "replace" → an outbound document to withdraw
    negotiation_id: str  # a negotiation SG proposed to CN
    received: dict[str, str]  # "countersign" / "decline" → a proposal from CN awaiting SG
    negotiated_agreement: str  # a dual-signed agreement the status cell suspends

    @property
    def sg(self) -> RunningNode:
        return self.network[SG_ID]

    @property
    def cn(self) -> RunningNode:
        return self.network[CN_ID]


@dataclass(frozen=True)
class Call:
    path: str
    body: bytes | None = None


@dataclass(frozen=True)
class Row:
    """One route: who may call it, what success answers, and a request that succeeds."""

    operation: str
    method: str
    path: str  # as the OpenAPI document writes it
    access: frozenset[str] | str
    success: int
    call: Callable[[Seed], Call]


def _json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def _snapshot(seed: Seed) -> Call:
    """A snapshot of SG's registry as it stands, signed by SG's root: importing it changes
    nothing, so the operator's cell answers 200 whatever ran before."""
    registry = TrustRegistry.from_dict(
        _get(seed.http, seed.sg, "/v1/registry", "operator").json()["registry"])
    now = utc_now()
    snapshot = registry.export_snapshot(seed.sg.directory.root_signer(None), at=now,
                                        expires_at=now + dt.timedelta(hours=1))
    return Call("/v1/registry/snapshots", snapshot.to_json())


def _package(*, held: bool = False) -> dict[str, Any]:
    """A declaration package of EXPORTER for CN (fresh ids); ``held``: its invoice total
    disagrees with the declared value, so it is held at export."""
    consignment = Consignment()
    change = {"commercial-invoice": lambda d: d["body"].__setitem__("totalAmount", 1.0)}
    commercial_documents(consignment, change if held else None)
    return package(consignment, importing=CN_ID, certificates=[])


def _officers_webhook(seed: Seed) -> Call:
    """A webhook just registered by the officer (an operator may remove it, a trader not)."""
    created = _post(seed.http, seed.sg, "/v1/webhooks", "officer",
                    _json({"url": "http://127.0.0.1:9/hook"})).json()
    return Call(f"/v1/webhooks/{created['id']}")


def _peer_envelope(seed: Seed) -> Call:
    document = issued(seed.cn.directory, certificate_of_origin())
    return Call("/v1/peer/envelopes", envelope(seed.cn.directory, SG_ID, (document,)))


def _bill() -> dict[str, Any]:
    """A bill whose carrier is EXPORTER (so the trader key may issue it), fresh reference."""
    document = bill()
    for party in document["parties"]:
        if party["role"] == "carrier":
            party["id"] = EXPORTER
    return document


ROWS: tuple[Row, ...] = (
    Row("submitDocument", "POST", "/v1/documents", TRADER_OFFICER, 201,
        lambda s: Call("/v1/documents", _json({"document": certificate_of_origin()}))),
    Row("submitDocuments", "POST", "/v1/documents:batch", TRADER_OFFICER, 200,
        lambda s: Call("/v1/documents:batch",
                       _json({"documents": [{"document": certificate_of_origin()}]}))),
    Row("listDocuments", "GET", "/v1/documents", TRADER_OFFICER, 200,
        lambda s: Call("/v1/documents")),
    Row("getDocument", "GET", "/v1/documents/{document_id}", TRADER_OFFICER, 200,
        lambda s: Call(f"/v1/documents/{s.document_id}")),
    Row("getSignedDocument", "GET", "/v1/documents/{document_id}/signed", TRADER_OFFICER, 200,
        lambda s: Call(f"/v1/documents/{s.document_id}/signed")),
    Row("sendDocument", "POST", "/v1/documents/{document_id}/send", TRADER_OFFICER, 202,
        lambda s: Call(f"/v1/documents/{s.document_id}/send", _json({"to": [CN_ID]}))),
    Row("getDocumentStatus", "GET", "/v1/documents/{document_id}/status", TRADER_OFFICER, 200,
        lambda s: Call(f"/v1/documents/{s.document_id}/status")),
    Row("listInbox", "GET", "/v1/inbox", TRADER_OFFICER, 200, lambda s: Call("/v1/inbox")),
    Row("releaseDocument", "POST", "/v1/inbox/{document_id}/release", OFFICER, 200,
        lambda s: Call(f"/v1/inbox/{s.held['release']}/release",
                       _json({"reason": "checked at the counter"}))),
    Row("rejectDocument", "POST", "/v1/inbox/{document_id}/reject", OFFICER, 200,
        lambda s: Call(f"/v1/inbox/{s.held['reject']}/reject",
                       _json({"reason": "goods not as described"}))),
    Row("revokeDocument", "POST", "/v1/documents/{document_id}/revoke", OFFICER, 201,
        lambda s: Call(f"/v1/documents/{s.withdrawn['revoke']}/revoke",
                       _json({"reason": "issued in error"}))),
    Row("replaceDocument", "POST", "/v1/documents/{document_id}/replace", OFFICER, 201,
        lambda s: Call(f"/v1/documents/{s.withdrawn['replace']}/replace",
                       _json({"reason": "corrected", "document": certificate_of_origin()}))),
    Row("listStatements", "GET", "/v1/statements", OFFICER_OPERATOR, 200,
        lambda s: Call("/v1/statements")),
    Row("getDocumentLifecycleStatus", "GET", "/v1/status/{document_id}", PUBLIC, 200,
        lambda s: Call(f"/v1/status/{s.document_id}")),
    Row("exportDocumentEvidence", "GET", "/v1/evidence/documents/{document_id}", OFFICER, 200,
        lambda s: Call(f"/v1/evidence/documents/{s.document_id}")),
    Row("exportDeclarationEvidence", "GET", "/v1/evidence/declarations/{declaration_id}",
        OFFICER, 200, lambda s: Call(f"/v1/evidence/declarations/{s.declaration_id}")),
    Row("proposeNegotiation", "POST", "/v1/negotiations", OPERATOR, 201,
        lambda s: Call("/v1/negotiations", _json({
            "agreementId": f"SG-CN-NEG-{uuid.uuid4().hex[:8]}", "partner": CN_ID,
            "documentTypes": ["purchase-order"]}))),
    Row("listNegotiations", "GET", "/v1/negotiations", OPERATOR, 200,
        lambda s: Call("/v1/negotiations")),
    Row("getNegotiation", "GET", "/v1/negotiations/{agreement_id}", OPERATOR, 200,
        lambda s: Call(f"/v1/negotiations/{s.negotiation_id}")),
    Row("countersignNegotiation", "POST", "/v1/negotiations/{agreement_id}/countersign",
        OPERATOR, 200,
        lambda s: Call(f"/v1/negotiations/{s.received['countersign']}/countersign")),
    Row("declineNegotiation", "POST", "/v1/negotiations/{agreement_id}/decline", OPERATOR, 200,
        lambda s: Call(f"/v1/negotiations/{s.received['decline']}/decline",
                       _json({"reason": "not covered by our law"}))),
    Row("changeNegotiatedStatus", "POST", "/v1/negotiations/{agreement_id}/status", OPERATOR,
        200, lambda s: Call(f"/v1/negotiations/{s.negotiated_agreement}/status",
                            _json({"status": "suspended", "reason": "audit"}))),
    Row("publishRegistry", "GET", "/.well-known/tradeaccord/registry", PUBLIC, 200,
        lambda s: Call("/.well-known/tradeaccord/registry")),
    Row("submitDeclaration", "POST", "/v1/declarations", TRADER_OFFICER, 201,
        lambda s: Call("/v1/declarations", _json(_package()))),
    Row("listDeclarations", "GET", "/v1/declarations", TRADER_OFFICER, 200,
        lambda s: Call("/v1/declarations")),
    Row("getDeclaration", "GET", "/v1/declarations/{declaration_id}", TRADER_OFFICER, 200,
        lambda s: Call(f"/v1/declarations/{s.declaration_id}")),
    Row("releaseDeclaration", "POST", "/v1/declarations/{declaration_id}/release", OFFICER, 200,
        lambda s: Call(f"/v1/declarations/{s.held_declarations['release']}/release",
                       _json({"reason": "value explained by the seller's price list"}))),
    Row("rejectDeclaration", "POST", "/v1/declarations/{declaration_id}/reject", OFFICER, 200,
        lambda s: Call(f"/v1/declarations/{s.held_declarations['reject']}/reject",
                       _json({"reason": "value not substantiated"}))),
    Row("issueTitle", "POST", "/v1/titles", TRADER_OFFICER, 201,
        lambda s: Call("/v1/titles", _json({"bill": _bill(), "holder": EXPORTER}))),
    Row("listTitles", "GET", "/v1/titles", TRADER_OFFICER, 200, lambda s: Call("/v1/titles")),
    Row("getTitle", "GET", "/v1/titles/{record_id}", TRADER_OFFICER, 200,
        lambda s: Call(f"/v1/titles/{s.titles['get']}")),
    Row("exportTitle", "GET", "/v1/titles/{record_id}/export", TRADER_OFFICER, 200,
        lambda s: Call(f"/v1/titles/{s.titles['get']}/export")),
    Row("transferTitle", "POST", "/v1/titles/{record_id}/transfer", TRADER, 200,
        lambda s: Call(f"/v1/titles/{s.titles['transfer']}/transfer",
                       _json({"toParty": OTHER_PARTY, "endorse": True}))),
    Row("blankEndorseTitle", "POST", "/v1/titles/{record_id}/blank-endorse", TRADER, 200,
        lambda s: Call(f"/v1/titles/{s.titles['blank-endorse']}/blank-endorse")),
    Row("surrenderTitle", "POST", "/v1/titles/{record_id}/surrender", TRADER, 200,
        lambda s: Call(f"/v1/titles/{s.titles['surrender']}/surrender")),
    Row("acceptSurrender", "POST", "/v1/titles/{record_id}/surrender/accept", OFFICER, 200,
        lambda s: Call(f"/v1/titles/{s.titles['accept']}/surrender/accept")),
    Row("rejectSurrender", "POST", "/v1/titles/{record_id}/surrender/reject", OFFICER, 200,
        lambda s: Call(f"/v1/titles/{s.titles['reject']}/surrender/reject",
                       _json({"reason": "freight unpaid"}))),
    Row("verifyDocument", "POST", "/v1/verify", ANY_ROLE, 200,
        lambda s: Call("/v1/verify", s.signed)),
    Row("getRegistry", "GET", "/v1/registry", ANY_ROLE, 200, lambda s: Call("/v1/registry")),
    Row("addAuthority", "POST", "/v1/registry/authorities", OPERATOR, 200,
        lambda s: Call("/v1/registry/authorities", _json(s.authority))),
    Row("addAgreement", "POST", "/v1/registry/agreements", OPERATOR, 200,
        lambda s: Call("/v1/registry/agreements", s.agreement)),
    Row("proposeAgreement", "POST", "/v1/registry/agreements/propose", OPERATOR, 200,
        lambda s: Call("/v1/registry/agreements/propose", _json({
            "agreementId": f"SG-CN-PROPOSED-{uuid.uuid4().hex[:8]}", "partner": CN_ID,
            "documentTypes": ["commercial-invoice"]}))),
    Row("addProposal", "POST", "/v1/registry/proposals", OPERATOR, 200,
        lambda s: Call("/v1/registry/proposals", s.proposal)),
    Row("countersignAgreement", "POST", "/v1/registry/agreements/{agreement_id}/countersign",
        OPERATOR, 200,
        lambda s: Call(f"/v1/registry/agreements/{s.proposal_id}/countersign")),
    Row("changeAgreementStatus", "POST", "/v1/registry/agreements/{agreement_id}/status",
        OPERATOR, 200,
        lambda s: Call(f"/v1/registry/agreements/{s.agreement_id}/status",
                       _json({"status": "suspended", "reason": "audit of the partner"}))),
    Row("importSnapshot", "POST", "/v1/registry/snapshots", OPERATOR, 200, _snapshot),
    Row("listOutbox", "GET", "/v1/outbox", OPERATOR, 200, lambda s: Call("/v1/outbox")),
    Row("retryMessage", "POST", "/v1/outbox/{message_id}/retry", OPERATOR, 200,
        lambda s: Call(f"/v1/outbox/{s.failed_message}/retry")),
    Row("verifyAuditLog", "GET", "/v1/audit/verify", OPERATOR, 200,
        lambda s: Call("/v1/audit/verify")),
    Row("registerWebhook", "POST", "/v1/webhooks", ANY_ROLE, 201,
        lambda s: Call("/v1/webhooks", _json({"url": "http://127.0.0.1:9/hook"}))),
    Row("listWebhooks", "GET", "/v1/webhooks", ANY_ROLE, 200, lambda s: Call("/v1/webhooks")),
    Row("removeWebhook", "DELETE", "/v1/webhooks/{webhook_id}", OWNER, 200, _officers_webhook),
    Row("receiveEnvelope", "POST", "/v1/peer/envelopes", PEER, 200, _peer_envelope),
    Row("describeNode", "GET", "/.well-known/tradeaccord", PUBLIC, 200,
        lambda s: Call("/.well-known/tradeaccord")),
    Row("health", "GET", "/healthz", PUBLIC, 200, lambda s: Call("/healthz")),
    Row("ready", "GET", "/readyz", PUBLIC, 200, lambda s: Call("/readyz")),
    Row("metrics", "GET", "/metrics", PUBLIC, 200, lambda s: Call("/metrics")),
    Row("openapi", "GET", "/openapi.json", PUBLIC, 200, lambda s: Call("/openapi.json")),
    Row("swagger-ui", "GET", "/docs", PUBLIC, 200, lambda s: Call("/docs")),
    Row("redoc", "GET", "/redoc", PUBLIC, 200, lambda s: Call("/redoc")),
)


# -- requests -------------------------------------------------------------------------------


def _bad_key(node: RunningNode) -> str:
    """A well-formed key naming a real key id, with a wrong secret."""
    key_id = node.keys["trader"].partition(".")[0]
    return f"{key_id}.{'A' * 43}"


def _headers(node: RunningNode, caller: str, body: bytes | None) -> dict[str, str]:
    headers = {"content-type": "application/json"} if body is not None else {}
    if caller == "bad-key":
        headers["authorization"] = f"Bearer {_bad_key(node)}"
    elif caller != "no-key":
        headers["authorization"] = f"Bearer {node.keys[caller]}"
    return headers


def _request(http: httpx.Client, node: RunningNode, method: str, call: Call,
             caller: str) -> httpx.Response:
    return http.request(method, node.url + call.path, content=call.body,
                        headers=_headers(node, caller, call.body))


def _get(http: httpx.Client, node: RunningNode, path: str, caller: str) -> httpx.Response:
    response = _request(http, node, "GET", Call(path), caller)
    assert response.status_code == 200, response.text
    return response


def _error(response: httpx.Response) -> str:
    # RFC 9457 problem details, with the deprecated "error" object saying the same (ADR 0030).
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "instance", "code", "reasons",
                         "error"}
    assert set(body["error"]) == {"code", "message", "reasons"}
    assert body["status"] == response.status_code
    assert body["type"].endswith("#" + body["code"]) and body["code"] == body["error"]["code"]
    assert body["detail"] == body["error"]["message"]
    assert body["reasons"] == body["error"]["reasons"]
    return str(body["error"]["code"])


# What a refused request must not change at SG, read from its database (not through the
# API: three listings before and after each of ~600 refused cells cost most of this module's
# time). Counted: every table a request can add to; compared whole: documents, titles and
# the registry version. Not the audit log, nor delivery attempts, which the node's own
# worker advances meanwhile.
_COUNTED = (DocumentRecord, DeliveryRecord, OutboundMessageRecord, DeclarationRecord,
            DocumentStatusRecord, NegotiationRecord, WebhookSubscriptionRecord, ApiKeyRecord,
            IdempotencyKeyRecord, TitleEntryRow)


def _state(seed: Seed) -> tuple[object, ...]:
    """What a refused request must not change at SG (its stored rows; see above)."""
    assert seed.sg.app is not None
    engine = seed.sg.app.state.ctx.engine
    with engine.connect() as connection:
        documents = sorted(connection.execute(select(
            DocumentRecord.document_id, DocumentRecord.direction, DocumentRecord.outcome)).all())
        titles = sorted(connection.execute(select(
            TitleRecordRow.record_id, TitleRecordRow.state, TitleRecordRow.holder,
            TitleRecordRow.sequence)).all())
        version = connection.execute(select(func.max(RegistryStateRecord.version))).scalar_one()
        counts = [connection.execute(select(func.count()).select_from(model)).scalar_one()
                  for model in _COUNTED]
    return documents, titles, version, counts


# -- the shared network and its seed --------------------------------------------------------


def _proposal(proposer: AuthorityDirectory, spec: AgreementSpec, at: dt.datetime) -> bytes:
    """An agreement signed by the proposer's root only."""
    scope = build_scope(proposer=AuthorityId(spec.proposer), partner=AuthorityId(spec.partner),
                        document_types=[DocType(t) for t in spec.document_types])
    agreement = Agreement(agreement_id=AgreementId(spec.agreement_id),
                          parties=(AuthorityId(spec.proposer), AuthorityId(spec.partner)),
                          legal_reference=spec.legal_reference,
                          valid_from=at - dt.timedelta(minutes=1), valid_until=None, scope=scope)
    return propose_agreement(agreement, proposer.root_signer(None), signed_at=at).to_json()


def _post(http: httpx.Client, node: RunningNode, path: str, caller: str,
          body: bytes) -> httpx.Response:
    response = _request(http, node, "POST", Call(path, body), caller)
    assert response.status_code in (200, 201, 202), response.text
    return response


def _seed(network: Network, http: httpx.Client, base: Path) -> Seed:
    sg, cn = network[SG_ID], network[CN_ID]
    with sg.client("trader") as trader:
        submitted = trader.submit(certificate_of_origin())
    # Two documents from CN that SG holds for review (hold_for_review_types).
    held: dict[str, str] = {}
    with cn.client("officer") as officer:
        for action in ("release", "reject"):
            document = {**certificate_of_origin(), "issuer": CN_ID}
            held[action] = officer.submit(document, send_to=[SG_ID])["id"]
        for document_id in held.values():
            assert final_delivery(officer, document_id, SG_ID)["outcome"] == "held-for-review"
    # A message its peer refuses: JP-CUSTOMS's endpoint in SG's registry is CN's node,
    # which answers WRONG_RECIPIENT, a final refusal.
    jp = AuthorityDirectory.create(base / "JP-CUSTOMS", authority_id="JP-CUSTOMS", country="JP",
                                   name="Japan Customs", passphrase=None, at=utc_now())
    _post(http, sg, "/v1/registry/authorities", "operator",
          _json(authority_record(jp, endpoint=cn.url).to_dict()))
    with sg.client("trader") as trader:
        to_jp = trader.submit(certificate_of_origin(), send_to=["JP-CUSTOMS"])
        failed = final_delivery(trader, to_jp["id"], "JP-CUSTOMS")
    assert failed["state"] == "failed" and failed["reasons"] == ["WRONG_RECIPIENT"], failed
    # Agreements for the registry cells (other document types: the CoO exchange is untouched).
    now = utc_now()
    agreement_spec = AgreementSpec("SG-CN-INV-2026", SG_ID, CN_ID, ("commercial-invoice",))
    agreement = make_agreement(sg.directory, cn.directory, agreement_spec, at=now,
                               passphrases={}).to_json()
    _post(http, sg, "/v1/registry/agreements", "operator", agreement)
    proposal_spec = AgreementSpec("CN-SG-PHYTO-2026", CN_ID, SG_ID, ("phytosanitary-certificate",))
    proposal = _proposal(cn.directory, proposal_spec, now)
    _post(http, sg, "/v1/registry/proposals", "operator", proposal)
    registry = _get(http, sg, "/v1/registry", "operator").json()["registry"]
    [authority] = [a for a in registry["authorities"] if a["id"] == CN_ID]
    with sg.client("trader") as trader:
        declaration_id = trader.submit_declaration(_package())["id"]
        held_declarations = {action: trader.submit_declaration(_package(held=True))["id"]
                             for action in ("release", "reject")}
        withdrawn = {action: trader.submit(certificate_of_origin())["id"]
                     for action in ("revoke", "replace")}
    # Negotiations: one SG proposed, two CN proposed (awaiting SG's operator), and an
    # agreement in force for the status cell.
    negotiation_id = "SG-CN-NEG-SEED"
    _post(http, sg, "/v1/negotiations", "operator", _json({
        "agreementId": negotiation_id, "partner": CN_ID, "documentTypes": ["purchase-order"]}))
    received = {action: f"CN-SG-NEG-{action.upper()}" for action in ("countersign", "decline")}
    for agreement_id in received.values():
        _post(http, cn, "/v1/negotiations", "operator", _json({
            "agreementId": agreement_id, "partner": SG_ID,
            "documentTypes": ["purchase-order"]}))
    for agreement_id in received.values():
        deadline = time.monotonic() + 30
        while _request(http, sg, "GET", Call(f"/v1/negotiations/{agreement_id}"),
                       "operator").status_code != 200:
            assert time.monotonic() < deadline, f"proposal {agreement_id} did not arrive"
            time.sleep(0.05)
    status_spec = AgreementSpec("SG-CN-BL-2026", SG_ID, CN_ID, ("bill-of-lading",))
    _post(http, sg, "/v1/registry/agreements", "operator",
          make_agreement(sg.directory, cn.directory, status_spec, at=now,
                         passphrases={}).to_json())
    titles: dict[str, str] = {}
    for route in ("get", "transfer", "blank-endorse", "surrender", "accept", "reject"):
        titles[route] = _post(http, sg, "/v1/titles", "officer",
                              _json({"bill": _bill(), "holder": EXPORTER})).json()["id"]
        if route in ("accept", "reject"):
            _post(http, sg, f"/v1/titles/{titles[route]}/surrender", "trader", b"")
    return Seed(network=network, http=http, document_id=submitted["id"], sha256=submitted["sha256"],
                signed=json.dumps(submitted["signed"]).encode("utf-8"), held=held,
                failed_message=str(failed["messageId"]), agreement=agreement,
                agreement_id=agreement_spec.agreement_id, proposal=proposal,
                proposal_id=proposal_spec.agreement_id, authority=authority,
                declaration_id=declaration_id, held_declarations=held_declarations,
                titles=titles, withdrawn=withdrawn, negotiation_id=negotiation_id,
                received=received, negotiated_agreement=status_spec.agreement_id)


@pytest.fixture(scope="module")
def seed(shared_databases: DatabaseFactory,  # noqa: F811 (fixture)
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    base = tmp_path_factory.mktemp("authorization")
    # SG also issues transferable records here (the titles routes' cells).
    sg = AuthoritySpec(SG_ID, SG.country, SG.name, (*SG.roles, "transferable-records"))
    network = start_network(base / "net", shared_databases, authorities=(sg, CN),
                            hold_for_review_types=["certificate-of-origin"])
    try:
        with httpx.Client(timeout=30) as http:
            yield _seed(network, http, base)
    finally:
        stop_network(network)


# -- the matrix -----------------------------------------------------------------------------


def _expected(row: Row, caller: str) -> tuple[int, str | None]:
    if row.access in (PUBLIC, PEER):
        return row.success, None
    if caller in ("no-key", "bad-key"):
        return 401, "AUTH_REQUIRED"
    if row.access == OWNER:
        return (row.success, None) if caller in ("officer", "operator") else \
            (404, "NOT_FOUND")
    assert isinstance(row.access, frozenset)
    return (row.success, None) if caller in row.access else (403, "FORBIDDEN")


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", ROWS, ids=[row.operation for row in ROWS])
def test_authorisation_matrix(seed: Seed, row: Row, caller: str) -> None:
    status, code = _expected(row, caller)
    call = row.call(seed)
    before = _state(seed) if code else None
    response = _request(seed.http, seed.sg, row.method, call, caller)
    assert response.status_code == status, response.text
    if code:
        assert _error(response) == code
        assert _state(seed) == before
    if row.access == PEER:
        assert response.headers["tradeaccord-duplicate"] == "false"


def test_matrix_covers_every_route(seed: Seed) -> None:
    """A new route without a row fails here: the OpenAPI document and the routes left out
    of it (the documentation pages) must match the table, operation ids included."""
    openapi = _get(seed.http, seed.sg, "/openapi.json", "no-key").json()
    documented = {(method.upper(), path): spec["operationId"]
                  for path, operations in openapi["paths"].items()
                  for method, spec in operations.items()}
    app = create_app(seed.sg.settings, run_worker=False)  # routes only; the lifespan never runs
    undocumented = {(method, route.path): None for route in app.routes
                    if getattr(route, "include_in_schema", True) is False
                    for method in getattr(route, "methods", set()) - {"HEAD"}}
    assert undocumented, "the documentation routes were expected outside the schema"
    table = {(row.method, row.path): row.operation for row in ROWS}
    assert set(table) == set(documented) | set(undocumented)
    assert {key: table[key] for key in documented} == documented
    assert len(table) == len(ROWS), "one row per route"


# -- credentials ----------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {"authorization": "Bearer"},
    {"authorization": "Bearer not-a-key"},
    {"authorization": "Bearer ta_"},
    {"authorization": "Bearer ta_nodot"},
    {"authorization": "Bearer ta_000000000000.secret"},
    {"authorization": "Basic dHJhZGVyOnNlY3JldA=="},
    {"x-api-key": "ta_000000000000.secret"},
], ids=["empty-bearer", "not-a-key", "bare-prefix", "no-dot", "unknown-key-id",
        "basic-scheme", "unknown-x-api-key"])
def test_rejects_malformed_or_unknown_credentials(seed: Seed, headers: dict[str, str]) -> None:
    response = seed.http.get(seed.sg.url + "/v1/registry", headers=headers)
    assert response.status_code == 401
    assert _error(response) == "AUTH_REQUIRED"


def test_rejects_key_of_another_node(seed: Seed) -> None:
    """Keys are per node: CN's officer key means nothing at SG."""
    response = seed.http.get(seed.sg.url + "/v1/documents",
                         headers={"authorization": f"Bearer {seed.cn.keys['officer']}"})
    assert response.status_code == 401
    assert _error(response) == "AUTH_REQUIRED"


def test_api_key_does_not_make_a_forged_envelope_good(seed: Seed) -> None:
    """The peer endpoint trusts the envelope signature only: an operator key beside an
    envelope signed with CN's document-signer key (not its node key) changes nothing."""
    document = issued(seed.cn.directory, certificate_of_origin())
    forged = envelope(seed.cn.directory, SG_ID, (document,), signer=seed.cn.directory.document_signer(None))
    before = _state(seed)
    response = _request(seed.http, seed.sg, "POST", Call("/v1/peer/envelopes", forged), "operator")
    assert response.status_code == 401
    assert _error(response) == "ENVELOPE_SIGNATURE_INVALID"
    assert _state(seed) == before


# -- a trader and other parties' documents --------------------------------------------------


_DOCUMENT_FIELDS = ("sha256", "signed", "parties", "deliveries", "issuer", "type", "direction")


@pytest.mark.parametrize("method,suffix,body", [
    ("GET", "", None),
    ("GET", "/signed", None),
    ("GET", "/status", None),
    ("GET", "?direction=outbound", None),
    ("POST", "/send", _json({"to": [CN_ID]})),
], ids=["get", "signed", "status", "get-outbound", "send"])
def test_trader_reading_another_partys_document_gets_not_found(
        seed: Seed, method: str, suffix: str, body: bytes | None) -> None:
    before = _state(seed)
    path = f"/v1/documents/{seed.document_id}{suffix}"
    response = _request(seed.http, seed.sg, method, Call(path, body), "trader-other")
    assert response.status_code == 404
    assert _error(response) == "NOT_FOUND"
    error = response.json()["error"]
    assert not any(name in error for name in _DOCUMENT_FIELDS)
    payload = json.loads(seed.signed)["payload"]
    for secret in (seed.sha256, payload[:40], EXPORTER):
        assert secret not in response.text
    assert _state(seed) == before
    # The same request by the trader the document names is answered with data.
    assert _request(seed.http, seed.sg, method, Call(path, body), "trader").status_code in (200, 202)


def test_trader_lists_only_documents_naming_its_party(seed: Seed) -> None:
    own = certificate_of_origin()
    for party in own["parties"]:  # type: ignore[attr-defined]
        if party["id"] == EXPORTER:
            party["id"] = OTHER_PARTY
    created = _post(seed.http, seed.sg, "/v1/documents", "trader-other", _json({"document": own})).json()
    listings = {
        caller: {path: _get(seed.http, seed.sg, path, caller).json()["documents"]
                 for path in ("/v1/documents?limit=500", "/v1/documents?direction=outbound",
                              "/v1/documents?direction=inbound", "/v1/inbox")}
        for caller in ("trader", "trader-other")
    }
    party_of = {"trader": EXPORTER, "trader-other": OTHER_PARTY}
    for caller, by_path in listings.items():
        for path, documents in by_path.items():
            assert all(party_of[caller] in d["parties"] for d in documents), (caller, path)
    trader_ids = {d["id"] for d in listings["trader"]["/v1/documents?limit=500"]}
    other_ids = {d["id"] for d in listings["trader-other"]["/v1/documents?limit=500"]}
    assert seed.document_id in trader_ids and created["id"] not in trader_ids
    assert created["id"] in other_ids and seed.document_id not in other_ids
    assert not set(seed.held.values()) & {d["id"] for d in listings["trader-other"]["/v1/inbox"]}
    assert set(seed.held.values()) <= {d["id"] for d in listings["trader"]["/v1/inbox"]}


def test_trader_cannot_submit_document_not_naming_its_party(seed: Seed) -> None:
    before = _state(seed)
    response = _request(seed.http, seed.sg, "POST",
                        Call("/v1/documents", _json({"document": certificate_of_origin()})),
                        "trader-other")
    assert response.status_code == 403
    assert _error(response) == "FORBIDDEN"
    assert _state(seed) == before


def test_operator_sees_no_document_content(seed: Seed) -> None:
    """Operators run the node; every document route refuses them, whatever the id."""
    for path in (f"/v1/documents/{seed.document_id}", f"/v1/documents/{seed.document_id}/signed",
                 "/v1/documents", "/v1/inbox"):
        response = _request(seed.http, seed.sg, "GET", Call(path), "operator")
        assert response.status_code == 403, path
        assert _error(response) == "FORBIDDEN"
        assert seed.sha256 not in response.text

