"""JWS (RFC 7515) in JSON General Serialization, profiled for TradeAccord.

Verbs: ``sign`` (first signature), ``add_signature`` (endorsements, co-signatures),
``GeneralJWS.parse`` (parse without verifying, for routing), ``check_integrity`` (one
signature against the key in its own ``x5c``) and ``verify`` (every signature: integrity,
signing time, chain to the anchors a resolver names). ``verify`` returns evidence.

Profile rules:

- Algorithms: ``EdDSA`` (Ed25519, RFC 8037) and ``ES256`` (P-256, raw r‖s, RFC 7518 §3.4).
  ``alg`` is checked against the allow-list before any key is touched; ``none``, HMAC and
  RSA are refused (ALG_NOT_ALLOWED). The algorithm is derived from the certificate's key
  type, and a header that claims another is refused (ALG_KEY_MISMATCH).
- Protected header members: ``alg``, ``kid`` (RFC 7638 thumbprint of the signer's key),
  ``x5c`` (signer certificate first, then intermediates; never the root — except for
  root-signed objects, where the signer *is* the root), ``typ`` and ``sigT`` (the claimed
  signing time, as in ETSI JAdES). Any other member, and any unprotected ``header``, is
  refused (JWS_HEADER_INVALID); ``crit`` may only name ``sigT`` (CRIT_UNSUPPORTED).
- The payload is signed as received; verification never re-serialises it.
- Certificates are validated at the signing time, which may not lie in the future of the
  verification time ``at`` by more than the allowed clock skew.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from protocol.canonical import b64url_decode, b64url_encode, b64url_validate, canonicalize
from protocol.certificates import (
    CertUsage,
    KeyAlgorithm,
    PrivateKey,
    PublicKey,
    ValidatedChain,
    certificate_to_der,
    key_algorithm,
    load_certificate_der,
    validate_chain,
)
from protocol.errors import JWSError, ProtocolError
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from protocol.timeutil import format_time, parse_time, require_aware

ALLOWED_ALGORITHMS: frozenset[str] = frozenset({"EdDSA", "ES256"})
SIGNING_TIME = "sigT"
_HEADER_MEMBERS = frozenset({"alg", "kid", "x5c", "typ", SIGNING_TIME, "crit"})
_UNDERSTOOD_CRIT = frozenset({SIGNING_TIME})
_ALG_FOR_KEY = {KeyAlgorithm.ED25519: "EdDSA", KeyAlgorithm.P256: "ES256"}


class JWSType(StrEnum):
    """``typ`` values: each kind of signed object has its own, so one cannot pass for another."""

    DOCUMENT = "tradeaccord-document+jws"
    ENVELOPE = "tradeaccord-envelope+jws"
    RECEIPT = "tradeaccord-receipt+jws"
    AGREEMENT = "tradeaccord-agreement+jws"
    SNAPSHOT = "tradeaccord-registry+jws"
    TITLE_ENTRY = "tradeaccord-title-entry+jws"
    STATUS = "tradeaccord-status+jws"
    STATUS_ANSWER = "tradeaccord-status-answer+jws"
    EVIDENCE_MANIFEST = "tradeaccord-evidence+jws"


# -- keys ---------------------------------------------------------------------------------


def algorithm_for_key(key: PrivateKey | PublicKey) -> str:
    """The JWS ``alg`` that this key type signs with."""
    return _ALG_FOR_KEY[key_algorithm(key)]


def public_jwk(key: PublicKey) -> dict[str, str]:
    """The public key as a JWK holding only the RFC 7638 required members."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(raw)}
    numbers = key.public_numbers()
    return {
        "crv": "P-256",
        "kty": "EC",
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
    }


