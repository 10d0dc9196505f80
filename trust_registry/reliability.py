"""Reliability profiles: what an authority declares about how it signs, and what a peer requires.

The criteria are a closed list drawn from the UNESCAP Framework Agreement on Facilitation of
Cross-border Paperless Trade (mutual recognition on substantive equivalence of reliability),
the reliability factors of UNCITRAL MLETR art. 12, and the eIDAS levels of assurance
(see ``docs/decisions/0005-reliability-profile.md``). Each criterion has ordered levels,
lowest first:

==========================  ===================================================================
criterion                   levels (lowest → highest)
==========================  ===================================================================
signerIdentityProofing      low < substantial < high
keyProtection               software < software-encrypted < hsm
auditAndRetention           none < internal-log < hash-chained-log < externally-audited
timeSource                  system-clock < ntp < ntp-authenticated < trusted-timestamp
revocationPractice          none < registry-published < within-24h < within-1h
==========================  ===================================================================

Rules:

1. A *declared* profile (an authority's) may omit criteria; an omitted criterion ranks below
   every level, so it fails any requirement on that criterion.
2. A *required* profile (an agreement's minimum) names only the criteria it cares about; a
   criterion it omits requires nothing.
3. A declared profile meets a required one iff, for every criterion, the declared level's rank
   is at least the required level's rank. Equivalence is evaluated, never assumed.
4. Unknown criteria or levels in registry data are refused (``REGISTRY_INVALID``), never ignored.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from protocol.reason_codes import ReasonCode
from trust_registry.errors import TrustError

__all__ = [
    "LEVELS",
    "Criterion",
    "ReliabilityProfile",
    "Shortfall",
    "require",
]


class Criterion(StrEnum):
    """One reliability criterion; the value is its name in registry JSON."""

    SIGNER_IDENTITY_PROOFING = "signerIdentityProofing"
    KEY_PROTECTION = "keyProtection"
    AUDIT_AND_RETENTION = "auditAndRetention"
    TIME_SOURCE = "timeSource"
    REVOCATION_PRACTICE = "revocationPractice"

    @property
    def description(self) -> str:
        """What the criterion assesses, in one sentence."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS: Mapping[Criterion, str] = MappingProxyType(
    {
        Criterion.SIGNER_IDENTITY_PROOFING: (
            "How the identity of the persons and systems that sign was proven "
            "(eIDAS levels of assurance; MLETR art. 12(a)(i) identification)."
        ),
        Criterion.KEY_PROTECTION: (
            "How signing keys are held: plain software, encrypted at rest, or a hardware "
            "security module (MLETR art. 12(a)(ii)-(iv) security of hardware and software)."
        ),
        Criterion.AUDIT_AND_RETENTION: (
            "Whether signing events are logged, tamper-evident and independently audited "
            "(MLETR art. 12(a)(v)-(vi) audit, UNESCAP art. 8 integrity)."
        ),
        Criterion.TIME_SOURCE: (
            "Where signing times come from, from a local clock to a trusted timestamp "
            "authority (integrity of the time of signing)."
        ),
        Criterion.REVOCATION_PRACTICE: (
            "How quickly a compromised or retired signer certificate is revoked and published "
            "to peers (MLETR art. 12(a)(iii) procedures)."
        ),
    }
)

LEVELS: Mapping[Criterion, tuple[str, ...]] = MappingProxyType(
    {
        Criterion.SIGNER_IDENTITY_PROOFING: ("low", "substantial", "high"),
        Criterion.KEY_PROTECTION: ("software", "software-encrypted", "hsm"),
        Criterion.AUDIT_AND_RETENTION: (
            "none",
            "internal-log",
            "hash-chained-log",
            "externally-audited",
        ),
        Criterion.TIME_SOURCE: ("system-clock", "ntp", "ntp-authenticated", "trusted-timestamp"),
        Criterion.REVOCATION_PRACTICE: ("none", "registry-published", "within-24h", "within-1h"),
    }
)
"""Levels per criterion, lowest first. Ranks are positions in these tuples."""

# Criteria in a fixed order: a profile's ranks are a tuple indexed like this one.
_CRITERIA: tuple[Criterion, ...] = tuple(Criterion)
# Rank of an omitted criterion: below every level (rule 1), and requires nothing (rule 2).
_ABSENT = -1


@dataclass(frozen=True, slots=True)
class Shortfall:
    """One criterion where the declared level is below the required one.

    ``declared`` is ``None`` when the declared profile omits the criterion.
    """

    criterion: Criterion
    required: str
    declared: str | None

    def __str__(self) -> str:
        declared = self.declared if self.declared is not None else "(omitted)"
        return f"{self.criterion.value}: declared {declared} < required {self.required}"


