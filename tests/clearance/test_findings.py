"""Findings and subjects: valid once built, strict from_dict, exact round trip."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from clearance import Finding, Severity, Subject


def _finding() -> dict[str, Any]:
    return {
        "ruleId": "REC-VALUE-01",
        "ruleVersion": "1.0",
        "title": "The declared customs value equals the invoice total",
        "severity": "hold",
        "message": "The declared customs value is 21360, but the invoice total is 21960",
        "subjects": [
            {
                "documentId": "1695026b-637f-402b-971a-0d26b35e494f",
                "documentType": "customs-declaration",
                "pointer": "/body/goodsItems",
                "value": 21360,
                "note": "sum of /customsValue/amount over 2 goodsItems",
            },
            {
                "documentId": "f60af4cb-0165-44a1-b763-577fcdf8ce87",
                "documentType": "commercial-invoice",
                "pointer": "/body/totalAmount",
                "value": 21960.5,
            },
        ],
    }


def test_round_trip() -> None:
    data = _finding()
    finding = Finding.from_dict(data)
    assert finding.severity is Severity.HOLD
    assert finding.subjects[0].note is not None and finding.subjects[1].note is None
    assert finding.to_dict() == data
    assert Finding.from_dict(finding.to_dict()) == finding
    assert hash(Finding.from_dict(copy.deepcopy(data))) == hash(finding)


def test_subject_values_are_detached_and_may_be_null_or_structured() -> None:
    value = {"typeCode": "bill-of-lading", "number": "SMLN26SIN0457"}
    subject = Subject("d1", "customs-declaration", "", value)
    value["number"] = "changed"
    assert subject.value["number"] == "SMLN26SIN0457"
    assert Subject("d1", "customs-declaration", "", None).to_dict()["value"] is None


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = _finding()
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


BAD = {
    "unknown-member": _with(("extra",), 1),
    "missing-message": _with(("message",), KeyError),
    "bad-rule-id": _with(("ruleId",), "rec-value-01"),
    "bad-rule-version": _with(("ruleVersion",), "1"),
    "bad-severity": _with(("severity",), "block"),
    "unhashable-severity": _with(("severity",), ["hold"]),
    "empty-title": _with(("title",), ""),
    "long-title": _with(("title",), "x" * 257),
    "no-subjects": _with(("subjects",), []),
    "too-many-subjects": _with(("subjects",), [_finding()["subjects"][1]] * 21),
    "subjects-not-array": _with(("subjects",), {"a": 1}),
    "subject-unknown-member": _with(("subjects", 0, "extra"), 1),
    "subject-missing-value": _with(("subjects", 1, "value"), KeyError),
    "subject-bad-pointer": _with(("subjects", 0, "pointer"), "body/x"),
    "subject-bad-escape": _with(("subjects", 0, "pointer"), "/a~2"),
    "subject-bad-id": _with(("subjects", 0, "documentId"), "has space"),
    "subject-bad-type": _with(("subjects", 0, "documentType"), "Invoice"),
    "subject-nan": _with(("subjects", 0, "value"), float("nan")),
    "subject-non-json": _with(("subjects", 0, "value"), {1: "x"}),
    "subject-empty-note": _with(("subjects", 0, "note"), ""),
    "not-an-object": ["finding"],
}


@pytest.mark.parametrize("data", BAD.values(), ids=BAD.keys())
def test_from_dict_refuses_defects(data: Any) -> None:
    with pytest.raises(ValueError):
        Finding.from_dict(data)


def test_constructor_checks_too() -> None:
    subject = Subject("d1", "customs-declaration", "/a", 1)
    with pytest.raises(ValueError):
        Finding("REC-X", "1.0", "t", "hold", "m", (subject,))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Finding("REC-X", "1.0", "t", Severity.HOLD, "m", [subject])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Finding("REC-X", "1.0", "t", Severity.HOLD, "", (subject,))
