"""Document schemas: the versioned JSON Schema set, and validation of documents against it.

A document names its schema by its ``type`` and ``version`` members. ``DocumentSchemas.load``
reads every ``*.schema.json`` file of a directory (by default ``protocol/schemas``), checks
each against the Draft 2020-12 meta-schema and compiles one validator per (type, version).
Nothing is built at import time. ``$ref`` resolves only among the loaded files (by their
``urn:tradeaccord:schema:<name>:<version>`` ids), never over the network.

Two validators implement one contract, and must agree on valid/invalid:

- ``validate``: the fast path (jsonschema-rs); reports the first violation it finds.
- ``validate_reference``: the reference path (python-jsonschema ``Draft202012Validator``);
  reports the violation chosen by ``jsonschema.exceptions.best_match``.

Both raise ``SchemaError``, checked in this order:

1. the document is not a JSON object: ``SCHEMA_INVALID``, pointer ``""``;
2. ``type`` is missing, not a string or not a loaded type: ``DOC_TYPE_UNKNOWN``, ``"/type"``;
3. ``version`` is missing, not a string or not loaded for that type: ``DOC_TYPE_UNKNOWN``,
   ``"/version"``;
4. a schema violation: ``SCHEMA_INVALID``; ``pointer`` is the RFC 6901 JSON pointer of the
   offending instance (``""`` for the root). For an unknown member (``additionalProperties``)
   it points at that member itself (the first one, in document order), e.g. ``"/body/colour"``;
   for a missing required member, at the object that lacks it. The error's context also
   carries ``keyword`` (the failing JSON Schema keyword) and ``schema`` (the schema's ``$id``).

Regular expressions: JSON Schema ``pattern`` is ECMA-262, where ``$`` matches only at the end
of the input; Python's ``re`` also lets ``$`` match before a final newline. The reference
validator therefore evaluates ``pattern`` with every unescaped ``$`` outside a character class
read as ``\\Z``, so ``"USD\\n"`` fails ``^[A-Z]{3}$`` in both validators. Formats are
annotations only (never asserted) in both.

Documents are expected as produced by ``protocol.strict_json.parse_json`` (dict, list, str,
int, float, bool, None). Loading problems (unreadable file, bad meta-schema, unresolvable
``$ref``, file name not matching ``$id``) raise ``ValueError``: the schema set is our data.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator as ReferenceValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from protocol.errors import JSONInputError, SchemaError
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json

__all__ = ["DOCUMENT_TYPES", "SCHEMA_ID_PREFIX", "DocumentSchemas"]

DOCUMENT_TYPES: tuple[str, ...] = (
    "customs-declaration",
    "certificate-of-origin",
    "phytosanitary-certificate",
    "bill-of-lading",
    "commercial-invoice",
    "purchase-order",
    "transport-document",
    "payment-record",
    "clearance-decision",
)

SCHEMA_ID_PREFIX = "urn:tradeaccord:schema:"

_DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
_FILE_SUFFIX = ".schema.json"
_SCHEMA_ID = re.compile(r"urn:tradeaccord:schema:([a-z][a-z0-9-]*):([0-9]+\.[0-9]+)")
_MAX_MESSAGE = 300
_MAX_VALUE_REPR = 60


@dataclass(frozen=True, slots=True)
class _TypeSchema:
    """One document type version: its raw schema and both compiled validators."""

    doc_type: str
    version: str
    schema_id: str
    schema: dict[str, Any]
    fast: jsonschema_rs.Validator
    reference: ReferenceValidator


class DocumentSchemas:
    """The loaded schema set. Build it with ``DocumentSchemas.load``; it is immutable."""

    def __init__(self, type_schemas: Mapping[tuple[str, str], _TypeSchema],
                 resources: Mapping[str, dict[str, Any]] | None = None) -> None:
        """Internal: use ``load``. ``type_schemas`` maps (type, version) to compiled schemas;
        ``resources`` maps every loaded file's ``$id`` to its raw schema."""
        self._resources: dict[str, dict[str, Any]] = dict(resources or {})
        self._by_type: dict[str, dict[str, _TypeSchema]] = {}
        for (doc_type, version), compiled in type_schemas.items():
            self._by_type.setdefault(doc_type, {})[version] = compiled

    @classmethod
    def load(cls, directory: Path | None = None) -> DocumentSchemas:
        """Load and compile every ``*.schema.json`` in ``directory`` (default: the package's).

        A file named ``<name>-<version>.schema.json`` must have ``$id``
        ``urn:tradeaccord:schema:<name>:<version>`` and declare Draft 2020-12. It is a
        document type schema when it fixes ``properties.type.const`` (which must be ``<name>``,
        one of ``DOCUMENT_TYPES``) and ``properties.version.const`` (``<version>``); any other
        file (such as ``header-1.0``) is a shared resource for ``$ref`` only.
        Raises ``ValueError`` naming the file on any problem. The meta-schema check runs for
        a ``directory`` given here; the package's own files are checked by the test suite
        (``test_shipped_schemas_meet_the_meta_schema``), not at every start of a node.
        """
        root = Path(__file__).parent / "schemas" if directory is None else Path(directory)
        paths = sorted(root.glob("*" + _FILE_SUFFIX))
        if not paths:
            raise ValueError(f"no *{_FILE_SUFFIX} files in {root}")
        resources: dict[str, dict[str, Any]] = {}
        documents: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        for path in paths:
            name, version, schema_id, schema = _read_schema(path,
                                                            check_meta=directory is not None)
            resources[schema_id] = schema
            if _is_document_schema(path, name, version, schema):
                documents[(name, version)] = (schema_id, schema)

        reference_registry: Registry[Any] = Registry().with_resources(
            (uri, Resource.from_contents(schema, default_specification=DRAFT202012))
            for uri, schema in resources.items()
        )
        try:
            fast_registry = jsonschema_rs.Registry(list(resources.items()), retriever=_no_retrieval)
        except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError) as exc:
            raise ValueError(f"the schemas in {root} do not resolve: {exc}") from exc
        reference_cls = _reference_validator_class()
        compiled: dict[tuple[str, str], _TypeSchema] = {}
        for (doc_type, version), (schema_id, schema) in documents.items():
            try:
                fast = jsonschema_rs.Draft202012Validator(
                    schema,
                    registry=fast_registry,
                    retriever=_no_retrieval,
                    validate_formats=False,
                )
            except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError) as exc:
                raise ValueError(f"schema {schema_id} does not compile: {exc}") from exc
            compiled[(doc_type, version)] = _TypeSchema(
                doc_type=doc_type,
                version=version,
                schema_id=schema_id,
                schema=schema,
                fast=fast,
                reference=reference_cls(schema, registry=reference_registry),
            )
        return cls(compiled, resources)

    def types(self) -> list[tuple[str, str]]:
        """The (type, version) pairs loaded, in ``DOCUMENT_TYPES`` order, versions ascending."""
        return [
            (doc_type, version)
            for doc_type in DOCUMENT_TYPES
            for version in sorted(self._by_type.get(doc_type, {}), key=_version_key)
        ]

    def schema(self, doc_type: str, version: str) -> dict[str, Any]:
        """A copy of the raw schema of ``doc_type`` ``version``.

        Raises ``SchemaError(DOC_TYPE_UNKNOWN)`` if that type or version is not loaded.
        """
        versions = self._by_type.get(doc_type)
        if versions is None:
            raise SchemaError(
                ReasonCode.DOC_TYPE_UNKNOWN,
                f"no schema for document type {_short(doc_type)}; known: {self._known_types()}",
                pointer="/type",
            )
        found = versions.get(version)
        if found is None:
            raise SchemaError(
                ReasonCode.DOC_TYPE_UNKNOWN,
                f"no schema for {doc_type} version {_short(version)}; "
                f"known: {', '.join(sorted(versions, key=_version_key))}",
                pointer="/version",
            )
        return copy.deepcopy(found.schema)

    def resource(self, schema_id: str) -> dict[str, Any]:
        """A copy of the loaded schema file whose ``$id`` is ``schema_id`` (a document type
        schema or a shared one such as ``urn:tradeaccord:schema:header:1.0``).

        Raises ``KeyError`` when no loaded file has that ``$id``.
        """
        return copy.deepcopy(self._resources[schema_id])

    def validate(self, document: Any) -> None:
        """Validate ``document`` with the fast validator (jsonschema-rs).

        Returns ``None`` if valid; raises ``SchemaError`` per the module docstring, reporting
        the first violation jsonschema-rs finds.
        """
        selected = self._select(document)
        if selected.fast.is_valid(document):  # cheaper than validate when valid
            return
        try:
            selected.fast.validate(document)
        except jsonschema_rs.ValidationError as exc:
            path = list(exc.instance_path)
            keyword = exc.kind.name
            if keyword == "additionalProperties":
                unexpected = exc.kind.as_dict().get("unexpected") or []
                path = _with_first_unknown(document, path, set(unexpected))
            raise _violation(selected, path, keyword, exc.message) from exc
        # is_valid said no: never accept because validate found nothing to name.
        raise _violation(selected, [], "schema", "the document does not match its schema")

    def validate_reference(self, document: Any) -> None:
        """Validate ``document`` with the reference validator (python-jsonschema 2020-12).

        Same contract as ``validate``; reports the error ``best_match`` selects.
        """
        selected = self._select(document)
        error = best_match(selected.reference.iter_errors(document))
        if error is None:
            return
        path = list(error.absolute_path)
        keyword = str(error.validator)
        if keyword == "additionalProperties" and isinstance(error.schema, dict):
            known = error.schema.get("properties", {})
            patterns = error.schema.get("patternProperties", {})
            unexpected = {
                name
                for name in _members_at(document, path)
                if name not in known and not any(re.search(p, name) for p in patterns)
            }
            path = _with_first_unknown(document, path, unexpected)
        raise _violation(selected, path, keyword, error.message) from error

    def _select(self, document: Any) -> _TypeSchema:
        """Steps 1-3 of the module docstring: the compiled schema ``document`` names."""
        if not isinstance(document, dict):
            raise SchemaError(
                ReasonCode.SCHEMA_INVALID,
                f"a document is a JSON object, found {_json_type(document)}",
                pointer="",
                keyword="type",
            )
        if "type" not in document:
            raise SchemaError(
                ReasonCode.DOC_TYPE_UNKNOWN, "the document has no type member", pointer="/type"
            )
        doc_type = document["type"]
        versions = self._by_type.get(doc_type) if isinstance(doc_type, str) else None
        if versions is None:
            raise SchemaError(
                ReasonCode.DOC_TYPE_UNKNOWN,
                f"unknown document type {_short(doc_type)}; known: {self._known_types()}",
                pointer="/type",
            )
        if "version" not in document:
            raise SchemaError(
                ReasonCode.DOC_TYPE_UNKNOWN,
                f"the {doc_type} document has no version member",
                pointer="/version",
            )
        version = document["version"]
        selected = versions.get(version) if isinstance(version, str) else None
        if selected is None:
            raise SchemaError(
                ReasonCode.DOC_TYPE_UNKNOWN,
                f"no schema for {doc_type} version {_short(version)}; "
                f"known: {', '.join(sorted(versions, key=_version_key))}",
                pointer="/version",
            )
        return selected

    def _known_types(self) -> str:
        return ", ".join(t for t in DOCUMENT_TYPES if t in self._by_type)


