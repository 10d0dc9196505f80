"""The validation profiles a receiver chooses from (``protocol.content`` runs them).

A small module of its own so that settings and command lines can name a profile without
loading schemas or code lists.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DEFAULT_PROFILE", "ValidationProfile"]


class ValidationProfile(StrEnum):
    """How strictly a schema-valid document is checked: ``syntax`` (codes by pattern only),
    ``standard`` (codes by membership of their lists), ``strict`` (membership and the
    document's arithmetic)."""

    SYNTAX = "syntax"
    STANDARD = "standard"
    STRICT = "strict"

    @property
    def checks_codes(self) -> bool:
        return self is not ValidationProfile.SYNTAX

    @property
    def checks_arithmetic(self) -> bool:
        return self is ValidationProfile.STRICT


DEFAULT_PROFILE = ValidationProfile.STANDARD
