"""Schemathesis against the live OpenAPI document of an in-process node: zero 5xx.

The node's own ``/openapi.json`` (whatever it describes: every route, its parameters and
request bodies) drives the generation; each generated request goes to the node in process
(``ASGITransport``) with an API key whose role reaches past authentication (operator for
the operator routes, officer elsewhere), so that bodies and parameters are judged, not just
credentials. Bounded: a few examples per operation, no deadline (the machine may be busy).
The only assertion is the one that must hold for any input: never a server error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.adversarial.corpus import SG_ID, World, build_world
from tests.node.databases import DatabaseFactory

OPERATOR_PREFIXES = ("/v1/registry", "/v1/outbox", "/v1/audit")
EXAMPLES = 8  # per operation


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("openapi")
    world = build_world(base, DatabaseFactory("sqlite", base))
    try:
        yield world
    finally:
        world.net.close()


def _content(kwargs: dict[str, Any]) -> bytes | None:
    if "json" in kwargs:
        return json.dumps(kwargs["json"]).encode("utf-8")
    data = kwargs.get("data")
    if data is None:
        return None
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _check(world: World, case: Any) -> None:
    kwargs = case.as_transport_kwargs(base_url="http://node")
    path = case.formatted_path
    caller = "operator" if path.startswith(OPERATOR_PREFIXES) else "officer"
    headers = {k: v for k, v in (kwargs.get("headers") or {}).items()
               if k.lower() not in ("authorization", "content-length", "host")}
    response = world.net.request(SG_ID, case.method.upper(), path, caller=caller,
                                 headers=headers, params=kwargs.get("params"),
                                 content=_content(kwargs))
    assert response.status_code < 500, (case.method, path, kwargs, response.text)


def test_no_generated_request_makes_the_node_fail(fuzz_world: World) -> None:
    answer = fuzz_world.net.request(SG_ID, "GET", "/openapi.json")
    assert answer.status_code == 200, answer.text
    schema = schemathesis.openapi.from_dict(answer.json())
    results: list[Any] = list(schema.get_all_operations())  # Ok | Err (a schema problem)
    operations = [result.ok() for result in results]
    assert len(operations) >= 20, "the live document describes every route"
    for operation in operations:
        @given(operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            _check(fuzz_world, case)

        check()
