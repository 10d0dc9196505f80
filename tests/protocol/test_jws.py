"""The JWS profile: sign/verify, endorsements, attack regressions, and interop with jwcrypto.

Attack inputs are built by hand: the header JSON is re-encoded and, where the attack needs
it, re-signed with the right key, so that a refusal proves the header check and not merely
a broken signature.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

from protocol.canonical import b64url_decode, b64url_encode, canonicalize
from protocol.certificates import (
    CertUsage,
    certificate_to_der,
    issue_document_signer,
)
from protocol.errors import CertificateError, JWSError, ProtocolError
from protocol.jws import (
    ALLOWED_ALGORITHMS,
    GeneralJWS,
    IntegrityEvidence,
    JWSSignature,
    JWSType,
    Signer,
    add_signature,
    jwk_thumbprint,
    sign,
    verify,
)
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.receipt import DocumentOutcome, Outcome, Receipt, sign_receipt
from protocol.timeutil import format_time

PAYLOAD = canonicalize({"id": "SG-2025-000123", "type": "certificate-of-origin", "value": 42})
SKEW = dt.timedelta(seconds=DEFAULT_LIMITS.max_clock_skew_seconds)


# -- helpers -------------------------------------------------------------------------------------


def _sign_bytes(key: Any, data: bytes) -> bytes:
    """Raw JWS signature over ``data`` (written here again, not taken from protocol.jws)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _x5c(*certificates: x509.Certificate) -> list[str]:
    return [base64.b64encode(certificate_to_der(c)).decode("ascii") for c in certificates]


def _header(signer: Signer, *, typ: str = JWSType.DOCUMENT, signed_at: dt.datetime,
            **overrides: Any) -> dict[str, Any]:
    """The profile header for ``signer``, with members replaced (or removed, with None)."""
    header = {"alg": signer.alg, "kid": signer.kid, "x5c": _x5c(*signer.chain), "typ": typ,
              "sigT": format_time(signed_at)}
    header.update(overrides)
    return {name: value for name, value in header.items() if value is not None}


