"""X.509 profiles and chain validation at an explicit time; cross-checked with ``openssl``."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
import subprocess
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from protocol.certificates import (
    DOCUMENT_SIGNING_OID,
    ENVELOPE_SIGNING_OID,
    LEGACY_ARC,
    LEGACY_DOCUMENT_SIGNING_OID,
    LEGACY_ENVELOPE_SIGNING_OID,
    TRADEACCORD_ARC,
    CertUsage,
    KeyAlgorithm,
    authority_id_of,
    certificate_to_der,
    certificate_to_pem,
    fingerprint,
    generate_private_key,
    issue_document_signer,
    issue_root,
    issue_rotation_certificate,
    key_algorithm,
    load_certificate_der,
    load_certificate_pem,
    load_private_key_pem,
    private_key_to_pem,
    validate_chain,
    write_private_key,
)
from protocol.errors import CertificateError, KeyLoadError, ProtocolError
from protocol.reason_codes import ReasonCode

SECOND = dt.timedelta(seconds=1)


def _refusal(leaf: x509.Certificate, intermediates: list[x509.Certificate],
             anchors: list[x509.Certificate], *, at: dt.datetime,
             usage: CertUsage = CertUsage.DOCUMENT_SIGNING, max_length: int = 4) -> ReasonCode:
    with pytest.raises(CertificateError) as info:
        validate_chain(leaf, intermediates, anchors, at=at, usage=usage, max_length=max_length)
    return info.value.code


def _tampered(cert: x509.Certificate) -> x509.Certificate:
    """``cert`` with one byte of its signature (the DER's last byte) flipped, reloaded."""
    der = bytearray(certificate_to_der(cert))
    der[-1] ^= 0x01
    return load_certificate_der(bytes(der))


# -- profiles ----------------------------------------------------------------------------------


def test_profiles(authority, t0) -> None:
    root, signer, node = authority.root, authority.signer_cert, authority.node_cert
    assert key_algorithm(root.public_key()) is authority.algorithm
    for cert in (root, signer, node):
        assert authority_id_of(cert) == "SG-CUSTOMS"
        assert cert.not_valid_before_utc == t0
    assert root.subject == root.issuer
    root_bc = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert root_bc.critical and root_bc.value.ca and root_bc.value.path_length == 1
    signer_eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(signer_eku) == [DOCUMENT_SIGNING_OID]
    node_eku = node.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(node_eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH,
                             ENVELOPE_SIGNING_OID}
    assert signer.not_valid_after_utc == t0 + dt.timedelta(days=365)


def test_eku_oids_sit_under_an_arc_every_toolkit_parses() -> None:
    # The project's UUID in Microsoft's GUID arc, as its oidgen splits it; every component
    # below 2^28 (Go's crypto/x509 refused the 128-bit component of the 2.25 arc).
    project = uuid.UUID(int=int(LEGACY_ARC.removeprefix("2.25.")))
    hexed = project.hex
    parts = [hexed[i:j] for i, j in ((0, 4), (4, 8), (8, 12), (12, 16), (16, 20), (20, 26),
                                     (26, 32))]
    derived = "1.2.840.113556.1.8000.2554." + ".".join(str(int(part, 16)) for part in parts)
    assert derived == TRADEACCORD_ARC
    for oid in (DOCUMENT_SIGNING_OID, ENVELOPE_SIGNING_OID):
        assert oid.dotted_string.startswith(TRADEACCORD_ARC + ".")
        assert all(int(component) < 2**28 for component in oid.dotted_string.split("."))


@pytest.mark.parametrize(("usage", "legacy"), [
    (CertUsage.DOCUMENT_SIGNING, LEGACY_DOCUMENT_SIGNING_OID),
    (CertUsage.ENVELOPE_SIGNING, LEGACY_ENVELOPE_SIGNING_OID)], ids=["document", "envelope"])
def test_certificates_with_the_legacy_eku_oids_still_validate(sg, t0, at, usage, legacy) -> None:
    # Certificates issued before the move carry the 2.25 OIDs: they stay valid.
    key = generate_private_key()
    leaf = (x509.CertificateBuilder()
            .subject_name(sg.signer_cert.subject).issuer_name(sg.root.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(t0).not_valid_after(t0 + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([legacy]), critical=False)
            .sign(sg.root_key, None))
    assert validate_chain(leaf, [], [sg.root], at=at, usage=usage).leaf == leaf
    other = CertUsage.ENVELOPE_SIGNING if usage is CertUsage.DOCUMENT_SIGNING else \
        CertUsage.DOCUMENT_SIGNING
    assert _refusal(leaf, [], [sg.root], at=at, usage=other) is ReasonCode.CERT_USAGE_INVALID


def test_child_never_outlives_its_issuer(sg, t0) -> None:
    key = generate_private_key()
    cert = issue_document_signer(root_key=sg.root_key, root_cert=sg.root,
                                 public_key=key.public_key(), not_before=t0, days=100_000)
    assert cert.not_valid_after_utc == sg.root.not_valid_after_utc


def test_pem_and_der_round_trip(sg) -> None:
    assert load_certificate_pem(certificate_to_pem(sg.signer_cert)) == sg.signer_cert
    assert load_certificate_der(certificate_to_der(sg.signer_cert)) == sg.signer_cert
    assert fingerprint(sg.signer_cert) == fingerprint(load_certificate_der(
        certificate_to_der(sg.signer_cert)))


@pytest.mark.parametrize("data", [b"", b"not a certificate", b"\x30\x03\x02\x01\x01"])
def test_malformed_certificate(data: bytes) -> None:
    with pytest.raises(CertificateError) as der:
        load_certificate_der(data)
    with pytest.raises(CertificateError) as pem:
        load_certificate_pem(data)
    assert der.value.code is pem.value.code is ReasonCode.CERT_MALFORMED


def _patched(cert: x509.Certificate, old: bytes, new: bytes) -> bytes:
    der = certificate_to_der(cert)
    assert der.count(old) == 1 and len(old) == len(new)
    return der.replace(old, new)


def test_lazily_decoded_defects_are_cert_malformed(sg, t0) -> None:
    """A key of unknown type, or a duplicated extension, would only surface when first
    used, as a foreign exception (UnsupportedAlgorithm, DuplicateExtension)."""
    # The subjectPublicKeyInfo's algorithm id-Ed25519 (1.3.101.112) becomes 1.3.101.99.
    unknown_key_type = _patched(sg.signer_cert, bytes.fromhex("302a300506032b6570"),
                                bytes.fromhex("302a300506032b6563"))
    key = generate_private_key()
    cert = x509.CertificateBuilder(
        issuer_name=sg.root.subject, subject_name=sg.root.subject,
        public_key=key.public_key(), serial_number=1, not_valid_before=t0,
        not_valid_after=t0 + dt.timedelta(days=1),
        extensions=[],
    ).add_extension(x509.UnrecognizedExtension(ObjectIdentifier("1.2.3.4.5"), b"\x05\x00"),
                    critical=False).add_extension(
        x509.UnrecognizedExtension(ObjectIdentifier("1.2.3.4.6"), b"\x05\x00"), critical=False,
    ).sign(sg.root_key, None)
    duplicate_extension = _patched(cert, bytes.fromhex("06042a030406"),
                                   bytes.fromhex("06042a030405"))
    # The version field [0] INTEGER 2 (v3) becomes 6, which cryptography refuses with
    # InvalidVersion, not a ValueError (found by the header byte-change property).
    bad_version = _patched(sg.signer_cert, bytes.fromhex("a003020102"),
                           bytes.fromhex("a003020106"))
    for der in (unknown_key_type, duplicate_extension, bad_version):
        with pytest.raises(CertificateError) as info:
            load_certificate_der(der)
        assert info.value.code is ReasonCode.CERT_MALFORMED


# -- validate_chain: success -------------------------------------------------------------------


def test_validate_chain_returns_leaf_and_anchor(authority, at) -> None:
    chain = validate_chain(authority.signer_cert, [], [authority.root], at=at,
                           usage=CertUsage.DOCUMENT_SIGNING)
    assert (chain.leaf, chain.anchor) == (authority.signer_cert, authority.root)
    assert chain.certificates == (authority.signer_cert, authority.root)
    assert (chain.at, chain.usage) == (at, CertUsage.DOCUMENT_SIGNING)
    node = validate_chain(authority.node_cert, [], [authority.root], at=at,
                          usage=CertUsage.ENVELOPE_SIGNING)
    assert (node.leaf, node.anchor) == (authority.node_cert, authority.root)


def test_picks_the_right_anchor_among_several(sg, sg_p256, stranger, at) -> None:
    chain = validate_chain(sg.signer_cert, [], [stranger.root, sg_p256.root, sg.root], at=at,
                           usage=CertUsage.DOCUMENT_SIGNING)
    assert chain.anchor == sg.root


def test_root_signing_with_the_root_itself(authority, at) -> None:
    chain = validate_chain(authority.root, [], [authority.root], at=at,
                           usage=CertUsage.ROOT_SIGNING)
    assert chain.certificates == (authority.root,)


def test_naive_time_is_misuse(sg, at) -> None:
    with pytest.raises(ValueError):
        validate_chain(sg.signer_cert, [], [sg.root], at=at.replace(tzinfo=None),
                       usage=CertUsage.DOCUMENT_SIGNING)


# -- validate_chain: refusals --------------------------------------------------------------------


def test_rejects_chain_from_unknown_root(sg, stranger, at) -> None:
    assert _refusal(sg.signer_cert, [], [stranger.root], at=at) is ReasonCode.CHAIN_UNTRUSTED
    assert _refusal(sg.signer_cert, [], [], at=at) is ReasonCode.CHAIN_UNTRUSTED


def test_rejects_same_name_root_with_another_key(sg, sg_p256, at) -> None:
    # Both roots are "SG-CUSTOMS Root CA"; the signer's authority key identifier tells them apart.
    assert sg.root.subject == sg_p256.root.subject
    assert _refusal(sg.signer_cert, [], [sg_p256.root], at=at) is ReasonCode.CHAIN_UNTRUSTED


def test_validity_boundaries_are_inclusive_to_the_second(authority) -> None:
    leaf, anchors = authority.signer_cert, [authority.root]
    not_before, not_after = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    assert not_before.microsecond == not_after.microsecond == 0
    for edge in (not_before, not_after):
        validate_chain(leaf, [], anchors, at=edge, usage=CertUsage.DOCUMENT_SIGNING)
    assert _refusal(leaf, [], anchors, at=not_before - SECOND) is ReasonCode.CERT_NOT_YET_VALID
    assert _refusal(leaf, [], anchors, at=not_after + SECOND) is ReasonCode.CERT_EXPIRED


def test_anchor_validity_is_checked(sg, t0) -> None:
    short_root = issue_root(key=sg.root_key, authority_id="SG-CUSTOMS", country="SG",
                            organisation="SG-CUSTOMS Authority", not_before=t0, days=30)
    # The signer was issued under the 10-year root; the same key in a 30-day root verifies it.
    end = short_root.not_valid_after_utc
    validate_chain(sg.signer_cert, [], [short_root], at=end, usage=CertUsage.DOCUMENT_SIGNING)
    assert _refusal(sg.signer_cert, [], [short_root], at=end + SECOND) is ReasonCode.CERT_EXPIRED


@pytest.mark.parametrize(
    ("certificate", "usage"),
    [("node_cert", CertUsage.DOCUMENT_SIGNING), ("signer_cert", CertUsage.ENVELOPE_SIGNING),
     ("root", CertUsage.DOCUMENT_SIGNING), ("root", CertUsage.ENVELOPE_SIGNING)],
    ids=["node-as-document-signer", "document-signer-as-node", "root-as-document-signer",
         "root-as-node"],
)
def test_rejects_wrong_usage(authority, certificate: str, usage: CertUsage, at) -> None:
    leaf = getattr(authority, certificate)
    assert _refusal(leaf, [], [authority.root], usage=usage, at=at) is ReasonCode.CERT_USAGE_INVALID


def test_rejects_root_signing_by_a_non_anchor(authority, at) -> None:
    assert _refusal(authority.signer_cert, [], [authority.root],
                    usage=CertUsage.ROOT_SIGNING, at=at) is ReasonCode.CHAIN_UNTRUSTED


def test_rejects_tampered_certificate(authority, at) -> None:
    tampered = _tampered(authority.signer_cert)
    assert tampered.signature != authority.signer_cert.signature
    assert _refusal(tampered, [], [authority.root], at=at) is ReasonCode.CHAIN_INVALID


def test_rejects_tampered_intermediate(sg, make_authority, at, t0) -> None:
    new = make_authority("SG-CUSTOMS", KeyAlgorithm.P256)
    cross = issue_rotation_certificate(old_root_key=sg.root_key, old_root_cert=sg.root,
                                       new_root_cert=new.root, not_before=t0)
    assert _refusal(new.signer_cert, [_tampered(cross)], [sg.root], at=at) is ReasonCode.CHAIN_INVALID


def test_rejects_certificate_issued_by_an_end_entity(sg, at, t0) -> None:
    key = generate_private_key()
    leaf = issue_document_signer(root_key=sg.signer_key, root_cert=sg.signer_cert,
                                 public_key=key.public_key(), not_before=t0)
    assert _refusal(leaf, [sg.signer_cert], [sg.root], at=at) is ReasonCode.CHAIN_INVALID


def test_rejects_chain_too_long(sg, at) -> None:
    filler = [sg.node_cert] * 4
    assert _refusal(sg.signer_cert, filler, [sg.root], at=at) is ReasonCode.CHAIN_TOO_LONG
    assert _refusal(sg.signer_cert, [sg.node_cert], [sg.root],
                    max_length=1, at=at) is ReasonCode.CHAIN_TOO_LONG


# -- rotation ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rotation(sg, make_authority, t0):
    """A new root for SG-CUSTOMS (same name, new key) and the old root's cross-certificate."""
    new = make_authority("SG-CUSTOMS", KeyAlgorithm.P256)
    cross = issue_rotation_certificate(old_root_key=sg.root_key, old_root_cert=sg.root,
                                       new_root_cert=new.root, not_before=t0)
    return new, cross


def test_rotation_cross_certificate_links_new_signer_to_old_anchor(sg, rotation, at) -> None:
    new, cross = rotation
    assert cross.subject == new.root.subject and cross.issuer == sg.root.subject
    chain = validate_chain(new.signer_cert, [cross], [sg.root], at=at,
                           usage=CertUsage.DOCUMENT_SIGNING)
    assert chain.certificates == (new.signer_cert, cross, sg.root)
    assert _refusal(new.signer_cert, [], [sg.root], at=at) is ReasonCode.CHAIN_UNTRUSTED
    # Signers under the old root still validate with the cross-certificate lying around.
    assert validate_chain(sg.signer_cert, [cross], [sg.root], at=at,
                          usage=CertUsage.DOCUMENT_SIGNING).anchor == sg.root


def test_rejects_path_length_violation(sg, make_authority, at, t0) -> None:
    # root --cross--> second root --cross--> third root --> signer: the first cross-certificate
    # has pathLenConstraint 0 but another CA sits below it.
    second = make_authority("SG-CUSTOMS-TWO", KeyAlgorithm.ED25519)
    third = make_authority("SG-CUSTOMS-THREE", KeyAlgorithm.ED25519)
    first_cross = issue_rotation_certificate(old_root_key=sg.root_key, old_root_cert=sg.root,
                                             new_root_cert=second.root, not_before=t0)
    second_cross = issue_rotation_certificate(old_root_key=second.root_key,
                                              old_root_cert=second.root,
                                              new_root_cert=third.root, not_before=t0)
    assert _refusal(third.signer_cert, [first_cross, second_cross],
                    [sg.root], at=at) is ReasonCode.CHAIN_INVALID


# -- openssl verify (an independent X.509 implementation) ----------------------------------------

OPENSSL = shutil.which("openssl")


@pytest.fixture
def needs_openssl() -> None:
    """Skip, saying why, without the openssl binary; fail instead where the interop
    cross-checks are required (``TRADEACCORD_REQUIRE_INTEROP=1``, as in CI)."""
    if OPENSSL is not None:
        return
    message = "the openssl cross-checks need the openssl binary on PATH"
    if os.environ.get("TRADEACCORD_REQUIRE_INTEROP") == "1":
        pytest.fail(f"TRADEACCORD_REQUIRE_INTEROP=1 but {message}")
    pytest.skip(message)



def _openssl_verify(tmp_path: Path, leaf: x509.Certificate, root: x509.Certificate,
                    at: dt.datetime, untrusted: tuple[x509.Certificate, ...] = (),
                    ) -> subprocess.CompletedProcess[str]:
    (tmp_path / "root.pem").write_bytes(certificate_to_pem(root))
    (tmp_path / "leaf.pem").write_bytes(certificate_to_pem(leaf))
    command = [OPENSSL or "openssl", "verify", "-attime", str(int(at.timestamp())),
               "-CAfile", str(tmp_path / "root.pem")]
    if untrusted:
        (tmp_path / "untrusted.pem").write_bytes(b"".join(map(certificate_to_pem, untrusted)))
        command += ["-untrusted", str(tmp_path / "untrusted.pem")]
    return subprocess.run([*command, str(tmp_path / "leaf.pem")], capture_output=True, text=True,
                          check=False, timeout=30)


@pytest.mark.usefixtures("needs_openssl")
@pytest.mark.parametrize("certificate", ["signer_cert", "node_cert"])
def test_openssl_accepts_our_chain(tmp_path: Path, authority, certificate: str, at) -> None:
    result = _openssl_verify(tmp_path, getattr(authority, certificate), authority.root, at)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.usefixtures("needs_openssl")
def test_openssl_accepts_our_rotation_chain(tmp_path: Path, sg, rotation, at) -> None:
    new, cross = rotation
    result = _openssl_verify(tmp_path, new.signer_cert, sg.root, at, (cross,))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.usefixtures("needs_openssl")
def test_openssl_rejects_tampered_chain(tmp_path: Path, authority, at) -> None:
    result = _openssl_verify(tmp_path, _tampered(authority.signer_cert), authority.root, at)
    assert result.returncode != 0


@pytest.mark.usefixtures("needs_openssl")
def test_openssl_rejects_chain_to_another_root(tmp_path: Path, sg, stranger, at) -> None:
    assert _openssl_verify(tmp_path, sg.signer_cert, stranger.root, at).returncode != 0


# -- private keys --------------------------------------------------------------------------------

PASSPHRASE = b"correct horse battery staple"


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm), ids=[a.value for a in KeyAlgorithm])
def test_private_key_pem_round_trip_with_passphrase(algorithm: KeyAlgorithm) -> None:
    key = generate_private_key(algorithm)
    pem = private_key_to_pem(key, PASSPHRASE)
    assert b"ENCRYPTED PRIVATE KEY" in pem
    loaded = load_private_key_pem(pem, PASSPHRASE)
    assert loaded.public_key() == key.public_key()
    plain = private_key_to_pem(key, None)
    assert load_private_key_pem(plain, None).public_key() == key.public_key()