def jwk_thumbprint(key: PublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url)."""
    return b64url_encode(hashlib.sha256(canonicalize(public_jwk(key))).digest())


def _raw_sign(key: PrivateKey, signing_input: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(signing_input)
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _raw_verify(key: PublicKey, signature: bytes, signing_input: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, signing_input)
        else:
            if len(signature) != 64:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def sign_raw(protected: Mapping[str, Any], payload: bytes, key: PrivateKey) -> tuple[str, str, str]:
    """Low-level: (protected_b64, payload_b64, signature_b64) for any protected header.

    The header is encoded as its RFC 8785 canonical form. Used by ``sign`` and by the RFC
    test vectors; applications call ``sign``.
    """
    protected_b64 = b64url_encode(canonicalize(dict(protected)))
    payload_b64 = b64url_encode(payload)
    signature = _raw_sign(key, f"{protected_b64}.{payload_b64}".encode("ascii"))
    return protected_b64, payload_b64, b64url_encode(signature)


def verify_raw(
    protected_b64: str, payload_b64: str, signature_b64: str, key: PublicKey
) -> bool:
    """Low-level: does ``signature_b64`` verify under ``key``? (No header checks at all.)"""
    try:
        signature = b64url_decode(signature_b64)
    except (ValueError, binascii.Error):
        return False
    return _raw_verify(key, signature, f"{protected_b64}.{payload_b64}".encode("ascii"))


# -- objects ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signer:
    """A private key with its certificate chain (leaf first; the root only if it is the leaf)."""

    key: PrivateKey
    chain: tuple[x509.Certificate, ...]
    alg: str = field(init=False)
    kid: str = field(init=False)
    x5c: tuple[str, ...] = field(init=False, repr=False)
    """The chain as the ``x5c`` header member holds it, encoded once per signer."""

    def __post_init__(self) -> None:
        if not self.chain:
            raise ValueError("a Signer needs at least its own certificate")
        if self.chain[0].public_key() != self.key.public_key():
            raise ValueError("the first certificate does not hold the signer's public key")
        object.__setattr__(self, "alg", algorithm_for_key(self.key))
        object.__setattr__(self, "kid", jwk_thumbprint(self.key.public_key()))
        object.__setattr__(self, "x5c", tuple(
            base64.b64encode(certificate_to_der(c)).decode("ascii") for c in self.chain))

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]


@dataclass(frozen=True, slots=True)
class JWSSignature:
    """One entry of ``signatures``: the encoded protected header and the signature."""

    protected_b64: str
    signature_b64: str
    _protected: bytes | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def protected(self) -> bytes:
        """The protected header's bytes, as signed (decoded once per instance)."""
        protected = self._protected
        if protected is None:
            protected = _decode(self.protected_b64, "protected header")
            object.__setattr__(self, "_protected", protected)
        return protected

    def to_dict(self) -> dict[str, str]:
        return {"protected": self.protected_b64, "signature": self.signature_b64}


@dataclass(frozen=True, slots=True)
class GeneralJWS:
    """A JWS in JSON General Serialization. An instance that exists is well-formed."""

    payload_b64: str
    signatures: tuple[JWSSignature, ...]
    _payload: bytes | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def payload(self) -> bytes:
        """The signed payload bytes, exactly as signed (decoded once per instance)."""
        payload = self._payload
        if payload is None:
            payload = b64url_decode(self.payload_b64)
            object.__setattr__(self, "_payload", payload)
        return payload

    def payload_json(self, limits: Limits = DEFAULT_LIMITS) -> Any:
        """The payload parsed as strict I-JSON."""
        return parse_json(self.payload, max_bytes=limits.max_document_bytes,
                          max_depth=limits.max_depth)

    def to_dict(self) -> dict[str, Any]:
        return {"payload": self.payload_b64,
                "signatures": [signature.to_dict() for signature in self.signatures]}

    def to_json(self) -> bytes:
        """The serialization as canonical JSON bytes (the container itself is not signed)."""
        return canonicalize(self.to_dict())

    @classmethod
    def parse(cls, data: bytes | str | Mapping[str, Any], *,
              limits: Limits = DEFAULT_LIMITS) -> GeneralJWS:
        """Parse without verifying. Structure only: members, base64url, signature count,
        duplicates. Raises ``JSONInputError`` or ``JWSError``."""
        if isinstance(data, bytes | str):
            data = parse_json(data, max_bytes=limits.max_document_bytes,
                              max_depth=limits.max_depth)
        if type(data) is not dict and not isinstance(data, Mapping):
            raise JWSError(ReasonCode.JWS_MALFORMED, "a JWS must be a JSON object")
        if set(data) != {"payload", "signatures"}:
            raise JWSError(
                ReasonCode.JWS_MALFORMED,
                "expected exactly the members payload and signatures (General Serialization, "
                f"no unprotected header); found {sorted(data)}",
            )
        payload_b64, raw_signatures = data["payload"], data["signatures"]
        if not isinstance(payload_b64, str):
            raise JWSError(ReasonCode.JWS_MALFORMED, "payload must be a base64url string")
        payload = _decode(payload_b64, "payload")
        if not isinstance(raw_signatures, list) or not raw_signatures:
            raise JWSError(ReasonCode.JWS_MALFORMED, "signatures must be a non-empty array")
        if len(raw_signatures) > limits.max_signatures:
            raise JWSError(
                ReasonCode.JWS_TOO_MANY_SIGNATURES,
                f"{len(raw_signatures)} signatures exceed the limit of {limits.max_signatures}",
            )
        signatures: list[JWSSignature] = []
        for index, entry in enumerate(raw_signatures):
            if (type(entry) is not dict and not isinstance(entry, Mapping)) or set(entry) != {
                    "protected", "signature"}:
                raise JWSError(
                    ReasonCode.JWS_MALFORMED,
                    f"signatures[{index}] must have exactly protected and signature",
                )
            protected_b64, signature_b64 = entry["protected"], entry["signature"]
            if not isinstance(protected_b64, str) or not isinstance(signature_b64, str):
                raise JWSError(ReasonCode.JWS_MALFORMED, f"signatures[{index}] members are strings")
            protected = _decode(protected_b64, f"signatures[{index}].protected")
            _validate(signature_b64, f"signatures[{index}].signature")
            signature = JWSSignature(protected_b64, signature_b64)
            object.__setattr__(signature, "_protected", protected)
            if signature in signatures:
                raise JWSError(ReasonCode.JWS_DUPLICATE_SIGNATURE,
                               f"signatures[{index}] repeats an earlier signature")
            signatures.append(signature)
        return _with_payload(cls(payload_b64, tuple(signatures)), payload)


