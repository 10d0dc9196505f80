"""Hypothesis properties at the edges the other property files do not reach.

- the strict JSON parser over arbitrary *bytes* (not only JSON-shaped text): it returns a
  value or raises a coded error, never a foreign exception;
- the peer endpoint's handler (``receive_envelope``) over arbitrary bytes, over mutated
  envelope containers, and over mutated envelope payloads signed by the genuine sender
  (which reach past the signature into the structure): only coded errors escape.

The other properties live beside the code they test: ``tests/protocol/test_strict_json.py``
and ``test_strict_json_fast.py`` (the parser), ``tests/protocol/test_parsers_only_refuse.py``
(JWS parsing and verification, envelopes, status changes, receipts: every ``from_dict``),
``tests/trust_registry/test_parsers_only_refuse.py`` and ``test_properties.py`` (the
registry's ``from_dict``s and decision), ``tests/clearance/test_properties.py``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.services.receiving import receive_envelope
from protocol.canonical import canonicalize
from protocol.envelope import build_envelope
from protocol.errors import CodedError
from protocol.jws import JWSType, sign
from protocol.strict_json import parse_json
from protocol.timeutil import utc_now
from tests.json_strategies import json_values, mutations
from tests.node.conftest import certificate_of_origin
from tests.node.databases import DatabaseFactory
from tests.node.inprocess import InProcessNetwork
from tests.node.shared_network import envelope, issued

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
SG_ID, CN_ID = "SG-CUSTOMS", "CN-CUSTOMS"


@FUZZ
@given(data=st.binary(max_size=256))
def test_strict_json_parses_or_refuses_any_bytes_with_a_code(data: bytes) -> None:
    with contextlib.suppress(CodedError):
        parse_json(data, max_bytes=1024, max_depth=8)


@FUZZ
@given(value=json_values)
def test_strict_json_round_trips_what_it_refuses_not(value: Any) -> None:
    """Whatever the strict parser reads back from ``json.dumps`` is the value written."""
    text = json.dumps(value, ensure_ascii=False).encode("utf-8")
    with contextlib.suppress(CodedError):
        assert parse_json(text, max_bytes=1 << 20, max_depth=64) == value


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNetwork]:
    base = tmp_path_factory.mktemp("envelope-fuzz")
    network = InProcessNetwork(base / "net", DatabaseFactory("sqlite", base))
    try:
        yield network
    finally:
        network.close()


@pytest.fixture(scope="module")
def valid_payload(net: InProcessNetwork) -> dict[str, Any]:
    built = build_envelope(message_id=f"msg-{uuid.uuid4()}", sender=SG_ID, recipient=CN_ID,
                           created_at=utc_now(), ttl=dt.timedelta(hours=1),
                           documents=(issued(net[SG_ID].directory, certificate_of_origin()),))
    return built.to_dict()


def _receive(net: InProcessNetwork, body: bytes) -> None:
    with contextlib.suppress(CodedError):
        receive_envelope(net[CN_ID].ctx, body, utc_now())


@FUZZ
@given(data=st.binary(max_size=512))
def test_envelope_handler_refuses_any_bytes_with_a_code(net: InProcessNetwork,
                                                       data: bytes) -> None:
    _receive(net, data)


@FUZZ
@given(data=st.data())
def test_envelope_handler_refuses_mutated_containers_with_a_code(
        net: InProcessNetwork, data: st.DataObject) -> None:
    valid = json.loads(envelope(net[SG_ID].directory, CN_ID,
                                (issued(net[SG_ID].directory, certificate_of_origin()),)))
    _receive(net, json.dumps(data.draw(mutations(valid))).encode("utf-8"))


@FUZZ
@given(data=st.data())
def test_envelope_handler_refuses_mutated_signed_payloads_with_a_code(
        net: InProcessNetwork, valid_payload: dict[str, Any], data: st.DataObject) -> None:
    mutated = data.draw(mutations({**valid_payload, "messageId": f"msg-{uuid.uuid4()}"}))
    try:
        payload = canonicalize(mutated)
    except (CodedError, ValueError, TypeError):
        return  # not canonicalisable: no sender could sign it
    body = sign(payload, net[SG_ID].directory.node_signer(None), typ=JWSType.ENVELOPE,
                signed_at=utc_now()).to_json()
    _receive(net, body)



