"""Ways to spoil a signed object, each with the reason code a verifier must answer.

Shared by the vector pack generator (fixed keys, files) and the conformance kit's sender
scenarios (the kit's live keys, sent to a node): one catalogue, so the vectors and the
scenarios cannot disagree on what a refusal looks like. Every function returns the bytes
a peer would send; none of them verifies anything.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from protocol.canonical import b64url_decode, b64url_encode, canonicalize
from protocol.certificates import certificate_to_der
from protocol.jws import SIGNING_TIME, GeneralJWS, JWSSignature, Signer, sign_raw
from protocol.timeutil import format_time

__all__ = [
    "alg_none",
    "changed_payload",
    "duplicate_member",
    "kid_mismatch",
    "malformed_json",
    "same_key_twice",
    "signed_with_header",
]


def header_for(signer: Signer, typ: str, signed_at: dt.datetime) -> dict[str, Any]:
    """The protected header ``protocol.jws.sign`` would write."""
    return {
        "alg": signer.alg,
        "kid": signer.kid,
        "x5c": [base64.b64encode(certificate_to_der(c)).decode("ascii") for c in signer.chain],
        "typ": typ,
        SIGNING_TIME: format_time(signed_at),
    }


def signed_with_header(payload: bytes, signer: Signer, header: Mapping[str, Any]) -> GeneralJWS:
    """``payload`` validly signed by ``signer`` under an arbitrary protected ``header``."""
    protected_b64, payload_b64, signature_b64 = sign_raw(header, payload, signer.key)
    return GeneralJWS(payload_b64, (JWSSignature(protected_b64, signature_b64),))


def changed_payload(jws: GeneralJWS, edit: Any) -> bytes:
    """The signature kept over a payload that ``edit`` (dict → None) changed:
    SIGNATURE_INVALID."""
    payload = json.loads(jws.payload)
    edit(payload)
    return canonicalize({"payload": b64url_encode(canonicalize(payload)),
                         "signatures": [s.to_dict() for s in jws.signatures]})


def alg_none(jws: GeneralJWS) -> bytes:
    """The first signature's header says ``alg: none`` (signature unchanged):
    ALG_NOT_ALLOWED."""
    header = json.loads(b64url_decode(jws.signatures[0].protected_b64))
    header["alg"] = "none"
    first = {"protected": b64url_encode(canonicalize(header)), "signature": ""}
    return canonicalize({"payload": jws.payload_b64, "signatures": [first]})


def kid_mismatch(payload: bytes, signer: Signer, typ: str, signed_at: dt.datetime) -> bytes:
    """A valid signature whose ``kid`` is not the signer key's thumbprint: KID_MISMATCH."""
    header = header_for(signer, typ, signed_at)
    header["kid"] = b64url_encode(b"\x00" * 32)
    return signed_with_header(payload, signer, header).to_json()


def same_key_twice(payload: bytes, signer: Signer, typ: str, signed_at: dt.datetime) -> bytes:
    """Two signatures by one key (different signing times): JWS_DUPLICATE_SIGNATURE."""
    first = signed_with_header(payload, signer, header_for(signer, typ, signed_at))
    later = signed_with_header(payload, signer,
                               header_for(signer, typ, signed_at + dt.timedelta(seconds=1)))
    return GeneralJWS(first.payload_b64, (*first.signatures, *later.signatures)).to_json()


def malformed_json(jws: GeneralJWS) -> bytes:
    """The JWS cut short: JSON_MALFORMED."""
    data = jws.to_json()
    return data[: len(data) // 2]


def duplicate_member(jws: GeneralJWS) -> bytes:
    """The JWS with its ``payload`` member written twice: JSON_DUPLICATE_MEMBER."""
    signatures = json.dumps([s.to_dict() for s in jws.signatures], separators=(",", ":"))
    return (f'{{"payload":"{jws.payload_b64}","payload":"{jws.payload_b64}",'
            f'"signatures":{signatures}}}').encode("ascii")