def _with_payload(jws: GeneralJWS, payload: bytes) -> GeneralJWS:
    """``jws`` knowing its decoded payload already (the caller decoded or encoded it)."""
    object.__setattr__(jws, "_payload", payload)
    return jws


def _validate(text: str, what: str) -> None:
    """``_decode``'s refusal without the decoding (decoded later, once, where used)."""
    try:
        b64url_validate(text)
    except ValueError as exc:
        raise JWSError(ReasonCode.JWS_MALFORMED, f"{what} is not unpadded base64url") from exc


def _decode(text: str, what: str) -> bytes:
    try:
        return b64url_decode(text)
    except (ValueError, binascii.Error) as exc:
        raise JWSError(ReasonCode.JWS_MALFORMED, f"{what} is not unpadded base64url") from exc


def _protected_header(signer: Signer, typ: str, signed_at: dt.datetime) -> dict[str, Any]:
    return {
        "alg": signer.alg,
        "kid": signer.kid,
        "x5c": list(signer.x5c),
        "typ": typ,
        SIGNING_TIME: format_time(signed_at),
    }


def sign(payload: bytes, signer: Signer, *, typ: str, signed_at: dt.datetime) -> GeneralJWS:
    """Sign ``payload`` (normally the RFC 8785 bytes of an object) as a new General JWS."""
    require_aware(signed_at, "signed_at")
    protected_b64, payload_b64, signature_b64 = sign_raw(
        _protected_header(signer, typ, signed_at), payload, signer.key
    )
    return _with_payload(GeneralJWS(payload_b64, (JWSSignature(protected_b64, signature_b64),)),
                         bytes(payload))


def add_signature(jws: GeneralJWS, signer: Signer, *, typ: str,
                  signed_at: dt.datetime) -> GeneralJWS:
    """Return ``jws`` with one more signature over the same payload bytes.

    Refuses (JWS_DUPLICATE_SIGNATURE) a signer whose key already signed.
    """
    require_aware(signed_at, "signed_at")
    for signature in jws.signatures:
        header = _decode_header(signature)
        if header.get("kid") == signer.kid:
            raise JWSError(ReasonCode.JWS_DUPLICATE_SIGNATURE, "this key has already signed",
                           kid=signer.kid)
    protected_b64, _, signature_b64 = sign_raw(
        _protected_header(signer, typ, signed_at), jws.payload, signer.key
    )
    return _with_payload(GeneralJWS(jws.payload_b64, (*jws.signatures, JWSSignature(
        protected_b64, signature_b64))), jws.payload)


