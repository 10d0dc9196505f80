"""No input makes the API answer 5xx: bodies and query parameters are refused with codes.

In-process nodes (``create_app`` over ``ASGITransport``): arbitrary JSON values, and valid
request bodies with one part replaced, go to every endpoint that takes a body; arbitrary
text and integers go into every query and path parameter. Each answer must be below 500,
and a refusal must carry a reason code from the closed list. The named regressions are the
inputs that once answered 500.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.authority import AuthorityDirectory
from node.bootstrap import authority_record
from protocol.canonical import b64url_decode, b64url_encode, canonicalize
from protocol.certificates import certificate_to_der
from protocol.envelope import EnvelopeKind, StatusChangeNotice, build_envelope, sign_envelope
from protocol.jws import GeneralJWS, JWSSignature, Signer
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from protocol.timeutil import utc_now
from tests.json_strategies import json_values, mutations, texts
from tests.node.conftest import certificate_of_origin
from tests.node.databases import DatabaseFactory
from tests.node.inprocess import InProcessNetwork
from tests.node.shared_network import envelope, issued, shared_databases  # noqa: F401 (fixture)

SG_ID, CN_ID = "SG-CUSTOMS", "CN-CUSTOMS"
AGREEMENT_ID = "SG-CN-COO-2026"
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass(frozen=True)
class Seed:
    net: InProcessNetwork
    document_id: str          # outbound at SG
    signed: dict[str, Any]    # its signed form
    snapshot: dict[str, Any]  # SG's registry, signed by SG's root
    agreement: dict[str, Any]  # the dual-signed agreement, as SG holds it
    jp: AuthorityDirectory    # an authority neither registry holds


@pytest.fixture(scope="module")
def seed(shared_databases: DatabaseFactory,  # noqa: F811 (fixture)
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    base = tmp_path_factory.mktemp("api-refuses")
    net = InProcessNetwork(base / "net", shared_databases)
    try:
        response = net.request(SG_ID, "POST", "/v1/documents", caller="trader",
                               json={"document": certificate_of_origin()})
        assert response.status_code == 201, response.text
        submitted = response.json()
        sg = net[SG_ID].ctx
        registry = sg.registry.current()
        now = utc_now()
        snapshot = registry.export_snapshot(sg.authority.root_signer(None), at=now,
                                            expires_at=now + dt.timedelta(days=1))
        jp = AuthorityDirectory.create(base / "JP-CUSTOMS", authority_id="JP-CUSTOMS",
                                       country="JP", name="Japan Customs", passphrase=None,
                                       at=now)
        yield Seed(net, submitted["id"], submitted["signed"], snapshot.to_dict(),
                   registry.agreement(AGREEMENT_ID).signed.to_dict(), jp)
    finally:
        net.close()


def _body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def answered_without_5xx(response: httpx.Response) -> None:
    """Below 500; a refusal names a reason code of the closed list."""
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        ReasonCode(error["code"])
        assert all(ReasonCode(code) for code in error["reasons"])


def _post(seed: Seed, authority: str, path: str, caller: str | None,
          content: bytes) -> httpx.Response:
    return seed.net.request(authority, "POST", path, caller=caller, content=content,
                            headers={"content-type": "application/json"})


def _envelope_dict(seed: Seed) -> dict[str, Any]:
    sg = seed.net[SG_ID].directory
    raw = envelope(sg, CN_ID, (issued(sg, certificate_of_origin()),))
    return json.loads(raw)  # type: ignore[no-any-return]


def _non_ascii(certificate: Any) -> str:
    good = base64.b64encode(certificate_to_der(certificate)).decode("ascii")
    return good[:10] + "é" + good[11:]


def _with_x5c(jws: GeneralJWS, signer: Signer, x5c: list[str]) -> GeneralJWS:
    """``jws`` re-signed by ``signer`` (an Ed25519 key) under a header naming ``x5c``."""
    header = parse_json(b64url_decode(jws.signatures[0].protected_b64))
    protected = b64url_encode(canonicalize({**header, "x5c": x5c}))
    signature = signer.key.sign(f"{protected}.{jws.payload_b64}".encode("ascii"))  # type: ignore[call-arg]
    return GeneralJWS(jws.payload_b64, (JWSSignature(protected, b64url_encode(signature)),
                                        *jws.signatures[1:]))


def _error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


# -- regressions named after what they reproduce --------------------------------------------


@pytest.mark.parametrize("path", ["/v1/documents", "/v1/inbox"])
@pytest.mark.parametrize("cursor", ["99999999999999999999999", str(2**63), str(2**31)])
def test_paging_cursor_beyond_64_bits_is_refused_not_500(seed: Seed, path: str,
                                                         cursor: str) -> None:
    response = seed.net.request(SG_ID, "GET", path, caller="officer", params={"after": cursor})
    assert response.status_code == 422, response.text
    assert _error_code(response) == "REQUEST_INVALID"
    largest = seed.net.request(SG_ID, "GET", path, caller="officer",
                               params={"after": str(2**31 - 1)})  # PostgreSQL's INTEGER keys
    assert largest.status_code == 200, largest.text


@pytest.mark.parametrize("path", ["/v1/documents/a%00b", "/v1/documents/a%00b/status",
                                  "/v1/documents/%20x/signed"])
def test_document_id_with_nul_character_is_refused_not_500(seed: Seed, path: str) -> None:
    response = seed.net.request(SG_ID, "GET", path, caller="officer")
    assert response.status_code == 422, response.text
    assert _error_code(response) == "REQUEST_INVALID"


def test_verify_x5c_with_non_ascii_character_is_reported_not_500(seed: Seed) -> None:
    sg = seed.net[SG_ID].directory
    signer = sg.document_signer(None)
    forged = _with_x5c(GeneralJWS.parse(seed.signed), signer, [_non_ascii(signer.certificate)])
    response = _post(seed, SG_ID, "/v1/verify", "trader", forged.to_json())
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["checks"]["integrity"] == "INVALID"
    assert report["reasons"] == ["CERT_MALFORMED"]


def test_document_x5c_with_non_ascii_character_is_rejected_in_the_receipt_not_500(
        seed: Seed) -> None:
    sg = seed.net[SG_ID].directory
    signer = sg.document_signer(None)
    forged = _with_x5c(issued(sg, certificate_of_origin()), signer,
                       [_non_ascii(signer.certificate)])
    response = _post(seed, CN_ID, "/v1/peer/envelopes", None, envelope(sg, CN_ID, (forged,)))
    assert response.status_code == 200, response.text
    receipt = GeneralJWS.parse(response.content).payload_json()
    [outcome] = receipt["outcomes"]
    assert (outcome["outcome"], outcome["reasons"]) == ("rejected", ["CERT_MALFORMED"])


def test_envelope_x5c_with_non_ascii_character_is_refused_not_500(seed: Seed) -> None:
    sg = seed.net[SG_ID].directory
    signer = sg.node_signer(None)
    raw = envelope(sg, CN_ID, (issued(sg, certificate_of_origin()),))
    forged = _with_x5c(GeneralJWS.parse(raw), signer, [_non_ascii(signer.certificate)])
    response = _post(seed, CN_ID, "/v1/peer/envelopes", None, forged.to_json())
    assert response.status_code == 401, response.text
    assert _error_code(response) == "ENVELOPE_SIGNATURE_INVALID"


def test_snapshot_x5c_with_non_ascii_character_is_refused_not_500(seed: Seed) -> None:
    signer = seed.net[SG_ID].directory.root_signer(None)
    forged = _with_x5c(GeneralJWS.parse(seed.snapshot), signer, [_non_ascii(signer.certificate)])
    response = _post(seed, SG_ID, "/v1/registry/snapshots", "operator", forged.to_json())
    assert response.status_code == 400, response.text
    assert response.json()["error"]["reasons"] == ["REGISTRY_SIGNATURE_INVALID",
                                                   "CERT_MALFORMED"]


def test_agreement_x5c_with_non_ascii_character_is_refused_not_500(seed: Seed) -> None:
    signer = seed.net[SG_ID].directory.root_signer(None)
    forged = _with_x5c(GeneralJWS.parse(seed.agreement), signer,
                       [_non_ascii(signer.certificate)])
    response = _post(seed, SG_ID, "/v1/registry/agreements", "operator", forged.to_json())
    assert response.status_code == 400, response.text
    assert response.json()["error"]["reasons"] == ["AGREEMENT_INVALID", "CERT_MALFORMED"]


@pytest.mark.parametrize("outcome", [["accepted"], {"accepted": True}])
def test_status_change_outcome_array_or_object_is_refused_not_500(seed: Seed,
                                                                  outcome: Any) -> None:
    # Unauthenticated: the body is read before any signature is checked.
    notice = StatusChangeNotice(document_id=seed.document_id, document_sha256="a" * 64,
                                outcome="accepted", reasons=(), decided_at=utc_now())
    built = build_envelope(message_id="notice-1", sender=CN_ID, recipient=SG_ID,
                           created_at=utc_now(), ttl=dt.timedelta(hours=1),
                           kind=EnvelopeKind.STATUS_CHANGE, body=notice.to_dict())
    payload = {**built.to_dict(), "body": {**notice.to_dict(), "outcome": outcome}}
    jws = GeneralJWS(b64url_encode(canonicalize(payload)),
                     GeneralJWS.parse(sign_envelope(built, seed.net[CN_ID].directory.node_signer(
                         None), signed_at=utc_now()).to_dict()).signatures)
    response = _post(seed, SG_ID, "/v1/peer/envelopes", None, jws.to_json())
    assert response.status_code == 400, response.text
    assert _error_code(response) == "ENVELOPE_MALFORMED"


# -- properties: bodies ---------------------------------------------------------------------


@dataclass(frozen=True)
class BodyEndpoint:
    name: str
    authority: str
    caller: str | None
    path: Callable[[Seed], str]
    valid: Callable[[Seed], Any]


BODY_ENDPOINTS = (
    BodyEndpoint("submitDocument", SG_ID, "trader", lambda s: "/v1/documents",
                 lambda s: {"document": certificate_of_origin(), "sendTo": [CN_ID]}),
    BodyEndpoint("sendDocument", SG_ID, "trader", lambda s: f"/v1/documents/{s.document_id}/send",
                 lambda s: {"to": [CN_ID]}),
    BodyEndpoint("rejectDocument", SG_ID, "officer", lambda s: "/v1/inbox/no-such-id/reject",
                 lambda s: {"reason": "wrong goods"}),
    BodyEndpoint("verifyDocument", SG_ID, "trader", lambda s: "/v1/verify", lambda s: s.signed),
    BodyEndpoint("addAuthority", SG_ID, "operator", lambda s: "/v1/registry/authorities",
                 lambda s: authority_record(s.jp).to_dict()),
    BodyEndpoint("addAgreement", SG_ID, "operator", lambda s: "/v1/registry/agreements",
                 lambda s: s.agreement),
    BodyEndpoint("addProposal", SG_ID, "operator", lambda s: "/v1/registry/proposals",
                 lambda s: s.agreement),
    BodyEndpoint("proposeAgreement", SG_ID, "operator", lambda s: "/v1/registry/agreements/propose",
                 lambda s: {"agreementId": "SG-CN-X", "partner": CN_ID,
                            "documentTypes": ["certificate-of-origin"], "direction": "both",
                            "validFrom": "2026-01-01T00:00:00Z"}),
    BodyEndpoint("changeAgreementStatus", SG_ID, "operator",
                 lambda s: "/v1/registry/agreements/NO-SUCH-AGREEMENT/status",
                 lambda s: {"status": "suspended", "effectiveAt": "2026-01-01T00:00:00Z",
                            "reason": "audit"}),
    BodyEndpoint("importSnapshot", SG_ID, "operator", lambda s: "/v1/registry/snapshots",
                 lambda s: s.snapshot),
    BodyEndpoint("receiveEnvelope", CN_ID, None, lambda s: "/v1/peer/envelopes", _envelope_dict),
)


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=[e.name for e in BODY_ENDPOINTS])
@FUZZ
@given(data=st.data())
def test_request_bodies_are_refused_with_codes_never_5xx(seed: Seed, endpoint: BodyEndpoint,
                                                         data: st.DataObject) -> None:
    value = data.draw(mutations(endpoint.valid(seed)))
    answered_without_5xx(_post(seed, endpoint.authority, endpoint.path(seed), endpoint.caller,
                               _body(value)))


# -- properties: query and path parameters --------------------------------------------------


parameter_values = (texts | st.integers(-(2**70), 2**70).map(str)
                    | st.sampled_from(["inbound", "outbound", "accepted", "dead", "0", "-1",
                                       str(2**63), "1e3", "", " 5"]))

QUERIES = {
    "/v1/documents": ("officer", ("direction", "limit", "after")),
    "/v1/inbox": ("officer", ("outcome", "limit", "after")),
    "/v1/outbox": ("operator", ("state", "limit")),
    "/v1/documents/{id}": ("officer", ("direction",)),
    "/v1/documents/{id}/signed": ("trader", ("direction",)),
    "/v1/documents/{id}/status": ("trader", ()),
}


@pytest.mark.parametrize("route", list(QUERIES))
@FUZZ
@given(data=st.data())
def test_query_and_path_parameters_are_refused_with_codes_never_5xx(
        seed: Seed, route: str, data: st.DataObject) -> None:
    caller, names = QUERIES[route]
    params = data.draw(st.dictionaries(st.sampled_from(names), parameter_values)
                       if names else st.just({}))
    document_id = data.draw(st.just(seed.document_id) | texts.filter(bool))
    path = route.replace("{id}", quote(document_id, safe=""))
    answered_without_5xx(seed.net.request(SG_ID, "GET", path, caller=caller, params=params))


@FUZZ
@given(message_id=texts.filter(bool), agreement_id=texts.filter(bool))
def test_path_identifiers_of_operator_actions_never_5xx(seed: Seed, message_id: str,
                                                        agreement_id: str) -> None:
    for path in (f"/v1/outbox/{quote(message_id, safe='')}/retry",
                 f"/v1/registry/agreements/{quote(agreement_id, safe='')}/countersign"):
        answered_without_5xx(seed.net.request(SG_ID, "POST", path, caller="operator"))


_ = (Path, json_values)
