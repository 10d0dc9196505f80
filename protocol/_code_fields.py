"""Where a document type's coded values lie, read from its JSON Schema.

``code_fields(schema, resolve)`` walks a document schema (``properties``, ``items``,
``allOf``/``anyOf``/``oneOf``, ``then``/``else`` and ``$ref``, local or to another loaded
file) and returns every location whose subschema is one of the shared coded definitions
below, so that a new document type or version is covered as soon as its schema uses them:

==============================================================  =======================
``$ref`` target (or subschema)                                  checked against
==============================================================  =======================
``header:1.0#/$defs/countryCode``                               ISO 3166-1 alpha-2
``header:1.0#/$defs/currencyCode``                              ISO 4217
``header:1.0#/$defs/hsCode``                                    HS 2022 subheadings
``header:1.0#/$defs/unitCode``                                  UN/ECE Rec 20 units
``header:1.0#/$defs/unLocode``                                  its country part (2 first
                                                                characters), ISO 3166-1
``<type>:<version>#/$defs/ucr`` (any schema's ``ucr``)          its country part
                                                                (characters 2-3), ISO 3166-1
an ``enum`` that is exactly the Incoterms 2020 rules            Incoterms 2020
==============================================================  =======================

``extensions`` is free-form and never walked. A path step ``None`` stands for every item
of an array.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from protocol.codelists import INCOTERMS_2020, CodeList

_HEADER = "urn:tradeaccord:schema:header:1.0"
_MAX_DEPTH = 64


class CodePart(Enum):
    """Which part of a string value is the code."""

    WHOLE = (0, None)
    LOCODE_COUNTRY = (0, 2)
    UCR_COUNTRY = (1, 3)

    def of(self, value: str) -> str:
        start, end = self.value
        return value[start:end]

    @property
    def label(self) -> str:
        return {CodePart.WHOLE: "", CodePart.LOCODE_COUNTRY: "country part of a UN/LOCODE",
                CodePart.UCR_COUNTRY: "country part of a UCR"}[self]


@dataclass(frozen=True, slots=True, order=True)
class CodeField:
    """One location of coded values in a document type: ``path`` from the document root."""

    path: tuple[str | None, ...]
    code_list: CodeList
    part: CodePart = CodePart.WHOLE

    def values(self, document: Any) -> Iterator[tuple[str, str]]:
        """(JSON pointer, string value) of every value at this location in ``document``."""
        yield from _walk_values(document, self.path, "")

    def codes(self, document: Any) -> list[str]:
        """The codes (``part`` of each string value) at this location, without pointers:
        the hot path of a check, where pointers are needed only for a value that fails."""
        nodes: list[Any] = [document]
        for step in self.path:
            found: list[Any] = []
            if step is None:
                for node in nodes:
                    if isinstance(node, list):
                        found.extend(node)
            else:
                for node in nodes:
                    if isinstance(node, dict):
                        value = node.get(step)
                        if value is not None:  # absent, or JSON null: neither is a code
                            found.append(value)
            nodes = found
            if not nodes:
                return []
        start, end = self.part.value
        return [node[start:end] for node in nodes if isinstance(node, str)]


_CODED_REFS: dict[str, tuple[CodeList, CodePart]] = {
    f"{_HEADER}#/$defs/countryCode": (CodeList.ISO_3166_1, CodePart.WHOLE),
    f"{_HEADER}#/$defs/currencyCode": (CodeList.ISO_4217, CodePart.WHOLE),
    f"{_HEADER}#/$defs/hsCode": (CodeList.HS_SUBHEADINGS, CodePart.WHOLE),
    f"{_HEADER}#/$defs/unitCode": (CodeList.UNECE_REC20, CodePart.WHOLE),
    f"{_HEADER}#/$defs/unLocode": (CodeList.ISO_3166_1, CodePart.LOCODE_COUNTRY),
}
_UCR_SUFFIX = "#/$defs/ucr"
_INCOTERMS = frozenset(INCOTERMS_2020)

Resolver = Callable[[str], dict[str, Any]]


def code_fields(schema: dict[str, Any], resolve: Resolver) -> tuple[CodeField, ...]:
    """Every coded location of the document type ``schema`` (sorted, without repeats).

    ``resolve`` maps a schema ``$id`` to its raw schema (``DocumentSchemas.resource``).
    """
    found: set[CodeField] = set()
    base = str(schema.get("$id", ""))
    _walk_schema(schema, base, (), found, resolve, (), 0)
    return tuple(sorted(found, key=lambda f: (tuple("" if s is None else s for s in f.path),
                                              f.code_list.value, f.part.name)))


def _walk_schema(node: Any, base: str, path: tuple[str | None, ...], found: set[CodeField],
                 resolve: Resolver, refs: tuple[str, ...], depth: int) -> None:
    if not isinstance(node, dict) or depth > _MAX_DEPTH:
        return
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = ref if not ref.startswith("#") else base + ref
        coded = _CODED_REFS.get(target)
        if coded is None and target.endswith(_UCR_SUFFIX):
            coded = (CodeList.ISO_3166_1, CodePart.UCR_COUNTRY)
        if coded is not None:
            found.add(CodeField(path, coded[0], coded[1]))
        elif target not in refs:
            resolved_base, _, fragment = target.partition("#")
            sub = _follow(resolve(resolved_base), fragment)
            _walk_schema(sub, resolved_base, path, found, resolve, (*refs, target), depth + 1)
    enum = node.get("enum")
    if isinstance(enum, list) and set(enum) == _INCOTERMS and len(enum) == len(_INCOTERMS):
        found.add(CodeField(path, CodeList.INCOTERMS_2020))
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(keyword) or ():
            _walk_schema(sub, base, path, found, resolve, refs, depth + 1)
    for keyword in ("then", "else"):
        _walk_schema(node.get(keyword), base, path, found, resolve, refs, depth + 1)
    properties = node.get("properties")
    if isinstance(properties, dict):
        for name, sub in properties.items():
            if name == "extensions" and not path:
                continue  # free-form national data: no list applies
            _walk_schema(sub, base, (*path, name), found, resolve, refs, depth + 1)
    _walk_schema(node.get("items"), base, (*path, None), found, resolve, refs, depth + 1)


def _follow(schema: dict[str, Any], fragment: str) -> Any:
    """The subschema at the JSON pointer ``fragment`` (``""`` for the whole schema)."""
    node: Any = schema
    for token in fragment.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            raise ValueError(f"$ref fragment {fragment!r} does not resolve")
        node = node[key]
    return node


def _walk_values(node: Any, path: tuple[str | None, ...], pointer: str
                 ) -> Iterator[tuple[str, str]]:
    if not path:
        if isinstance(node, str):
            yield pointer, node
        return
    step, rest = path[0], path[1:]
    if step is None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from _walk_values(item, rest, f"{pointer}/{index}")
    elif isinstance(node, dict) and step in node:
        escaped = step.replace("~", "~0").replace("/", "~1")
        yield from _walk_values(node[step], rest, f"{pointer}/{escaped}")
