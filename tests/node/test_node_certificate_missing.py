"""A partner registered with an endpoint but no node certificate (issue 12 §3).

Its envelopes cannot be authenticated: they are refused with NODE_CERTIFICATE_MISSING (a
registry gap the operator can fix), not ENVELOPE_SIGNATURE_INVALID (which reads as a
forgery). Recording such an entry is allowed, but the operator is warned when it is added,
by the API's answer and by the CLI.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from node.authority import AuthorityDirectory
from node.bootstrap import authority_record
from node.cli.main import build_app
from protocol.timeutil import utc_now
from tests.node.conftest import certificate_of_origin
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401 (fixture)
from tests.node.inprocess import InProcessNetwork
from tests.node.shared_network import envelope, issued

SG_ID, CN_ID = "SG-CUSTOMS", "CN-CUSTOMS"


@pytest.fixture
def net(tmp_path: Path, database_factory: DatabaseFactory  # noqa: F811 (fixture)
        ) -> Iterator[InProcessNetwork]:
    network = InProcessNetwork(tmp_path / "net", database_factory)
    try:
        yield network
    finally:
        network.close()


def _inbox(net: InProcessNetwork) -> list[object]:
    response = net.request(CN_ID, "GET", "/v1/inbox", caller="officer")
    assert response.status_code == 200, response.text
    return list(response.json()["documents"])


def test_envelope_from_a_sender_without_node_certificate_names_the_gap(
        net: InProcessNetwork) -> None:
    net.install(CN_ID, lambda registry: registry.update_authority(SG_ID, node_certificates=()))
    sg = net[SG_ID].directory
    body = envelope(sg, CN_ID, (issued(sg, certificate_of_origin()),))
    response = net.request(CN_ID, "POST", "/v1/peer/envelopes", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "NODE_CERTIFICATE_MISSING"
    assert SG_ID in error["message"]
    assert _inbox(net) == []
    # Registered again, the same sender is heard.
    net.install(CN_ID, lambda registry: registry.update_authority(
        SG_ID, node_certificates=(sg.node_certificate,)))
    response = net.request(CN_ID, "POST", "/v1/peer/envelopes", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert len(_inbox(net)) == 1


def _partner(tmp_path: Path) -> AuthorityDirectory:
    return AuthorityDirectory.create(tmp_path / "jp", authority_id="JP-CUSTOMS", country="JP",
                                     name="Japan Customs", passphrase=None, at=utc_now())


def test_api_warns_when_a_partner_has_an_endpoint_but_no_node_certificate(
        net: InProcessNetwork, tmp_path: Path) -> None:
    partner = _partner(tmp_path)
    entry = dataclasses.replace(authority_record(partner, endpoint="http://127.0.0.1:9100"),
                                node_certificates=())
    response = net.request(CN_ID, "POST", "/v1/registry/authorities", caller="operator",
                           content=json.dumps(entry.to_dict()).encode(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["changed"] is True and "JP-CUSTOMS" in answer["authorities"]
    [warning] = answer["warnings"]
    assert "NODE_CERTIFICATE_MISSING" in warning and "JP-CUSTOMS" in warning


def test_api_gives_no_warning_for_a_complete_entry(net: InProcessNetwork,
                                                   tmp_path: Path) -> None:
    entry = authority_record(_partner(tmp_path), endpoint="http://127.0.0.1:9100")
    response = net.request(CN_ID, "POST", "/v1/registry/authorities", caller="operator",
                           content=json.dumps(entry.to_dict()).encode(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == []


def test_cli_warns_when_a_partner_has_an_endpoint_but_no_node_certificate(
        tmp_path: Path) -> None:
    runner = CliRunner()
    own = AuthorityDirectory.create(tmp_path / "sg", authority_id=SG_ID, country="SG",
                                    name="Singapore Customs", passphrase=None, at=utc_now())
    partner = _partner(tmp_path)
    reg = tmp_path / "reg.json"
    app = build_app()
    result = runner.invoke(app, ["registry", "init", "--authority-dir", str(own.path),
                                 "-o", str(reg)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["registry", "add-authority", str(reg), "--id", "JP-CUSTOMS",
                                 "--country", "JP", "--role", "customs",
                                 "--anchor", str(partner.path / "root.pem"),
                                 "--endpoint", "http://127.0.0.1:9100"])
    assert result.exit_code == 0, result.output
    assert "warning: JP-CUSTOMS has an endpoint but no node certificate" in result.output
    assert "NODE_CERTIFICATE_MISSING" in result.output
    # Adding the node certificate answers without the warning.
    result = runner.invoke(app, ["registry", "update-authority", str(reg), "--id",
                                 "JP-CUSTOMS", "--node-cert", str(partner.path / "node.pem")])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