def _decode_header(signature: JWSSignature) -> dict[str, Any]:
    raw = signature.protected
    try:
        header = parse_json(raw, max_bytes=65_536, max_depth=4)
    except ProtocolError as exc:
        raise JWSError(exc.code, f"protected header: {exc.message}") from exc
    if not isinstance(header, dict):
        raise JWSError(ReasonCode.JWS_HEADER_INVALID, "the protected header must be an object")
    return header


# -- verification -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntegrityEvidence:
    """One signature verified against the key of its own ``x5c`` leaf (no trust yet)."""

    index: int
    header: Mapping[str, Any]
    alg: str
    kid: str
    typ: str
    signed_at: dt.datetime
    leaf: x509.Certificate
    intermediates: tuple[x509.Certificate, ...]


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """Integrity plus a chain validated to a trust anchor at the signing time."""

    integrity: IntegrityEvidence
    chain: ValidatedChain


@dataclass(frozen=True, slots=True)
class VerifiedJWS:
    """Evidence of a verified JWS: the payload bytes and every verified signature."""

    payload: bytes
    signatures: tuple[VerifiedSignature, ...]

    def payload_json(self, limits: Limits = DEFAULT_LIMITS) -> Any:
        return parse_json(self.payload, max_bytes=limits.max_document_bytes,
                          max_depth=limits.max_depth)


AnchorResolver = Callable[[IntegrityEvidence], Sequence[x509.Certificate]]


def check_integrity(
    jws: GeneralJWS,
    index: int,
    *,
    typ: str,
    allowed_algorithms: frozenset[str] = ALLOWED_ALGORITHMS,
    limits: Limits = DEFAULT_LIMITS,
) -> IntegrityEvidence:
    """Check signature ``index``: header profile, algorithm, kid, and the signature bytes.

    Steps: (1) ``alg`` on the allow-list, before any key is used; (2) ``crit``; (3) only
    profile members, each well-typed; (4) ``typ``; (5) ``sigT``; (6) ``x5c`` decodes within
    the chain limit; (7) ``alg`` matches the leaf key's type; (8) ``kid`` is the leaf key's
    thumbprint; (9) the signature verifies over the bytes as received.
    """
    signature = jws.signatures[index]
    header = _decode_header(signature)
    # Step 1
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in allowed_algorithms:
        raise JWSError(ReasonCode.ALG_NOT_ALLOWED, f"algorithm {alg!r} is not allowed",
                       allowed=sorted(allowed_algorithms))
    # Step 2
    crit = header.get("crit")
    if crit is not None and (
        not isinstance(crit, list) or not crit
        or any(not isinstance(name, str) or name not in _UNDERSTOOD_CRIT or name not in header
               for name in crit)
    ):
        raise JWSError(ReasonCode.CRIT_UNSUPPORTED, f"crit {crit!r} names unsupported members")
    # Step 3
    unknown = set(header) - _HEADER_MEMBERS
    if unknown:
        raise JWSError(ReasonCode.JWS_HEADER_INVALID,
                       f"header members outside the profile: {sorted(unknown)}")
    kid, x5c, header_typ, signed_text = (header.get(name) for name in
                                         ("kid", "x5c", "typ", SIGNING_TIME))
    if not isinstance(kid, str) or not isinstance(header_typ, str):
        raise JWSError(ReasonCode.JWS_HEADER_INVALID, "kid and typ must be strings")
    if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) for c in x5c):
        raise JWSError(ReasonCode.JWS_HEADER_INVALID, "x5c must be a non-empty array of strings")
    # Step 4
    if header_typ != typ:
        raise JWSError(ReasonCode.TYP_MISMATCH, f"typ is {header_typ!r}, expected {typ!r}")
    # Step 5
    try:
        signed_at = parse_time(signed_text)  # type: ignore[arg-type]
    except ValueError as exc:
        raise JWSError(ReasonCode.SIGNING_TIME_INVALID, f"sigT: {exc}") from exc
    # Step 6
    if len(x5c) > limits.max_chain_length:
        raise JWSError(ReasonCode.CHAIN_TOO_LONG,
                       f"x5c holds {len(x5c)} certificates, limit {limits.max_chain_length}")
    signer = _signer_key(tuple(x5c))
    leaf = signer.certificates[0]
    public_key = signer.public_key
    # Step 7
    if signer.alg_refusal is not None:
        raise JWSError(ReasonCode.ALG_NOT_ALLOWED, signer.alg_refusal.message) from signer.alg_refusal
    if alg != signer.alg:
        raise JWSError(ReasonCode.ALG_KEY_MISMATCH,
                       f"header alg {alg} but the certificate holds a {signer.alg} key")
    # Step 8
    if kid != signer.kid:
        raise JWSError(ReasonCode.KID_MISMATCH, "kid is not the signer key's RFC 7638 thumbprint")
    # Step 9
    if not verify_raw(signature.protected_b64, jws.payload_b64, signature.signature_b64,
                      public_key):
        raise JWSError(ReasonCode.SIGNATURE_INVALID,
                       f"signature {index} does not verify over the payload as received")
    return IntegrityEvidence(index, header, alg, kid, header_typ, signed_at, leaf,
                             signer.certificates[1:])


