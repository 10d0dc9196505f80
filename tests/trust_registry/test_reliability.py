"""Reliability profiles: level ordering, shortfalls, the RELIABILITY_INSUFFICIENT refusal."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.reason_codes import ReasonCode
from trust_registry.errors import TrustError
from trust_registry.reliability import (
    LEVELS,
    Criterion,
    ReliabilityProfile,
    Shortfall,
    require,
)

TOP = ReliabilityProfile({c: LEVELS[c][-1] for c in Criterion})


def _profile(**levels: str) -> ReliabilityProfile:
    return ReliabilityProfile.from_dict(levels)


# -- the closed list -----------------------------------------------------------------------


def test_levels_are_the_documented_closed_list() -> None:
    assert {c.value: LEVELS[c] for c in Criterion} == {
        "signerIdentityProofing": ("low", "substantial", "high"),
        "keyProtection": ("software", "software-encrypted", "hsm"),
        "auditAndRetention": ("none", "internal-log", "hash-chained-log", "externally-audited"),
        "timeSource": ("system-clock", "ntp", "ntp-authenticated", "trusted-timestamp"),
        "revocationPractice": ("none", "registry-published", "within-24h", "within-1h"),
    }


def test_levels_table_is_immutable() -> None:
    with pytest.raises(TypeError):
        LEVELS[Criterion.KEY_PROTECTION] = ("hsm",)  # type: ignore[index]


def test_every_criterion_is_described() -> None:
    assert all(c.description for c in Criterion)


@pytest.mark.parametrize("criterion", list(Criterion), ids=str)
def test_each_level_outranks_the_one_below(criterion: Criterion) -> None:
    levels = LEVELS[criterion]
    for lower, higher in itertools.pairwise(levels):
        low = ReliabilityProfile({criterion: lower})
        high = ReliabilityProfile({criterion: higher})
        assert high.meets(low)
        assert not low.meets(high)


# -- shortfalls and require ----------------------------------------------------------------


@dataclass(frozen=True)
class ShortByOne:
    criterion: Criterion
    required: str
    declared: str

    def __str__(self) -> str:
        return f"{self.criterion}-{self.declared}<{self.required}"


SHORT_BY_ONE = [
    ShortByOne(c, LEVELS[c][i], LEVELS[c][i - 1]) for c in Criterion for i in range(1, len(LEVELS[c]))
]


@pytest.mark.parametrize("case", SHORT_BY_ONE, ids=str)
def test_short_by_one_level_is_insufficient(case: ShortByOne) -> None:
    declared = ReliabilityProfile({**TOP.levels, case.criterion: case.declared})
    required = ReliabilityProfile({case.criterion: case.required})

    with pytest.raises(TrustError) as excinfo:
        require(declared, required)

    error = excinfo.value
    assert error.code is ReasonCode.RELIABILITY_INSUFFICIENT
    assert error.context["shortfalls"] == (Shortfall(case.criterion, case.required, case.declared),)
    assert f"{case.criterion.value}: declared {case.declared} < required {case.required}" in str(error)


@pytest.mark.parametrize("criterion", list(Criterion), ids=str)
def test_meets_exactly_passes(criterion: Criterion) -> None:
    for level in LEVELS[criterion]:
        profile = ReliabilityProfile({criterion: level})
        require(profile, profile)
        assert profile.shortfalls(profile) == ()


def test_exceeding_every_criterion_passes() -> None:
    required = ReliabilityProfile({c: LEVELS[c][0] for c in Criterion})
    require(TOP, required)
    assert TOP.shortfalls(required) == ()


def test_empty_requirement_is_met_by_an_empty_declaration() -> None:
    require(ReliabilityProfile({}), ReliabilityProfile({}))


def test_omitted_declared_criterion_fails_when_required() -> None:
    declared = _profile(signerIdentityProofing="high")
    required = _profile(signerIdentityProofing="low", keyProtection="software")

    with pytest.raises(TrustError) as excinfo:
        require(declared, required)

    assert excinfo.value.code is ReasonCode.RELIABILITY_INSUFFICIENT
    assert excinfo.value.context["shortfalls"] == (Shortfall(Criterion.KEY_PROTECTION, "software", None),)
    assert excinfo.value.message == "keyProtection: declared (omitted) < required software"


def test_omitted_required_criterion_requires_nothing() -> None:
    declared = _profile(keyProtection="software")
    require(declared, _profile(keyProtection="software"))


def test_several_shortfalls_are_all_named_in_criterion_order() -> None:
    declared = _profile(keyProtection="software", timeSource="ntp")
    required = _profile(timeSource="trusted-timestamp", keyProtection="hsm")

    with pytest.raises(TrustError) as excinfo:
        require(declared, required)

    shortfalls = excinfo.value.context["shortfalls"]
    assert [s.criterion for s in shortfalls] == [Criterion.KEY_PROTECTION, Criterion.TIME_SOURCE]
    assert excinfo.value.message == (
        "keyProtection: declared software < required hsm; "
        "timeSource: declared ntp < required trusted-timestamp"
    )


# -- JSON form -----------------------------------------------------------------------------


def test_round_trips_through_json_form_with_sorted_keys() -> None:
    data = {"timeSource": "ntp", "keyProtection": "hsm", "auditAndRetention": "none"}
    profile = ReliabilityProfile.from_dict(data)
    assert profile.to_dict() == data
    assert list(profile.to_dict()) == ["auditAndRetention", "keyProtection", "timeSource"]
    assert ReliabilityProfile.from_dict(profile.to_dict()) == profile


def test_rejects_unknown_criterion() -> None:
    with pytest.raises(TrustError) as excinfo:
        ReliabilityProfile.from_dict({"keyProtection": "hsm", "vibes": "good"})
    assert excinfo.value.code is ReasonCode.REGISTRY_INVALID
    assert "vibes" in excinfo.value.message
    assert excinfo.value.context["criterion"] == "vibes"


@pytest.mark.parametrize("level", ["HSM", "tpm", "", 3, None], ids=repr)
def test_rejects_unknown_level(level: object) -> None:
    with pytest.raises(TrustError) as excinfo:
        ReliabilityProfile.from_dict({"keyProtection": level})  # type: ignore[dict-item]
    assert excinfo.value.code is ReasonCode.REGISTRY_INVALID
    assert "keyProtection" in excinfo.value.message
    assert repr(level) in excinfo.value.message


def test_rejects_non_object_profile() -> None:
    with pytest.raises(TrustError) as excinfo:
        ReliabilityProfile.from_dict(["keyProtection"])  # type: ignore[arg-type]
    assert excinfo.value.code is ReasonCode.REGISTRY_INVALID


def test_direct_construction_misuse_raises_builtin_errors() -> None:
    with pytest.raises(TypeError):
        ReliabilityProfile({"keyProtection": "hsm"})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        ReliabilityProfile({Criterion.KEY_PROTECTION: "tpm"})


# -- value semantics -----------------------------------------------------------------------


def test_profile_is_immutable_and_hashable() -> None:
    source = {Criterion.KEY_PROTECTION: "hsm"}
    profile = ReliabilityProfile(source)
    source[Criterion.KEY_PROTECTION] = "software"  # the caller's dict is copied
    assert profile.levels[Criterion.KEY_PROTECTION] == "hsm"
    with pytest.raises(TypeError):
        profile.levels[Criterion.KEY_PROTECTION] = "software"  # type: ignore[index]
    same = _profile(keyProtection="hsm")
    assert profile == same
    assert hash(profile) == hash(same)
    assert profile != _profile(keyProtection="software")
    assert len({profile, same}) == 1


# -- property ------------------------------------------------------------------------------

_profiles = st.fixed_dictionaries(
    {},
    optional={c: st.sampled_from(LEVELS[c]) for c in Criterion},
).map(ReliabilityProfile)


def _rank(profile: ReliabilityProfile, criterion: Criterion) -> float:
    level = profile.levels.get(criterion)
    return float("-inf") if level is None else LEVELS[criterion].index(level)


@given(declared=_profiles, required=_profiles)
def test_shortfalls_empty_iff_every_required_rank_is_met(
    declared: ReliabilityProfile, required: ReliabilityProfile
) -> None:
    meets = all(_rank(required, c) <= _rank(declared, c) for c in required.levels)
    shortfalls = declared.shortfalls(required)
    assert (shortfalls == ()) is meets
    assert {s.criterion for s in shortfalls} == {
        c for c in required.levels if _rank(required, c) > _rank(declared, c)
    }
