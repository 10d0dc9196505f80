"""The shell both rule sets share: load, validate, identity, JSON form, immutability."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Generic, Self, TypeVar

from clearance._json import clone
from clearance._loading import packaged_rules, read_rule_file, validate
from protocol.canonical import canonicalize, sha256_hex

RuleT = TypeVar("RuleT")


class RuleSetBase(Generic[RuleT]):
    """A validated, immutable rule set; a subclass names its schema and default file and
    builds its rules from the schema-valid rule objects (:meth:`_build_rules`).

    An instance exists only for a file that passed its schema and the subclass's checks.
    Equality and hash are over ``sha256``, the SHA-256 of the canonical JSON form, which a
    decision can record to name exactly the rules that produced it.
    """

    SCHEMA: ClassVar[str]
    DEFAULT_FILE: ClassVar[str]

    __slots__ = ("_data", "description", "document_versions", "rules", "ruleset_id", "sha256", "version")

    ruleset_id: str
    version: str
    description: str | None
    document_versions: Mapping[str, tuple[str, ...]]
    rules: tuple[RuleT, ...]
    sha256: str
    _data: dict[str, Any]

    def __init__(self, data: Mapping[str, Any], *, file: str | None = None) -> None:
        """Validate ``data`` (``ClearanceRulesError`` naming ``file`` and the pointer) and build."""
        plain = validate(data, self.SCHEMA, file=file)
        versions = MappingProxyType({t: tuple(v) for t, v in plain["documentVersions"].items()})
        values = {
            "_data": plain,
            "ruleset_id": plain["rulesetId"],
            "version": plain["version"],
            "description": plain.get("description"),
            "document_versions": versions,
            "rules": self._build_rules(plain["rules"], versions, file),
            "sha256": sha256_hex(canonicalize(plain)),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @classmethod
    def _build_rules(
        cls, items: list[dict[str, Any]], versions: Mapping[str, tuple[str, ...]], file: str | None
    ) -> tuple[RuleT, ...]:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Validate and build a rule set from its JSON form."""
        return cls(data)

    @classmethod
    def load(cls, path: Path | None = None) -> Self:
        """Read a rule file: ``path``, or by default the one shipped in ``clearance/rules``."""
        source = packaged_rules(cls.DEFAULT_FILE) if path is None else path
        return cls(read_rule_file(source), file=source.name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``from_dict(r.to_dict()) == r``."""
        result: dict[str, Any] = clone(self._data)
        return result

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, RuleSetBase) and other.sha256 == self.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.ruleset_id!r}, version={self.version!r}, rules={len(self.rules)})"
        )
