"""Rule files: the shipped files load and equal their JSON form; bad files are refused at load."""

from __future__ import annotations

import copy
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import pytest

from clearance import ClearanceRulesError, ImportRuleSet, RuleSet, Severity

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "clearance" / "rules"


def _json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


@pytest.mark.parametrize(
    ("cls", "name"),
    [(RuleSet, "export-reconciliation-1.0.json"), (ImportRuleSet, "import-clearance-1.0.json")],
    ids=["export", "import"],
)
def test_shipped_rule_set_loads_and_round_trips(cls: Any, name: str) -> None:
    shipped = cls.load()
    assert shipped == cls.load(RULES / name)
    assert f"{shipped.ruleset_id}-{shipped.version}.json" == name
    assert shipped.to_dict() == _json(RULES / name)
    again = cls.from_dict(shipped.to_dict())
    assert again == shipped and hash(again) == hash(shipped) and again.sha256 == shipped.sha256
    ids = [rule.rule_id for rule in shipped.rules]
    assert len(ids) == len(set(ids))
    assert all(isinstance(rule.severity, Severity) and rule.title and rule.version for rule in shipped.rules)


def test_rule_ids_are_grouped_and_numbered() -> None:
    ids = [rule.rule_id for rule in RuleSet.load().rules]
    assert ids[0] == "REC-PRESENCE-01"
    assert all(rule_id.startswith("REC-") for rule_id in ids)


def test_the_rule_schemas_are_valid_draft_2020_12() -> None:
    for path in (ROOT / "clearance" / "schemas").glob("*.json"):
        jsonschema.Draft202012Validator.check_schema(_json(path))


# -- export rule files -------------------------------------------------------------------------


def _rule(check: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "ruleId": "T-01",
        "version": "1.0",
        "title": "A test rule",
        "severity": "hold",
        "check": check,
        **extra,
    }


_VALUE = {"document": "commercial-invoice", "pointer": "/body/totalAmount", "label": "total"}
_TOTALS = {
    "document": "commercial-invoice",
    "array": "/body/lineItems",
    "aggregate": "totals",
    "by": ["/hsCode"],
    "of": "/quantity/value",
    "label": "totals",
}
_SETS = {**_TOTALS, "aggregate": "sets"}


def _file(*rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "rulesetId": "test",
        "version": "1.0",
        "documentVersions": {"customs-declaration": ["1.0"], "commercial-invoice": ["1.0"]},
        "rules": list(rules) or [_rule({"op": "equal", "left": _VALUE, "right": _VALUE})],
    }


@dataclass(frozen=True)
class Bad:
    name: str
    data: dict[str, Any]
    pointer: str

    def __str__(self) -> str:
        return self.name


