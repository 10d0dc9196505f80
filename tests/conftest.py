"""Root test configuration (the project root is on sys.path through pytest's ``pythonpath``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.fast_paths import ShadowCheck


@pytest.fixture(scope="session", autouse=True)
def fast_paths_shadowed_by_references() -> Iterator[ShadowCheck]:
    """Throughout the suite, every answer of the fast paths of ``parse_json`` and
    ``canonicalize`` is compared with that of the reference (ADR 0017): the whole suite's
    inputs, attack inputs included, are a differential test. A mismatch fails its test, and
    the session."""
    check = ShadowCheck()
    with pytest.MonkeyPatch.context() as patch:
        check.install(patch)
        yield check
    assert not check.mismatches, check.mismatches


@pytest.fixture(autouse=True)
def _node_logging_restored() -> Iterator[None]:
    """``node serve``/``worker`` configure the ``tradeaccord`` logger for the process; a test
    that runs them in process must not leave that configuration to the tests after it (their
    in-process nodes would log into whatever stream it captured)."""
    logger = logging.getLogger("tradeaccord")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked ``slow`` (real processes, minutes each) run first, the fault runs
    first of all: pytest-xdist hands out whole files in collection order, and a long file
    that starts last keeps one core busy after the other has finished everything else."""
    def rank(item: pytest.Item) -> tuple[int, int]:
        slow = item.get_closest_marker("slow") is not None
        return (0 if slow else 1, 0 if item.nodeid.startswith("tests/faults/") else 1)

    items.sort(key=rank)  # stable: the order within each file, and of the files, is kept
