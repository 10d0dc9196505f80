"""Properties of reconciliation: deterministic, order-blind, and never raising on what a
document says — for any JSON value anywhere in any document (a strictly larger space than
the schema-valid mutations), only the header members the package is sorted by kept."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearance import Finding, RuleSet, reconcile
from protocol.canonical import canonicalize, require_readable_numbers
from tests.clearance.conftest import Package, air_package, sea_package

_HEADER = {"id", "type", "version"}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every member and element below the root, except the header the package is keyed on."""
    found: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if prefix or key not in _HEADER:
                found.append((*prefix, key))
                found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append((*prefix, index))
            found.extend(_paths(value, (*prefix, index)))
    return found


def _leaves(package: Package) -> list[Any]:
    values: list[Any] = []
    for document in package.values():
        for path in _paths(document):
            node: Any = document
            for key in path:
                node = node[key]
            if not isinstance(node, dict | list):
                values.append(node)
    return values


_PLAUSIBLE = (
    _leaves(sea_package())
    + _leaves(air_package())
    + [
        0,
        -1,
        0.1,
        0.2,
        0.30000000000000004,
        1e300,
        2**53 - 1,
        "2026-02-30",
        "2026-11-21T16:00:00Z",
        "",
        "LBR",
    ]
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
_VALUES = st.sampled_from(_PLAUSIBLE) | _JSON


@st.composite
def mutated_packages(draw: st.DrawFn) -> list[dict[str, Any]]:
    package = sea_package() if draw(st.booleans()) else air_package()
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(sorted(package)))
        document = package[key]
        paths = _paths(document)
        if not paths:
            continue
        path = draw(st.sampled_from(paths))
        parent: Any = document
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.integers(0, 4)) == 0:
            del parent[path[-1]]  # removes a member, or shortens an array
        else:
            parent[path[-1]] = draw(_VALUES)
    if draw(st.integers(0, 5)) == 0:
        del package[draw(st.sampled_from(sorted(k for k in package if k != "customs-declaration")))]
    return list(package.values())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=mutated_packages(), seed=st.integers(0, 2**32 - 1))
def test_reconcile_is_deterministic_and_never_raises(
    rules: RuleSet, docs: list[dict[str, Any]], seed: int
) -> None:
    findings = reconcile(docs, rules)
    assert reconcile(docs, rules) == findings
    shuffled = list(docs)
    random.Random(seed).shuffle(shuffled)
    assert reconcile(shuffled, rules) == findings
    order = [rule.rule_id for rule in rules.rules]
    positions = [order.index(f.rule_id) for f in findings]
    assert positions == sorted(positions)
    for finding in findings:
        data = finding.to_dict()
        assert Finding.from_dict(data) == finding
        require_readable_numbers(data)  # a decision carrying it can be signed and read back
        canonicalize(data)
