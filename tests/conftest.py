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
