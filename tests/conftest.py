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
    """The order in which pytest-xdist hands out whole files (``--no-loadscope-reorder``
    keeps it): modules marked ``slow`` (real processes, minutes each) first, the fault runs
    first of all, then the others by their number of tests, most first (xdist's own rule).
    A long file that started last kept one core busy alone after the other had finished."""
    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    sizes: dict[str, int] = {}
    slow: set[str] = set()
    for item in items:
        sizes[module(item)] = sizes.get(module(item), 0) + 1
        if item.get_closest_marker("slow") is not None:
            slow.add(module(item))

    def rank(item: pytest.Item) -> tuple[int, int, int, str]:
        name = module(item)
        return (0 if name in slow else 1, 0 if name.startswith("tests/faults/") else 1,
                -sizes[name], name)

    items.sort(key=rank)  # stable: the order of the tests within a file is kept
