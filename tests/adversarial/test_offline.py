"""Attacks on offline verification: signed documents an attacker hands to a verifier.

Each case is one forged, tampered or out-of-scope signed document, checked three ways, as
CN-CUSTOMS (the receiver) would judge it:

- offline, ``tradeaccord doc verify FILE --registry CN.json --as CN-CUSTOMS --json``: exit 1
  (refused, not an error exit), no traceback, the exact reason code in the report;
- ``POST /v1/verify`` at CN: a verification *report* (200 by design: the request was good,
  the document is not), ``valid`` false, the same code — never a 5xx;
- nothing stored at either node changed.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from node.cli.main import build_app
from protocol.canonical import b64url_decode, b64url_encode, canonicalize
from protocol.certificates import generate_private_key, issue_document_signer
from protocol.jws import JWSType, Signer, add_signature
from protocol.signed_document import sign_document
from protocol.timeutil import format_time, utc_now
from tests.adversarial.corpus import (
    CN_ID,
    DAY,
    JP_ID,
    SG_ID,
    World,
    as_json,
    der_b64,
    document_payload,
    edit_header,
    flip,
    forged_jws,
    header_of,
    rewrite,
    rsa_signer,
    stored_state,
)
from tests.node.conftest import example


@dataclass(frozen=True)
class OfflineAttack:
    """One signed document an attacker presents, and the code a verifier must name."""

    id: str
    make: Callable[[World], bytes]
    code: str


def _doc(world: World, signer: Signer | None = None, *, issuer: str = SG_ID,
         **changes: Any) -> bytes:
    """A certificate of origin issued by ``issuer``, signed by ``signer`` (default: SG's
    document signer)."""
    return sign_document(document_payload(world, issuer, **changes),
                         signer or world.sg.document_signer(None), signed_at=utc_now()).to_json()


def _with_header(world: World, **changes: Any) -> bytes:
    signer = world.sg.document_signer(None)
    payload = canonicalize(document_payload(world))
    return forged_jws(payload, header_of(signer, JWSType.DOCUMENT, **changes), signer.key)


def _payload(world: World, raw: bytes) -> bytes:
    """``raw`` as the payload, honestly signed by SG's document signer."""
    signer = world.sg.document_signer(None)
    return forged_jws(raw, header_of(signer, JWSType.DOCUMENT), signer.key)


def _changed_payload(world: World) -> bytes:
    def edit(data: dict[str, Any]) -> None:
        payload = json.loads(b64url_decode(data["payload"]))
        payload["body"] = {**payload["body"], "remarks": "10 000 more units"}
        data["payload"] = b64url_encode(canonicalize(payload))
    return rewrite(_doc(world), edit)


def _signed_twice_by_one_key(world: World) -> bytes:
    data = json.loads(_doc(world))
    data["signatures"].append(dict(data["signatures"][0]))
    return as_json(data)


def _expired_signer(world: World) -> Signer:
    def make() -> Signer:
        root = world.sg.root_signer(None)
        key = generate_private_key()
        certificate = issue_document_signer(root_key=root.key, root_cert=root.certificate,
                                            public_key=key.public_key(),
                                            not_before=utc_now() - 20 * DAY, days=5)
        return Signer(key, (certificate,))
    return world.once("expired-document-signer", make)  # type: ignore[no-any-return]


def _rsa(world: World, alg: str) -> bytes:
    _key, certificate = rsa_signer(world)
    return _with_header(world, alg=alg, x5c=[der_b64(certificate)])


def _other_type(world: World) -> bytes:
    document = {**example("phytosanitary-certificate"), "id": str(uuid.uuid4()),
                "issuer": SG_ID, "issuedAt": format_time(utc_now().replace(microsecond=0))}
    return sign_document(document, world.sg.document_signer(None), signed_at=utc_now()).to_json()


def _endorsed_by_look_alike(world: World) -> bytes:
    from protocol.jws import GeneralJWS

    jws = GeneralJWS.parse(_doc(world))
    return add_signature(jws, world.impostor.document_signer(None), typ=JWSType.DOCUMENT,
                         signed_at=utc_now()).to_json()


