"""One attack world per test module (SQLite, in process): every case leaves it unchanged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adversarial.corpus import World, build_world
from tests.node.databases import DatabaseFactory


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("attacks")
    databases = DatabaseFactory("sqlite", base)
    built = build_world(base, databases)
    try:
        yield built
    finally:
        built.net.close()