def _read_schema(path: Path, *, check_meta: bool = True) -> tuple[str, str, str, dict[str, Any]]:
    """Parse one schema file strictly; check ``$schema``, ``$id`` and (``check_meta``) the
    2020-12 meta-schema.

    Returns (name, version, ``$id``, schema).
    """
    try:
        schema = parse_json(path.read_bytes())
    except (OSError, JSONInputError) as exc:
        raise ValueError(f"cannot read schema file {path}: {exc}") from exc
    if not isinstance(schema, dict):
        raise ValueError(f"schema file {path} does not hold a JSON object")
    if schema.get("$schema") != _DRAFT_2020_12:
        raise ValueError(f"schema file {path} must declare $schema {_DRAFT_2020_12}")
    schema_id = schema.get("$id")
    match = _SCHEMA_ID.fullmatch(schema_id) if isinstance(schema_id, str) else None
    if match is None:
        raise ValueError(f"schema file {path} has no $id of the form {SCHEMA_ID_PREFIX}<name>:<v>")
    expected_name = f"{match[1]}-{match[2]}{_FILE_SUFFIX}"
    if path.name != expected_name:
        raise ValueError(f"schema file {path} has $id {schema_id}; expected it in {expected_name}")
    if check_meta:
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as exc:
            raise ValueError(f"schema file {path} violates the 2020-12 meta-schema: {exc}"
                             ) from exc
    return match[1], match[2], match[0], schema  # match[0]: the $id (a full match)


