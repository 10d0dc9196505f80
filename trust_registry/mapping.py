"""Equivalence mappings: derive the receiver's domestic document from a recognised foreign one.

A mapping is a JSON file (schema: ``trust_registry/schemas/mapping-1.0.schema.json``) that
names a source document type and version, optional ``when`` conditions on the source, a
target type and version, and an ordered list of rules over RFC 6901 JSON pointers:

- ``copy`` ``from`` → ``to`` (``optional: true`` skips a missing source value);
- ``set`` a constant ``value`` at ``to``;
- ``translate`` the code string at ``from`` through ``table`` (``default`` for codes not in it);
- ``each`` element of the array at ``from`` through nested rules whose pointers are relative
  to the element, writing the array of results at ``to``; ``where`` keeps only elements whose
  value at each relative pointer is one of the listed values (keeping none fails unless
  ``optional``), and ``append`` extends the array already at ``to`` instead of replacing it.

Rules of application (:meth:`EquivalenceMapping.apply`):

1. The document's ``type`` and ``version`` must equal the mapping's source, and every
   ``when`` pointer must hold exactly its value; otherwise ``MappingError``.
2. The output is built fresh: ``id`` is the source's id, ``type`` and ``version`` are the
   target's; everything else is written by the rules, in order (a later write to the same
   pointer replaces the earlier one). Values are deep-copied; the input is never mutated.
3. A missing required source value, a code without a translation and no default, a value
   of the wrong kind (``each`` over a non-array, ``translate`` of a non-string) or a write
   through a non-object fails with ``MappingError(MAPPING_FAILED)`` naming the absolute
   source pointer (``context["pointer"]``).
4. Finally ``extensions["tradeaccord:derivedFrom"]`` records the source's ``id``, ``type``,
   ``version`` and ``sha256`` (of the signed original), the ``mappingId`` and the mapping's
   own ``mappingSha256``, so anyone can re-derive the output from the signed original.
5. The same input gives the same output, byte for byte in canonical form.

Rules may not write ``/id``, ``/type``, ``/version``, the whole document, or
``/extensions/tradeaccord:derivedFrom``; such a file is refused at load (``REGISTRY_INVALID``).
"""

from __future__ import annotations

import re
from collections import abc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import jsonschema
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator as _Validator

from protocol.canonical import canonicalize, sha256_hex
from protocol.errors import JSONInputError
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from trust_registry.errors import MappingError, TrustError

__all__ = [
    "DERIVED_FROM_KEY",
    "EquivalenceMapping",
    "Mapping",
    "MappingSet",
]

DERIVED_FROM_KEY: Final = "tradeaccord:derivedFrom"
"""Member of the output's ``extensions`` that records the signed original and the mapping."""

_SCHEMA_FILE: Final = "mapping-1.0.schema.json"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
# Header members the engine itself writes (rule 2) and the provenance record (rule 4).
_RESERVED_TARGETS: Final = frozenset({("id",), ("type",), ("version",)})
_DERIVED_FROM_PATH: Final = ("extensions", DERIVED_FROM_KEY)

_Tokens: TypeAlias = tuple[str, ...]


class _Missing:
    """Marks a pointer that resolves to nothing (JSON ``null`` is a value)."""


_MISSING: Final = _Missing()


# -- JSON pointers and values --------------------------------------------------------------


def _parse_pointer(text: str) -> _Tokens:
    """Split an RFC 6901 pointer (already schema-checked) into unescaped tokens."""
    if text == "":
        return ()
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in text[1:].split("/"))


def _format_pointer(tokens: Iterable[str]) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _resolve(node: Any, tokens: _Tokens) -> Any:
    """The value at ``tokens`` under ``node``, or ``_MISSING``."""
    for token in tokens:
        if isinstance(node, abc.Mapping):
            if token not in node:
                return _MISSING
            node = node[token]
        elif isinstance(node, list | tuple):
            if not _ARRAY_INDEX.fullmatch(token) or int(token) >= len(node):
                return _MISSING
            node = node[int(token)]
        else:
            return _MISSING
    return node