def _forge(header: dict[str, Any] | bytes, key: Any, payload: bytes = PAYLOAD, *,
           signature: bytes | None = None) -> GeneralJWS:
    """A one-signature JWS with this exact header (a dict is serialised as plain JSON), signed
    with ``key`` over the bytes as encoded, unless ``signature`` is given."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode("utf-8")
    protected_b64, payload_b64 = b64url_encode(raw), b64url_encode(payload)
    if signature is None:
        signature = _sign_bytes(key, f"{protected_b64}.{payload_b64}".encode("ascii"))
    return GeneralJWS.parse({"payload": payload_b64, "signatures": [
        {"protected": protected_b64, "signature": b64url_encode(signature)}]})


def _verify(jws: GeneralJWS, anchors: list[x509.Certificate], at: dt.datetime, *,
            typ: str = JWSType.DOCUMENT, **options: Any) -> Any:
    return verify(jws, typ=typ, anchors=anchors, at=at, usage=CertUsage.DOCUMENT_SIGNING,
                  **options)


def _refusal(jws: GeneralJWS | dict[str, Any], anchors: list[x509.Certificate],
             at: dt.datetime, **options: Any) -> ReasonCode:
    with pytest.raises(ProtocolError) as info:
        _verify(GeneralJWS.parse(jws) if isinstance(jws, dict) else jws, anchors, at, **options)
    return info.value.code


def _parse_refusal(data: Any) -> ReasonCode:
    with pytest.raises(ProtocolError) as info:
        GeneralJWS.parse(data)
    return info.value.code


@pytest.fixture(scope="module")
def signed(sg, at) -> GeneralJWS:
    return sign(PAYLOAD, sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at)


# -- sign and verify -----------------------------------------------------------------------------


def test_sign_verify_round_trip(authority, at) -> None:
    signer = authority.document_signer
    jws = sign(PAYLOAD, signer, typ=JWSType.DOCUMENT, signed_at=at - dt.timedelta(hours=1))
    verified = _verify(jws, [authority.root], at)
    assert verified.payload == PAYLOAD
    assert verified.payload_json() == json.loads(PAYLOAD)
    (evidence,) = verified.signatures
    integrity = evidence.integrity
    assert (integrity.alg, integrity.kid, integrity.typ) == (signer.alg, signer.kid,
                                                             JWSType.DOCUMENT)
    assert integrity.signed_at == at - dt.timedelta(hours=1)
    assert set(integrity.header) == {"alg", "kid", "x5c", "typ", "sigT"}
    assert integrity.leaf == authority.signer_cert and integrity.intermediates == ()
    assert evidence.chain.certificates == (authority.signer_cert, authority.root)
    assert evidence.chain.at == integrity.signed_at


def test_alg_and_kid_follow_the_key(sg, sg_p256) -> None:
    assert sg.document_signer.alg == "EdDSA"
    assert sg_p256.document_signer.alg == "ES256"
    assert sg.document_signer.kid == jwk_thumbprint(sg.signer_key.public_key())


def test_protected_header_is_canonical_json(signed) -> None:
    raw = b64url_decode(signed.signatures[0].protected_b64)
    assert canonicalize(json.loads(raw)) == raw


def test_serialization_round_trip(signed) -> None:
    data = signed.to_json()
    assert json.loads(data) == {"payload": signed.payload_b64, "signatures": [
        {"protected": signed.signatures[0].protected_b64,
         "signature": signed.signatures[0].signature_b64}]}
    assert GeneralJWS.parse(data) == signed
    assert GeneralJWS.parse(data.decode()) == signed
    assert GeneralJWS.parse(signed.to_dict()) == signed
    assert signed.payload == PAYLOAD


def test_verify_with_an_anchor_resolver(sg, at) -> None:
    seen: list[IntegrityEvidence] = []

    def resolver(evidence: IntegrityEvidence) -> list[x509.Certificate]:
        seen.append(evidence)
        return [sg.root]

    jws = sign(PAYLOAD, sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at)
    verified = verify(jws, typ=JWSType.DOCUMENT, anchors=resolver, at=at,
                      usage=CertUsage.DOCUMENT_SIGNING)
    assert [e.kid for e in seen] == [sg.document_signer.kid]
    assert verified.signatures[0].chain.anchor == sg.root


def test_signer_certificate_must_hold_the_key(sg, sg_p256) -> None:
    with pytest.raises(ValueError):
        Signer(sg.signer_key, (sg_p256.signer_cert,))
    with pytest.raises(ValueError):
        Signer(sg.signer_key, ())


def test_naive_times_are_misuse(sg, signed, at) -> None:
    with pytest.raises(ValueError):
        sign(PAYLOAD, sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at.replace(tzinfo=None))
    with pytest.raises(ValueError):
        _verify(signed, [sg.root], at.replace(tzinfo=None))


def test_certificates_are_validated_at_the_signing_time(sg, at) -> None:
    # Signed while the signer certificate was valid; verified after it expired.
    expired_since = sg.signer_cert.not_valid_after_utc + dt.timedelta(days=30)
    jws = sign(PAYLOAD, sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at)
    assert _verify(jws, [sg.root], expired_since).signatures[0].chain.at == at
    late = sign(PAYLOAD, sg.document_signer, typ=JWSType.DOCUMENT,
                signed_at=sg.signer_cert.not_valid_after_utc + dt.timedelta(seconds=1))
    assert _refusal(late, [sg.root], expired_since) is ReasonCode.CERT_EXPIRED


def test_transport_signatures_are_validated_at_the_time_of_receipt(sg, at) -> None:
    # A node key whose certificate expired cannot speak by claiming an earlier signing time.
    expired_since = sg.node_cert.not_valid_after_utc + dt.timedelta(days=30)
    jws = sign(PAYLOAD, sg.node_signer, typ=JWSType.ENVELOPE, signed_at=at)
    verified = verify(jws, typ=JWSType.ENVELOPE, anchors=[sg.root], at=at,
                      usage=CertUsage.ENVELOPE_SIGNING, chain_at=at)
    assert verified.signatures[0].chain.at == at
    with pytest.raises(CertificateError) as caught:
        verify(jws, typ=JWSType.ENVELOPE, anchors=[sg.root], at=expired_since,
               usage=CertUsage.ENVELOPE_SIGNING, chain_at=expired_since)
    assert caught.value.code is ReasonCode.CERT_EXPIRED


# -- several signatures --------------------------------------------------------------------------


def test_add_signature_two_signers_both_verified(sg, sg_p256, at) -> None:
    first = sign(PAYLOAD, sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at)
    both = add_signature(first, sg_p256.document_signer, typ=JWSType.DOCUMENT, signed_at=at)
    assert both.payload_b64 == first.payload_b64 and both.signatures[0] == first.signatures[0]
    verified = _verify(GeneralJWS.parse(both.to_json()), [sg.root, sg_p256.root], at)
    assert [s.integrity.alg for s in verified.signatures] == ["EdDSA", "ES256"]
    assert [s.chain.anchor for s in verified.signatures] == [sg.root, sg_p256.root]
    # Every signature must chain: with one anchor only, the second signer is refused.
    assert _refusal(both, [sg.root], at) is ReasonCode.CHAIN_UNTRUSTED


def test_add_signature_refuses_the_same_key_twice(signed, sg, at) -> None:
    with pytest.raises(JWSError) as info:
        add_signature(signed, sg.document_signer, typ=JWSType.DOCUMENT,
                      signed_at=at + dt.timedelta(minutes=1))
    assert info.value.code is ReasonCode.JWS_DUPLICATE_SIGNATURE


def test_rejects_duplicate_signature_entries(signed) -> None:
    entry = signed.signatures[0].to_dict()
    data = {"payload": signed.payload_b64, "signatures": [entry, dict(entry)]}
    assert _parse_refusal(data) is ReasonCode.JWS_DUPLICATE_SIGNATURE


def test_rejects_two_signatures_by_one_key(sg, at) -> None:
    # Two different signatures (different sigT), same signer: not an endorsement.
    one = sign(PAYLOAD, sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at)
    two = sign(PAYLOAD, sg.document_signer, typ=JWSType.DOCUMENT,
               signed_at=at - dt.timedelta(seconds=1))
    data = {"payload": one.payload_b64,
            "signatures": [one.signatures[0].to_dict(), two.signatures[0].to_dict()]}
    assert _refusal(data, [sg.root], at) is ReasonCode.JWS_DUPLICATE_SIGNATURE


def test_rejects_too_many_signatures(signed) -> None:
    entries = [{"protected": signed.signatures[0].protected_b64,
                "signature": b64url_encode(bytes([n]) * 64)} for n in range(3)]
    with pytest.raises(JWSError) as info:
        GeneralJWS.parse({"payload": signed.payload_b64, "signatures": entries},
                         limits=Limits(max_signatures=2))
    assert info.value.code is ReasonCode.JWS_TOO_MANY_SIGNATURES


# -- attack regressions --------------------------------------------------------------------------


def test_rejects_alg_none(sg, at) -> None:
    header = _header(sg.document_signer, signed_at=at, alg="none")
    assert _refusal(_forge(header, None, signature=b""), [sg.root], at) is ReasonCode.ALG_NOT_ALLOWED
    # Checked before any key is touched: an undecodable x5c does not matter.
    header["x5c"] = ["!!!"]
    assert _refusal(_forge(header, None, signature=b""), [sg.root], at) is ReasonCode.ALG_NOT_ALLOWED


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_rejects_hmac_alg(sg, at, alg: str) -> None:
    """Key confusion: an HMAC keyed with the signer's *public* key, which anyone has."""
    public_pem = sg.signer_cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = _header(sg.document_signer, signed_at=at, alg=alg)
    protected_b64 = b64url_encode(json.dumps(header).encode())
    digest = getattr(hashlib, f"sha{alg[2:]}")
    mac = hmac.new(public_pem, f"{protected_b64}.{b64url_encode(PAYLOAD)}".encode(), digest).digest()
    forged = _forge(header, None, signature=mac)
    assert _refusal(forged, [sg.root], at) is ReasonCode.ALG_NOT_ALLOWED
    # Even a careless allow-list cannot make HMAC work: the algorithm comes from the key.
    assert _refusal(forged, [sg.root], at,
                    allowed_algorithms=ALLOWED_ALGORITHMS | {alg}) is ReasonCode.ALG_KEY_MISMATCH


