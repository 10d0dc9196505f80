"""``/v1/declarations``: bad input, authorisation, states, idempotency, paging, peers.

Every refusal answers 4xx with its reason code and leaves the node as it was (no
declaration, no document). One network per module and database backend: each test declares
its own consignment.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from node.client import ClientError, NodeClient
from node.demo import network as pilot
from node.demo.packages import Consignment, commercial_documents, package
from protocol.envelope import EnvelopeKind, build_envelope, sign_envelope
from protocol.jws import GeneralJWS
from protocol.timeutil import utc_now
from tests.node.databases import DatabaseFactory
from tests.node.shared_network import (  # noqa: F401 (fixture)
    SharedNetwork,
    shared_databases,
    start_network,
    stop_network,
)

AGREEMENTS = tuple(a for a in pilot.AGREEMENTS
                   if {a.proposer, a.partner} == {"SG-CUSTOMS", "CN-CUSTOMS"})


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory,
        shared_databases: DatabaseFactory) -> Iterator[SharedNetwork]:  # noqa: F811
    network = start_network(tmp_path_factory.mktemp("net"), shared_databases,
                            authorities=(pilot.SG_CUSTOMS, pilot.CN_CUSTOMS),
                            agreements=AGREEMENTS)
    try:
        yield network
    finally:
        stop_network(network)


def fresh_package() -> tuple[Consignment, dict[str, Any]]:
    """Commercial documents only (the preference then is not eligible; no matter here)."""
    consignment = Consignment()
    commercial_documents(consignment)
    return consignment, package(consignment, importing="CN-CUSTOMS", certificates=[])


def counts(net: SharedNetwork) -> tuple[int, int]:
    """Declarations and documents issued at SG (what a refused package must not add; the
    import decisions that earlier tests' declarations bring back arrive inbound)."""
    with net["SG-CUSTOMS"].client("officer") as officer:
        return (len(officer.declarations(limit=500)),
                len(officer.documents(direction="outbound", limit=500)))


def refused(client: NodeClient, call: Callable[[NodeClient], Any]) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call(client)
    return caught.value


# -- the package's shape ------------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(package_: dict[str, Any]) -> None:
        node: Any = package_
        parts = path.split("/")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return edit


BAD_SHAPES = [
    ("format", _set("packageFormat", "v2"), "/packageFormat"),
    ("unknown-member", _set("note", 1), "/note"),
    ("documents-not-array", _set("documents", {}), "/documents"),
    ("item-two-forms", _set("documents/0", {"document": {}, "documentId": "x"}), "/documents/0"),
    ("item-unknown-form", _set("documents/0", {"file": "x"}), "/documents/0/file"),
    ("document-not-object", _set("documents/0", {"document": []}), "/documents/0/document"),
    ("document-id-form", _set("documents/0", {"documentId": "no spaces"}),
     "/documents/0/documentId"),
    ("importing-authority-form", _set("importingAuthority", "cn customs"),
     "/importingAuthority"),
    ("declaration-item", _set("declaration", "x"), "/declaration"),
]


@pytest.mark.parametrize(("name", "edit", "pointer"), BAD_SHAPES, ids=[c[0] for c in BAD_SHAPES])
def test_malformed_package_refused_with_pointer(net: SharedNetwork, name: str,
                                                edit: Callable[[dict[str, Any]], None],
                                                pointer: str) -> None:
    _consignment, package_ = fresh_package()
    edit(package_)
    before = counts(net)
    with net["SG-CUSTOMS"].client("trader") as trader:
        error = refused(trader, lambda c: c.submit_declaration(package_))
    assert (error.status, error.code.value) == (400, "REQUEST_INVALID")
    assert pointer in error.message
    assert counts(net) == before


@pytest.mark.parametrize(("name", "edit", "code", "status"), [
    ("missing-importer", lambda p: p.pop("importingAuthority"), "REQUEST_INVALID", 400),
    ("unknown-importer", _set("importingAuthority", "JP-CUSTOMS"), "REQUEST_INVALID", 400),
    ("importer-is-self", _set("importingAuthority", "SG-CUSTOMS"), "REQUEST_INVALID", 400),
    ("wrong-destination", _set("declaration/document/body/destinationCountry", "JP"),
     "REQUEST_INVALID", 400),
    ("import-declaration", _set("declaration/document/body/declarationType", "import"),
     "REQUEST_INVALID", 400),
    ("not-a-declaration", lambda p: p.__setitem__("declaration", p["documents"][0]),
     "REQUEST_INVALID", 400),
    ("second-declaration", lambda p: p["documents"].append(
        {"document": {**copy.deepcopy(p["declaration"]["document"]), "id": "second-1"}}),
     "REQUEST_INVALID", 400),
    ("document-twice", lambda p: p["documents"].append(copy.deepcopy(p["documents"][0])),
     "REQUEST_INVALID", 400),
    ("schema-invalid", _set("documents/0/document/body/currency", "dollars"),
     "SCHEMA_INVALID", 422),
    ("other-issuer", _set("documents/0/document/issuer", "CN-CUSTOMS"), "ISSUER_MISMATCH", 400),
    ("unknown-held-document", lambda p: p["documents"].append({"documentId": "not-held-here"}),
     "NOT_FOUND", 404),
], ids=lambda v: v if isinstance(v, str) else "")
def test_package_content_refused_nothing_stored(net: SharedNetwork, name: str,
                                                edit: Callable[[dict[str, Any]], None],
                                                code: str, status: int) -> None:
    _consignment, package_ = fresh_package()
    edit(package_)
    before = counts(net)
    with net["SG-CUSTOMS"].client("trader") as trader:
        error = refused(trader, lambda c: c.submit_declaration(package_))
    assert (error.status, error.code.value) == (status, code), error.message
    assert counts(net) == before


def test_schema_error_names_the_field_in_the_package(net: SharedNetwork) -> None:
    _consignment, package_ = fresh_package()
    package_["documents"][0]["document"]["body"]["currency"] = "dollars"
    with net["SG-CUSTOMS"].client("trader") as trader:
        error = refused(trader, lambda c: c.submit_declaration(package_))
    assert "/documents/0/document" in error.message


def test_tampered_signed_document_refused(net: SharedNetwork) -> None:
    consignment, package_ = fresh_package()
    with net["SG-CUSTOMS"].client("trader") as trader:
        signed = json.loads(json.dumps(trader.submit(
            consignment.documents["payment-record"] | {"id": "pay-tamper-1"})["signed"]))
    payload = signed["payload"]
    signed["payload"] = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    package_["documents"][3] = {"signed": signed}
    before = counts(net)
    with net["SG-CUSTOMS"].client("trader") as trader:
        error = refused(trader, lambda c: c.submit_declaration(package_))
    assert error.code.value in ("SIGNATURE_INVALID", "JWS_MALFORMED", "JSON_MALFORMED")
    assert counts(net) == before


def test_duplicate_json_member_refused(net: SharedNetwork) -> None:
    node = net["SG-CUSTOMS"]
    body = b'{"packageFormat": "tradeaccord-declaration-package-1.0", ' \
           b'"packageFormat": "tradeaccord-declaration-package-1.0"}'
    response = httpx.post(f"{node.url}/v1/declarations", content=body, headers={
        "content-type": "application/json", "authorization": f"Bearer {node.keys['trader']}"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "JSON_DUPLICATE_MEMBER"


# -- who may do what ---------------------------------------------------------------------------


def test_roles(net: SharedNetwork) -> None:
    node = net["SG-CUSTOMS"]
    _consignment, package_ = fresh_package()
    with node.client("trader-other") as other:
        assert refused(other, lambda c: c.submit_declaration(package_)).code.value == "FORBIDDEN"
    with node.client("operator") as operator:
        assert refused(operator, lambda c: c.submit_declaration(package_)).code.value == \
            "FORBIDDEN"
        assert refused(operator, lambda c: c.declarations()).code.value == "FORBIDDEN"
    with NodeClient(node.url) as anonymous:
        assert refused(anonymous, lambda c: c.declarations()).code.value == "AUTH_REQUIRED"
    with node.client("trader") as trader:
        status = trader.submit_declaration(package_)
        assert refused(trader, lambda c: c.release_declaration(status["id"], "x")).code.value \
            == "FORBIDDEN"
    with node.client("trader-other") as other:
        assert refused(other, lambda c: c.declaration(status["id"])).code.value == "NOT_FOUND"
        assert all(d["id"] != status["id"] for d in other.declarations())
    with node.client("officer") as officer:
        assert officer.declaration(status["id"])["id"] == status["id"]


def test_review_refusals(net: SharedNetwork) -> None:
    node = net["SG-CUSTOMS"]
    _consignment, package_ = fresh_package()
    with node.client("trader") as trader:
        released = trader.submit_declaration(package_)
    with node.client("officer") as officer:
        error = refused(officer, lambda c: c.release_declaration(released["id"], "ok"))
        assert (error.status, error.code.value) == (409, "STATE_INVALID")
        error = refused(officer, lambda c: c.release_declaration("no-such-declaration", "ok"))
        assert error.code.value == "NOT_FOUND"
        for body in ({}, {"reason": ""}, {"reason": 5}, {"reason": "x", "extra": 1}):
            error = refused(officer, lambda c, b=body: c._request(  # type: ignore[misc]
                "POST", f"/v1/declarations/{released['id']}/reject", json_body=b))
            assert (error.status, error.code.value) == (400, "REQUEST_INVALID"), body


# -- idempotency and conflicts -----------------------------------------------------------------


def test_submitting_the_same_package_again_answers_the_same_declaration(
        net: SharedNetwork) -> None:
    _consignment, package_ = fresh_package()
    with net["SG-CUSTOMS"].client("trader") as trader:
        first = trader.submit_declaration(package_)
        before = counts(net)
        again = trader.submit_declaration(package_)
        assert (again["id"], again["declarationSha256"]) == (first["id"],
                                                             first["declarationSha256"])
        assert counts(net) == before
        changed = copy.deepcopy(package_)
        changed["declaration"]["document"]["body"]["functionalReference"] = "LCK-EXP-OTHER"
        error = refused(trader, lambda c: c.submit_declaration(changed))
    assert (error.status, error.code.value) == (409, "CONFLICT")
    assert counts(net) == before


def test_listing_pages_and_filters(net: SharedNetwork) -> None:
    with net["SG-CUSTOMS"].client("trader") as trader:
        ids = [trader.submit_declaration(fresh_package()[1])["id"] for _ in range(3)]
        page = trader.declarations(limit=2)
        assert len(page) == 2 and page[0]["cursor"] > page[1]["cursor"]
        rest = trader.declarations(limit=500, after=page[-1]["cursor"])
        assert {d["id"] for d in page} | {d["id"] for d in rest} >= set(ids)
        assert all(d["cursor"] < page[-1]["cursor"] for d in rest)
        assert all(d["state"] == "export-held" for d in trader.declarations(state="export-held"))
        error = refused(trader, lambda c: c.declarations(state="lost"))
        assert (error.status, error.code.value) == (422, "REQUEST_INVALID")


# -- peers --------------------------------------------------------------------------------------


def _post_envelope(net: SharedNetwork, sender: str, recipient: str, kind: EnvelopeKind,
                   body: dict[str, Any], documents: tuple[GeneralJWS, ...]) -> httpx.Response:
    directory = net.directories[sender]
    built = build_envelope(message_id=f"msg-{id(body)}-{utc_now().timestamp()}",
                           sender=sender, recipient=recipient, created_at=utc_now(),
                           ttl=dt.timedelta(hours=1), kind=kind, body=body,
                           documents=documents)
    signed = sign_envelope(built, directory.node_signer(None), signed_at=utc_now())
    return httpx.post(f"{net[recipient].url}/v1/peer/envelopes", content=signed.to_json(),
                      headers={"content-type": "application/json"})


def test_unsolicited_clearance_decision_refused(net: SharedNetwork) -> None:
    """A decision about a declaration SG never forwarded to CN is refused, nothing stored."""
    consignment, _package = fresh_package()
    invoice = {k: v for k, v in consignment.documents["commercial-invoice"].items()
               if k not in ("issuer", "id")}
    with net["CN-CUSTOMS"].client("officer") as officer:
        issued = officer.submit(invoice)
    jws = GeneralJWS.parse(json.dumps(issued["signed"]))
    response = _post_envelope(net, "CN-CUSTOMS", "SG-CUSTOMS", EnvelopeKind.CLEARANCE_DECISION,
                              {"declarationId": "never-forwarded"}, (jws,))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_declaration_envelope_without_its_declaration_refused(net: SharedNetwork) -> None:
    consignment, _package = fresh_package()
    with net["SG-CUSTOMS"].client("officer") as officer:
        invoice = officer.submit(consignment.documents["commercial-invoice"])
    jws = GeneralJWS.parse(json.dumps(invoice["signed"]))
    response = _post_envelope(net, "SG-CUSTOMS", "CN-CUSTOMS", EnvelopeKind.DECLARATION,
                              {"declarationId": "missing-declaration"}, (jws,))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ENVELOPE_MALFORMED"
    with net["CN-CUSTOMS"].client("officer") as officer:
        assert all(d["id"] != invoice["id"] for d in officer.inbox())


# -- the API describes itself ------------------------------------------------------------------


def test_openapi_describes_the_declaration_bodies_and_answers(net: SharedNetwork) -> None:
    document = httpx.get(f"{net['SG-CUSTOMS'].url}/openapi.json").json()
    schemas = document["components"]["schemas"]
    submit = document["paths"]["/v1/declarations"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"]["$ref"] == \
        "#/components/schemas/DeclarationPackage"
    assert "DeclarationPackage" in schemas and "DeclarationStatus" in schemas
    assert set(schemas["DeclarationStatus"]["required"]) >= {
        "id", "state", "export", "forwarding", "import", "timeline"}
    for path, method in (("/v1/declarations/{declaration_id}/release", "post"),
                         ("/v1/declarations/{declaration_id}/reject", "post")):
        assert document["paths"][path][method]["requestBody"]["content"]["application/json"][
            "schema"]["$ref"] == "#/components/schemas/ReviewRequest"

