"""The web console without a browser: sessions, cookies, CSRF, authorisation, every page.

Two nodes (SG-CUSTOMS, CN-CUSTOMS) run per database backend for the module; CN holds
certificates of origin for review. The console is driven in process through
``httpx.ASGITransport`` against each node's running app (its lifespan ran under uvicorn),
so requests reach the same handlers a browser's would, without sockets. Each test signs in
afresh; the tests that change state work on documents of their own.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from node.services.apikeys import Role
from tests.node.conftest import (
    RunningNode,
    certificate_of_origin,
    example,
    final_delivery,
)
from tests.node.databases import DatabaseFactory
from tests.node.processes import create_keys
from tests.node.shared_network import (  # noqa: F401 (fixture)
    SharedNetwork,
    shared_databases,
    start_network,
    stop_network,
)

SG_ID, CN_ID = "SG-CUSTOMS", "CN-CUSTOMS"
BASE = "http://console.test"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class Seed:
    network: SharedNetwork
    sg: RunningNode
    cn: RunningNode
    outbound_id: str   # the SG trader's certificate, held for review at CN
    held_id: str       # its copy at CN


@pytest.fixture(scope="module")
def seed(shared_databases: DatabaseFactory,  # noqa: F811 (fixture)
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    network = start_network(tmp_path_factory.mktemp("console") / "net", shared_databases,
                            hold_for_review_types=["certificate-of-origin"])
    try:
        sg, cn = network[SG_ID], network[CN_ID]
        with sg.client("trader") as trader:
            submitted = trader.submit(certificate_of_origin(), send_to=[CN_ID])
            assert final_delivery(trader, submitted["id"], CN_ID)["outcome"] == \
                "held-for-review"
        yield Seed(network, sg, cn, submitted["id"], submitted["id"])
    finally:
        stop_network(network)


def console(node: RunningNode) -> httpx.AsyncClient:
    assert node.app is not None
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=node.app), base_url=BASE,
                             follow_redirects=False)


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    page = await client.get("/signin")
    assert page.status_code == 200
    return await client.post("/signin", data={"csrf": csrf_of(page), "api_key": key,
                                              "next": "/"})


@pytest.fixture
async def as_role(seed: Seed) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """Signed-in console clients: ``{"sg-trader": …, "cn-officer": …, …}``."""
    clients: dict[str, httpx.AsyncClient] = {}
    try:
        for prefix, node in (("sg", seed.sg), ("cn", seed.cn)):
            for role in ("trader", "officer", "operator", "trader-other"):
                client = console(node)
                answer = await sign_in(client, node.keys[role])
                assert answer.status_code == 303
                clients[f"{prefix}-{role}"] = client
        yield clients
    finally:
        for client in clients.values():
            await client.aclose()


# -- sessions and cookies ---------------------------------------------------------------------


async def test_sign_in_sets_a_strict_http_only_session_cookie(seed: Seed) -> None:
    async with console(seed.sg) as client:
        answer = await sign_in(client, seed.sg.keys["officer"])
        assert answer.status_code == 303
        assert answer.headers["location"] == "/inbox"
        cookie = next(value for name, value in answer.headers.multi_items()
                      if name == "set-cookie" and value.startswith("ta_console="))
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"httponly", "path", "max-age"} <= attributes
        assert "samesite=strict" in cookie.lower()
        assert "secure" not in attributes  # plain HTTP here; TLS adds Secure
        assert "ta_" not in cookie.split(";")[0].split("=", 1)[1]  # no key in the cookie
        assert (await client.get("/inbox")).status_code == 200


async def test_each_role_starts_where_its_work_is(as_role: dict[str, httpx.AsyncClient]) -> None:
    for name, home in (("sg-trader", "/documents"), ("sg-officer", "/inbox"),
                       ("sg-operator", "/registry")):
        answer = await as_role[name].get("/")
        assert (answer.status_code, answer.headers["location"]) == (303, home)


async def test_unknown_key_is_refused(seed: Seed) -> None:
    async with console(seed.sg) as client:
        answer = await sign_in(client, "ta_000000000000.not-a-secret")
        assert answer.status_code == 401
        assert "ta_console" not in answer.headers.get("set-cookie", "")
        assert (await client.get("/inbox")).status_code == 303


async def test_signed_out_pages_redirect_to_sign_in(seed: Seed) -> None:
    async with console(seed.sg) as client:
        answer = await client.get("/inbox?outcome=held-for-review")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/signin?next=%2Finbox%3Foutcome%3Dheld-for-review"


async def test_forged_or_tampered_cookie_is_no_session(seed: Seed) -> None:
    async with console(seed.sg) as client:
        await sign_in(client, seed.sg.keys["officer"])
        value = client.cookies["ta_console"]
        payload, mac = value.split(".")
        client.cookies.set("ta_console", f"{payload}x.{mac}", domain="console.test")
        assert (await client.get("/inbox")).status_code == 303
        client.cookies.set("ta_console", f"{payload}.{mac[::-1]}", domain="console.test")
        assert (await client.get("/inbox")).status_code == 303


async def test_a_cookie_from_another_node_is_no_session(seed: Seed) -> None:
    async with console(seed.sg) as sg_client, console(seed.cn) as cn_client:
        await sign_in(sg_client, seed.sg.keys["officer"])
        cn_client.cookies.set("ta_console", sg_client.cookies["ta_console"],
                              domain="console.test")
        assert (await cn_client.get("/inbox")).status_code == 303


async def test_revoking_the_key_ends_its_sessions(seed: Seed,
                                                  as_role: dict[str, httpx.AsyncClient]) -> None:
    assert seed.sg.settings.database_url is not None
    key = create_keys(seed.sg.settings.database_url, {"k": (Role.OFFICER, None)})["k"]
    async with console(seed.sg) as client:
        await sign_in(client, key)
        assert (await client.get("/inbox")).status_code == 200
        operator = as_role["sg-operator"]
        keys_page = await operator.get("/keys")
        key_id = key[3:].partition(".")[0]
        answer = await operator.post(f"/keys/{key_id}/revoke",
                                     data={"csrf": csrf_of(keys_page)})
        assert answer.status_code == 303
        assert (await client.get("/inbox")).status_code == 303


async def test_sign_out_forgets_the_cookie(seed: Seed) -> None:
    async with console(seed.sg) as client:
        await sign_in(client, seed.sg.keys["trader"])
        page = await client.get("/documents")
        answer = await client.post("/signout", data={"csrf": csrf_of(page)})
        assert answer.status_code == 303
        assert 'ta_console=""' in answer.headers["set-cookie"] or \
            "max-age=0" in answer.headers["set-cookie"].lower()
        assert (await client.get("/documents")).status_code == 303


# -- CSRF -------------------------------------------------------------------------------------


async def test_form_posts_without_csrf_token_are_refused(
        seed: Seed, as_role: dict[str, httpx.AsyncClient]) -> None:
    officer = as_role["cn-officer"]
    for data in ({"reason": "no token"}, {"reason": "bad token", "csrf": "x" * 43}):
        answer = await officer.post(f"/documents/{seed.held_id}/release", data=data)
        assert answer.status_code == 403
        assert "security token" in answer.text
    # a token of another session is no token either
    other = as_role["cn-trader"]
    token = csrf_of(await other.get("/documents"))
    answer = await officer.post(f"/documents/{seed.held_id}/release",
                                data={"reason": "stolen token", "csrf": token})
    assert answer.status_code == 403
    page = await officer.get(f"/documents/{seed.held_id}?direction=inbound")
    assert "held-for-review" in page.text


async def test_json_posts_and_foreign_origins_are_refused(
        seed: Seed, as_role: dict[str, httpx.AsyncClient]) -> None:
    operator = as_role["sg-operator"]
    token = csrf_of(await operator.get("/keys"))
    answer = await operator.post("/keys", json={"role": "officer", "csrf": token})
    assert answer.status_code == 403
    answer = await operator.post("/keys", data={"role": "officer", "csrf": token},
                                 headers={"Origin": "https://elsewhere.example"})
    assert answer.status_code == 403
    answer = await operator.post("/keys", data={"role": "officer", "csrf": token},
                                 headers={"Origin": BASE})
    assert answer.status_code == 200
    assert "ta_" in answer.text


async def test_sign_in_form_needs_its_token(seed: Seed) -> None:
    async with console(seed.sg) as client:
        answer = await client.post("/signin", data={"api_key": seed.sg.keys["officer"]})
        assert answer.status_code == 403
        assert "ta_console" not in answer.headers.get("set-cookie", "")


# -- authorisation: every page for every role -------------------------------------------------

PAGES = ["/inbox", "/documents", "/submit", "/declarations", "/declarations/new", "/titles",
         "/titles/some-record", "/registry", "/outbox", "/outbox?state=dead", "/audit",
         "/audit/verify", "/keys"]
ALLOWED = {
    "trader": {"/inbox", "/documents", "/submit", "/declarations", "/declarations/new",
               "/titles", "/titles/some-record"},
    "officer": {"/inbox", "/documents", "/submit", "/declarations", "/declarations/new",
                "/titles", "/titles/some-record"},
    "operator": {"/registry", "/outbox", "/outbox?state=dead", "/audit", "/audit/verify",
                 "/keys"},
}


async def test_every_page_answers_by_role(as_role: dict[str, httpx.AsyncClient]) -> None:
    for role, allowed in ALLOWED.items():
        client = as_role[f"sg-{role}"]
        for path in PAGES:
            answer = await client.get(path)
            expected = 200 if path in allowed else 403
            assert answer.status_code == expected, (role, path)
            assert answer.headers["content-type"].startswith("text/html")
            assert "default-src 'self'" in answer.headers["content-security-policy"]
            assert answer.headers["x-frame-options"] == "DENY"


async def test_document_pages_by_role(seed: Seed, as_role: dict[str, httpx.AsyncClient]) -> None:
    doc = seed.outbound_id
    paths = [f"/documents/{doc}", f"/documents/{doc}/print", f"/documents/{doc}/signed"]
    for path in paths:
        assert (await as_role["sg-trader"].get(path)).status_code == 200, path
        assert (await as_role["sg-officer"].get(path)).status_code == 200, path
        assert (await as_role["sg-trader-other"].get(path)).status_code == 404, path
        assert (await as_role["sg-operator"].get(path)).status_code == 403, path
        assert (await as_role["sg-trader"].get(path.replace(doc, "no-such-document"))
                ).status_code == 404, path


async def test_a_trader_cannot_open_another_partys_document(
        seed: Seed, as_role: dict[str, httpx.AsyncClient]) -> None:
    other = as_role["sg-trader-other"]
    answer = await other.get(f"/documents/{seed.outbound_id}")
    assert answer.status_code == 404
    assert "RCEP" not in answer.text and seed.outbound_id in answer.text
    listing = await other.get("/documents")
    assert seed.outbound_id not in listing.text
    download = await other.get(f"/documents/{seed.outbound_id}/signed")
    assert download.status_code == 404
    assert not download.text.startswith("{")


async def test_the_signed_download_is_the_stored_bytes(
        seed: Seed, as_role: dict[str, httpx.AsyncClient]) -> None:
    answer = await as_role["sg-trader"].get(f"/documents/{seed.outbound_id}/signed")
    expected = httpx.get(f"{seed.sg.url}/v1/documents/{seed.outbound_id}/signed",
                         headers={"Authorization": f"Bearer {seed.sg.keys['trader']}"})
    assert answer.content == expected.content
    assert "attachment" in answer.headers["content-disposition"]


async def test_the_document_page_reads_like_its_paper_form(
        seed: Seed, as_role: dict[str, httpx.AsyncClient]) -> None:
    page = await as_role["cn-officer"].get(f"/documents/{seed.held_id}?direction=inbound")
    assert page.status_code == 200
    text = page.text
    assert "Certificate of origin" in text and "RCEP-SG-2026-0031874" in text
    assert "Live potted orchid plants (Dendrobium hybrids)" in text  # a goods line
    assert "<th scope=\"col\">HS code</th>" in text
    for check in ("Integrity", "Chain", "Schema", "Recognition"):
        assert f"<span>{check}</span>" in text
    assert "SG-CN-COO-2026" in text  # the agreement
    assert "Signed receipt we answered" in text
    assert 'id="release"' in text and 'id="reject"' in text


async def test_inbox_filters_and_search(seed: Seed,
                                        as_role: dict[str, httpx.AsyncClient]) -> None:
    officer = as_role["cn-officer"]
    for query, present in (("", True), ("?outcome=held-for-review", True),
                           ("?outcome=rejected", False), ("?type=certificate-of-origin", True),
                           ("?type=commercial-invoice", False), ("?issuer=SG-CUSTOMS", True),
                           ("?issuer=CN-CUSTOMS", False), ("?party=SG-UEN-201912345K", True),
                           ("?party=SG-UEN-2019", False), ("?ref=rcep-sg-2026", True),
                           ("?ref=RCEP-XX", False), (f"?ref={seed.held_id}", True),
                           ("?from=2000-01-01", True), ("?to=2000-01-01", False)):
        answer = await officer.get(f"/inbox{query}")
        assert answer.status_code == 200, query
        assert (seed.held_id in answer.text) is present, query
    assert (await officer.get("/inbox?from=yesterday")).status_code == 400
    assert (await officer.get("/inbox?after=-1")).status_code == 400


async def test_operator_pages_show_the_node(seed: Seed,
                                            as_role: dict[str, httpx.AsyncClient]) -> None:
    operator = as_role["sg-operator"]
    registry = await operator.get("/registry")
    assert "<svg" in registry.text and "SG-CN-COO-2026" in registry.text
    assert registry.text.count('class="authority"') == 2
    verify = await operator.get("/audit/verify")
    assert "The hash chain is intact" in verify.text
    audit = await operator.get("/audit?event=document.")
    assert "document.issued" in audit.text and "registry.installed" not in audit.text
    outbox = await operator.get("/outbox")
    assert "delivered" in outbox.text


async def test_retrying_a_delivered_message_is_refused_with_a_page(
        seed: Seed, as_role: dict[str, httpx.AsyncClient]) -> None:
    operator = as_role["sg-operator"]
    page = await operator.get("/outbox?state=delivered")
    message_id = re.search(r'data-message="([^"]+)"', page.text)
    assert message_id
    answer = await operator.post(f"/outbox/{message_id.group(1)}/retry",
                                 data={"csrf": csrf_of(page)})
    assert answer.status_code == 409
    assert "STATE_INVALID" in answer.text


async def test_keys_are_created_once_and_listed_without_secrets(
        seed: Seed, as_role: dict[str, httpx.AsyncClient]) -> None:
    operator = as_role["sg-operator"]
    page = await operator.get("/keys")
    answer = await operator.post("/keys", data={"csrf": csrf_of(page), "role": "trader",
                                                "party": "SG-UEN-CONSOLE1", "label": "c"})
    assert answer.status_code == 200
    key = re.search(r'id="new-key">(ta_[^<]+)<', answer.text)
    assert key
    listing = await operator.get("/keys")
    assert key.group(1) not in listing.text and "SG-UEN-CONSOLE1" in listing.text
    missing = await operator.post("/keys", data={"csrf": csrf_of(page), "role": "trader"})
    assert missing.status_code == 422  # a trader key needs a party
    async with console(seed.sg) as client:
        assert (await sign_in(client, key.group(1))).status_code == 303


async def test_assets_are_served_by_the_node_and_the_api_schema_is_untouched(
        seed: Seed) -> None:
    async with console(seed.sg) as client:
        for name, kind in (("console.css", "text/css"), ("console.js", "javascript"),
                           ("icon.svg", "image/svg+xml")):
            answer = await client.get(f"/assets/{name}")
            assert answer.status_code == 200 and kind in answer.headers["content-type"]
        page = await client.get("/signin")
        assert "http://" not in page.text.replace(BASE, "") and "https://" not in page.text
        schema = (await client.get("/openapi.json")).json()
        assert all(path.startswith(("/v1", "/healthz", "/readyz", "/metrics", "/.well-known"))
                   for path in schema["paths"])
        assert (await client.get("/docs")).status_code == 200


# -- uploads: errors against the fields -------------------------------------------------------


async def test_document_upload_with_a_schema_error_shows_the_field(
        as_role: dict[str, httpx.AsyncClient]) -> None:
    trader = as_role["sg-trader"]
    page = await trader.get("/submit")
    document = certificate_of_origin()
    document["body"]["goodsItems"][1]["hsCode"] = "ORCHID"  # type: ignore[index]
    answer = await trader.post("/submit", data={"csrf": csrf_of(page),
                                                "text": json.dumps(document)})
    assert answer.status_code == 422
    assert "SCHEMA_INVALID" in answer.text
    invalid = re.search(r'<li id="([^"]+)"[^>]*data-pointer="([^"]+)" aria-invalid="true"',
                        answer.text)
    assert invalid and invalid.group(2) == "/body/goodsItems/1/hsCode"
    assert f'href="#{invalid.group(1)}"' in answer.text


async def test_document_upload_that_is_not_json_says_so(
        as_role: dict[str, httpx.AsyncClient]) -> None:
    trader = as_role["sg-trader"]
    page = await trader.get("/submit")
    answer = await trader.post("/submit", data={"csrf": csrf_of(page),
                                                "text": '{"type": 1, "type": 2}'})
    assert answer.status_code == 422
    assert "JSON_DUPLICATE_MEMBER" in answer.text or "duplicate" in answer.text.lower()


async def test_document_upload_as_a_file_is_signed_and_shown(
        as_role: dict[str, httpx.AsyncClient]) -> None:
    trader = as_role["sg-trader"]
    page = await trader.get("/submit")
    document_id = str(uuid.uuid4())
    content = json.dumps(certificate_of_origin(document_id)).encode()
    answer = await trader.post("/submit", data={"csrf": csrf_of(page)},
                               files={"file": ("coo.json", content, "application/json")})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/documents/{document_id}")
    shown = await trader.get(answer.headers["location"])
    assert "Signed by SG-CUSTOMS" in shown.text


async def test_package_upload_error_shows_the_package_field(
        as_role: dict[str, httpx.AsyncClient]) -> None:
    trader = as_role["sg-trader"]
    page = await trader.get("/declarations/new")
    package = {"packageFormat": "tradeaccord-declaration-package-1.0",
               "importingAuthority": CN_ID,
               "declaration": {"document": {"type": "customs-declaration"}},
               "documents": [{"documentId": "x"}, {"sealed": {}}]}
    answer = await trader.post("/declarations/new",
                               data={"csrf": csrf_of(page), "text": json.dumps(package)})
    assert answer.status_code == 422
    invalid = re.search(r'data-pointer="([^"]+)" aria-invalid="true"', answer.text)
    assert invalid and invalid.group(1) == "/documents/1/sealed"


async def test_package_with_a_schema_error_shows_the_field_inside_the_document(
        as_role: dict[str, httpx.AsyncClient]) -> None:
    trader = as_role["sg-trader"]
    page = await trader.get("/declarations/new")
    declaration = example("customs-declaration")
    declaration["body"]["goodsItems"][0]["originCountry"] = "Singapore"  # type: ignore[index]
    package = {"packageFormat": "tradeaccord-declaration-package-1.0",
               "importingAuthority": CN_ID, "declaration": {"document": declaration},
               "documents": []}
    answer = await trader.post("/declarations/new",
                               data={"csrf": csrf_of(page), "text": json.dumps(package)})
    assert answer.status_code == 422
    assert "SCHEMA_INVALID" in answer.text
    invalid = re.search(r'data-pointer="([^"]+)" aria-invalid="true"', answer.text)
    assert invalid
    assert invalid.group(1) == "/declaration/document/body/goodsItems/0/originCountry"


# -- the officer's decision reaches the trader ------------------------------------------------


async def test_release_with_reason_reaches_the_trader(
        seed: Seed, as_role: dict[str, httpx.AsyncClient]) -> None:
    with seed.sg.client("trader") as trader:
        submitted = trader.submit(certificate_of_origin(), send_to=[CN_ID])
        final_delivery(trader, submitted["id"], CN_ID)
    officer = as_role["cn-officer"]
    page = await officer.get(f"/documents/{submitted['id']}?direction=inbound")
    token = csrf_of(page)
    refused = await officer.post(f"/documents/{submitted['id']}/reject",
                                 data={"csrf": token, "reason": ""})
    assert refused.status_code == 422 and 'id="reason-error"' in refused.text
    reason = "Origin criterion checked against the invoice; release."
    answer = await officer.post(f"/documents/{submitted['id']}/release",
                                data={"csrf": token, "reason": reason})
    assert answer.status_code == 303
    shown = await officer.get(answer.headers["location"])
    assert reason in shown.text and "Released." in shown.text
    again = await officer.post(f"/documents/{submitted['id']}/release",
                               data={"csrf": token, "reason": reason})
    assert again.status_code == 409

    trader_client = as_role["sg-trader"]

    async def _reason_shown() -> bool:
        page = await trader_client.get(f"/documents/{submitted['id']}")
        return reason in page.text

    for _ in range(300):  # bounded: the status change travels through the outbox
        if await _reason_shown():
            break
        await asyncio.sleep(0.05)
    assert await _reason_shown()
    with seed.sg.client("trader") as trader:
        delivery = trader.status(submitted["id"])["deliveries"][0]
    assert delivery["reason"] == reason and delivery["outcome"] == "accepted"