@pytest.fixture(scope="module")
def rsa_signer(sg, t0) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """An RSA key certified by the SG root as a document signer (the profile refuses RSA)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = issue_document_signer(root_key=sg.root_key, root_cert=sg.root,
                                 public_key=key.public_key(), not_before=t0)  # type: ignore[arg-type]
    return key, cert


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_rejects_rsa_alg(sg, at, rsa_signer, alg: str) -> None:
    key, cert = rsa_signer
    header = {"alg": alg, "kid": "rsa", "x5c": _x5c(cert), "typ": JWSType.DOCUMENT,
              "sigT": format_time(at)}
    forged = _forge(header, key)
    assert _refusal(forged, [sg.root], at) is ReasonCode.ALG_NOT_ALLOWED
    assert _refusal(forged, [sg.root], at,
                    allowed_algorithms=ALLOWED_ALGORITHMS | {alg}) is ReasonCode.ALG_NOT_ALLOWED


@pytest.mark.parametrize(("claimed", "signer"), [("ES256", "sg"), ("EdDSA", "sg_p256")],
                         ids=["ES256-on-Ed25519", "EdDSA-on-P-256"])
def test_rejects_alg_key_mismatch(request, at, claimed: str, signer: str) -> None:
    authority = request.getfixturevalue(signer)
    header = _header(authority.document_signer, signed_at=at, alg=claimed)
    forged = _forge(header, authority.signer_key)  # a valid signature over the bad header
    assert _refusal(forged, [authority.root], at) is ReasonCode.ALG_KEY_MISMATCH


@pytest.mark.parametrize(
    "crit",
    [["exp"], ["b64"], [], "sigT", ["sigT", "exp"], [{"sigT": 1}], [["sigT"]], [None]],
    ids=["unknown", "b64", "empty", "not-a-list", "one-unknown", "object", "list", "null"],
)
def test_rejects_unknown_crit(sg, at, crit: Any) -> None:
    header = _header(sg.document_signer, signed_at=at, crit=crit, exp=1, b64=False)
    assert _refusal(_forge(header, sg.signer_key), [sg.root], at) is ReasonCode.CRIT_UNSUPPORTED


def test_crit_naming_an_absent_sigt_is_refused(sg, at) -> None:
    header = _header(sg.document_signer, signed_at=at, crit=["sigT"], sigT=None)
    assert _refusal(_forge(header, sg.signer_key), [sg.root], at) is ReasonCode.CRIT_UNSUPPORTED


def test_crit_naming_sigt_is_understood(sg, at) -> None:
    header = _header(sg.document_signer, signed_at=at, crit=["sigT"])
    assert _verify(_forge(header, sg.signer_key), [sg.root], at).payload == PAYLOAD


def test_a_non_canonical_header_encoding_verifies_as_received(sg, at) -> None:
    header = json.dumps(_header(sg.document_signer, signed_at=at), indent=1).encode()
    assert _verify(_forge(header, sg.signer_key), [sg.root], at).payload == PAYLOAD


@pytest.mark.parametrize(
    "data",
    [
        lambda s: {**s, "signatures": [{**s["signatures"][0], "header": {"kid": "x"}}]},
        lambda s: {"payload": s["payload"], **s["signatures"][0]},
        lambda s: {**s, "header": {"alg": "EdDSA"}},
    ],
    ids=["per-signature-header", "flattened-serialization", "top-level-header"],
)
def test_rejects_unprotected_header(signed, data) -> None:
    assert _parse_refusal(data(signed.to_dict())) is ReasonCode.JWS_MALFORMED


def test_rejects_header_member_outside_the_profile(sg, at) -> None:
    for extra in ({"jku": "https://attacker.example/keys"}, {"jwk": {"kty": "OKP"}},
                  {"x5u": "https://attacker.example/cert"}, {"b64": False}):
        header = _header(sg.document_signer, signed_at=at, **extra)
        assert _refusal(_forge(header, sg.signer_key), [sg.root], at) is ReasonCode.JWS_HEADER_INVALID


def test_rejects_duplicate_header_member(sg, at) -> None:
    """Parser differential: which alg counts, the first or the last? Neither."""
    header = _header(sg.document_signer, signed_at=at)
    raw = json.dumps(header)[:-1].encode() + b', "alg": "none"}'
    assert _refusal(_forge(raw, sg.signer_key), [sg.root], at) is ReasonCode.JSON_DUPLICATE_MEMBER


@pytest.mark.parametrize(
    "overrides",
    [{"kid": None}, {"typ": None}, {"x5c": None}, {"kid": 7}, {"x5c": []}, {"x5c": "MII"},
     {"x5c": [1]}],
    ids=["no-kid", "no-typ", "no-x5c", "kid-number", "x5c-empty", "x5c-string", "x5c-number"],
)
def test_rejects_missing_or_mistyped_header_members(sg, at, overrides: dict[str, Any]) -> None:
    header = _header(sg.document_signer, signed_at=at, **overrides)
    assert _refusal(_forge(header, sg.signer_key), [sg.root], at) is ReasonCode.JWS_HEADER_INVALID


def test_rejects_header_that_is_not_an_object(sg, at) -> None:
    for raw in (b'["alg"]', b'"EdDSA"', b"null"):
        assert _refusal(_forge(raw, sg.signer_key), [sg.root], at) is ReasonCode.JWS_HEADER_INVALID


def test_rejects_kid_mismatch(sg, stranger, at) -> None:
    header = _header(sg.document_signer, signed_at=at, kid=stranger.document_signer.kid)
    assert _refusal(_forge(header, sg.signer_key), [sg.root], at) is ReasonCode.KID_MISMATCH


def test_rejects_typ_confusion(sg, at) -> None:
    """A receipt (signed by a node key) presented as a document."""
    receipt = Receipt(receipt_id="r-1", message_id="m-1", envelope_sha256="00" * 32,
                      sender="SG-CUSTOMS", recipient="MY-CUSTOMS", received_at=at,
                      outcomes=(DocumentOutcome(document_id="d-1", document_sha256="11" * 32,
                                                document_type="certificate-of-origin",
                                                outcome=Outcome.ACCEPTED),))
    jws = sign_receipt(receipt, sg.node_signer, signed_at=at)
    assert _refusal(jws, [sg.root], at) is ReasonCode.TYP_MISMATCH
    # ... and a document presented as an envelope.
    document = sign(PAYLOAD, sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at)
    assert _refusal(document, [sg.root], at, typ=JWSType.ENVELOPE) is ReasonCode.TYP_MISMATCH


def test_rejects_future_signing_time(sg, at) -> None:
    at_limit = sign(PAYLOAD, sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at + SKEW)
    assert _verify(at_limit, [sg.root], at).signatures[0].integrity.signed_at == at + SKEW
    beyond = sign(PAYLOAD, sg.document_signer, typ=JWSType.DOCUMENT,
                  signed_at=at + SKEW + dt.timedelta(seconds=1))
    assert _refusal(beyond, [sg.root], at) is ReasonCode.SIGNING_TIME_INVALID


@pytest.mark.parametrize(
    "sigt",
    [None, 1735689600, "2025-06-01", "2025-06-01T12:00:00", "2025-06-01 12:00:00Z",
     "2025-02-30T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
     "2025-06-01T12:00:00Z\n"],
    ids=["missing", "number", "date-only", "no-offset", "space", "february-30",
         "before-year-1-in-utc", "after-year-9999-in-utc", "trailing-newline"],
)
def test_rejects_malformed_signing_time(sg, at, sigt: Any) -> None:
    header = _header(sg.document_signer, signed_at=at)
    if sigt is None:
        del header["sigT"]
    else:
        header["sigT"] = sigt
    assert _refusal(_forge(header, sg.signer_key), [sg.root], at) is ReasonCode.SIGNING_TIME_INVALID


def test_rejects_chain_from_unknown_root(sg, stranger, at) -> None:
    jws = sign(PAYLOAD, sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at)
    with pytest.raises(CertificateError) as info:
        _verify(jws, [stranger.root], at)
    assert info.value.code is ReasonCode.CHAIN_UNTRUSTED


def test_rejects_self_made_signer_certificate(sg, stranger, at) -> None:
    """The attacker's own authority certifies a key and names it like ours."""
    forged_signer = Signer(stranger.signer_key, (stranger.signer_cert,))
    jws = sign(PAYLOAD, forged_signer, typ=JWSType.DOCUMENT, signed_at=at)
    assert _refusal(jws, [sg.root], at) is ReasonCode.CHAIN_UNTRUSTED


