"""Hypothesis strategies for untrusted JSON: arbitrary values, and valid objects with one
part replaced, removed or added (which reaches deeper into a parser than random values).

Values stay inside what the strict parser lets through (no lone surrogates, integers within
±(2^53−1), finite floats), since that is what a ``from_dict`` meets after parsing. Strings
include non-ASCII characters, which once escaped base64 decoding as a bare ``ValueError``.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

MAX_SAFE = 2**53 - 1

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)
json_scalars = (st.none() | st.booleans() | st.integers(-MAX_SAFE, MAX_SAFE)
                | st.floats(allow_nan=False, allow_infinity=False) | texts)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a member or item of ``value`` (the root excluded)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        items: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return found
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutations(draw: st.DrawFn, valid: Any) -> Any:
    """``valid`` with one member or item replaced by any JSON value, removed, or a member
    added; or, now and then, any JSON value at all."""
    paths = _paths(valid)
    if not paths or draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    mutated = copy.deepcopy(valid)
    path = draw(st.sampled_from(paths))
    parent = _parent(mutated, path)
    action = draw(st.sampled_from(("replace", "replace", "remove", "add")))
    if action == "replace":
        parent[path[-1]] = draw(json_values)
    elif action == "remove":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(texts)] = draw(json_values)
    else:
        parent.append(draw(json_values))
    return mutated