CASES: tuple[OfflineAttack, ...] = (
    # -- who signed
    OfflineAttack("signed-by-issuer-node-key-not-document-signer",
                  lambda w: _doc(w, w.sg.node_signer(None)), "CERT_USAGE_INVALID"),
    OfflineAttack("signed-by-issuer-root-key-directly",
                  lambda w: _doc(w, w.sg.root_signer(None)), "CERT_USAGE_INVALID"),
    OfflineAttack("signed-under-look-alike-root-same-names",
                  lambda w: _doc(w, w.impostor.document_signer(None)), "CHAIN_UNTRUSTED"),
    OfflineAttack("genuine-document-endorsed-by-look-alike-root", _endorsed_by_look_alike,
                  "CHAIN_UNTRUSTED"),
    OfflineAttack("issuer-not-in-registry",
                  lambda w: _doc(w, w.jp.document_signer(None), issuer=JP_ID),
                  "CHAIN_UNTRUSTED"),
    OfflineAttack("issuer-claims-another-authority",
                  lambda w: _doc(w, w.jp.document_signer(None)), "CHAIN_UNTRUSTED"),
    OfflineAttack("receiver-signs-as-the-issuer",
                  lambda w: _doc(w, w.cn.document_signer(None)), "ISSUER_MISMATCH"),
    OfflineAttack("expired-document-signer", lambda w: _doc(w, _expired_signer(w)),
                  "CERT_EXPIRED"),
    # -- changed after signing
    OfflineAttack("payload-changed-after-signing", _changed_payload, "SIGNATURE_INVALID"),
    OfflineAttack("signature-byte-changed",
                  lambda w: rewrite(_doc(w), lambda d: d["signatures"][0].update(
                      signature=flip(d["signatures"][0]["signature"]))), "SIGNATURE_INVALID"),
    OfflineAttack("header-changed-after-signing",
                  lambda w: edit_header(_doc(w), lambda h: h.update(
                      sigT=format_time(utc_now() - dt.timedelta(seconds=9)))),
                  "SIGNATURE_INVALID"),
    OfflineAttack("one-key-signed-twice", _signed_twice_by_one_key, "JWS_DUPLICATE_SIGNATURE"),
    # -- algorithms, key types, header profile
    OfflineAttack("alg-none", lambda w: _with_header(w, alg="none"), "ALG_NOT_ALLOWED"),
    OfflineAttack("alg-hs256", lambda w: _with_header(w, alg="HS256"), "ALG_NOT_ALLOWED"),
    OfflineAttack("alg-es256-for-ed25519-key", lambda w: _with_header(w, alg="ES256"),
                  "ALG_KEY_MISMATCH"),
    OfflineAttack("kty-rsa-certificate", lambda w: _rsa(w, "EdDSA"), "ALG_NOT_ALLOWED"),
    OfflineAttack("kid-of-another-key",
                  lambda w: _with_header(w, kid=w.cn.document_signer(None).kid), "KID_MISMATCH"),
    OfflineAttack("typ-envelope", lambda w: _with_header(w, typ=JWSType.ENVELOPE),
                  "TYP_MISMATCH"),
    OfflineAttack("header-x5u-member", lambda w: _with_header(w, x5u="http://127.0.0.1:1/"),
                  "JWS_HEADER_INVALID"),
    OfflineAttack("crit-unknown", lambda w: _with_header(w, crit=["b64"]), "CRIT_UNSUPPORTED"),
    OfflineAttack("signing-time-a-day-ahead",
                  lambda w: _with_header(w, sigT=format_time(utc_now() + DAY)),
                  "SIGNING_TIME_INVALID"),
    OfflineAttack("x5c-non-ascii", lambda w: _with_header(w, x5c=["MIIB\u00e9"]),
                  "CERT_MALFORMED"),
    OfflineAttack("x5c-garbage-der", lambda w: _with_header(w, x5c=["AAAA"]), "CERT_MALFORMED"),
    OfflineAttack("x5c-chain-too-long",
                  lambda w: _with_header(w, x5c=list(w.sg.document_signer(None).x5c) * 12),
                  "CHAIN_TOO_LONG"),
    # -- content
    OfflineAttack("type-not-covered-by-any-agreement", _other_type, "DOC_TYPE_NOT_COVERED"),
    OfflineAttack("schema-invalid-but-signed",
                  lambda w: _payload(w, canonicalize({**document_payload(w), "body": "x"})),
                  "SCHEMA_INVALID"),
    OfflineAttack("payload-with-duplicate-member",
                  lambda w: _payload(w, b'{"id": "a", "id": "b"}'), "JSON_DUPLICATE_MEMBER"),
    OfflineAttack("payload-with-nan", lambda w: _payload(w, b'{"id": NaN}'),
                  "JSON_NON_FINITE_NUMBER"),
    OfflineAttack("container-not-a-jws", lambda w: b'{"payload": 1}', "JWS_MALFORMED"),
)


runner = CliRunner()


@pytest.fixture(scope="module")
def registry_file(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    answer = world.net.request(CN_ID, "GET", "/v1/registry", caller="operator")
    assert answer.status_code == 200, answer.text
    path = tmp_path_factory.mktemp("offline") / "cn-registry.json"
    path.write_text(json.dumps(answer.json()["registry"]))
    return path


@pytest.mark.parametrize("attack", CASES, ids=[case.id for case in CASES])
def test_offline_verification_refuses(world: World, registry_file: Path, tmp_path: Path,
                                      attack: OfflineAttack) -> None:
    document = attack.make(world)
    before = {aid: stored_state(node.ctx.engine) for aid, node in world.net.nodes.items()}
    source = tmp_path / "document.json"
    source.write_bytes(document)
    result = runner.invoke(build_app(), ["doc", "verify", str(source), "--registry",
                                         str(registry_file), "--as", CN_ID, "--json"])
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit), result.exception
    report = json.loads(result.output)
    assert report["valid"] is False and attack.code in report["reasons"], report
    answer = world.net.request(CN_ID, "POST", "/v1/verify", caller="trader", content=document,
                               headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["valid"] is False and attack.code in answer.json()["reasons"], \
        answer.json()
    after = {aid: stored_state(node.ctx.engine) for aid, node in world.net.nodes.items()}
    assert after == before