def test_rejects_root_key_signing_as_document_signer(sg, at) -> None:
    jws = sign(PAYLOAD, sg.root_signer, typ=JWSType.DOCUMENT, signed_at=at)
    assert _refusal(jws, [sg.root], at) is ReasonCode.CERT_USAGE_INVALID


def test_rejects_node_key_signing_documents(sg, at) -> None:
    jws = sign(PAYLOAD, sg.node_signer, typ=JWSType.DOCUMENT, signed_at=at)
    assert _refusal(jws, [sg.root], at) is ReasonCode.CERT_USAGE_INVALID


def test_rejects_x5c_too_long(sg, at) -> None:
    header = _header(sg.document_signer, signed_at=at, x5c=_x5c(sg.signer_cert, *[sg.root] * 4))
    assert _refusal(_forge(header, sg.signer_key), [sg.root], at) is ReasonCode.CHAIN_TOO_LONG


@pytest.mark.parametrize(
    "x5c",
    [["not base64!"], [base64.b64encode(b"not DER").decode()], ["TUlJ\nQ0F"]],
    ids=["not-base64", "not-der", "line-break"],
)
def test_rejects_malformed_x5c(sg, at, x5c: list[str]) -> None:
    header = _header(sg.document_signer, signed_at=at, x5c=x5c)
    assert _refusal(_forge(header, sg.signer_key), [sg.root], at) is ReasonCode.CERT_MALFORMED


