"""Root test configuration (the project root is on sys.path through pytest's ``pythonpath``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _node_logging_restored() -> Iterator[None]:
    """``node serve``/``worker`` configure the ``tradeaccord`` logger for the process; a test
    that runs them in process must not leave that configuration to the tests after it (their
    in-process nodes would log into whatever stream it captured)."""
    logger = logging.getLogger("tradeaccord")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]
