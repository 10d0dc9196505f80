"""Fixtures for the protocol tests: authorities with keys generated once per session, fixed
times, and the RFC test vectors under ``tests/data/rfc/`` (one generated test per case).

Nothing here reads the clock: certificates start at ``T0`` and verification happens at
``AT`` unless a test says otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from protocol.certificates import (
    KeyAlgorithm,
    PrivateKey,
    generate_private_key,
    issue_document_signer,
    issue_node_certificate,
    issue_root,
)
from protocol.jws import Signer

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""``not_before`` of every certificate issued here (roots 10 years, leaves 1 year)."""
AT = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
"""The default verification and signing time: inside every validity window."""


@dataclass(frozen=True)
class Authority:
    """One authority's PKI: a root, a document signer and a node certificate."""

    authority_id: str
    algorithm: KeyAlgorithm
    root_key: PrivateKey
    root: x509.Certificate
    signer_key: PrivateKey
    signer_cert: x509.Certificate
    node_key: PrivateKey
    node_cert: x509.Certificate

    @property
    def document_signer(self) -> Signer:
        return Signer(self.signer_key, (self.signer_cert,))

    @property
    def node_signer(self) -> Signer:
        return Signer(self.node_key, (self.node_cert,))

    @property
    def root_signer(self) -> Signer:
        return Signer(self.root_key, (self.root,))


def _issue_authority(authority_id: str, algorithm: KeyAlgorithm) -> Authority:
    country = authority_id[:2]
    root_key = generate_private_key(algorithm)
    root = issue_root(key=root_key, authority_id=authority_id, country=country,
                      organisation=f"{authority_id} Authority", not_before=T0)
    signer_key = generate_private_key(algorithm)
    signer_cert = issue_document_signer(root_key=root_key, root_cert=root,
                                        public_key=signer_key.public_key(), not_before=T0)
    node_key = generate_private_key(algorithm)
    node_cert = issue_node_certificate(root_key=root_key, root_cert=root,
                                       public_key=node_key.public_key(), not_before=T0)
    return Authority(authority_id, algorithm, root_key, root, signer_key, signer_cert,
                     node_key, node_cert)


AuthorityFactory = Callable[..., Authority]


@pytest.fixture(scope="session")
def t0() -> dt.datetime:
    """``not_before`` of every certificate the fixtures issue."""
    return T0


@pytest.fixture(scope="session")
def at() -> dt.datetime:
    """The default signing and verification time, inside every validity window."""
    return AT


@pytest.fixture(scope="session")
def make_authority() -> AuthorityFactory:
    """Factory: the authority with this id and key type, created once per session."""
    cache: dict[tuple[str, KeyAlgorithm], Authority] = {}

    def make(authority_id: str, algorithm: KeyAlgorithm = KeyAlgorithm.ED25519) -> Authority:
        if (authority_id, algorithm) not in cache:
            cache[authority_id, algorithm] = _issue_authority(authority_id, algorithm)
        return cache[authority_id, algorithm]

    return make


@pytest.fixture(scope="session")
def sg(make_authority: AuthorityFactory) -> Authority:
    """The issuing authority used by most tests (Ed25519)."""
    return make_authority("SG-CUSTOMS", KeyAlgorithm.ED25519)


@pytest.fixture(scope="session")
def sg_p256(make_authority: AuthorityFactory) -> Authority:
    """The same authority id, with P-256 keys (another root)."""
    return make_authority("SG-CUSTOMS", KeyAlgorithm.P256)


@pytest.fixture(scope="session")
def stranger(make_authority: AuthorityFactory) -> Authority:
    """An authority whose root nobody trusts in these tests."""
    return make_authority("XX-STRANGER", KeyAlgorithm.ED25519)


@pytest.fixture(scope="session", params=list(KeyAlgorithm), ids=[a.value for a in KeyAlgorithm])
def authority(request: pytest.FixtureRequest, make_authority: AuthorityFactory) -> Authority:
    """The issuing authority, once per key type."""
    return make_authority("SG-CUSTOMS", request.param)


# -- test data ------------------------------------------------------------------------------


def _load(relative: str) -> Any:
    return json.loads((DATA_DIR / relative).read_text(encoding="utf-8"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "rfc_vectors(name): parametrize the argument `case` with the cases of "
        "tests/data/rfc/<name>.json, one test per case",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("rfc_vectors")
    if marker is None:
        return
    cases = _load(f"rfc/{marker.args[0]}.json")["cases"]
    metafunc.parametrize("case", cases, ids=[case["id"] for case in cases])