def _edited(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = _file()
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


EQUAL = {"op": "equal", "left": _VALUE, "right": _VALUE}

BAD_EXPORT = [
    Bad("no-rules", _edited(("rules",), []), "/rules"),
    Bad("unknown-member", _edited(("extra",), 1), ""),
    Bad("bad-ruleset-id", _edited(("rulesetId",), "Test Rules"), "/rulesetId"),
    Bad("bad-version", _edited(("version",), "1"), "/version"),
    # "$" ends the input in ECMA-262, as JSON Schema reads patterns (Python's re would accept this)
    Bad("version-with-newline", _edited(("version",), "1.0\n"), "/version"),
    Bad("no-document-versions", _edited(("documentVersions",), {}), "/documentVersions"),
    Bad("bad-rule-id", _file(_rule(EQUAL, ruleId="rec-1")), "/rules/0/ruleId"),
    Bad("bad-severity", _file(_rule(EQUAL, severity="block")), "/rules/0/severity"),
    Bad("unknown-op", _file(_rule({"op": "like", "left": _VALUE, "right": _VALUE})), "/rules/0/check/op"),
    Bad(
        "term-without-label",
        _file(
            _rule({"op": "equal", "left": {k: v for k, v in _VALUE.items() if k != "label"}, "right": _VALUE})
        ),
        "/rules/0/check/left",
    ),
    Bad(
        "bad-pointer",
        _file(_rule({"op": "equal", "left": {**_VALUE, "pointer": "body"}, "right": _VALUE})),
        "/rules/0/check/left",
    ),
    Bad(
        "aggregate-in-equal",
        _file(_rule({"op": "equal", "left": _TOTALS, "right": _VALUE})),
        "/rules/0/check/left",
    ),
    Bad(
        "tolerance-missing",
        _file(_rule({"op": "equalWithin", "left": _VALUE, "right": _VALUE})),
        "/rules/0/check",
    ),
    Bad(
        "tolerance-a-number",
        _file(_rule({"op": "equalWithin", "left": _VALUE, "right": _VALUE, "tolerance": 0.01})),
        "/rules/0/check/tolerance",
    ),
    Bad(
        "negative-tolerance",
        _file(_rule({"op": "equalWithin", "left": _VALUE, "right": _VALUE, "tolerance": "-1"})),
        "/rules/0/check/tolerance",
    ),
    Bad(
        "present-without-types",
        _file(_rule({"op": "present", "documentTypes": []})),
        "/rules/0/check/documentTypes",
    ),
    Bad(
        "each-with-document-terms",
        _file(
            _rule(
                {
                    "op": "each",
                    "document": "commercial-invoice",
                    "array": "/body/lineItems",
                    "label": "line",
                    "check": {"op": "equal", "left": _VALUE, "right": {"pointer": "/b", "label": "b"}},
                }
            )
        ),
        "/rules/0/check/check/left",
    ),
    Bad(
        "each-tolerance-on-equal",
        _file(
            _rule(
                {
                    "op": "each",
                    "document": "commercial-invoice",
                    "array": "/body/lineItems",
                    "label": "line",
                    "check": {
                        "op": "equal",
                        "left": {"pointer": "/a", "label": "a"},
                        "right": {"pointer": "/b", "label": "b"},
                        "tolerance": "1",
                    },
                }
            )
        ),
        "/rules/0/check/check",
    ),
    Bad(
        "condition-without-values",
        _file(_rule(EQUAL, when=[{"pointer": "/body/x", "in": []}])),
        "/rules/0/when/0/in",
    ),
    # refused by the loader, beyond what the schema can say
    Bad("duplicate-rule-id", _file(_rule(EQUAL), _rule(EQUAL)), "/rules/1/ruleId"),
    Bad(
        "groups-of-two-kinds",
        _file(_rule({"op": "sameGroups", "left": _TOTALS, "right": _SETS})),
        "/rules/0/check/right/aggregate",
    ),
    Bad(
        "tolerance-on-sets",
        _file(_rule({"op": "sameGroups", "left": _SETS, "right": _SETS, "tolerance": "1"})),
        "/rules/0/check/tolerance",
    ),
    Bad(
        "unlisted-document-type",
        _file(_rule({"op": "equal", "left": {**_VALUE, "document": "payment-record"}, "right": _VALUE})),
        "/rules/0/check",
    ),
    Bad(
        "declaration-unlisted",
        _edited(("documentVersions",), {"commercial-invoice": ["1.0"]}),
        "/documentVersions",
    ),
]


@pytest.mark.parametrize("case", BAD_EXPORT, ids=str)
def test_rejects_bad_export_rule_file(case: Bad) -> None:
    with pytest.raises(ClearanceRulesError) as excinfo:
        RuleSet.from_dict(case.data)
    assert excinfo.value.pointer == case.pointer


def test_a_valid_minimal_file_loads() -> None:
    rules = RuleSet.from_dict(_file())
    assert [rule.rule_id for rule in rules.rules] == ["T-01"]


def test_schema_violation_is_chained() -> None:
    with pytest.raises(ClearanceRulesError) as excinfo:
        RuleSet.from_dict({"rulesetId": "x"})
    assert isinstance(excinfo.value.__cause__, jsonschema_rs.ValidationError)
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize(
    "content",
    ["{not json", '{"rulesetId": "a", "rulesetId": "b"}', '{"version": NaN}', "\ufeff{}"],
    ids=["malformed", "duplicate-member", "nan", "bom"],
)
def test_rejects_a_file_that_is_not_strict_json(tmp_path: Path, content: str) -> None:
    path = tmp_path / "test-1.0.json"
    path.write_text(content, "utf-8")
    with pytest.raises(ClearanceRulesError) as excinfo:
        RuleSet.load(path)
    assert excinfo.value.file == "test-1.0.json"
    assert excinfo.value.pointer is None


def test_rejects_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ClearanceRulesError) as excinfo:
        ImportRuleSet.load(tmp_path / "absent.json")
    assert excinfo.value.file == "absent.json"


