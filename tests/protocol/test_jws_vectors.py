"""JWS golden vectors from the RFCs (tests/data/rfc): RFC 8037 Ed25519, RFC 7515 ES256."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from protocol.canonical import b64url_decode, b64url_encode
from protocol.jws import jwk_thumbprint, public_jwk, sign_raw, verify_raw


def _flip_bit(text: str, bit: int = 0) -> str:
    """``text`` (base64url) with one bit of its decoded bytes flipped."""
    raw = bytearray(b64url_decode(text))
    raw[bit // 8] ^= 1 << (bit % 8)
    return b64url_encode(bytes(raw))


def _ed25519_key(jwk: dict[str, str]) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(b64url_decode(jwk["d"]))


def _p256_public_key(jwk: dict[str, str]) -> ec.EllipticCurvePublicKey:
    x, y = (int.from_bytes(b64url_decode(jwk[name]), "big") for name in ("x", "y"))
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


@pytest.mark.rfc_vectors("rfc8037-ed25519")
def test_rfc8037_key_and_thumbprint(case: dict[str, Any]) -> None:
    public_key = _ed25519_key(case["jwk"]).public_key()
    assert public_jwk(public_key) == {"crv": "Ed25519", "kty": "OKP", "x": case["jwk"]["x"]}
    assert jwk_thumbprint(public_key) == case["thumbprint"]


@pytest.mark.rfc_vectors("rfc8037-ed25519")
def test_rfc8037_sign_byte_for_byte(case: dict[str, Any]) -> None:
    key = _ed25519_key(case["jwk"])
    produced = sign_raw(case["protected"], case["payload"].encode("utf-8"), key)
    assert ".".join(produced) == case["jws"]


@pytest.mark.rfc_vectors("rfc8037-ed25519")
def test_rfc8037_verify(case: dict[str, Any]) -> None:
    public_key = _ed25519_key(case["jwk"]).public_key()
    protected_b64, payload_b64, signature_b64 = case["jws"].split(".")
    assert verify_raw(protected_b64, payload_b64, signature_b64, public_key)
    assert not verify_raw(protected_b64, payload_b64, _flip_bit(signature_b64), public_key)
    assert not verify_raw(protected_b64, _flip_bit(payload_b64, 7), signature_b64, public_key)


@pytest.mark.rfc_vectors("rfc7515-es256")
def test_rfc7515_es256_verify(case: dict[str, Any]) -> None:
    public_key = _p256_public_key(case["jwk"])
    protected_b64, payload_b64, signature_b64 = case["jws"].split(".")
    assert b64url_decode(payload_b64) == case["payload"].encode("utf-8")
    assert verify_raw(protected_b64, payload_b64, signature_b64, public_key)


@pytest.mark.rfc_vectors("rfc7515-es256")
@pytest.mark.parametrize("part", ["protected", "payload", "signature-r", "signature-s"])
def test_rfc7515_es256_one_bit_change_refused(case: dict[str, Any], part: str) -> None:
    public_key = _p256_public_key(case["jwk"])
    parts = dict(zip(("protected", "payload", "signature"), case["jws"].split("."), strict=True))
    if part.startswith("signature"):
        parts["signature"] = _flip_bit(parts["signature"], 3 if part.endswith("r") else 256 + 3)
    else:
        parts[part] = _flip_bit(parts[part], 9)
    assert not verify_raw(parts["protected"], parts["payload"], parts["signature"], public_key)


@pytest.mark.rfc_vectors("rfc7515-es256")
def test_rfc7515_es256_our_signature_with_the_rfc_key_verifies(case: dict[str, Any]) -> None:
    # ECDSA is randomised: the RFC's bytes cannot be reproduced, but a fresh signature with
    # its key must verify under its public key, and be raw r‖s (64 bytes).
    d = int.from_bytes(b64url_decode(case["jwk"]["d"]), "big")
    key = ec.derive_private_key(d, ec.SECP256R1())
    assert key.public_key() == _p256_public_key(case["jwk"])
    protected_b64, payload_b64, signature_b64 = sign_raw({"alg": "ES256"}, b"payload", key)
    assert protected_b64 == "eyJhbGciOiJFUzI1NiJ9"
    assert len(b64url_decode(signature_b64)) == 64
    assert verify_raw(protected_b64, payload_b64, signature_b64, key.public_key())
