"""The registry through the operator API: snapshots refused atomically; mappings applied."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.client import ClientError
from node.pilot import AgreementSpec
from protocol.timeutil import utc_now
from tests.node.conftest import CN, COO_AGREEMENT, SG, Network, example, final_delivery
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401 (fixture)
from tests.node.inprocess import InProcessNetwork
from trust_registry import AgreementStatus, Direction, TrustRegistry, sign_status_change

MAPPED = AgreementSpec("SG-CN-SD-2026", "SG-CUSTOMS", "CN-CUSTOMS", ("customs-declaration",),
                       mapping_ids=("customs-declaration-export-to-import-1.1",),
                       direction=Direction.OUTBOUND)


def _refused(call, code: str) -> None:  # type: ignore[no-untyped-def]
    try:
        call()
    except ClientError as exc:
        assert exc.code.value == code, exc
    else:
        raise AssertionError(f"expected {code}")


def test_snapshot_import_refusals_leave_the_registry_unchanged(network: Network) -> None:
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    with sg.client("operator") as operator:
        held = operator.registry()
        registry = TrustRegistry.from_dict(held["registry"])
        now = utc_now()
        root = sg.directory.root_signer(None)
        fresh = registry.export_snapshot(root, at=now, expires_at=now + dt.timedelta(days=1))
        # The same version again changes nothing; an older one is a rollback.
        assert operator.import_snapshot(fresh.to_json())["changed"] is False
        older = TrustRegistry.from_dict({**held["registry"], "version": held["version"] - 1}) \
            if held["version"] > 1 else None
        if older is not None:
            rollback = older.export_snapshot(root, at=now, expires_at=now + dt.timedelta(days=1))
            _refused(lambda: operator.import_snapshot(rollback.to_json()), "REGISTRY_ROLLBACK")
        expired = registry.export_snapshot(root, at=now - dt.timedelta(minutes=2),
                                           expires_at=now - dt.timedelta(minutes=1))
        _refused(lambda: operator.import_snapshot(expired.to_json()), "REGISTRY_EXPIRED")
        with cn.client("operator") as cn_operator:
            cn_registry = TrustRegistry.from_dict(cn_operator.registry()["registry"])
        by_cn = cn_registry.export_snapshot(cn.directory.root_signer(None), at=now,
                                            expires_at=now + dt.timedelta(days=1))
        _refused(lambda: operator.import_snapshot(by_cn.to_json()), "REGISTRY_SIGNER_UNTRUSTED")
        tampered = json.loads(fresh.to_json())
        tampered["signatures"][0]["signature"] = "A" * 86
        _refused(lambda: operator.import_snapshot(json.dumps(tampered).encode()),
                 "REGISTRY_SIGNATURE_INVALID")
        assert operator.registry() == held


def test_mapping_failure_holds_the_document_for_review(network_factory) -> None:  # type: ignore[no-untyped-def]
    network = network_factory((SG, CN), (MAPPED,))
    sg, cn = network["SG-CUSTOMS"], network["CN-CUSTOMS"]
    export = example("customs-declaration")
    imported = {**export, "body": {**export["body"], "declarationType": "import"}}
    with sg.client("officer") as officer:
        good = officer.submit(export, send_to=["CN-CUSTOMS"])
        bad = officer.submit(imported, send_to=["CN-CUSTOMS"])
        assert final_delivery(officer, good["id"], "CN-CUSTOMS")["outcome"] == "accepted"
        held = final_delivery(officer, bad["id"], "CN-CUSTOMS")
    assert (held["outcome"], held["reasons"]) == ("held-for-review", ["MAPPING_FAILED"])
    with cn.client("officer") as officer:
        mapped = officer.document(good["id"], direction="inbound")["mapped"]
    assert mapped["body"]["declarationType"] == "import"
    assert mapped["extensions"]["tradeaccord:derivedFrom"]["sha256"] == good["sha256"]


# -- in process ------------------------------------------------------------------------------


@pytest.fixture
def net(tmp_path: Path, database_factory: DatabaseFactory  # noqa: F811 (fixture)
        ) -> Iterator[InProcessNetwork]:
    network = InProcessNetwork(tmp_path / "net", database_factory)
    try:
        yield network
    finally:
        network.close()


def test_status_change_uploaded_under_another_agreement_id_is_refused(
        net: InProcessNetwork) -> None:
    sg = net["SG-CUSTOMS"]
    registry = sg.ctx.registry.current()
    record = registry.agreement(COO_AGREEMENT.agreement_id)
    now = utc_now()
    statement = sign_status_change(record.signed, sg.directory.root_signer(None),
                                   status=AgreementStatus.SUSPENDED, effective_at=now,
                                   signed_at=now)
    for other in ("SG-CN-OTHER-2026", "no-such-agreement"):
        response = net.request("SG-CUSTOMS", "POST", f"/v1/registry/agreements/{other}/status",
                               caller="operator", content=statement.to_json(),
                               headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "REQUEST_INVALID"
    held = sg.ctx.registry.current()
    assert held.version == registry.version
    assert held.agreement(COO_AGREEMENT.agreement_id).status_at(utc_now()) is \
        AgreementStatus.IN_FORCE
    # Under its own id the same statement applies.
    response = net.request("SG-CUSTOMS", "POST",
                           f"/v1/registry/agreements/{COO_AGREEMENT.agreement_id}/status",
                           caller="operator", content=statement.to_json(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert sg.ctx.registry.current().agreement(COO_AGREEMENT.agreement_id).status_at(
        utc_now()) is AgreementStatus.SUSPENDED
