"""Equivalence mappings: the shipped export→import mapping, the rule engine and its refusals."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.canonical import canonicalize, sha256_hex
from protocol.documents import DocumentSchemas
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from trust_registry.errors import MappingError, TrustError
from trust_registry.mapping import DERIVED_FROM_KEY, EquivalenceMapping, Mapping, MappingSet

ROOT = Path(__file__).resolve().parents[2]
EXPORT_TO_IMPORT = "customs-declaration-export-to-import-1.0"
EXPORT_TO_IMPORT_1_1 = "customs-declaration-export-to-import-1.1"
SHA = "ab" * 32


@pytest.fixture(scope="module")
def schemas() -> DocumentSchemas:
    return DocumentSchemas.load()


@pytest.fixture(scope="module")
def shipped() -> MappingSet:
    return MappingSet.load()


@pytest.fixture(scope="module")
def export_to_import(shipped: MappingSet) -> EquivalenceMapping:
    return shipped.get(EXPORT_TO_IMPORT)


@pytest.fixture(scope="module")
def export_to_import_1_1(shipped: MappingSet) -> EquivalenceMapping:
    return shipped.get(EXPORT_TO_IMPORT_1_1)


def _example_declaration() -> dict[str, Any]:
    return parse_json((ROOT / "examples" / "documents" / "customs-declaration.json").read_bytes())


def declaration_1_0(declaration: dict[str, Any]) -> dict[str, Any]:
    """``declaration`` (1.1) without the members 1.1 added, at version 1.0."""
    document = copy.deepcopy(declaration)
    document["version"] = "1.0"
    for name in ("ucr", "functionCode", "invoiceAmount", "incoterms"):
        document["body"].pop(name, None)
    document["body"]["transport"].pop("transportDocument", None)
    for item in document["body"]["goodsItems"]:
        item.pop("preference", None)
    return document


@pytest.fixture
def export_declaration() -> dict[str, Any]:
    """A fresh copy of the shipped example export declaration, as version 1.0."""
    return declaration_1_0(_example_declaration())


@pytest.fixture
def export_declaration_1_1() -> dict[str, Any]:
    """A fresh copy of the shipped example export declaration (version 1.1), parsed strictly."""
    return _example_declaration()


def _mapping(rules: list[dict[str, Any]], **source: Any) -> EquivalenceMapping:
    return EquivalenceMapping.from_dict(
        {
            "mappingId": "test-1.0",
            "source": {"type": "customs-declaration", "version": "1.0", **source},
            "target": {"type": "customs-declaration", "version": "1.0"},
            "rules": rules,
        }
    )


def _doc(**body: Any) -> dict[str, Any]:
    return {"id": "D-1", "type": "customs-declaration", "version": "1.0", "body": body}


# -- the shipped export → import mapping ---------------------------------------------------


def test_shipped_set_holds_the_export_to_import_mapping(shipped: MappingSet) -> None:
    assert EXPORT_TO_IMPORT in shipped.ids()
    mapping = shipped.get(EXPORT_TO_IMPORT)
    assert (mapping.source_type, mapping.source_version) == ("customs-declaration", "1.0")
    assert (mapping.target_type, mapping.target_version) == ("customs-declaration", "1.0")
    assert Mapping is EquivalenceMapping


def test_export_declaration_maps_to_a_schema_valid_import_declaration(
    export_to_import: EquivalenceMapping,
    export_declaration: dict[str, Any],
    schemas: DocumentSchemas,
) -> None:
    schemas.validate(export_declaration)  # the example is itself valid
    digest = sha256_hex(canonicalize(export_declaration))

    derived = export_to_import.apply(export_declaration, source_sha256=digest)

    schemas.validate(derived)
    schemas.validate_reference(derived)
    assert derived["id"] == export_declaration["id"]
    assert derived["body"]["declarationType"] == "import"
    assert derived["extensions"][DERIVED_FROM_KEY] == {
        "id": export_declaration["id"],
        "type": "customs-declaration",
        "version": "1.0",
        "sha256": digest,
        "mappingId": EXPORT_TO_IMPORT,
        "mappingSha256": export_to_import.sha256,
    }


def test_export_to_import_carries_goods_transport_and_parties(
    export_to_import: EquivalenceMapping, export_declaration: dict[str, Any]
) -> None:
    derived = export_to_import.apply(export_declaration, source_sha256=SHA)
    body, source_body = derived["body"], export_declaration["body"]

    assert body["goodsItems"] == source_body["goodsItems"]
    assert body["transport"] == source_body["transport"]  # Rec 19 mode "1" copied
    assert body["exportCountry"] == "SG"
    assert body["destinationCountry"] == "CN"
    assert body["procedureCode"] == "4000"
    assert body["declarationOffice"] == source_body["transport"]["portOfDischarge"]
    assert "functionalReference" not in body
    assert "additionalProcedureCodes" not in body
    assert derived["references"] == export_declaration["references"]
    roles = {party["role"]: party["id"] for party in derived["parties"]}
    by_role = {party["role"]: party["id"] for party in export_declaration["parties"]}
    assert roles == {
        "consignor": by_role["exporter"],
        "consignee": by_role["consignee"],
        "declarant": by_role["consignee"],
    }


def test_mapping_is_deterministic(
    export_to_import: EquivalenceMapping, export_declaration: dict[str, Any]
) -> None:
    first = export_to_import.apply(export_declaration, source_sha256=SHA)
    second = export_to_import.apply(export_declaration, source_sha256=SHA)
    reloaded = MappingSet.load().get(EXPORT_TO_IMPORT)
    third = reloaded.apply(export_declaration, source_sha256=SHA)
    assert canonicalize(first) == canonicalize(second) == canonicalize(third)


def test_input_is_never_mutated_and_output_shares_nothing(
    export_to_import: EquivalenceMapping, export_declaration: dict[str, Any]
) -> None:
    before = copy.deepcopy(export_declaration)
    derived = export_to_import.apply(export_declaration, source_sha256=SHA)
    assert export_declaration == before

    # Mutating the output must reach neither the input nor the mapping's constants.
    derived["body"]["goodsItems"][0]["quantity"]["value"] = -1
    derived["parties"][0]["address"]["city"] = "elsewhere"
    assert export_declaration == before
    again = export_to_import.apply(export_declaration, source_sha256=SHA)
    assert again["body"]["goodsItems"][0]["quantity"]["value"] == 4800


# -- the 1.1 mapping: customs-declaration 1.1 → 1.1 ----------------------------------------


def test_shipped_set_holds_the_1_1_mapping_beside_1_0(shipped: MappingSet) -> None:
    mapping = shipped.get(EXPORT_TO_IMPORT_1_1)
    assert (mapping.source_type, mapping.source_version) == ("customs-declaration", "1.1")
    assert (mapping.target_type, mapping.target_version) == ("customs-declaration", "1.1")
    assert mapping.when == {"/body/declarationType": "export"}
    assert EXPORT_TO_IMPORT in shipped.ids()


def test_1_1_example_maps_to_a_valid_1_1_import_declaration_with_the_ucr(
    export_to_import_1_1: EquivalenceMapping,
    export_declaration_1_1: dict[str, Any],
    schemas: DocumentSchemas,
) -> None:
    source = export_declaration_1_1
    schemas.validate(source)
    digest = sha256_hex(canonicalize(source))

    derived = export_to_import_1_1.apply(source, source_sha256=digest)

    schemas.validate(derived)
    schemas.validate_reference(derived)
    body, source_body = derived["body"], source["body"]
    assert derived["version"] == "1.1" and body["declarationType"] == "import"
    assert body["ucr"] == source_body["ucr"] == "6SG201912345K-0457"
    assert body["functionCode"] == "original"
    assert body["invoiceAmount"] == source_body["invoiceAmount"]
    assert body["incoterms"] == source_body["incoterms"]
    assert body["transport"] == source_body["transport"]
    assert body["transport"]["transportDocument"] == {"typeCode": "bill-of-lading",
                                                      "number": "SMLN26SIN0457"}
    assert body["goodsItems"] == source_body["goodsItems"]
    assert [item["preference"] for item in body["goodsItems"]] == [{"agreement": "RCEP"}] * 2
    assert derived["references"] == source["references"]
    assert derived["extensions"][DERIVED_FROM_KEY] == {
        "id": source["id"],
        "type": "customs-declaration",
        "version": "1.1",
        "sha256": digest,
        "mappingId": EXPORT_TO_IMPORT_1_1,
        "mappingSha256": export_to_import_1_1.sha256,
    }


def test_1_1_mapping_does_what_1_0_does_on_a_declaration_without_the_new_members(
    export_to_import: EquivalenceMapping,
    export_to_import_1_1: EquivalenceMapping,
    export_declaration: dict[str, Any],
    schemas: DocumentSchemas,
) -> None:
    as_1_1 = {**export_declaration, "version": "1.1"}
    derived = export_to_import_1_1.apply(as_1_1, source_sha256=SHA)
    schemas.validate(derived)
    expected = export_to_import.apply(export_declaration, source_sha256=SHA)
    del derived["extensions"][DERIVED_FROM_KEY], expected["extensions"][DERIVED_FROM_KEY]
    assert {**derived, "version": "1.0"} == expected


def test_1_1_mapping_refuses_a_1_0_source_and_1_0_mapping_a_1_1_source(
    export_to_import: EquivalenceMapping,
    export_to_import_1_1: EquivalenceMapping,
    export_declaration: dict[str, Any],
    export_declaration_1_1: dict[str, Any],
) -> None:
    for mapping, document in ((export_to_import_1_1, export_declaration),
                              (export_to_import, export_declaration_1_1)):
        assert not mapping.applies_to(document)
        with pytest.raises(MappingError) as excinfo:
            mapping.apply(document, source_sha256=SHA)
        assert excinfo.value.code is ReasonCode.MAPPING_FAILED
        assert excinfo.value.context["pointer"] == "/version"


def test_1_1_mapping_refuses_an_import_declaration(
    export_to_import_1_1: EquivalenceMapping, export_declaration_1_1: dict[str, Any]
) -> None:
    export_declaration_1_1["body"]["declarationType"] = "import"
    with pytest.raises(MappingError) as excinfo:
        export_to_import_1_1.apply(export_declaration_1_1, source_sha256=SHA)
    assert excinfo.value.context["pointer"] == "/body/declarationType"


def test_applies_to_only_export_declarations(
    export_to_import: EquivalenceMapping, export_declaration: dict[str, Any]
) -> None:
    assert export_to_import.applies_to(export_declaration)
    export_declaration["body"]["declarationType"] = "import"
    assert not export_to_import.applies_to(export_declaration)


# -- refusals while applying: MAPPING_FAILED with the pointer ------------------------------


@dataclass(frozen=True)
class ApplyFailure:
    name: str
    change: str  # JSON pointer into the example export declaration
    value: Any  # new value, or _DELETE
    pointer: str

    def __str__(self) -> str:
        return self.name


_DELETE = object()

APPLY_FAILURES = [
    ApplyFailure("wrong-type", "/type", "certificate-of-origin", "/type"),
    ApplyFailure("wrong-version", "/version", "2.0", "/version"),
    ApplyFailure("when-not-met", "/body/declarationType", "import", "/body/declarationType"),
    ApplyFailure("when-path-missing", "/body/declarationType", _DELETE, "/body/declarationType"),
    ApplyFailure("missing-required-path", "/body/invoiceReference", _DELETE, "/body/invoiceReference"),
    ApplyFailure("missing-path-in-each", "/body/goodsItems/1/hsCode", _DELETE, "/body/goodsItems/1/hsCode"),
    ApplyFailure("untranslatable-code", "/body/procedureCode", "7100", "/body/procedureCode"),
    ApplyFailure("code-not-a-string", "/body/procedureCode", 1000, "/body/procedureCode"),
    ApplyFailure("each-over-non-array", "/body/goodsItems", {"0": {}}, "/body/goodsItems"),
    ApplyFailure("where-matches-nothing", "/parties/2/role", "notify-party", "/parties"),
    ApplyFailure("missing-id", "/id", _DELETE, "/id"),
]


def _change(document: dict[str, Any], pointer: str, value: Any) -> None:
    *parents, last = pointer[1:].split("/")
    node: Any = document
    for token in parents:
        node = node[int(token)] if isinstance(node, list) else node[token]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


@pytest.mark.parametrize("mapping_id", [EXPORT_TO_IMPORT, EXPORT_TO_IMPORT_1_1])
@pytest.mark.parametrize("case", APPLY_FAILURES, ids=str)
def test_apply_refusals_name_the_pointer(
    case: ApplyFailure,
    mapping_id: str,
    shipped: MappingSet,
    export_declaration: dict[str, Any],
    export_declaration_1_1: dict[str, Any],
) -> None:
    document = export_declaration if mapping_id == EXPORT_TO_IMPORT else export_declaration_1_1
    _change(document, case.change, case.value)

    with pytest.raises(MappingError) as excinfo:
        shipped.get(mapping_id).apply(document, source_sha256=SHA)

    assert excinfo.value.code is ReasonCode.MAPPING_FAILED
    assert excinfo.value.context["pointer"] == case.pointer
    assert case.pointer in excinfo.value.message
    assert excinfo.value.context["mapping_id"] == mapping_id


def test_rejects_non_object_document(export_to_import: EquivalenceMapping) -> None:
    with pytest.raises(MappingError) as excinfo:
        export_to_import.apply(["not", "a", "document"], source_sha256=SHA)  # type: ignore[arg-type]
    assert excinfo.value.code is ReasonCode.MAPPING_FAILED
    assert not export_to_import.applies_to(["x"])  # type: ignore[arg-type]


@pytest.mark.parametrize("digest", ["", "AB" * 32, "ab" * 31, None], ids=repr)
def test_malformed_source_digest_is_a_caller_bug(
    digest: Any, export_to_import: EquivalenceMapping, export_declaration: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        export_to_import.apply(export_declaration, source_sha256=digest)


# -- rule semantics ------------------------------------------------------------------------


def test_translate_default_and_optional_rules() -> None:
    mapping = _mapping(
        [
            {"op": "translate", "from": "/body/m", "to": "/body/mode", "table": {"1": "sea"}, "default": "?"},
            {"op": "copy", "from": "/body/absent", "to": "/body/x", "optional": True},
            {
                "op": "translate",
                "from": "/body/absent",
                "to": "/body/y",
                "table": {"a": "b"},
                "optional": True,
            },
            {
                "op": "each",
                "from": "/body/absent",
                "to": "/body/z",
                "rules": [{"op": "copy", "from": "", "to": ""}],
                "optional": True,
            },
        ]
    )
    assert mapping.apply(_doc(m="1"), source_sha256=SHA)["body"] == {"mode": "sea"}
    assert mapping.apply(_doc(m="7"), source_sha256=SHA)["body"] == {"mode": "?"}


def test_each_where_append_and_relative_root_pointers() -> None:
    mapping = _mapping(
        [
            {
                "op": "each",
                "from": "/body/tags",
                "to": "/body/out",
                "rules": [{"op": "copy", "from": "", "to": ""}],
            },
            {
                "op": "each",
                "from": "/body/people",
                "to": "/body/out",
                "where": {"/kind": ["a", "b"]},
                "append": True,
                "rules": [{"op": "copy", "from": "/name", "to": ""}],
            },
        ]
    )
    document = _doc(tags=["x", "y"], people=[{"kind": "a", "name": "A"}, {"kind": "c", "name": "C"}])
    assert mapping.apply(document, source_sha256=SHA)["body"] == {"out": ["x", "y", "A"]}


def test_where_and_when_use_json_equality_not_python_equality() -> None:
    mapping = _mapping([{"op": "set", "to": "/body/ok", "value": True}], when={"/body/flag": True})
    assert mapping.applies_to(_doc(flag=True))
    assert not mapping.applies_to(_doc(flag=1))  # 1 == True in Python, not in JSON


def test_pointer_escapes_follow_rfc_6901() -> None:
    mapping = _mapping([{"op": "copy", "from": "/body/a~1b/c~0d", "to": "/body/e~1f"}])
    derived = mapping.apply(_doc(**{"a/b": {"c~d": 1}}), source_sha256=SHA)
    assert derived["body"] == {"e/f": 1}


def test_later_rule_replaces_earlier_write() -> None:
    mapping = _mapping(
        [
            {"op": "set", "to": "/body/office", "value": "DEFAULT"},
            {"op": "copy", "from": "/body/office", "to": "/body/office", "optional": True},
        ]
    )
    assert mapping.apply(_doc(), source_sha256=SHA)["body"] == {"office": "DEFAULT"}
    assert mapping.apply(_doc(office="X1"), source_sha256=SHA)["body"] == {"office": "X1"}


def test_set_values_are_fresh_copies() -> None:
    mapping = _mapping([{"op": "set", "to": "/body/list", "value": [1, 2]}])
    first = mapping.apply(_doc(), source_sha256=SHA)
    first["body"]["list"].append(3)
    assert mapping.apply(_doc(), source_sha256=SHA)["body"]["list"] == [1, 2]


def test_writing_through_a_scalar_fails() -> None:
    mapping = _mapping(
        [
            {"op": "set", "to": "/body", "value": 1},
            {"op": "set", "to": "/body/x", "value": 2},
        ]
    )
    with pytest.raises(MappingError) as excinfo:
        mapping.apply(_doc(), source_sha256=SHA)
    assert excinfo.value.code is ReasonCode.MAPPING_FAILED


def test_extensions_overwritten_with_a_non_object_fails() -> None:
    mapping = _mapping([{"op": "set", "to": "/extensions", "value": "nope"}])
    with pytest.raises(MappingError) as excinfo:
        mapping.apply(_doc(), source_sha256=SHA)
    assert excinfo.value.code is ReasonCode.MAPPING_FAILED


def test_source_provenance_cannot_be_forged_through_extensions() -> None:
    mapping = _mapping([{"op": "copy", "from": "/extensions", "to": "/extensions"}])
    forged = {**_doc(), "extensions": {DERIVED_FROM_KEY: {"id": "other"}, "SG": {"k": 1}}}
    derived = mapping.apply(forged, source_sha256=SHA)
    assert derived["extensions"]["SG"] == {"k": 1}
    assert derived["extensions"][DERIVED_FROM_KEY]["id"] == "D-1"


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def copy_payload() -> EquivalenceMapping:
    return _mapping([{"op": "copy", "from": "/body/payload", "to": "/body/copied"}])


@settings(max_examples=50, deadline=None)
@given(payload=_json)
def test_copy_reproduces_any_json_value_detached(copy_payload: EquivalenceMapping, payload: Any) -> None:
    mapping = copy_payload
    document = _doc(payload=payload)
    snapshot = canonicalize(document)
    derived = mapping.apply(document, source_sha256=SHA)
    assert canonicalize(derived["body"]["copied"]) == canonicalize(payload)
    assert canonicalize(mapping.apply(document, source_sha256=SHA)) == canonicalize(derived)
    assert canonicalize(document) == snapshot


# -- the mapping file: REGISTRY_INVALID ----------------------------------------------------


def _valid_file() -> dict[str, Any]:
    return {
        "mappingId": "test-1.0",
        "source": {"type": "customs-declaration", "version": "1.0"},
        "target": {"type": "customs-declaration", "version": "1.0"},
        "rules": [{"op": "copy", "from": "/body", "to": "/body"}],
    }


@dataclass(frozen=True)
class BadFile:
    name: str
    edit: dict[str, Any]
    pointer: str

    def __str__(self) -> str:
        return self.name


BAD_FILES = [
    BadFile("no-rules", {"rules": []}, "/rules"),
    BadFile("unknown-op", {"rules": [{"op": "delete", "from": "/a"}]}, "/rules/0/op"),
    BadFile("copy-without-to", {"rules": [{"op": "copy", "from": "/a"}]}, "/rules/0"),
    BadFile("bad-pointer", {"rules": [{"op": "copy", "from": "a", "to": "/a"}]}, "/rules/0/from"),
    BadFile("bad-escape", {"rules": [{"op": "copy", "from": "/a~2", "to": "/a"}]}, "/rules/0/from"),
    BadFile("unknown-member", {"rules": [{"op": "set", "to": "/a", "value": 1, "extra": 1}]}, "/rules/0"),
    BadFile(
        "non-string-translation",
        {"rules": [{"op": "translate", "from": "/a", "to": "/a", "table": {"x": 1}}]},
        "/rules/0/table/x",
    ),
    BadFile(
        "nested-rule-invalid",
        {"rules": [{"op": "each", "from": "/a", "to": "/a", "rules": [{"op": "set", "to": "/x"}]}]},
        "/rules/0/rules/0",
    ),
    BadFile("bad-mapping-id", {"mappingId": "Has Spaces"}, "/mappingId"),
    BadFile("unknown-top-level-member", {"extra": True}, ""),
    BadFile("writes-id", {"rules": [{"op": "set", "to": "/id", "value": "x"}]}, "/rules/0/to"),
    BadFile("writes-type", {"rules": [{"op": "copy", "from": "/a", "to": "/type"}]}, "/rules/0/to"),
    BadFile("writes-version", {"rules": [{"op": "set", "to": "/version/x", "value": 1}]}, "/rules/0/to"),
    BadFile(
        "writes-id-after-each",
        {
            "rules": [
                {
                    "op": "each",
                    "from": "/a",
                    "to": "/a",
                    "where": {"/k": [1]},
                    "rules": [{"op": "set", "to": "", "value": 1}],
                },
                {"op": "set", "to": "/id", "value": "x"},
            ]
        },
        "/rules/1/to",
    ),
    BadFile("writes-root", {"rules": [{"op": "copy", "from": "", "to": ""}]}, "/rules/0/to"),
    BadFile(
        "writes-provenance",
        {"rules": [{"op": "set", "to": f"/extensions/{DERIVED_FROM_KEY}/id", "value": "x"}]},
        "/rules/0/to",
    ),
]


@pytest.mark.parametrize("case", BAD_FILES, ids=str)
def test_rejects_bad_mapping_file(case: BadFile) -> None:
    with pytest.raises(TrustError) as excinfo:
        EquivalenceMapping.from_dict({**_valid_file(), **case.edit})
    assert excinfo.value.code is ReasonCode.REGISTRY_INVALID
    assert excinfo.value.context["pointer"] == case.pointer


def test_schema_violation_is_translated_and_chained() -> None:
    with pytest.raises(TrustError) as excinfo:
        EquivalenceMapping.from_dict({"mappingId": "x"})
    assert isinstance(excinfo.value.__cause__, jsonschema.ValidationError)


def test_mapping_round_trips_and_compares_by_content(export_to_import: EquivalenceMapping) -> None:
    data = export_to_import.to_dict()
    again = EquivalenceMapping.from_dict(data)
    assert again == export_to_import
    assert hash(again) == hash(export_to_import)
    assert again.sha256 == export_to_import.sha256 == sha256_hex(canonicalize(data))
    assert again.to_dict() == data
    assert _mapping([{"op": "set", "to": "/a", "value": 1}]) != _mapping(
        [{"op": "set", "to": "/a", "value": 2}]
    )


@pytest.mark.parametrize("mapping_id", [EXPORT_TO_IMPORT, EXPORT_TO_IMPORT_1_1])
def test_shipped_file_equals_its_json_form(shipped: MappingSet, mapping_id: str) -> None:
    path = ROOT / "trust_registry" / "mappings" / f"{mapping_id}.json"
    assert shipped.get(mapping_id).to_dict() == json.loads(path.read_text("utf-8"))


# -- mapping sets --------------------------------------------------------------------------


def _write(directory: Path, name: str, content: str | dict[str, Any]) -> None:
    text = content if isinstance(content, str) else json.dumps(content)
    (directory / name).write_text(text, "utf-8")


def test_loads_a_directory_sorted_by_id(tmp_path: Path) -> None:
    _write(tmp_path, "b-1.0.json", {**_valid_file(), "mappingId": "b-1.0"})
    _write(tmp_path, "a-1.0.json", {**_valid_file(), "mappingId": "a-1.0"})
    _write(tmp_path, "README.md", "not a mapping")
    mappings = MappingSet.load(tmp_path)
    assert mappings.ids() == ["a-1.0", "b-1.0"]
    assert len(mappings) == 2
    assert "a-1.0" in mappings
    assert [m.mapping_id for m in mappings] == ["a-1.0", "b-1.0"]


@pytest.mark.parametrize(
    ("content", "more_code"),
    [
        ("{not json", ReasonCode.JSON_MALFORMED),
        ('{"mappingId": "test-1.0", "mappingId": "test-1.0"}', ReasonCode.JSON_DUPLICATE_MEMBER),
        ('{"mappingId": "test-1.0", "n": NaN}', ReasonCode.JSON_NON_FINITE_NUMBER),
    ],
    ids=["malformed", "duplicate-member", "nan"],
)
def test_rejects_mapping_file_that_is_not_strict_json(
    tmp_path: Path, content: str, more_code: ReasonCode
) -> None:
    _write(tmp_path, "test-1.0.json", content)
    with pytest.raises(TrustError) as excinfo:
        MappingSet.load(tmp_path)
    assert excinfo.value.code is ReasonCode.REGISTRY_INVALID
    assert excinfo.value.codes == (ReasonCode.REGISTRY_INVALID, more_code)
    assert excinfo.value.context["file"] == "test-1.0.json"


def test_rejects_schema_invalid_file_naming_it(tmp_path: Path) -> None:
    _write(tmp_path, "test-1.0.json", {**_valid_file(), "rules": []})
    with pytest.raises(TrustError) as excinfo:
        MappingSet.load(tmp_path)
    assert excinfo.value.code is ReasonCode.REGISTRY_INVALID
    assert excinfo.value.context["file"] == "test-1.0.json"
    assert excinfo.value.context["pointer"] == "/rules"


def test_rejects_file_named_after_another_id(tmp_path: Path) -> None:
    _write(tmp_path, "other-1.0.json", _valid_file())
    with pytest.raises(TrustError) as excinfo:
        MappingSet.load(tmp_path)
    assert excinfo.value.code is ReasonCode.REGISTRY_INVALID


def test_rejects_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(TrustError) as excinfo:
        MappingSet.load(tmp_path / "absent")
    assert excinfo.value.code is ReasonCode.REGISTRY_INVALID


def test_rejects_duplicate_ids() -> None:
    mapping = EquivalenceMapping.from_dict(_valid_file())
    with pytest.raises(TrustError) as excinfo:
        MappingSet([mapping, mapping])
    assert excinfo.value.code is ReasonCode.REGISTRY_INVALID


def test_unknown_mapping_id_is_mapping_failed(shipped: MappingSet) -> None:
    with pytest.raises(TrustError) as excinfo:
        shipped.get("no-such-mapping-1.0")
    assert excinfo.value.code is ReasonCode.MAPPING_FAILED


def test_shipped_mapping_schema_meets_the_meta_schema() -> None:
    # _load_validator trusts the packaged file; this is where it is checked.
    from importlib import resources

    from protocol.strict_json import parse_json

    raw = resources.files("trust_registry").joinpath("schemas", "mapping-1.0.schema.json")
    jsonschema.Draft202012Validator.check_schema(parse_json(raw.read_bytes()))
