"""An uploaded document or package as a list of fields, with the error set against its field.

The node names what is wrong with an upload by an RFC 6901 JSON pointer: the schema's
pointer into a document (``/body/goodsItems/1/hsCode``) or the package's pointer to an item
and into its document (``/documents/2/document/body/currency``). ``field_rows`` lays the
uploaded JSON out as labelled rows (objects and arrays as headings) and marks the row the
pointer names — or, when it names a member that is missing, the nearest row that exists
(the object that lacks it). Pure; bounded by ``max_rows``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from node.console.presentation import field_label, format_value

_ID = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One field: where it is, what it is called, its value (None for a heading)."""

    pointer: str
    label: str
    value: str | None
    depth: int
    anchor: str
    error: str | None = None


def escape(token: str) -> str:
    """One RFC 6901 reference token."""
    return token.replace("~", "~0").replace("/", "~1")


def split_pointer(pointer: str) -> list[str]:
    """The reference tokens of a pointer (``""`` is the whole document)."""
    if not pointer:
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]


def anchor_of(pointer: str) -> str:
    """An HTML id for the field at ``pointer``."""
    return "field" + (_ID.sub("-", pointer).rstrip("-") or "-root")


def _walk(value: Any, pointer: str, name: str, depth: int) -> Iterator[tuple[str, str, Any, int]]:
    yield pointer, name, value, depth
    if isinstance(value, dict):
        for key, member in value.items():
            yield from _walk(member, f"{pointer}/{escape(str(key))}", str(key), depth + 1)
    elif isinstance(value, list):
        for index, member in enumerate(value):
            yield from _walk(member, f"{pointer}/{index}", str(index), depth + 1)


def nearest(data: Any, pointer: str) -> str:
    """The longest prefix of ``pointer`` that exists in ``data``."""
    found = ""
    current = data
    for token in split_pointer(pointer):
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            break
        found = f"{found}/{escape(token)}"
    return found


def field_rows(data: Any, *, error_pointer: str | None = None, error: str | None = None,
               max_rows: int = 2000) -> tuple[list[FieldRow], str | None]:
    """The rows of ``data`` and the pointer of the row that carries ``error`` (if any)."""
    target = nearest(data, error_pointer) if error_pointer is not None else None
    rows: list[FieldRow] = []
    for pointer, name, value, depth in _walk(data, "", "", 0):
        if len(rows) >= max_rows:
            break
        if pointer == "" and target != "":
            continue  # the root is a row only when the error is about the whole upload
        container = isinstance(value, dict | list)
        label = field_label(name) if name else "The whole upload"
        rows.append(FieldRow(pointer=pointer, label=label,
                             value=None if container else format_value(value), depth=depth,
                             anchor=anchor_of(pointer),
                             error=error if pointer == target else None))
    return rows, target
