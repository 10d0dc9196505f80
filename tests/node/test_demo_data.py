"""The demo's shipped data are the examples of the same types (they must not drift apart)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.demo.packages import TEMPLATE_TYPES, template

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "documents"


@pytest.mark.parametrize("doc_type", TEMPLATE_TYPES)
def test_demo_template_is_the_example(doc_type: str) -> None:
    assert template(doc_type) == json.loads((EXAMPLES / f"{doc_type}.json").read_text("utf-8"))