@dataclass(frozen=True, slots=True)
class ReliabilityProfile:
    """A set of (criterion, level) pairs; a criterion may be omitted.

    Construct from Python with ``ReliabilityProfile({Criterion.KEY_PROTECTION: "hsm"})``
    (a key that is not a ``Criterion`` raises ``TypeError``, an unknown level ``ValueError``),
    or from registry JSON with :meth:`from_dict` (``TrustError`` with ``REGISTRY_INVALID``).

    ``levels`` is an immutable copy in criterion order. Profiles are hashable: equality and
    hash are over the ranks, which determine the levels one to one.
    """

    levels: Mapping[Criterion, str] = field(compare=False)
    # Rank per criterion in ``_CRITERIA`` order, ``_ABSENT`` when omitted: lets ``shortfalls``
    # compare small ints instead of looking levels up on the recognition hot path.
    _ranks: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        levels = self.levels
        if not isinstance(levels, Mapping):
            raise TypeError(f"levels must be a mapping, not {type(levels).__name__}")
        for criterion in levels:
            if not isinstance(criterion, Criterion):
                raise TypeError(f"levels keys must be Criterion members, not {criterion!r}")
        ranks: list[int] = []
        for criterion in _CRITERIA:
            level = levels.get(criterion)
            if level is None:
                ranks.append(_ABSENT)
            elif level in LEVELS[criterion]:
                ranks.append(LEVELS[criterion].index(level))
            else:
                raise ValueError(f"{criterion.value} has no level {level!r}")
        frozen = MappingProxyType({c: levels[c] for c in _CRITERIA if c in levels})
        object.__setattr__(self, "levels", frozen)
        object.__setattr__(self, "_ranks", tuple(ranks))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReliabilityProfile:
        """Parse the JSON form ``{"keyProtection": "hsm", ...}``.

        Raises ``TrustError(REGISTRY_INVALID)`` naming the first unknown criterion or level
        (``criterion`` and ``level`` in its context).
        """
        if not isinstance(data, Mapping):
            raise TrustError(
                ReasonCode.REGISTRY_INVALID,
                f"a reliability profile must be a JSON object, found {type(data).__name__}",
            )
        levels: dict[Criterion, str] = {}
        for name, level in data.items():
            try:
                criterion = Criterion(name)
            except ValueError:
                known = ", ".join(c.value for c in _CRITERIA)
                raise TrustError(
                    ReasonCode.REGISTRY_INVALID,
                    f"unknown reliability criterion {name!r}; expected one of: {known}",
                    criterion=name,
                ) from None
            allowed = LEVELS[criterion]
            if not isinstance(level, str) or level not in allowed:
                raise TrustError(
                    ReasonCode.REGISTRY_INVALID,
                    f"unknown level {level!r} for {name}; expected one of: {', '.join(allowed)}",
                    criterion=name,
                    level=level,
                )
            levels[criterion] = level
        return cls(levels)

    def to_dict(self) -> dict[str, str]:
        """The JSON form, keys sorted (omitted criteria stay omitted)."""
        return {c.value: self.levels[c] for c in sorted(self.levels, key=lambda c: c.value)}

    def shortfalls(self, required: ReliabilityProfile) -> tuple[Shortfall, ...]:
        """Criteria where this (declared) profile is below ``required``; empty if it meets it.

        Shortfalls come in ``Criterion`` declaration order.
        """
        mine = self._ranks
        theirs = required._ranks
        # Fast path: the common outcome (meets) compares ints and allocates nothing.
        if all(map(operator.ge, mine, theirs)):
            return ()
        declared_levels = self.levels
        required_levels = required.levels
        return tuple(
            Shortfall(criterion, required_levels[criterion], declared_levels.get(criterion))
            for criterion, have, need in zip(_CRITERIA, mine, theirs, strict=True)
            if have < need
        )

    def meets(self, required: ReliabilityProfile) -> bool:
        """True iff :meth:`shortfalls` is empty."""
        return not self.shortfalls(required)


def require(declared: ReliabilityProfile, required: ReliabilityProfile) -> None:
    """Return if ``declared`` meets ``required``; else raise ``RELIABILITY_INSUFFICIENT``.

    The ``TrustError`` message names each short criterion as
    ``criterion: declared X < required Y``; ``context["shortfalls"]`` holds the
    :class:`Shortfall` tuple.
    """
    shortfalls = declared.shortfalls(required)
    if shortfalls:
        raise TrustError(
            ReasonCode.RELIABILITY_INSUFFICIENT,
            "; ".join(str(s) for s in shortfalls),
            shortfalls=shortfalls,
        )
