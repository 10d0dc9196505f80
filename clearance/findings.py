"""Findings: what a clearance rule reports, as the ``finding`` object of ``clearance-decision`` 1.1.

A :class:`Finding` names the rule (id and version), a title an officer understands, its
:class:`Severity`, a message with the values that disagree, and one or more
:class:`Subject` entries: the document (id and type), the RFC 6901 pointer involved and the
value found there (for an aggregate: the array's pointer, the computed value and a note
such as ``"sum of /lineAmount over 2 lineItems"``).

Both classes are valid once constructed (the constructor checks every member against the
``clearance-decision`` 1.1 finding schema and raises ``ValueError``); ``from_dict`` is the
strict parsing constructor (exact members) and ``to_dict`` its inverse.
"""

from __future__ import annotations

import json
import re
from collections import abc
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from clearance._json import clone, is_json

__all__ = ["MAX_SUBJECTS", "Finding", "Severity", "Subject"]

MAX_SUBJECTS: Final = 20
"""Subjects per finding, as the ``clearance-decision`` 1.1 schema allows."""

_RULE_ID: Final = re.compile(r"[A-Z][A-Z0-9-]{1,31}")
_RULE_VERSION: Final = re.compile(r"[0-9]+\.[0-9]+")
_DOCUMENT_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_DOCUMENT_TYPE: Final = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_POINTER: Final = re.compile(r"(/([^~/]|~[01])*)*")
_SHORT_TEXT: Final = 256
_LONG_TEXT: Final = 4096

_SUBJECT_MEMBERS: Final = frozenset({"documentId", "documentType", "pointer", "value", "note"})
_FINDING_MEMBERS: Final = frozenset({"ruleId", "ruleVersion", "title", "severity", "message", "subjects"})


class Severity(StrEnum):
    """What a finding does to the declaration: ``hold`` it for an officer, or only ``warn``."""

    HOLD = "hold"
    WARN = "warn"


def _text(name: str, value: Any, limit: int) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise ValueError(f"{name} must be a string of 1 to {limit} characters, not {value!r:.80}")


def _pattern(name: str, value: Any, pattern: re.Pattern[str]) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{name} {value!r:.80} does not match {pattern.pattern}")


def _members(kind: str, data: Any, allowed: frozenset[str], optional: frozenset[str]) -> None:
    if not isinstance(data, abc.Mapping):
        raise ValueError(f"a {kind} must be a JSON object, not {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"unknown {kind} member(s): {', '.join(map(str, unknown))}")
    missing = sorted(allowed - optional - set(data))
    if missing:
        raise ValueError(f"{kind} lacks member(s): {', '.join(missing)}")


@dataclass(frozen=True, slots=True)
class Subject:
    """One document value a finding is about.

    ``pointer`` is an RFC 6901 pointer into the document (``""``: the whole document);
    ``value`` is the JSON value found there (or computed from the array it points at, as
    ``note`` says); ``None`` is JSON ``null``, e.g. for a document that is absent.
    """

    document_id: str
    document_type: str
    pointer: str
    value: Any
    note: str | None = None

    def __post_init__(self) -> None:
        _pattern("documentId", self.document_id, _DOCUMENT_ID)
        _pattern("documentType", self.document_type, _DOCUMENT_TYPE)
        _pattern("pointer", self.pointer, _POINTER)
        if not is_json(self.value):
            raise ValueError(f"value is not a JSON value: {self.value!r:.80}")
        if self.note is not None:
            _text("note", self.note, _SHORT_TEXT)
        # Detach from the caller's containers: a frozen subject must not change under us.
        object.__setattr__(self, "value", clone(self.value))

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    @classmethod
    def from_dict(cls, data: abc.Mapping[str, Any]) -> Subject:
        """Parse a subject object (exact members; ``note`` optional); ``ValueError`` on defects."""
        _members("subject", data, _SUBJECT_MEMBERS, frozenset({"note"}))
        return cls(
            document_id=data["documentId"],
            document_type=data["documentType"],
            pointer=data["pointer"],
            value=data["value"],
            note=data.get("note"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``note`` only when there is one."""
        data: dict[str, Any] = {
            "documentId": self.document_id,
            "documentType": self.document_type,
            "pointer": self.pointer,
            "value": clone(self.value),
        }
        if self.note is not None:
            data["note"] = self.note
        return data


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's report about a package: which rule, how severe, what disagrees and where."""

    rule_id: str
    rule_version: str
    title: str
    severity: Severity
    message: str
    subjects: tuple[Subject, ...]

    def __post_init__(self) -> None:
        _pattern("ruleId", self.rule_id, _RULE_ID)
        _pattern("ruleVersion", self.rule_version, _RULE_VERSION)
        _text("title", self.title, _SHORT_TEXT)
        if not isinstance(self.severity, Severity):
            raise ValueError(f"severity must be a Severity, not {self.severity!r:.40}")
        _text("message", self.message, _LONG_TEXT)
        if not isinstance(self.subjects, tuple) or not 1 <= len(self.subjects) <= MAX_SUBJECTS:
            raise ValueError(f"a finding has 1 to {MAX_SUBJECTS} subjects in a tuple")
        if not all(isinstance(s, Subject) for s in self.subjects):
            raise ValueError("subjects must be Subject values")

    @classmethod
    def from_dict(cls, data: abc.Mapping[str, Any]) -> Finding:
        """Parse a finding object (exact members); ``ValueError`` on any defect."""
        _members("finding", data, _FINDING_MEMBERS, frozenset())
        subjects = data["subjects"]
        if not isinstance(subjects, list | tuple):
            raise ValueError("subjects must be a JSON array")
        severity = data["severity"]
        if not isinstance(severity, str) or severity not in {s.value for s in Severity}:
            raise ValueError(f"severity must be one of hold, warn, not {severity!r:.40}")
        return cls(
            rule_id=data["ruleId"],
            rule_version=data["ruleVersion"],
            title=data["title"],
            severity=Severity(severity),
            message=data["message"],
            subjects=tuple(Subject.from_dict(s) for s in subjects),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the ``clearance-decision`` 1.1 finding; ``from_dict`` inverts it."""
        return {
            "ruleId": self.rule_id,
            "ruleVersion": self.rule_version,
            "title": self.title,
            "severity": self.severity.value,
            "message": self.message,
            "subjects": [subject.to_dict() for subject in self.subjects],
        }
