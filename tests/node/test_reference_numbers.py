"""Reference numbers read from stored documents for the console's search."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.storage.references import document_payload, reference_numbers
from protocol.canonical import b64url_encode

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "documents"


def _signed(document: object) -> bytes:
    payload = b64url_encode(json.dumps(document).encode())
    return json.dumps({"payload": payload, "signatures": []}).encode()


@pytest.mark.parametrize(("doc_type", "expected"), [
    ("certificate-of-origin", ["RCEP-SG-2026-0031874", "INV-2026-0457"]),
    ("commercial-invoice", ["INV-2026-0457", "PO-SPH-2026-0311"]),
    ("customs-declaration", ["LCK-EXP-2026-0457", "6SG201912345K-0457", "INV-2026-0457",
                             "SMLN26SIN0457"]),
    ("phytosanitary-certificate", ["SG-PC-2026-118452"]),
])
def test_numbers_of_the_examples(doc_type: str, expected: list[str]) -> None:
    document = json.loads((EXAMPLES / f"{doc_type}.json").read_text())
    found = reference_numbers(_signed(document))
    assert found is not None
    for number in expected:
        assert f"|{number}|" in found


@pytest.mark.parametrize("raw", [b"{}", b"not json", b'{"payload": "!!"}',
                                 _signed([1, 2]), _signed({"body": {"note": "x"}})],
                         ids=["no-payload", "not-json", "bad-base64", "not-object", "no-numbers"])
def test_nothing_found_is_none(raw: bytes) -> None:
    assert reference_numbers(raw) is None


def test_payload_is_read() -> None:
    assert document_payload(_signed({"id": "d"})) == {"id": "d"}
