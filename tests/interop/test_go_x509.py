"""Our certificates read by another X.509 implementation: Go's ``crypto/x509``.

``parse_certs.go`` (run with ``go run``) parses a root, a document-signer and a node
certificate as TradeAccord issues them, prints their extended key usages and checks that
they chain to the root. Before docs/decisions/0013-eku-oid-arc.md our extended key usages
sat under ``2.25.<uuid>``, a 128-bit component that Go refuses outright ("invalid extended
key usages"); the last test keeps that evidence.

Without the ``go`` toolchain the tests skip, saying so; ``TRADEACCORD_REQUIRE_INTEROP=1``
(set by ``.ci/run``) turns the skip into a failure.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from protocol.certificates import (
    DOCUMENT_SIGNING_OID,
    ENVELOPE_SIGNING_OID,
    LEGACY_DOCUMENT_SIGNING_OID,
    KeyAlgorithm,
    PrivateKey,
    certificate_to_pem,
    generate_private_key,
    issue_document_signer,
    issue_node_certificate,
    issue_root,
)
from protocol.timeutil import utc_now

PROGRAM = Path(__file__).resolve().parent / "parse_certs.go"


@pytest.fixture(scope="module")
def go() -> str:
    found = shutil.which("go")
    if found is None:
        message = ("Go interop tests need the go toolchain on PATH (apt-get install "
                   "golang-go); .ci/run installs it and sets TRADEACCORD_REQUIRE_INTEROP=1")
        if os.environ.get("TRADEACCORD_REQUIRE_INTEROP") == "1":
            pytest.fail(f"TRADEACCORD_REQUIRE_INTEROP=1 but no go: {message}")
        pytest.skip(message)
    return found


def _go_reports(go: str, directory: Path, certificates: dict[str, x509.Certificate]
                ) -> dict[str, dict[str, Any]]:
    """Run the Go program on the certificates (the first is the root)."""
    paths = []
    for name, certificate in certificates.items():
        path = directory / f"{name}.pem"
        path.write_bytes(certificate_to_pem(certificate))
        paths.append(str(path))
    env = {**os.environ, "GOTOOLCHAIN": "local"}  # never download another toolchain
    result = subprocess.run([go, "run", str(PROGRAM), *paths], capture_output=True, text=True,
                            timeout=300, check=False, env=env, cwd=directory)
    assert result.returncode == 0, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    return {Path(report["file"]).stem: report for report in reports}


def _authority(algorithm: KeyAlgorithm) -> tuple[PrivateKey, dict[str, x509.Certificate]]:
    not_before = utc_now() - dt.timedelta(hours=1)
    root_key = generate_private_key(algorithm)
    root = issue_root(key=root_key, authority_id="SG-CUSTOMS", country="SG",
                      organisation="Singapore Customs", not_before=not_before)
    signer = issue_document_signer(root_key=root_key, root_cert=root,
                                   public_key=generate_private_key(algorithm).public_key(),
                                   not_before=not_before)
    node = issue_node_certificate(root_key=root_key, root_cert=root,
                                  public_key=generate_private_key(algorithm).public_key(),
                                  not_before=not_before)
    return root_key, {"root": root, "signer": signer, "node": node}


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm), ids=[a.value for a in KeyAlgorithm])
def test_go_parses_our_root_signer_and_node_certificates_and_their_usages(
        go: str, tmp_path: Path, algorithm: KeyAlgorithm) -> None:
    _, certificates = _authority(algorithm)
    reports = _go_reports(go, tmp_path, certificates)
    for name in ("root", "signer", "node"):
        assert reports[name].get("error") is None, reports[name]
        assert reports[name]["verified"] is True
    assert reports["root"]["extKeyUsage"] == []
    assert reports["signer"]["extKeyUsage"] == [DOCUMENT_SIGNING_OID.dotted_string]
    assert reports["node"]["extKeyUsage"] == ["serverAuth", "clientAuth",
                                              ENVELOPE_SIGNING_OID.dotted_string]
    assert "SG-CUSTOMS Document Signer" in reports["signer"]["subject"]


def test_go_refuses_the_legacy_uuid_arc_that_we_still_read(go: str, tmp_path: Path) -> None:
    root_key, certificates = _authority(KeyAlgorithm.ED25519)
    root = certificates["root"]
    signer_key = generate_private_key()
    legacy = (x509.CertificateBuilder()
              .subject_name(certificates["signer"].subject).issuer_name(root.subject)
              .public_key(signer_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(root.not_valid_before_utc)
              .not_valid_after(root.not_valid_before_utc + dt.timedelta(days=30))
              .add_extension(x509.ExtendedKeyUsage([LEGACY_DOCUMENT_SIGNING_OID]),
                             critical=False)
              .sign(root_key, None))
    reports = _go_reports(go, tmp_path, {"root": root, "legacy": legacy})
    assert "extended key usage" in reports["legacy"]["error"]
