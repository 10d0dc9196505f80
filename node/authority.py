"""The authority directory: an authority's certificates, encrypted keys and description.

Layout written by ``tradeaccord authority init``::

    DIR/authority.json   id, country, name, roles, key protection, file names
    DIR/root.pem         trust anchor certificate (give this to partners)
    DIR/root.key         root private key (PKCS#8, encrypted; move offline after setup)
    DIR/signer.pem       document-signer certificate
    DIR/signer.key       document-signer private key (encrypted)
    DIR/node.pem         node certificate (TLS, envelope and receipt signing)
    DIR/node.key         node private key (encrypted)

Keys are encrypted with the passphrase from ``TRADEACCORD_PASSPHRASE`` and decrypted only
in memory. Plaintext keys exist only when asked for (``--insecure-plaintext-keys``, tests
and demos) and ``authority.json`` then says so.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from node.errors import ConfigError
from protocol.certificates import (
    KeyAlgorithm,
    certificate_to_pem,
    generate_private_key,
    issue_document_signer,
    issue_node_certificate,
    issue_root,
    key_algorithm,
    load_certificate_pem,
    load_private_key_pem,
    write_private_key,
)
from protocol.envelope import AUTHORITY_ID
from protocol.errors import ProtocolError
from protocol.jws import Signer
from protocol.reason_codes import ReasonCode

_FILES = {"root": ("root.pem", "root.key"), "signer": ("signer.pem", "signer.key"),
          "node": ("node.pem", "node.key")}


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` so that readers see the old or the new content, never a mix."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class AuthorityDirectory:
    """An opened authority directory. Certificates are loaded; keys only on demand."""

    path: Path
    authority_id: str
    country: str
    name: str
    roles: tuple[str, ...]
    plaintext_keys: bool
    root_certificate: x509.Certificate
    signer_certificate: x509.Certificate
    node_certificate: x509.Certificate

    @property
    def registry_path(self) -> Path:
        return self.path / "registry.json"

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        authority_id: str,
        country: str,
        name: str,
        roles: tuple[str, ...] = ("customs",),
        passphrase: bytes | None,
        at: dt.datetime,
        algorithm: KeyAlgorithm = KeyAlgorithm.ED25519,
        signer_days: int = 365,
    ) -> AuthorityDirectory:
        """Generate keys and certificates into ``path`` (which must not hold an authority)."""
        if not AUTHORITY_ID.match(authority_id):
            raise ConfigError(ReasonCode.CONFIG_INVALID,
                              f"authority id {authority_id!r} must look like SG-CUSTOMS")
        if len(country) != 2 or not country.isalpha() or not country.isupper():
            raise ConfigError(ReasonCode.CONFIG_INVALID,
                              f"country {country!r} must be an ISO 3166-1 alpha-2 code")
        path.mkdir(parents=True, exist_ok=True)
        if (path / "authority.json").exists():
            raise ConfigError(ReasonCode.CONFLICT, f"{path} already holds an authority")
        not_before = at - dt.timedelta(minutes=5)  # tolerate small clock differences
        root_key = generate_private_key(algorithm)
        root = issue_root(key=root_key, authority_id=authority_id, country=country,
                          organisation=name, not_before=not_before)
        signer_key = generate_private_key(algorithm)
        signer = issue_document_signer(root_key=root_key, root_cert=root,
                                       public_key=signer_key.public_key(),
                                       not_before=not_before, days=signer_days)
        node_key = generate_private_key(algorithm)
        node = issue_node_certificate(root_key=root_key, root_cert=root,
                                      public_key=node_key.public_key(), not_before=not_before)
        for role, cert, key in (("root", root, root_key), ("signer", signer, signer_key),
                                ("node", node, node_key)):
            cert_name, key_name = _FILES[role]
            (path / cert_name).write_bytes(certificate_to_pem(cert))
            write_private_key(path / key_name, key, passphrase)
        description = {
            "id": authority_id,
            "country": country,
            "name": name,
            "roles": list(roles),
            "keyAlgorithm": algorithm.value,
            "keyProtection": "software" if passphrase is None else "software-encrypted",
            "plaintextKeys": passphrase is None,
        }
        write_atomic(path / "authority.json",
                     (json.dumps(description, indent=2) + "\n").encode("utf-8"))
        return cls.open(path)

    @classmethod
    def open(cls, path: Path) -> AuthorityDirectory:
        """Open an existing directory; ``ConfigError(CONFIG_INVALID)`` if it is incomplete."""
        try:
            description = json.loads((path / "authority.json").read_text("utf-8"))
            certs = {role: load_certificate_pem((path / files[0]).read_bytes())
                     for role, files in _FILES.items()}
            return cls(
                path=path,
                authority_id=str(description["id"]),
                country=str(description["country"]),
                name=str(description["name"]),
                roles=tuple(description.get("roles", ())),
                plaintext_keys=bool(description.get("plaintextKeys", False)),
                root_certificate=certs["root"],
                signer_certificate=certs["signer"],
                node_certificate=certs["node"],
            )
        except (OSError, ValueError, KeyError, TypeError, ProtocolError) as exc:
            raise ConfigError(ReasonCode.CONFIG_INVALID,
                              f"{path} is not a complete authority directory: {exc}") from exc

    def _signer(self, role: str, certificate: x509.Certificate,
                passphrase: bytes | None) -> Signer:
        if passphrase is None and not self.plaintext_keys:
            raise ConfigError(ReasonCode.KEY_UNAVAILABLE,
                              "the keys are encrypted: set TRADEACCORD_PASSPHRASE")
        try:
            data = (self.path / _FILES[role][1]).read_bytes()
        except OSError as exc:
            raise ConfigError(ReasonCode.KEY_UNAVAILABLE,
                              f"the {role} key file cannot be read (moved offline?)") from exc
        key = load_private_key_pem(data, None if self.plaintext_keys else passphrase)
        return Signer(key, (certificate,))

    def renew(self, which: str, *, passphrase: bytes | None, at: dt.datetime,
              days: int = 365) -> x509.Certificate:
        """Issue a new key and certificate for ``which`` (``signer`` or ``node``) under the
        root; the old pair is kept as ``<which>-<serial>.pem/.key``. Needs the root key."""
        if which not in ("signer", "node"):
            raise ValueError("which is 'signer' or 'node'")
        root = self.root_signer(passphrase)
        old = self.signer_certificate if which == "signer" else self.node_certificate
        key = generate_private_key(key_algorithm(old.public_key()))
        not_before = at - dt.timedelta(minutes=5)
        if which == "signer":
            cert = issue_document_signer(root_key=root.key, root_cert=self.root_certificate,
                                         public_key=key.public_key(), not_before=not_before,
                                         days=days)
        else:
            cert = issue_node_certificate(root_key=root.key, root_cert=self.root_certificate,
                                          public_key=key.public_key(), not_before=not_before,
                                          days=days)
        cert_name, key_name = _FILES[which]
        archived = f"{which}-{old.serial_number:x}"
        os.replace(self.path / cert_name, self.path / f"{archived}.pem")
        os.replace(self.path / key_name, self.path / f"{archived}.key")
        write_private_key(self.path / key_name, key,
                          None if self.plaintext_keys else passphrase)
        write_atomic(self.path / cert_name, certificate_to_pem(cert))
        return cert

    def root_signer(self, passphrase: bytes | None) -> Signer:
        """The root key with its own certificate (for agreements and snapshots)."""
        return self._signer("root", self.root_certificate, passphrase)

    def document_signer(self, passphrase: bytes | None) -> Signer:
        """The document-signer key and certificate."""
        return self._signer("signer", self.signer_certificate, passphrase)

    def node_signer(self, passphrase: bytes | None) -> Signer:
        """The node key and certificate (envelopes and receipts)."""
        return self._signer("node", self.node_certificate, passphrase)