def test_rejects_x5c_with_undecodable_key(sg, at) -> None:
    der = certificate_to_der(sg.signer_cert)
    spki_ed25519 = bytes.fromhex("302a300506032b6570")  # its algorithm becomes 1.3.101.99
    patched = der.replace(spki_ed25519, bytes.fromhex("302a300506032b6563"))
    header = _header(sg.document_signer, signed_at=at,
                     x5c=[base64.b64encode(patched).decode()])
    assert _refusal(_forge(header, sg.signer_key), [sg.root], at) is ReasonCode.CERT_MALFORMED


def test_rejects_payload_one_byte_change(signed, sg, at) -> None:
    payload = bytearray(signed.payload)
    payload[payload.index(b"4")] = ord("5")  # "value":42 -> 52: still a valid document
    tampered = GeneralJWS(b64url_encode(bytes(payload)), signed.signatures)
    assert _refusal(tampered.to_dict(), [sg.root], at) is ReasonCode.SIGNATURE_INVALID


def test_rejects_signature_moved_to_another_payload(sg, at) -> None:
    one = sign(b'{"a":1}', sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at)
    two = sign(b'{"a":2}', sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at)
    spliced = GeneralJWS(one.payload_b64, two.signatures)
    assert _refusal(spliced.to_dict(), [sg.root], at) is ReasonCode.SIGNATURE_INVALID


