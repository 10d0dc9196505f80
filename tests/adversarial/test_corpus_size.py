"""The corpus holds at least 100 named attacks, each id unique within its table."""

from __future__ import annotations

from tests.adversarial import test_api_routes, test_offline, test_peer, test_registry
from tests.adversarial.corpus import REVOCATION_CASES, TITLE_CASES

MINIMUM = 100


def _tables() -> dict[str, list[str]]:
    return {
        "offline": [case.id for case in test_offline.CASES],
        "peer": [case.id for case in test_peer.ENVELOPE_CASES],
        "receipts": [case.id for case in test_peer.RECEIPT_CASES],
        "registry": [case.id for case in test_registry.CASES],
        "api-routes": [case.id for case in test_api_routes.CASES],
        "title": [case.id for case in TITLE_CASES],
        "revocation": [case.id for case in REVOCATION_CASES],
    }


def test_corpus_holds_at_least_a_hundred_named_attacks() -> None:
    tables = _tables()
    total = sum(len(cases) for cases in tables.values())
    assert total >= MINIMUM, {name: len(cases) for name, cases in tables.items()}


def test_attack_ids_are_unique_within_each_table() -> None:
    for name, cases in _tables().items():
        assert len(cases) == len(set(cases)), name