def _clone(value: Any) -> Any:
    """A deep copy of a JSON value as plain dicts and lists (detaches output from input)."""
    if isinstance(value, abc.Mapping):
        return {key: _clone(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clone(item) for item in value]
    return value


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality: unlike ``==``, ``true`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, abc.Mapping) and isinstance(b, abc.Mapping):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, abc.Mapping | list | tuple) or isinstance(b, abc.Mapping | list | tuple):
        return False
    return bool(a == b)


# -- rules ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class _Context:
    """Where a rule runs: the mapping (for errors) and the absolute source pointer prefix."""

    mapping_id: str
    prefix: _Tokens

    def fail(self, tokens: _Tokens, message: str, **context: Any) -> MappingError:
        pointer = _format_pointer((*self.prefix, *tokens))
        return MappingError(
            ReasonCode.MAPPING_FAILED,
            f"mapping {self.mapping_id}: {message} at {pointer or '/'}",
            pointer=pointer,
            mapping_id=self.mapping_id,
            **context,
        )


def _write(target: Any, tokens: _Tokens, value: Any, ctx: _Context) -> Any:
    """Write ``value`` at ``tokens`` in ``target``, creating objects; return the new root."""
    if not tokens:
        return value
    node = target
    for depth, token in enumerate(tokens):
        last = depth == len(tokens) - 1
        if isinstance(node, dict):
            if last:
                node[token] = value
            else:
                node = node.setdefault(token, {})
        elif isinstance(node, list) and _ARRAY_INDEX.fullmatch(token) and int(token) < len(node):
            if last:
                node[int(token)] = value
            else:
                node = node[int(token)]
        else:
            # Only reachable when an earlier rule wrote a scalar or a short array here: a
            # defect of the mapping, reported where in the source it struck.
            output_pointer = _format_pointer(tokens[:depth])
            raise ctx.fail(
                (),
                f"cannot write {_format_pointer(tokens)} of the output: {output_pointer or '/'} "
                f"is a {type(node).__name__} without member {token!r}",
                output_pointer=output_pointer,
            )
    return target


@dataclass(frozen=True, slots=True, eq=False)
class _Copy:
    from_: _Tokens
    to: _Tokens
    optional: bool
    note: str | None

    def run(self, source: Any, target: Any, ctx: _Context) -> Any:
        value = _resolve(source, self.from_)
        if value is _MISSING:
            if self.optional:
                return target
            raise ctx.fail(self.from_, "required source value is missing")
        return _write(target, self.to, _clone(value), ctx)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "op": "copy",
            "from": _format_pointer(self.from_),
            "to": _format_pointer(self.to),
        }
        if self.optional:
            data["optional"] = True
        return _with_note(data, self.note)


@dataclass(frozen=True, slots=True, eq=False)
class _Set:
    to: _Tokens
    value: Any
    note: str | None

    def run(self, source: Any, target: Any, ctx: _Context) -> Any:
        # A fresh copy each time: outputs must never share structure with the mapping.
        return _write(target, self.to, _clone(self.value), ctx)

    def to_dict(self) -> dict[str, Any]:
        data = {"op": "set", "to": _format_pointer(self.to), "value": _clone(self.value)}
        return _with_note(data, self.note)


@dataclass(frozen=True, slots=True, eq=False)
class _Translate:
    from_: _Tokens
    to: _Tokens
    table: abc.Mapping[str, str]
    default: str | None
    optional: bool
    note: str | None

    def run(self, source: Any, target: Any, ctx: _Context) -> Any:
        code = _resolve(source, self.from_)
        if code is _MISSING:
            if self.optional:
                return target
            raise ctx.fail(self.from_, "required code is missing")
        if not isinstance(code, str):
            raise ctx.fail(self.from_, f"expected a code string, found {type(code).__name__}")
        translated = self.table.get(code, self.default)
        if translated is None:
            raise ctx.fail(self.from_, f"code {code!r} has no translation and no default", value=code)
        return _write(target, self.to, translated, ctx)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "op": "translate",
            "from": _format_pointer(self.from_),
            "to": _format_pointer(self.to),
            "table": dict(self.table),
        }
        if self.default is not None:
            data["default"] = self.default
        if self.optional:
            data["optional"] = True
        return _with_note(data, self.note)


@dataclass(frozen=True, slots=True, eq=False)
class _Each:
    from_: _Tokens
    to: _Tokens
    rules: tuple[_Rule, ...]
    # Element filter: (relative pointer, allowed values) pairs, all of which must hold.
    where: tuple[tuple[_Tokens, tuple[Any, ...]], ...]
    append: bool
    optional: bool
    note: str | None

    def run(self, source: Any, target: Any, ctx: _Context) -> Any:
        items = _resolve(source, self.from_)
        if items is _MISSING:
            if self.optional:
                return target
            raise ctx.fail(self.from_, "required array is missing")
        if not isinstance(items, list | tuple):
            raise ctx.fail(self.from_, f"expected an array, found {type(items).__name__}")
        results = []
        for index, item in enumerate(items):
            if self.where and not self._selects(item):
                continue
            element_ctx = _Context(ctx.mapping_id, (*ctx.prefix, *self.from_, str(index)))
            results.append(_run_rules(self.rules, item, element_ctx))
        if self.where and not results:
            if self.optional:
                return target
            raise ctx.fail(self.from_, f"no element matches {self._where_text()}")
        if self.append:
            existing = _resolve(target, self.to)
            if existing is _MISSING:
                return _write(target, self.to, results, ctx)
            if not isinstance(existing, list):
                raise ctx.fail(self.from_, f"cannot append to a non-array at {_format_pointer(self.to)}")
            existing.extend(results)
            return target
        return _write(target, self.to, results, ctx)

    def _selects(self, item: Any) -> bool:
        for tokens, allowed in self.where:
            value = _resolve(item, tokens)
            if value is _MISSING or not any(_json_equal(value, a) for a in allowed):
                return False
        return True

    def _where_text(self) -> str:
        return " and ".join(
            f"{_format_pointer(tokens) or '/'} in {list(allowed)!r}" for tokens, allowed in self.where
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "op": "each",
            "from": _format_pointer(self.from_),
            "to": _format_pointer(self.to),
        }
        if self.where:
            data["where"] = {_format_pointer(t): _clone(allowed) for t, allowed in self.where}
        data["rules"] = [rule.to_dict() for rule in self.rules]
        if self.append:
            data["append"] = True
        if self.optional:
            data["optional"] = True
        return _with_note(data, self.note)


_Rule: TypeAlias = _Copy | _Set | _Translate | _Each


def _with_note(data: dict[str, Any], note: str | None) -> dict[str, Any]:
    if note is not None:
        data["note"] = note
    return data


def _run_rules(rules: tuple[_Rule, ...], source: Any, ctx: _Context) -> Any:
    target: Any = {}
    for rule in rules:
        target = rule.run(source, target, ctx)
    return target


def _build_rules(items: list[dict[str, Any]], *, top_level: bool, at: str) -> tuple[_Rule, ...]:
    """Turn schema-valid rule objects (at pointer ``at`` of the file) into rule values.

    Refuses top-level rules that write what only the engine may write (``REGISTRY_INVALID``).
    """
    rules: list[_Rule] = []
    for index, item in enumerate(items):
        here = f"{at}/{index}"
        to = _parse_pointer(item["to"])
        if top_level and (not to or to[:1] in _RESERVED_TARGETS or to[:2] == _DERIVED_FROM_PATH):
            raise TrustError(
                ReasonCode.REGISTRY_INVALID,
                f"rule {here} writes {item['to'] or 'the whole document'}, which only the "
                "mapping engine may write",
                pointer=f"{here}/to",
            )
        op = item["op"]
        note = item.get("note")
        optional = item.get("optional", False)
        rule: _Rule
        if op == "copy":
            rule = _Copy(_parse_pointer(item["from"]), to, optional, note)
        elif op == "set":
            rule = _Set(to, _clone(item["value"]), note)
        elif op == "translate":
            table = MappingProxyType(dict(item["table"]))
            rule = _Translate(_parse_pointer(item["from"]), to, table, item.get("default"), optional, note)
        else:  # "each" — the schema admits no other op
            nested = _build_rules(item["rules"], top_level=False, at=f"{here}/rules")
            selector = tuple(
                (_parse_pointer(pointer), tuple(_clone(allowed)))
                for pointer, allowed in item.get("where", {}).items()
            )
            rule = _Each(
                _parse_pointer(item["from"]),
                to,
                nested,
                selector,
                item.get("append", False),
                optional,
                note,
            )
        rules.append(rule)
    return tuple(rules)


# -- schema --------------------------------------------------------------------------------


def _load_validator() -> _Validator:
    """Load the packaged mapping schema (the one file read here) and build its validator.
    The test suite checks that file against the 2020-12 meta-schema, once, not every load."""
    raw = resources.files("trust_registry").joinpath("schemas").joinpath(_SCHEMA_FILE).read_bytes()
    schema = parse_json(raw)
    return jsonschema.Draft202012Validator(schema)


def _validate(data: Any, validator: _Validator) -> None:
    error = best_match(validator.iter_errors(data))
    if error is not None:
        pointer = _format_pointer(str(part) for part in error.absolute_path)
        message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
        raise TrustError(
            ReasonCode.REGISTRY_INVALID,
            f"mapping file invalid at {pointer or '/'}: {message}",
            pointer=pointer,
        ) from error


# -- mapping -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EquivalenceMapping:
    """A validated mapping from a foreign document type to a domestic one.

    Build it with :meth:`from_dict` (or :meth:`MappingSet.load`); an instance is valid.
    ``sha256`` is the SHA-256 of the canonical :meth:`to_dict` form: agreements may pin it,
    and equality and hash are over it (two mappings are equal iff their JSON forms are).
    """

    mapping_id: str = field(compare=False)
    description: str | None = field(compare=False)
    source_type: str = field(compare=False)
    source_version: str = field(compare=False)
    when: abc.Mapping[str, Any] = field(compare=False)
    target_type: str = field(compare=False)
    target_version: str = field(compare=False)
    rules: tuple[_Rule, ...] = field(compare=False, repr=False)
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", sha256_hex(canonicalize(self.to_dict())))

    @classmethod
    def from_dict(cls, data: abc.Mapping[str, Any]) -> EquivalenceMapping:
        """Validate ``data`` against ``mapping-1.0.schema.json`` and build the mapping.

        Raises ``TrustError(REGISTRY_INVALID)`` with the offending ``pointer`` in the file.
        Reads the packaged schema on every call; :meth:`MappingSet.load` reads it once.
        """
        return cls._from_dict(data, _load_validator())

    @classmethod
    def _from_dict(cls, data: abc.Mapping[str, Any], validator: _Validator) -> EquivalenceMapping:
        plain = _clone(data)  # detach from the caller; jsonschema's "object" means dict
        _validate(plain, validator)
        source, target = plain["source"], plain["target"]
        when = source.get("when", {})
        return cls(
            mapping_id=plain["mappingId"],
            description=plain.get("description"),
            source_type=source["type"],
            source_version=source["version"],
            when=MappingProxyType(when),
            target_type=target["type"],
            target_version=target["version"],
            rules=_build_rules(plain["rules"], top_level=True, at="/rules"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``from_dict(m.to_dict()) == m``."""
        source: dict[str, Any] = {"type": self.source_type, "version": self.source_version}
        if self.when:
            source["when"] = _clone(self.when)
        data: dict[str, Any] = {"mappingId": self.mapping_id}
        if self.description is not None:
            data["description"] = self.description
        data["source"] = source
        data["target"] = {"type": self.target_type, "version": self.target_version}
        data["rules"] = [rule.to_dict() for rule in self.rules]
        return data

    def applies_to(self, document: abc.Mapping[str, Any]) -> bool:
        """True iff ``document`` has the source type and version and meets every ``when``."""
        return self._mismatch(document) is None

    def apply(self, document: abc.Mapping[str, Any], *, source_sha256: str) -> dict[str, Any]:
        """Derive the target document from ``document`` (see the module rules 1–5).

        ``source_sha256`` is the lower-case hex SHA-256 of the signed original (a malformed
        digest is a caller bug: ``ValueError``). Raises ``MappingError(MAPPING_FAILED)``.
        """
        if not isinstance(source_sha256, str) or not _SHA256_HEX.fullmatch(source_sha256):
            raise ValueError("source_sha256 must be 64 lower-case hex digits")
        # Rule 1: the mapping must fit the document.
        mismatch = self._mismatch(document)
        if mismatch is not None:
            raise mismatch
        source_id = document.get("id")
        if not isinstance(source_id, str):
            raise _Context(self.mapping_id, ()).fail(("id",), "the source document has no id")
        # Rule 2: a fresh output whose header the engine owns; the rules write the rest.
        output: dict[str, Any] = {
            "id": source_id,
            "type": self.target_type,
            "version": self.target_version,
        }
        ctx = _Context(self.mapping_id, ())
        for rule in self.rules:
            output = rule.run(document, output, ctx)  # top-level rules never replace the root
        # Rule 4: provenance, written last so no rule can forge it.
        extensions = output.setdefault("extensions", {})
        if not isinstance(extensions, dict):
            raise ctx.fail((), "the rules wrote a non-object at /extensions of the output")
        extensions[DERIVED_FROM_KEY] = {
            "id": source_id,
            "type": self.source_type,
            "version": self.source_version,
            "sha256": source_sha256,
            "mappingId": self.mapping_id,
            "mappingSha256": self.sha256,
        }
        return output

    def _mismatch(self, document: Any) -> MappingError | None:
        """The rule-1 error for ``document``, or ``None`` if the mapping applies."""
        ctx = _Context(self.mapping_id, ())
        if not isinstance(document, abc.Mapping):
            return ctx.fail((), f"expected a document object, found {type(document).__name__}")
        doc_type = document.get("type")
        if doc_type != self.source_type:
            return ctx.fail(("type",), f"expected type {self.source_type!r}, found {doc_type!r}")
        version = document.get("version")
        if version != self.source_version:
            return ctx.fail(("version",), f"expected version {self.source_version!r}, found {version!r}")
        for pointer, expected in self.when.items():
            found = _resolve(document, _parse_pointer(pointer))
            if found is _MISSING or not _json_equal(found, expected):
                shown = "nothing" if found is _MISSING else repr(found)
                return ctx.fail(
                    _parse_pointer(pointer),
                    f"condition not met: expected {expected!r}, found {shown}",
                )
        return None


Mapping = EquivalenceMapping
"""The name used in the integration brief; ``EquivalenceMapping`` avoids shadowing
``collections.abc.Mapping`` where both are needed."""


# -- mapping set ---------------------------------------------------------------------------


class MappingSet:
    """An immutable set of mappings keyed by ``mappingId``.

    Build it with :meth:`load` (files) or from mappings already built; duplicate ids are
    refused (``REGISTRY_INVALID``).
    """

    __slots__ = ("_by_id",)

    def __init__(self, mappings: Iterable[EquivalenceMapping] = ()) -> None:
        by_id: dict[str, EquivalenceMapping] = {}
        for mapping in mappings:
            if mapping.mapping_id in by_id:
                raise TrustError(
                    ReasonCode.REGISTRY_INVALID,
                    f"mapping id {mapping.mapping_id!r} appears twice",
                    mapping_id=mapping.mapping_id,
                )
            by_id[mapping.mapping_id] = mapping
        self._by_id: abc.Mapping[str, EquivalenceMapping] = MappingProxyType(dict(sorted(by_id.items())))

    @classmethod
    def load(cls, directory: Path | None = None) -> MappingSet:
        """Load every ``*.json`` in ``directory`` (default: the mappings shipped in the package).

        Each file is parsed as strict JSON, validated against the mapping schema, and must be
        named ``<mappingId>.json``. Any bad file refuses the whole set with
        ``TrustError(REGISTRY_INVALID)`` naming the file (``context["file"]``); nothing is
        skipped silently.
        """
        validator = _load_validator()
        entries: list[Traversable]
        if directory is None:
            shipped = resources.files("trust_registry").joinpath("mappings")
            entries = [f for f in shipped.iterdir() if f.name.endswith(".json")]
        elif directory.is_dir():
            entries = list(directory.glob("*.json"))
        else:
            raise TrustError(
                ReasonCode.REGISTRY_INVALID,
                f"mapping directory {directory} does not exist",
                file=str(directory),
            )
        # Sorted so that the first bad file reported does not depend on the file system.
        entries.sort(key=lambda f: f.name)
        return cls(_load_file(entry, validator) for entry in entries)

    def get(self, mapping_id: str) -> EquivalenceMapping:
        """The mapping with this id; ``TrustError(MAPPING_FAILED)`` if there is none."""
        try:
            return self._by_id[mapping_id]
        except KeyError:
            raise TrustError(
                ReasonCode.MAPPING_FAILED,
                f"no mapping {mapping_id!r}; known: {', '.join(self._by_id) or 'none'}",
                mapping_id=mapping_id,
            ) from None

    def ids(self) -> list[str]:
        """Mapping ids, sorted."""
        return list(self._by_id)

    def __contains__(self, mapping_id: object) -> bool:
        return mapping_id in self._by_id

    def __iter__(self) -> Iterator[EquivalenceMapping]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)


def _load_file(file: Traversable, validator: _Validator) -> EquivalenceMapping:
    """Read, parse and validate one mapping file; errors name the file."""
    name = file.name
    try:
        data = parse_json(file.read_bytes())
    except OSError as exc:
        raise TrustError(ReasonCode.REGISTRY_INVALID, f"{name}: cannot be read: {exc}", file=name) from exc
    except JSONInputError as exc:
        raise TrustError(
            ReasonCode.REGISTRY_INVALID, f"{name}: {exc.message}", more_codes=(exc.code,), file=name
        ) from exc
    try:
        mapping = EquivalenceMapping._from_dict(data, validator)
    except TrustError as exc:
        raise TrustError(
            exc.code, f"{name}: {exc.message}", more_codes=exc.more_codes, file=name, **exc.context
        ) from exc
    if f"{mapping.mapping_id}.json" != name:
        raise TrustError(
            ReasonCode.REGISTRY_INVALID,
            f"{name}: holds mapping {mapping.mapping_id!r}; the file must be named {mapping.mapping_id}.json",
            file=name,
        )
    return mapping
