"""The API describes itself (ADR 0030): ``/openapi.json`` walked operation by operation.

Generic over every route, so a route added later is held to the same rules: a request schema
for every operation that takes a body, a response schema for every 2xx, ``Problem``
(``application/problem+json``) for every error response, the API-key security scheme on
every operation that authenticates its caller, and no console page in the document.
Errors themselves answer problem details here for 404 and 405; 422 and the domain refusals
of every route are checked against the same shape in test_bad_input and test_authorization.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from node.api.app import create_app
from node.api.deps import get_principal
from node.settings import Settings

# POST operations that take no body: an action named by its path alone.
BODILESS = {"countersignAgreement", "retryMessage", "blankEndorseTitle", "surrenderTitle",
            "acceptSurrender", "countersignNegotiation"}
# Error answers that are not problems: readiness reports which check failed.
NOT_PROBLEMS = {("ready", "503")}
API_PREFIXES = ("/v1/", "/healthz", "/readyz", "/metrics", "/.well-known/")
PROBLEM_REF = "#/components/schemas/Problem"


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(), run_worker=False)


def _get(app: FastAPI, path: str, method: str = "GET") -> httpx.Response:
    """One request to ``app`` without its lifespan (the routes used here need no context)."""

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as http:
            return await http.request(method, path)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    response = _get(app, "/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str):
            yield value["$ref"]
        for inner in value.values():
            yield from _refs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _refs(inner)


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI ≥ 0.16x keeps an included
    router whole, as ``original_router``; earlier versions copy its routes)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(list(inner.routes))


def _names_principal(route: APIRoute) -> bool:
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if dependant.call is get_principal:
            return True
        stack.extend(dependant.dependencies)
    return False


def test_every_operation_has_a_unique_operation_id(document: dict[str, Any]) -> None:
    ids = [operation.get("operationId") for _, _, operation in _operations(document)]
    assert None not in ids
    assert len(ids) == len(set(ids))


def test_every_operation_taking_a_body_has_a_request_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for path, method, operation in _operations(document):
        if method not in ("post", "put", "patch") or operation["operationId"] in BODILESS:
            assert method not in ("put", "patch") or "requestBody" in operation, path
            continue
        body = operation.get("requestBody")
        assert body is not None, f"{method} {path} takes a body but declares no schema"
        schema = body["content"]["application/json"]["schema"]
        refs = list(_refs(schema))
        assert refs, f"{method} {path}: the body schema names no model"
        for ref in refs:
            assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_every_success_has_a_response_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for path, method, operation in _operations(document):
        successes = {status: response for status, response in operation["responses"].items()
                     if status.startswith("2")}
        assert successes, f"{method} {path} declares no success"
        for status, response in successes.items():
            content = response.get("content")
            assert content, f"{method} {path} {status}: no content"
            for media_type, entry in content.items():
                schema = entry.get("schema")
                if media_type == "application/json":
                    ref = schema.get("$ref", "") if schema else ""
                    assert ref.removeprefix("#/components/schemas/") in schemas, \
                        f"{method} {path} {status}: {schema!r} is not a model"
                else:
                    assert schema == {"type": "string"}, (path, media_type)


def test_every_error_response_is_a_problem(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        assert {"4XX", "5XX"} <= set(responses), f"{method} {path}"
        for status, response in responses.items():
            if status[0] not in "45" or (operation["operationId"], status) in NOT_PROBLEMS:
                continue
            assert response["content"] == {
                "application/problem+json": {"schema": {"$ref": PROBLEM_REF}}}, \
                f"{method} {path} {status}"


def test_api_key_security_scheme_on_every_authenticated_operation(
        app: FastAPI, document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKeyBearer"] == {"type": "http", "scheme": "bearer",
                                       "description": schemes["apiKeyBearer"]["description"]}
    assert schemes["apiKeyHeader"]["in"] == "header"
    assert schemes["apiKeyHeader"]["name"] == "X-API-Key"
    checked = 0
    for route in _api_routes(list(app.routes)):
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = document["paths"][route.path_format][method.lower()]
            if _names_principal(route):
                assert operation.get("security") == [{"apiKeyBearer": []},
                                                     {"apiKeyHeader": []}], route.path
                checked += 1
            else:
                assert "security" not in operation, f"{route.path} is public"
    assert checked > 10


def test_console_pages_are_not_in_the_document(document: dict[str, Any]) -> None:
    for path in document["paths"]:
        assert path.startswith(API_PREFIXES), f"{path} is not an API route"


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/") and \
            ref.removeprefix("#/components/schemas/") in schemas, ref


def _validator(document: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:openapi", resource)
    return jsonschema.Draft202012Validator(
        {"$ref": f"urn:openapi#/components/schemas/{name}"}, registry=registry)


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/v1/no-such-route", 404, "NOT_FOUND"),
    ("DELETE", "/healthz", 405, "REQUEST_INVALID"),
], ids=["not-found", "method-not-allowed"])
def test_errors_answer_problem_details(app: FastAPI, document: dict[str, Any], method: str,
                                       path: str, status: int, code: str) -> None:
    response = _get(app, path, method)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    _validator(document, "Problem").validate(body)
    assert body["type"] == f"https://tradeaccord.dev/errors#{code}"
    assert (body["status"], body["code"], body["reasons"]) == (status, code, [code])
    assert body["instance"] == httpx.URL(path).path
    assert body["error"] == {"code": code, "message": body["detail"], "reasons": [code]}


def test_method_not_allowed_keeps_its_allow_header(app: FastAPI) -> None:
    assert _get(app, "/healthz", "DELETE").headers["allow"] == "GET"


def test_health_answer_matches_its_schema(app: FastAPI, document: dict[str, Any]) -> None:
    _validator(document, "Health").validate(_get(app, "/healthz").json())
