"""The client SDK and the CLI read RFC 9457 problem details, and the ``error`` object of
nodes before ADR 0030."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from node.cli.remote import RemoteRefusal
from node.client import ClientError, NodeClient
from protocol.reason_codes import ReasonCode

PROBLEM = {"type": "https://tradeaccord.dev/errors#NO_AGREEMENT", "title": "…", "status": 422,
           "detail": "no agreement covers it", "instance": "/v1/documents",
           "code": "NO_AGREEMENT", "reasons": ["NO_AGREEMENT", "CERT_EXPIRED"]}
OLD = {"error": {"code": "NO_AGREEMENT", "message": "no agreement covers it",
                 "reasons": ["NO_AGREEMENT", "CERT_EXPIRED"]}}


def _refusal(body: Any, media_type: str = "application/problem+json") -> ClientError:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json=body, headers={"content-type": media_type})

    with NodeClient("http://node", "key", transport=httpx.MockTransport(answer)) as client, \
            pytest.raises(ClientError) as caught:
        client.registry()
    return caught.value


@pytest.mark.parametrize(("body", "media_type"), [
    (PROBLEM, "application/problem+json"),
    ({**PROBLEM, **OLD}, "application/problem+json"),
    (OLD, "application/json"),
], ids=["problem", "problem-with-deprecated-error", "before-adr-0030"])
def test_client_reads_the_code_reasons_and_detail(body: Any, media_type: str) -> None:
    error = _refusal(body, media_type)
    assert (error.status, error.code, error.message) == (422, ReasonCode.NO_AGREEMENT,
                                                          "no agreement covers it")
    assert error.codes == (ReasonCode.NO_AGREEMENT, ReasonCode.CERT_EXPIRED)


@pytest.mark.parametrize("body", [[1, 2], {"code": "NOT_A_CODE"}, {"detail": "x"}, "text"],
                         ids=["array", "unknown-code", "no-code", "string"])
def test_an_unreadable_error_body_is_internal_error(body: Any) -> None:
    assert _refusal(body).code is ReasonCode.INTERNAL_ERROR


def test_cli_diagnostics_name_every_reason_and_the_status() -> None:
    refusal = RemoteRefusal(_refusal(PROBLEM))
    assert refusal.codes == (ReasonCode.NO_AGREEMENT, ReasonCode.CERT_EXPIRED)
    text = refusal.diagnostics()
    assert text.startswith("NO_AGREEMENT: no agreement covers it (HTTP 422)")
    assert "also: CERT_EXPIRED" in text
