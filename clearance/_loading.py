"""Reading rule files: strict JSON, the rule-file schema, refusal naming file and pointer.

Nothing is read at import time: each ``load`` reads its file and the packaged schema when
called. Foreign errors (``OSError``, ``JSONInputError``, ``jsonschema_rs.ValidationError``) are
translated here into ``ClearanceRulesError``, chained to the original.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jsonschema_rs

from clearance._json import clone, format_pointer
from clearance.errors import ClearanceRulesError
from protocol.errors import JSONInputError
from protocol.strict_json import parse_json

_PACKAGE = "clearance"


def packaged_rules(name: str) -> Traversable:
    """The rule file ``name`` shipped in ``clearance/rules``."""
    return resources.files(_PACKAGE).joinpath("rules").joinpath(name)


def read_rule_file(path: Path | Traversable) -> Any:
    """Read and parse one rule file as strict I-JSON; errors name the file."""
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ClearanceRulesError(f"cannot be read: {exc}", file=name) from exc
    try:
        return parse_json(raw)
    except JSONInputError as exc:
        raise ClearanceRulesError(f"{exc.code.value}: {exc.message}", file=name) from exc


def validate(data: Any, schema_name: str, *, file: str | None) -> dict[str, Any]:
    """Check ``data`` against the packaged schema ``schema_name``; return a detached copy.

    Refuses with ``ClearanceRulesError`` whose ``pointer`` is the offending member of the
    file (the first violation the compiled Draft 2020-12 validator reports; its patterns are
    ECMA-262, as JSON Schema means them, so ``"1.0\\n"`` is no version).
    """
    raw = resources.files(_PACKAGE).joinpath("schemas").joinpath(schema_name).read_bytes()
    validator = jsonschema_rs.Draft202012Validator(parse_json(raw))
    plain = clone(data)  # detach from the caller
    error = next(iter(validator.iter_errors(plain)), None)
    if error is not None:
        pointer = format_pointer(str(part) for part in error.instance_path)
        message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
        raise ClearanceRulesError(f"breaks {schema_name}: {message}", file=file, pointer=pointer) from error
    if not isinstance(plain, dict):  # pragma: no cover - the schemas require an object
        raise ClearanceRulesError("a rule file holds a JSON object", file=file, pointer="")
    return plain
