"""Every parser of registry data refuses with our own errors, never a foreign one.

Arbitrary JSON values, and valid registries, authorities, agreements, status changes and
snapshots with one part replaced, go into each parsing constructor (signed objects are
re-signed by the right root after the change, so that the payload checks are reached);
only ``CodedError`` subclasses may escape.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.canonical import b64url_decode, b64url_encode, canonicalize
from protocol.certificates import certificate_to_der
from protocol.errors import CodedError
from protocol.jws import GeneralJWS, JWSSignature, JWSType, Signer, sign
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from tests.json_strategies import json_values, mutations
from tests.trust_registry.conftest import CN, DAY, SG, T0, World
from trust_registry import (
    Agreement,
    AgreementStatus,
    Authority,
    SignedAgreement,
    StatusChange,
    TrustRegistry,
    sign_status_change,
)
from trust_registry.reliability import ReliabilityProfile

FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ISSUED = T0 + 10 * DAY
EXPIRES = T0 + 17 * DAY


def refuses_with_codes_only(parse: Callable[[Any], object], value: Any) -> None:
    """Call ``parse``; a refusal must be one of our coded errors (anything else escapes)."""
    with contextlib.suppress(CodedError):
        parse(value)


def _payload(jws: GeneralJWS) -> Any:
    return parse_json(jws.payload)


def _resigned(payload: Any, signer: Signer, typ: str) -> GeneralJWS | None:
    """``payload`` (any JSON value) signed by ``signer``; None if JCS cannot write it."""
    try:
        return sign(canonicalize(payload), signer, typ=typ, signed_at=ISSUED)
    except CodedError:
        return None


def _body(value: Any) -> bytes:
    """A JSON value as the bytes a request body would carry (what the node imports)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _header(jws: GeneralJWS) -> dict[str, Any]:
    header: dict[str, Any] = parse_json(b64url_decode(jws.signatures[0].protected_b64))
    return header


def _with_x5c(jws: GeneralJWS, signer: Signer, x5c: list[str]) -> GeneralJWS:
    """``jws`` with its first signature re-made by ``signer`` under a header naming ``x5c``."""
    protected = b64url_encode(canonicalize({**_header(jws), "x5c": x5c}))
    signature = signer.key.sign(f"{protected}.{jws.payload_b64}".encode("ascii"))  # type: ignore[call-arg]
    return GeneralJWS(jws.payload_b64, (JWSSignature(protected, b64url_encode(signature)),
                                        *jws.signatures[1:]))


def _non_ascii_x5c(signer: Signer) -> list[str]:
    good = base64.b64encode(certificate_to_der(signer.certificate)).decode("ascii")
    return [good[:10] + "é" + good[11:]]


# -- regressions named after what they reproduce --------------------------------------------


def test_snapshot_x5c_with_non_ascii_character_is_refused_not_value_error(world: World) -> None:
    registry = world.base_registry()
    snapshot = registry.export_snapshot(world.sg.root, at=ISSUED, expires_at=EXPIRES)
    forged = _with_x5c(snapshot, world.sg.root, _non_ascii_x5c(world.sg.root))
    with pytest.raises(CodedError) as caught:
        registry.import_snapshot(forged.to_json(), at=ISSUED + DAY)
    assert caught.value.code is ReasonCode.REGISTRY_SIGNATURE_INVALID
    assert ReasonCode.CERT_MALFORMED in caught.value.codes


def test_agreement_signature_x5c_with_non_ascii_character_is_refused_not_value_error(
        world: World) -> None:
    signed = world.signed(world.agreement())
    forged = _with_x5c(signed, world.sg.root, _non_ascii_x5c(world.sg.root))
    with pytest.raises(CodedError) as caught:
        SignedAgreement.parse(forged.to_json())
    assert caught.value.code is ReasonCode.AGREEMENT_INVALID
    assert ReasonCode.CERT_MALFORMED in caught.value.codes


