"""The web console in a real browser: Debian's Chromium driven by Selenium and chromedriver,
against real node processes (``python -m node.cli node serve``) on 127.0.0.1.

SG-CUSTOMS and CN-CUSTOMS of the pilot network run as processes; CN-CUSTOMS holds received
certificates of origin for review. The tests sign in as each role, follow a held document
from the trader's upload at SG to the officer's release at CN and back to the trader's page
with the officer's reason, a held declaration from upload to release, and check what must be
refused (another party's document by URL, a form without its CSRF token, an upload with a
schema error). Screenshots of the main pages go to ``docs/screenshots/console/`` (shown in
the operator guide).

Without Chromium, chromedriver or Selenium the module is skipped with a message saying what
is missing — unless ``TRADEACCORD_REQUIRE_BROWSER=1`` (as in CI), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from node.demo import network as pilot
from node.demo.packages import Consignment, commercial_documents, package
from node.demo.runner import _reprice
from node.localnet import LocalNetwork
from node.services.apikeys import Role
from protocol.signed_document import document_sha256, sign_document
from protocol.timeutil import utc_now

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots" / "console"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
EXAMPLES = ROOT / "examples" / "documents"
WAIT = 30.0


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pip install -e '.[test]')"
    for path, package_name in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).is_file():
            return f"{path} is missing (apt-get install -y {package_name})"
    return None


def _require_browser() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("TRADEACCORD_REQUIRE_BROWSER") == "1":
        pytest.fail(f"TRADEACCORD_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


pytestmark = pytest.mark.slow


@dataclass
class Net:
    network: LocalNetwork
    keys: dict[str, dict[str, str]]

    def url(self, authority_id: str) -> str:
        return self.network.urls[authority_id]


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    _require_browser()
    workdir = tmp_path_factory.mktemp("console-browser")
    network = LocalNetwork(workdir, pilot.AUTHORITIES, pilot.AGREEMENTS, node_settings={
        "worker_poll_seconds": "0.05", "delivery_backoff_base_seconds": "0.2",
        "log_level": "warning"})
    try:
        network.setup()
        env = network.directories["CN-CUSTOMS"].path / "node.env"
        env.write_text(env.read_text() + 'TRADEACCORD_HOLD_FOR_REVIEW_TYPES=["commercial-invoice"]\n')
        keys = {}
        for authority_id, party in (("SG-CUSTOMS", pilot.EXPORTER), ("CN-CUSTOMS", pilot.IMPORTER)):
            keys[authority_id] = {
                "trader": network.api_key(authority_id, Role.TRADER, party),
                "trader-other": network.api_key(authority_id, Role.TRADER, "SG-UEN-000000000X"),
                "officer": network.api_key(authority_id, Role.OFFICER),
                "operator": network.api_key(authority_id, Role.OPERATOR)}
        network.start("SG-CUSTOMS")
        network.start("CN-CUSTOMS")
        yield Net(network, keys)
    finally:
        network.stop()


class Browser:
    """One headless Chromium with a fresh profile (so one signed-in person)."""

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="tradeaccord-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--disable-dev-shm-usage", "--window-size=1366,900",
                         f"--user-data-dir={self.profile}", "--host-resolver-rules=MAP * ~NOTFOUND"
                         " , EXCLUDE 127.0.0.1"):
            options.add_argument(argument)
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER),
                                       options=options)
        self.driver.set_page_load_timeout(WAIT)

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # -- what a person does -----------------------------------------------------------------

    def open(self, url: str) -> None:
        self.driver.get(url)

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def text(self) -> str:
        return str(self.find("body").text)

    def sign_in(self, base: str, key: str) -> None:
        self.open(f"{base}/signin")
        self.find("#api_key").send_keys(key)
        self.find("form[action='/signin'] button[type=submit]").click()
        self.wait_for(lambda: "/signin" not in self.driver.current_url, "the start page")

    def wait_for(self, probe: Callable[[], Any], what: str, *,
                 reload: bool = False) -> Any:
        from selenium.common.exceptions import (
            NoSuchElementException,
            StaleElementReferenceException,
        )

        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                value = probe()
            except (NoSuchElementException, StaleElementReferenceException):
                # The page is between two documents (a form just posted): not yet.
                value = None
            if value:
                return value
            time.sleep(0.2)
            if reload:
                self.driver.refresh()
        raise AssertionError(f"waited {WAIT:.0f} s for {what}")

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        height = self.driver.execute_script("return document.body.scrollHeight")
        self.driver.set_window_size(1366, max(900, min(int(height) + 40, 2400)))
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        self.driver.set_window_size(1366, 900)


@pytest.fixture
def browser() -> Iterator[Callable[[], Browser]]:
    made: list[Browser] = []

    def _make() -> Browser:
        made.append(Browser())
        return made[-1]

    yield _make
    for item in made:
        item.close()


def _example_file(tmp_path: Path, doc_type: str, change: Callable[[dict[str, Any]], None]
                  | None = None) -> Path:
    document = json.loads((EXAMPLES / f"{doc_type}.json").read_text())
    for member in ("id", "issuer", "issuedAt"):
        document.pop(member, None)
    document.pop("references", None)
    if change is not None:
        change(document)
    path = tmp_path / f"{doc_type}-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def test_sign_in_as_each_role(net: Net, browser: Callable[[], Browser]) -> None:
    sg = net.url("SG-CUSTOMS")
    for role, heading, shot in (("trader", "My documents", "trader-documents"),
                                ("officer", "Inbox", "officer-inbox"),
                                ("operator", "Registry", "operator-registry")):
        person = browser()
        if role == "trader":
            person.open(f"{sg}/signin")
            person.shot("sign-in")
        person.sign_in(sg, net.keys["SG-CUSTOMS"][role])
        assert person.find("h1").text.startswith(heading), role
        assert role in person.find(".who").text
        if role == "operator":
            assert person.all("svg .authority"), "the registry graph is drawn"
        person.shot(shot)


def test_held_document_released_with_reason_reaches_the_trader(
        net: Net, browser: Callable[[], Browser], tmp_path: Path) -> None:
    sg, cn = net.url("SG-CUSTOMS"), net.url("CN-CUSTOMS")
    trader = browser()
    trader.sign_in(sg, net.keys["SG-CUSTOMS"]["trader"])
    trader.open(f"{sg}/submit")
    trader.find("#file").send_keys(str(_example_file(tmp_path, "commercial-invoice")))
    trader.find("input[name=send_to][value='CN-CUSTOMS']").click()
    trader.find("form[action='/submit'] button[type=submit]").click()
    trader.wait_for(lambda: "done=submitted" in trader.driver.current_url, "the submission")
    document_url = trader.driver.current_url.split("&done=")[0]
    trader.wait_for(lambda: "held-for-review" in trader.text(), "CN-CUSTOMS to hold it",
                    reload=True)

    officer = browser()
    officer.sign_in(cn, net.keys["CN-CUSTOMS"]["officer"])
    officer.open(f"{cn}/inbox?outcome=held-for-review")
    officer.shot("officer-inbox-held")
    officer.all("table tbody tr td a")[0].click()
    rows = officer.wait_for(lambda: officer.all(".paper table tbody tr"), "the document page")
    officer.shot("officer-document")
    goods = [row.text for row in rows]
    assert any("Phalaenopsis" in row and "060290" in row and "15,360" in row
               for row in goods), goods
    assert any("Dendrobium" in row for row in goods)
    headers = [cell.text for cell in officer.all(".paper table thead th")]
    assert "HS code" in headers and "Description" in headers
    checks = officer.find("ul.checks").text
    assert "Integrity" in checks and "Recognition" in checks
    reason = "Origin criterion WO confirmed against the nursery's registration; released."
    officer.find("#reason").send_keys(reason)
    officer.find("#release").click()
    officer.wait_for(lambda: "Released." in officer.text(), "the release")
    assert reason in officer.find("#decision-reason").text

    trader.open(document_url)
    trader.wait_for(lambda: reason in trader.text(), "the officer's reason at the trader",
                    reload=True)
    delivery = trader.find(".delivery[data-peer='CN-CUSTOMS']").text
    assert "accepted" in delivery and reason in delivery
    trader.shot("trader-document-released")
    trader.open(document_url.replace("?direction=outbound", "/print?direction=outbound"))
    trader.shot("print-view")


def test_a_trader_cannot_open_another_partys_document_by_url(
        net: Net, browser: Callable[[], Browser], tmp_path: Path) -> None:
    sg = net.url("SG-CUSTOMS")
    trader = browser()
    trader.sign_in(sg, net.keys["SG-CUSTOMS"]["trader"])
    trader.open(f"{sg}/submit")
    trader.find("#file").send_keys(str(_example_file(tmp_path, "purchase-order")))
    trader.find("form[action='/submit'] button[type=submit]").click()
    trader.wait_for(lambda: "done=submitted" in trader.driver.current_url, "the submission")
    url = trader.driver.current_url.split("&done=")[0]
    other = browser()
    other.sign_in(sg, net.keys["SG-CUSTOMS"]["trader-other"])
    other.open(url)
    assert other.find("h1").text == "Not found"
    assert "PO-SPH-2026-0311" not in other.text()
    other.open(url.replace("?direction", "/signed?direction"))
    assert "payload" not in other.driver.page_source


def test_form_posts_without_csrf_token_are_refused(net: Net,
                                                   browser: Callable[[], Browser]) -> None:
    sg = net.url("SG-CUSTOMS")
    operator = browser()
    operator.sign_in(sg, net.keys["SG-CUSTOMS"]["operator"])
    operator.open(f"{sg}/keys")
    operator.shot("operator-keys")
    before = len(operator.all("tr[data-key]"))
    operator.driver.execute_script(
        "document.querySelectorAll('form[action=\"/keys\"] input[name=csrf]')"
        ".forEach(function (input) { input.remove(); });")
    operator.find("#k-role").send_keys("officer")
    operator.find("form[action='/keys'] button[type=submit]").click()
    operator.wait_for(lambda: operator.find("h1").text == "Not allowed", "the refusal")
    assert "security token" in operator.text()
    operator.open(f"{sg}/keys")
    assert len(operator.all("tr[data-key]")) == before


def test_upload_with_a_schema_error_shows_the_field(net: Net, browser: Callable[[], Browser],
                                                    tmp_path: Path) -> None:
    sg = net.url("SG-CUSTOMS")
    trader = browser()
    trader.sign_in(sg, net.keys["SG-CUSTOMS"]["trader"])
    trader.open(f"{sg}/submit")
    trader.shot("trader-submit")

    def _break(document: dict[str, Any]) -> None:
        document["body"]["goodsItems"][1]["hsCode"] = "ORCHID"

    trader.find("#file").send_keys(str(_example_file(tmp_path, "certificate-of-origin",
                                                     _break)))
    trader.find("form[action='/submit'] button[type=submit]").click()
    trader.wait_for(lambda: trader.all("#error-summary"), "the error summary")
    invalid = trader.find("li[aria-invalid='true']")
    assert invalid.get_attribute("data-pointer") == "/body/goodsItems/1/hsCode"
    assert "HS code" in invalid.text and "ORCHID" in invalid.text
    assert trader.driver.switch_to.active_element.get_attribute("id") == "error-summary"
    trader.shot("trader-upload-error")


def _held_package(net: Net) -> dict[str, Any]:
    """The demo's second consignment: the invoice total disagrees with the declared value,
    so SG-CUSTOMS holds the declaration for an officer."""
    consignment = Consignment()
    commercial_documents(consignment, {
        "purchase-order": _reprice, "commercial-invoice": _reprice,
        "payment-record": lambda d: d["body"]["amount"].__setitem__("amount", 23160.0)})
    certificates = []
    for doc_type, issuer in (("certificate-of-origin", "SG-CHAMBER"),
                             ("phytosanitary-certificate", "SG-NPPO")):
        document = consignment.new(doc_type)
        signer = net.network.directories[issuer].document_signer(
            net.network.passphrases[issuer])
        jws = sign_document(document, signer, signed_at=utc_now())
        consignment.signed_elsewhere(doc_type, document["id"], document_sha256(jws))
        certificates.append({"signed": jws.to_dict()})
    return package(consignment, importing="CN-CUSTOMS", certificates=certificates,
                   declaration_change=lambda d: d["body"]["invoiceAmount"].__setitem__(
                       "amount", 23160.0))


def test_held_declaration_released_with_reason(net: Net, browser: Callable[[], Browser],
                                               tmp_path: Path) -> None:
    sg = net.url("SG-CUSTOMS")
    trader = browser()
    trader.sign_in(sg, net.keys["SG-CUSTOMS"]["trader"])
    trader.open(f"{sg}/declarations/new")
    trader.shot("trader-declaration-new")
    path = tmp_path / "package.json"
    path.write_text(json.dumps(_held_package(net)))
    trader.find("#file").send_keys(str(path))
    trader.find("form[action='/declarations/new'] button[type=submit]").click()
    trader.wait_for(lambda: "done=submitted" in trader.driver.current_url, "the submission")
    url = trader.driver.current_url.split("?")[0]
    assert "export-held" in trader.find("h1").text
    finding = trader.find("article.finding").text
    assert "23,160" in finding and "21,960" in finding  # the values side by side
    assert not trader.all("#release")  # a trader does not decide

    officer = browser()
    officer.sign_in(sg, net.keys["SG-CUSTOMS"]["officer"])
    officer.open(url)
    officer.shot("officer-declaration-held")
    certificate = next(link for link in officer.all("a")
                       if link.text == "Certificate of origin")
    certificate.click()
    officer.wait_for(lambda: "RCEP" in " ".join(p.text for p in officer.all(".paper")),
                     "the certificate's page")
    officer.shot("officer-certificate-of-origin")
    officer.open(url)
    reason = "Price revision of 2026-11-15 verified with the seller."
    officer.find("#reason").send_keys(reason)
    officer.find("#release").click()
    officer.wait_for(lambda: "Released." in officer.text(), "the release")

    trader.open(url)
    trader.wait_for(lambda: reason in trader.find(".timeline").text,
                    "the officer's reason in the trader's timeline", reload=True)
    export_events = [e.text for e in trader.all(".timeline .event.export")]
    assert any("Export: released" in e and reason in e for e in export_events)
    trader.wait_for(lambda: trader.all(".timeline .event.import"), "the import decision",
                    reload=True)
    trader.shot("trader-declaration-timeline")


def test_operator_pages(net: Net, browser: Callable[[], Browser]) -> None:
    sg = net.url("SG-CUSTOMS")
    operator = browser()
    operator.sign_in(sg, net.keys["SG-CUSTOMS"]["operator"])
    operator.open(f"{sg}/outbox")
    assert operator.all("tr[data-message]")
    operator.shot("operator-outbox")
    operator.open(f"{sg}/audit/verify")
    assert "The hash chain is intact" in operator.find("#verify-result").text
    operator.shot("operator-audit")
    operator.open(f"{sg}/keys")
    operator.find("#k-role").send_keys("trader")
    operator.find("#k-party").send_keys("SG-UEN-201912345K")
    operator.find("#k-label").send_keys("browser test")
    operator.find("form[action='/keys'] button[type=submit]").click()
    key = operator.wait_for(lambda: operator.all("#new-key"), "the new key")[0].text
    assert key.startswith("ta_")
    person = browser()
    person.sign_in(sg, key)
    assert person.find("h1").text == "My documents"
