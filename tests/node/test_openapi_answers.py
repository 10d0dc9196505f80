"""The answer models tell the truth: real answers validate against the schemas that
``/openapi.json`` declares for them (the models describe answers without enforcing them,
ADR 0030, so this is where a drift between a model and a service shows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.node.conftest import certificate_of_origin
from tests.node.databases import DatabaseFactory, database_factory  # noqa: F401
from tests.node.inprocess import InProcessNetwork

SG_ID, CN_ID = "SG-CUSTOMS", "CN-CUSTOMS"


def _schema_of(document: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    response = document["paths"][path][method]["responses"][str(status)]
    return response["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


def test_answers_validate_against_their_declared_schemas(
        tmp_path: Path, database_factory: DatabaseFactory) -> None:  # noqa: F811 (fixture)
    net = InProcessNetwork(tmp_path / "net", database_factory,
                           settings={CN_ID: {"hold_for_review_types": ["certificate-of-origin"]}})
    try:
        document = net.request(SG_ID, "GET", "/openapi.json").json()
        registry: Registry[Any] = Registry().with_resource(
            "urn:openapi", Resource.from_contents(document, default_specification=DRAFT202012))

        def check(answer: httpx.Response, path: str, method: str = "get",
                  status: int = 200) -> dict[str, Any]:
            assert answer.status_code == status, answer.text
            schema = _schema_of(document, path, method, status)
            ref = schema["$ref"].replace("#", "urn:openapi#", 1)
            jsonschema.Draft202012Validator({"$ref": ref}, registry=registry).validate(
                answer.json())
            return answer.json()  # type: ignore[no-any-return]

        created = check(net.request(SG_ID, "POST", "/v1/documents", caller="trader",
                                    json={"document": certificate_of_origin(),
                                          "sendTo": [CN_ID]}),
                        "/v1/documents", "post", 201)
        assert net.deliver(SG_ID) == 1
        doc = created["id"]
        check(net.request(SG_ID, "GET", "/v1/documents", caller="trader"), "/v1/documents")
        check(net.request(SG_ID, "GET", f"/v1/documents/{doc}", caller="trader"),
              "/v1/documents/{document_id}")
        check(net.request(SG_ID, "GET", f"/v1/documents/{doc}/signed", caller="trader"),
              "/v1/documents/{document_id}/signed")
        check(net.request(SG_ID, "GET", f"/v1/documents/{doc}/status", caller="trader"),
              "/v1/documents/{document_id}/status")
        check(net.request(CN_ID, "GET", "/v1/inbox", caller="officer"), "/v1/inbox")
        signed = net.request(SG_ID, "GET", f"/v1/documents/{doc}/signed",
                             caller="trader").content
        check(net.request(CN_ID, "POST", "/v1/verify", caller="officer", content=signed,
                          headers={"content-type": "application/json"}), "/v1/verify", "post")
        check(net.request(CN_ID, "POST", f"/v1/inbox/{doc}/release", caller="officer",
                          json={"reason": "checked"}),
              "/v1/inbox/{document_id}/release", "post")
        check(net.request(SG_ID, "GET", "/v1/outbox", caller="operator"), "/v1/outbox")
        check(net.request(SG_ID, "GET", "/v1/registry", caller="operator"), "/v1/registry")
        check(net.request(SG_ID, "GET", "/v1/audit/verify", caller="operator"),
              "/v1/audit/verify")
        check(net.request(SG_ID, "GET", "/.well-known/tradeaccord"), "/.well-known/tradeaccord")
        check(net.request(SG_ID, "GET", "/readyz"), "/readyz")
        hook = check(net.request(SG_ID, "POST", "/v1/webhooks", caller="trader",
                                 json={"url": "http://127.0.0.1:9/hook"}),
                     "/v1/webhooks", "post", 201)
        check(net.request(SG_ID, "GET", "/v1/webhooks", caller="trader"), "/v1/webhooks")
        check(net.request(SG_ID, "DELETE", f"/v1/webhooks/{hook['id']}", caller="trader"),
              "/v1/webhooks/{webhook_id}", "delete")
    finally:
        net.close()