def test_registry_anchor_with_non_ascii_character_is_refused_not_value_error(
        world: World) -> None:
    data = world.sg.authority().to_dict()
    good = data["anchors"][0]["certificate"]
    data["anchors"][0]["certificate"] = good[:10] + "é" + good[11:]
    with pytest.raises(CodedError) as caught:
        Authority.from_dict(data)
    assert caught.value.code is ReasonCode.REGISTRY_INVALID


# -- properties -----------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_trust_registry_from_dict_refuses_only_with_codes(world: World, data) -> None:
    valid = world.base_registry().to_dict()
    refuses_with_codes_only(TrustRegistry.from_dict, data.draw(mutations(valid)))


@FUZZ
@given(data=st.data())
def test_authority_from_dict_refuses_only_with_codes(world: World, data) -> None:
    refuses_with_codes_only(Authority.from_dict, data.draw(mutations(world.cn.authority()
                                                                     .to_dict())))


@FUZZ
@given(data=st.data())
def test_agreement_from_dict_refuses_only_with_codes(world: World, data) -> None:
    refuses_with_codes_only(Agreement.from_dict, data.draw(mutations(world.agreement()
                                                                     .to_dict())))


@FUZZ
@given(data=st.data())
def test_reliability_profile_from_dict_refuses_only_with_codes(data) -> None:
    valid = {"keyProtection": "hsm", "signerIdentityProofing": "high"}
    refuses_with_codes_only(ReliabilityProfile.from_dict, data.draw(mutations(valid)))


@FUZZ
@given(data=st.data())
def test_signed_agreement_parse_refuses_only_with_codes(world: World, data) -> None:
    signed = world.signed(world.agreement())
    refuses_with_codes_only(SignedAgreement.parse, data.draw(mutations(signed.to_dict())))
    resigned = _resigned(data.draw(mutations(_payload(signed))), world.sg.root,
                         JWSType.AGREEMENT)
    if resigned is not None:
        refuses_with_codes_only(SignedAgreement.parse, resigned)


@FUZZ
@given(data=st.data())
def test_status_change_parse_refuses_only_with_codes(world: World, data) -> None:
    record = world.base_registry().agreement("SG-CN-1")
    change = sign_status_change(record.signed, world.sg.root, status=AgreementStatus.SUSPENDED,
                                effective_at=ISSUED, signed_at=ISSUED)
    refuses_with_codes_only(StatusChange.parse, data.draw(mutations(change.to_dict())))
    resigned = _resigned(data.draw(mutations(_payload(change))), world.sg.root,
                         JWSType.AGREEMENT)
    if resigned is not None:
        refuses_with_codes_only(StatusChange.parse, resigned)


@FUZZ
@given(data=st.data())
def test_snapshot_import_refuses_only_with_codes(world: World, data) -> None:
    held = world.base_registry()
    newer = held.update_authority(CN, name="GACC")
    snapshot = newer.export_snapshot(world.sg.root, at=ISSUED, expires_at=EXPIRES)
    at = ISSUED + DAY
    refuses_with_codes_only(lambda value: held.import_snapshot(_body(value), at=at),
                            data.draw(mutations(snapshot.to_dict())))
    resigned = _resigned(data.draw(mutations(_payload(snapshot))), world.sg.root,
                         JWSType.SNAPSHOT)
    if resigned is not None:
        refuses_with_codes_only(lambda value: held.import_snapshot(value, at=at), resigned)


@FUZZ
@given(value=json_values)
def test_every_registry_parser_refuses_any_json_value_with_codes(world: World, value) -> None:
    held = world.base_registry()
    for parse in (TrustRegistry.from_dict, Authority.from_dict, Agreement.from_dict,
                  ReliabilityProfile.from_dict, SignedAgreement.parse, StatusChange.parse,
                  lambda v: held.import_snapshot(_body(v), at=ISSUED),
                  lambda v: TrustRegistry.from_snapshot(_body(v),
                                                        trusted_root=world.sg.root_certificate,
                                                        at=ISSUED)):
        refuses_with_codes_only(parse, value)


_ = SG
