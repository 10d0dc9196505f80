"""Attacks on revocation, replacement and negotiation (API and peer endpoint) and on
transferable records: each refused with its exact status and code, nothing stored changed
at either node (the tables are in ``corpus``)."""

from __future__ import annotations

import pytest

from tests.adversarial.corpus import REVOCATION_CASES, TITLE_CASES, Attack, World, ids, run_attack


@pytest.mark.parametrize("attack", REVOCATION_CASES, ids=ids(REVOCATION_CASES))
def test_revocation_and_negotiation_attacks_are_refused(world: World, attack: Attack) -> None:
    run_attack(world, attack)


@pytest.mark.parametrize("attack", TITLE_CASES, ids=ids(TITLE_CASES))
def test_transferable_record_attacks_are_refused(world: World, attack: Attack) -> None:
    run_attack(world, attack)