def test_a_schema_invalid_file_names_file_and_pointer(tmp_path: Path) -> None:
    path = tmp_path / "test-1.0.json"
    path.write_text(json.dumps(_edited(("rules",), [])), "utf-8")
    with pytest.raises(ClearanceRulesError) as excinfo:
        RuleSet.load(path)
    assert (excinfo.value.file, excinfo.value.pointer) == ("test-1.0.json", "/rules")
    assert str(excinfo.value).startswith("test-1.0.json: ")


# -- import rule files -------------------------------------------------------------------------


def _import_file() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RULES / "import-clearance-1.0.json").read_text("utf-8"))
    return data


def _import_edited(edit: Any) -> dict[str, Any]:
    data = _import_file()
    edit(data)
    return data


BAD_IMPORT = [
    Bad("unknown-kind", _import_edited(lambda d: d["rules"][1].update(kind="quota")), "/rules/1/kind"),
    Bad(
        "bad-prefix",
        _import_edited(lambda d: d["rules"][1]["items"].update(hsPrefixes=["6"])),
        "/rules/1/items/hsPrefixes/0",
    ),
    Bad(
        "preference-without-agreement",
        _import_edited(lambda d: d["rules"][0]["certificate"].pop("agreement")),
        "/rules/0/certificate",
    ),
    Bad(
        "prefixes-on-preference",
        _import_edited(lambda d: d["rules"][0]["items"].update(hsPrefixes=["06"])),
        "/rules/0/items",
    ),
    Bad(
        "no-match",
        _import_edited(lambda d: d["rules"][1]["certificate"].update(match=[])),
        "/rules/1/certificate/match",
    ),
    Bad("no-preference-rule", _import_edited(lambda d: d["rules"].pop(0)), "/rules"),
    Bad(
        "two-preference-rules",
        _import_edited(
            lambda d: d["rules"].append({**copy.deepcopy(d["rules"][0]), "ruleId": "IMP-PREF-02"})
        ),
        "/rules",
    ),
    Bad(
        "duplicate-rule-id",
        _import_edited(lambda d: d["rules"][1].update(ruleId="IMP-PREFERENCE-01")),
        "/rules/1/ruleId",
    ),
    Bad(
        "unlisted-certificate-type",
        _import_edited(lambda d: d["documentVersions"].pop("phytosanitary-certificate")),
        "/rules/1/certificate/type",
    ),
]


@pytest.mark.parametrize("case", BAD_IMPORT, ids=str)
def test_rejects_bad_import_rule_file(case: Bad) -> None:
    with pytest.raises(ClearanceRulesError) as excinfo:
        ImportRuleSet.from_dict(case.data)
    assert excinfo.value.pointer == case.pointer


def test_rule_sets_are_immutable_values() -> None:
    rules = RuleSet.load()
    with pytest.raises(AttributeError):
        rules.version = "2.0"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del rules.rules
    assert rules != ImportRuleSet.load()
    assert "rules=50" in repr(rules)


def test_rule_files_ship_in_the_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    assert "clearance*" in config["packages"]["find"]["include"]
    assert set(config["package-data"]["clearance"]) >= {"py.typed", "rules/*.json", "schemas/*.json"}