_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _with_trailing_bits(text: str) -> str:
    """The same bytes, with the unused low bits of the last character set (if it has any)."""
    if len(text) % 4 == 0:
        return text
    return text[:-1] + _B64URL[_B64URL.index(text[-1]) + 1]


@pytest.mark.parametrize("part", ["payload", "protected", "signature"])
def test_rejects_non_canonical_base64url(signed, part: str) -> None:
    """One signature has one form: no padding, no stray trailing bits, no foreign alphabet."""
    original = signed.to_dict()
    text = original["payload"] if part == "payload" else original["signatures"][0][part]
    variants = {text + "=" * (-len(text) % 4 or 4), text.replace("-", "+").replace("_", "/"),
                _with_trailing_bits(text), " " + text, text + "\n"} - {text}
    assert len(variants) >= 3
    for variant in variants:
        data = signed.to_dict()
        if part == "payload":
            data["payload"] = variant
        else:
            data["signatures"][0][part] = variant
        assert _parse_refusal(data) is ReasonCode.JWS_MALFORMED, variant


@pytest.mark.parametrize(
    "data",
    [[], "x", {"payload": "e30"}, {"payload": 1, "signatures": [{}]},
     {"payload": "e30", "signatures": []}, {"payload": "e30", "signatures": {}},
     {"payload": "e30", "signatures": ["x"]}, {"payload": "e30", "signatures": [{"protected": 1,
                                                                                 "signature": ""}]},
     {"payload": "e30", "signatures": [{"protected": "e30"}]}],
    ids=["array", "string", "no-signatures", "payload-number", "empty-signatures",
         "signatures-object", "signature-string", "protected-number", "no-signature-member"],
)
def test_rejects_malformed_structure(data: Any) -> None:
    assert _parse_refusal(data) in {ReasonCode.JWS_MALFORMED, ReasonCode.JSON_MALFORMED}