def _is_document_schema(path: Path, name: str, version: str, schema: dict[str, Any]) -> bool:
    """Whether ``schema`` is a document type schema (it fixes ``properties.type.const``).

    Such a schema must fix exactly its ``$id``'s name (one of ``DOCUMENT_TYPES``) and version.
    """
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return False
    type_rule = properties.get("type")
    if not isinstance(type_rule, dict) or "const" not in type_rule:
        return False
    version_rule = properties.get("version")
    fixed = (
        type_rule["const"],
        version_rule.get("const") if isinstance(version_rule, dict) else None,
    )
    if fixed[0] not in DOCUMENT_TYPES:
        raise ValueError(f"schema file {path} fixes an unknown document type {fixed[0]!r}")
    if fixed != (name, version):
        raise ValueError(
            f"schema file {path} fixes type {fixed[0]!r} version {fixed[1]!r}, "
            f"but its $id names {name} {version}"
        )
    return True


def _no_retrieval(uri: str) -> Any:
    """jsonschema-rs retriever: every schema must be among the loaded files."""
    raise ValueError(f"{uri} is not among the loaded schema files (no remote retrieval)")


def _reference_validator_class() -> type[ReferenceValidator]:
    """Draft202012Validator with ECMA-262 end-of-input semantics for ``$`` in ``pattern``."""
    compiled: dict[str, re.Pattern[str]] = {}

    def pattern(
        validator: ReferenceValidator, patrn: str, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "string"):
            return
        regex = compiled.get(patrn)
        if regex is None:
            regex = compiled[patrn] = re.compile(_ecma_end_anchors(patrn))
        if not regex.search(instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    validators: dict[str, Callable[..., Iterator[ValidationError]]] = {"pattern": pattern}
    # The jsonschema stubs leave extend() unannotated; it returns a validator class.
    extended: type[ReferenceValidator] = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator, validators=validators)
    return extended