@pytest.mark.parametrize(
    ("pem_passphrase", "given"),
    [(PASSPHRASE, b"wrong passphrase 12345"), (PASSPHRASE, None), (None, PASSPHRASE)],
    ids=["wrong-passphrase", "missing-passphrase", "passphrase-for-plain-key"],
)
def test_key_unavailable(pem_passphrase: bytes | None, given: bytes | None) -> None:
    pem = private_key_to_pem(generate_private_key(), pem_passphrase)
    with pytest.raises(KeyLoadError) as info:
        load_private_key_pem(pem, given)
    error = info.value
    assert error.code is ReasonCode.KEY_UNAVAILABLE
    shown = f"{error} {error.message} {error.diagnostics()} {error.context} {error.__cause__}"
    for secret in (PASSPHRASE, given or b""):
        if secret:
            assert secret.decode() not in shown


@pytest.mark.parametrize("kind", ["junk", "p384", "rsa"])
def test_key_of_another_type_is_unavailable(kind: str) -> None:
    pem = {
        "junk": lambda: b"not a key",
        "p384": lambda: private_key_to_pem(ec.generate_private_key(ec.SECP384R1()), None),
        "rsa": lambda: private_key_to_pem(
            rsa.generate_private_key(public_exponent=65537, key_size=1024), None),
    }[kind]()
    with pytest.raises(KeyLoadError) as info:
        load_private_key_pem(pem, None)
    assert info.value.code is ReasonCode.KEY_UNAVAILABLE


def test_write_private_key_is_owner_only(tmp_path: Path) -> None:
    key = generate_private_key()
    path = tmp_path / "signer.key"
    write_private_key(path, key, PASSPHRASE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_private_key_pem(path.read_bytes(), PASSPHRASE).public_key() == key.public_key()


def test_key_algorithm_refuses_other_keys() -> None:
    with pytest.raises(ProtocolError) as info:
        key_algorithm(ec.generate_private_key(ec.SECP384R1()))
    assert info.value.code is ReasonCode.ALG_NOT_ALLOWED