def test_parse_refuses_duplicate_members_in_the_container(signed) -> None:
    text = signed.to_json().decode()
    duplicated = text[:-1] + ',"payload":"e30"}'
    assert _parse_refusal(duplicated.encode()) is ReasonCode.JSON_DUPLICATE_MEMBER


# -- properties: any one-byte change fails -----------------------------------------------------


@pytest.fixture(scope="module")
def signed_both(sg, sg_p256, at) -> GeneralJWS:
    first = sign(PAYLOAD, sg.document_signer, typ=JWSType.DOCUMENT, signed_at=at)
    return add_signature(first, sg_p256.document_signer, typ=JWSType.DOCUMENT, signed_at=at)


def _changed(data: bytes, position: int, delta: int) -> bytes:
    out = bytearray(data)
    out[position % len(out)] = (out[position % len(out)] + delta) % 256
    return bytes(out)


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), delta=st.integers(min_value=1, max_value=255))
def test_any_payload_byte_change_fails(signed_both, sg, sg_p256, at, position: int,
                                       delta: int) -> None:
    payload = _changed(signed_both.payload, position, delta)
    tampered = GeneralJWS.parse({"payload": b64url_encode(payload),
                                 "signatures": [s.to_dict() for s in signed_both.signatures]})
    with pytest.raises(JWSError) as info:
        _verify(tampered, [sg.root, sg_p256.root], at)
    assert info.value.code is ReasonCode.SIGNATURE_INVALID


@settings(max_examples=80, deadline=None)
@given(index=st.integers(min_value=0, max_value=1), position=st.integers(min_value=0),
       delta=st.integers(min_value=1, max_value=255))
def test_any_protected_header_byte_change_fails(signed_both, sg, sg_p256, at, index: int,
                                                position: int, delta: int) -> None:
    signatures = [s.to_dict() for s in signed_both.signatures]
    header = b64url_decode(signatures[index]["protected"])
    signatures[index]["protected"] = b64url_encode(_changed(header, position, delta))
    with pytest.raises(ProtocolError):
        tampered = GeneralJWS.parse({"payload": signed_both.payload_b64,
                                     "signatures": signatures})
        _verify(tampered, [sg.root, sg_p256.root], at)