@dataclass(frozen=True, slots=True)
class _SignerKey:
    """What an ``x5c`` yields: its certificates, the leaf's key, its ``alg`` (or the refusal
    when the key type has none) and its RFC 7638 thumbprint."""

    certificates: tuple[x509.Certificate, ...]
    public_key: PublicKey
    alg: str
    alg_refusal: ProtocolError | None
    kid: str


@functools.lru_cache(maxsize=512)
def _signer_key(x5c: tuple[str, ...]) -> _SignerKey:
    """Decode an ``x5c`` (steps 6 to 8 of ``check_integrity``), memoised by its text: a
    pure function of the content, so a signer seen before costs no certificate parsing, and
    the same certificate objects come back (per-object caches downstream keep hitting).
    Refusals raise and are not memoised."""
    certificates: list[x509.Certificate] = []
    for position, text in enumerate(x5c):
        try:
            der = base64.b64decode(text, validate=True)
        except ValueError as exc:  # binascii.Error, and ValueError for non-ASCII text
            raise JWSError(ReasonCode.CERT_MALFORMED, f"x5c[{position}] is not base64") from exc
        certificates.append(load_certificate_der(der))
    public_key: PublicKey = certificates[0].public_key()  # type: ignore[assignment]
    try:
        alg = algorithm_for_key(public_key)
    except ProtocolError as exc:
        return _SignerKey(tuple(certificates), public_key, "", exc, "")
    return _SignerKey(tuple(certificates), public_key, alg, None, jwk_thumbprint(public_key))


def verify(
    jws: GeneralJWS,
    *,
    typ: str,
    anchors: Sequence[x509.Certificate] | AnchorResolver,
    at: dt.datetime,
    usage: CertUsage,
    allowed_algorithms: frozenset[str] = ALLOWED_ALGORITHMS,
    limits: Limits = DEFAULT_LIMITS,
    chain_at: dt.datetime | None = None,
) -> VerifiedJWS:
    """Verify every signature of ``jws`` at time ``at``; return evidence or raise.

    For each signature: ``check_integrity``; no two signatures by one key; the signing time
    not after ``at`` + allowed skew; the chain validated at the signing time to the anchors
    that ``anchors`` names (a fixed list, or a resolver given the integrity evidence).

    ``chain_at`` validates the chains at that time instead of the signing time. Transport
    signatures (envelopes, receipts) authenticate their sender *now*: their chains are
    validated at the time of receipt, since the signing time is only the signer's claim.
    """
    require_aware(at, "at")
    if chain_at is not None:
        require_aware(chain_at, "chain_at")
    skew = dt.timedelta(seconds=limits.max_clock_skew_seconds)
    verified: list[VerifiedSignature] = []
    seen_kids: set[str] = set()
    for index in range(len(jws.signatures)):
        evidence = check_integrity(jws, index, typ=typ, allowed_algorithms=allowed_algorithms,
                                   limits=limits)
        if evidence.kid in seen_kids:
            raise JWSError(ReasonCode.JWS_DUPLICATE_SIGNATURE,
                           f"signature {index} repeats a signer", kid=evidence.kid)
        seen_kids.add(evidence.kid)
        if evidence.signed_at > at + skew:
            raise JWSError(ReasonCode.SIGNING_TIME_INVALID,
                           f"signed at {format_time(evidence.signed_at)}, after {format_time(at)}")
        trusted = anchors(evidence) if callable(anchors) else anchors
        chain = validate_chain(evidence.leaf, evidence.intermediates, trusted,
                               at=chain_at or evidence.signed_at, usage=usage,
                               max_length=limits.max_chain_length)
        verified.append(VerifiedSignature(evidence, chain))
    return VerifiedJWS(jws.payload, tuple(verified))