def _ecma_end_anchors(pattern: str) -> str:
    """Rewrite unescaped ``$`` outside character classes as ``\\Z`` (end of input only)."""
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
        index += 1
    return "".join(out)


def _members_at(document: Any, path: list[str | int]) -> list[str]:
    """Member names, in document order, of the object at ``path`` ([] if not an object)."""
    node = document
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return []
    return list(node) if isinstance(node, dict) else []


def _with_first_unknown(
    document: Any, path: list[str | int], unexpected: set[str]
) -> list[str | int]:
    """``path`` extended by the first member (in document order) named in ``unexpected``."""
    for name in _members_at(document, path):
        if name in unexpected:
            return [*path, name]
    return path


def _pointer(path: list[str | int]) -> str:
    """RFC 6901 JSON pointer for ``path``."""
    return "".join("/" + str(step).replace("~", "~0").replace("/", "~1") for step in path)


def _violation(
    selected: _TypeSchema, path: list[str | int], keyword: str, message: str
) -> SchemaError:
    pointer = _pointer(path)
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    where = pointer or "(document root)"
    return SchemaError(
        ReasonCode.SCHEMA_INVALID,
        f"{selected.doc_type} {selected.version} at {where}: {message}",
        pointer=pointer,
        keyword=keyword,
        schema=selected.schema_id,
    )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_REPR else text[: _MAX_VALUE_REPR - 1] + "…"
