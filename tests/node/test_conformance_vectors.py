"""The conformance vector pack: every shipped vector still gives its expected code, and the
generator writes a pack that does."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from node.conformance.generate_vectors import generate
from node.conformance.vectors import ObjectKind, VectorPack, matches, observe
from protocol.content import ContentChecker
from protocol.documents import DocumentSchemas

PACK = VectorPack.load()


@pytest.fixture(scope="module")
def schemas() -> DocumentSchemas:
    return DocumentSchemas.load()


@pytest.fixture(scope="module")
def content(schemas) -> ContentChecker:
    return ContentChecker.load(schemas)


@pytest.mark.parametrize("vector", PACK.vectors, ids=[v.id for v in PACK.vectors])
def test_vector_gives_its_expected_code(vector, schemas, content) -> None:
    observed = observe(PACK, vector, schemas=schemas, content=content)
    assert matches(vector, observed), (vector.expected, vector.cause, observed)


def test_pack_covers_every_object_and_algorithm() -> None:
    valid = Counter((v.object, v.alg) for v in PACK if v.expected == "VALID"
                    and v.profile.value == "standard")
    assert set(valid) == {(kind, alg) for kind in ObjectKind for alg in ("EdDSA", "ES256")}
    refused = {v.expected for v in PACK}
    for code in ("SIGNATURE_INVALID", "ALG_NOT_ALLOWED", "TYP_MISMATCH", "CHAIN_UNTRUSTED",
                 "SCHEMA_INVALID", "CODE_UNKNOWN", "AMOUNT_MISMATCH", "MESSAGE_EXPIRED",
                 "ENVELOPE_MALFORMED", "RECEIPT_INVALID", "AGREEMENT_SIGNATURE_MISSING",
                 "REGISTRY_EXPIRED", "REGISTRY_SIGNER_UNTRUSTED", "STATUS_NOT_ISSUER",
                 "STATUS_INVALID"):
        assert code in refused, code


def test_generator_writes_a_pack_that_verifies(tmp_path: Path, schemas, content) -> None:
    count = generate(tmp_path / "pack")
    pack = VectorPack.load(tmp_path / "pack")
    assert count == len(pack.vectors) == len(PACK.vectors)
    failures = [v.id for v in pack
                if not matches(v, observe(pack, v, schemas=schemas, content=content))]
    assert failures == []