@settings(max_examples=50, deadline=None)
@given(payload=st.binary(max_size=300))
def test_sign_then_verify_holds(sg_p256, at, payload: bytes) -> None:
    jws = sign(payload, sg_p256.document_signer, typ=JWSType.DOCUMENT, signed_at=at)
    assert _verify(GeneralJWS.parse(jws.to_json()), [sg_p256.root], at).payload == payload


# -- an independent implementation: jwcrypto -----------------------------------------------------


def _jwcrypto_verifies(jws: GeneralJWS, signature: JWSSignature, public_key: Any) -> bytes:
    """Verify one of our signatures with jwcrypto; return the payload it verified."""
    single = json.dumps({"payload": jws.payload_b64, "signatures": [signature.to_dict()]})
    token = jwcrypto_jws.JWS()
    token.allowed_algs = ["EdDSA", "ES256"]
    token.deserialize(single)
    token.verify(jwcrypto_jwk.JWK.from_pyca(public_key))
    return token.payload


def test_jwcrypto_verifies_our_signatures(sg, sg_p256, signed_both) -> None:
    for signature, cert in zip(signed_both.signatures, (sg.signer_cert, sg_p256.signer_cert),
                               strict=True):
        assert _jwcrypto_verifies(signed_both, signature, cert.public_key()) == PAYLOAD


def test_jwcrypto_refuses_our_signature_under_another_key(sg, stranger, signed_both) -> None:
    with pytest.raises(jwcrypto_jws.InvalidJWSSignature):
        _jwcrypto_verifies(signed_both, signed_both.signatures[0],
                           stranger.signer_cert.public_key())


@pytest.mark.parametrize("kind", ["envelope", "receipt"])
def test_jwcrypto_verifies_our_node_signatures(authority, at, kind: str) -> None:
    typ = JWSType.ENVELOPE if kind == "envelope" else JWSType.RECEIPT
    jws = sign(b'{"k":"v"}', authority.node_signer, typ=typ, signed_at=at)
    assert _jwcrypto_verifies(jws, jws.signatures[0], authority.node_cert.public_key()) == b'{"k":"v"}'


def test_we_verify_a_jws_produced_by_jwcrypto(sg, sg_p256, at) -> None:
    token = jwcrypto_jws.JWS(PAYLOAD)
    token.allowed_algs = ["EdDSA", "ES256"]
    for authority in (sg, sg_p256):
        header = _header(authority.document_signer, signed_at=at - dt.timedelta(minutes=5))
        token.add_signature(jwcrypto_jwk.JWK.from_pyca(authority.signer_key),
                            protected=json.dumps(header))
    serialized = token.serialize(compact=False)
    assert set(json.loads(serialized)) == {"payload", "signatures"}
    verified = _verify(GeneralJWS.parse(serialized), [sg.root, sg_p256.root], at)
    assert verified.payload == PAYLOAD
    assert [s.integrity.kid for s in verified.signatures] == [sg.document_signer.kid,
                                                              sg_p256.document_signer.kid]


# -- exception translation: only ProtocolError escapes -------------------------------------------

_SCALAR_JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
    st.sampled_from(["", "e30", "AA", "A", "==", "sigT", "EdDSA", "ES256", "none",
                     "2025-06-01T12:00:00Z", "0001-01-01T00:00:00+01:00", "MII"]),
)
JUNK = st.recursive(
    _SCALAR_JUNK,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["payload", "signatures", "protected", "signature", "header"])
        | st.text(max_size=4), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(st.one_of(JUNK, st.binary(max_size=100), st.text(max_size=100)))
def test_parse_lets_only_protocol_errors_escape(data: Any) -> None:
    with contextlib.suppress(ProtocolError):
        GeneralJWS.parse(data)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["alg", "kid", "x5c", "typ", "sigT", "crit", "exp"]),
                       JUNK, max_size=4))
def test_verify_lets_only_protocol_errors_escape(sg, at, overrides: dict[str, Any]) -> None:
    """A well-signed JWS whose header members are replaced by junk."""
    header = {**_header(sg.document_signer, signed_at=at), **overrides}
    with contextlib.suppress(ProtocolError):
        _verify(_forge(header, sg.signer_key), [sg.root], at)
