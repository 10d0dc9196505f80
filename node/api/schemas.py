"""Request and response models for the OpenAPI document (pydantic).

Request bodies are read strictly by the routes themselves (size limit before reading,
strict I-JSON: duplicate members, NaN and lone surrogates refused with their reason codes),
so a body model here *describes* the body in ``/openapi.json``; ``request_body`` makes the
operation point at it and ``install_body_schemas`` puts it among the components. Response
models are FastAPI ``response_model``s: what a route returns is checked against them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

_REF = "#/components/schemas/{model}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- the declaration package (request) ----------------------------------------------------------


class JWSSignatureIn(_Model):
    protected: str
    signature: str


class GeneralJWSIn(_Model):
    """A JWS in JSON General Serialization, as a node produced it."""

    payload: str
    signatures: list[JWSSignatureIn] = Field(min_length=1)


class DocumentItem(_Model):
    """A document for the exporting node to validate and sign."""

    document: dict[str, Any]


class SignedItem(_Model):
    """A document signed by its issuer's node, kept byte for byte."""

    signed: GeneralJWSIn


class HeldItem(_Model):
    """A document this node already holds."""

    documentId: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


PackageItem = DocumentItem | SignedItem | HeldItem


class DeclarationPackage(_Model):
    """A declaration package (``docs/declarations.md``)."""

    packageFormat: Literal["tradeaccord-declaration-package-1.0"]
    importingAuthority: str | None = Field(default=None,
                                           pattern=r"^[A-Z]{2}-[A-Z0-9]+(-[A-Z0-9]+)*$")
    declaration: PackageItem
    documents: list[PackageItem]


class ReviewRequest(_Model):
    """An officer's release or rejection, with the reason that reaches the trader."""

    reason: str = Field(min_length=1, max_length=2000)


# -- the joint status (response) -----------------------------------------------------------------


class Subject(_Model):
    documentId: str
    documentType: str
    pointer: str
    value: Any
    note: str | None = None


class FindingView(_Model):
    ruleId: str
    ruleVersion: str
    title: str
    severity: Literal["hold", "warn"]
    message: str
    subjects: list[Subject]


DecisionValue = Literal["pending", "released", "held", "rejected"]


class ExportView(_Model):
    authority: str
    decision: DecisionValue
    reasons: list[str]
    findings: list[FindingView]
    decidedAt: str | None


class PreferenceView(_Model):
    claimed: bool
    eligible: bool | None
    reasons: list[str]


class ImportView(_Model):
    authority: str
    decision: DecisionValue
    reasons: list[str]
    findings: list[FindingView]
    decidedAt: str | None
    importDeclarationId: str | None
    preference: PreferenceView


class ForwardedOutcome(_Model):
    documentId: str
    documentType: str
    outcome: Literal["accepted", "rejected", "held-for-review"]
    reasons: list[str]
    agreementId: str | None
    recognisedAs: str | None


class ForwardingView(_Model):
    state: str = Field(description="not-started, pending, sending, delivered, failed, dead "
                       "(export side) or received (import side)")
    to: str
    messageId: str | None
    attempts: int
    lastError: str | None
    deliveredAt: str | None
    outcomes: list[ForwardedOutcome]


class DocumentEntry(_Model):
    id: str
    type: str
    issuer: str
    sha256: str
    part: str
    recognition: dict[str, Any]


class TimelineEntry(_Model):
    at: str
    event: str
    by: str
    details: dict[str, Any]


_STATES = Literal["export-held", "export-rejected", "forwarding", "forwarding-failed",
                  "awaiting-import", "import-held", "import-rejected", "cleared"]


class DeclarationSummary(_Model):
    cursor: int
    id: str
    side: Literal["export", "import"]
    state: _STATES
    ucr: str | None
    exportingAuthority: str
    importingAuthority: str
    export: dict[str, Any]
    import_: dict[str, Any] = Field(alias="import")
    createdAt: str
    updatedAt: str

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DeclarationList(_Model):
    declarations: list[DeclarationSummary]


class DeclarationStatus(_Model):
    """The joint status of a declaration."""

    cursor: int
    id: str
    side: Literal["export", "import"]
    state: _STATES
    ucr: str | None
    exportingAuthority: str
    importingAuthority: str
    declarationSha256: str
    createdAt: str
    updatedAt: str
    export: ExportView
    forwarding: ForwardingView
    import_: ImportView = Field(alias="import")
    documents: list[DocumentEntry]
    timeline: list[TimelineEntry]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# -- batch submission ---------------------------------------------------------------------------


class BatchSubmissionItem(_Model):
    """One document to validate and sign, and optionally queue for these authorities."""

    document: dict[str, Any]
    sendTo: list[str] = Field(default_factory=list)


class BatchSubmission(_Model):
    """Up to ``TRADEACCORD_BATCH_MAX_DOCUMENTS`` documents, stored in one transaction."""

    documents: list[BatchSubmissionItem] = Field(min_length=1)


class ItemError(_Model):
    code: str
    message: str


class BatchItemResult(_Model):
    """One item's answer: ``status`` 201 with ``document`` (as ``POST /v1/documents``
    answers), or the refusal's status with ``error``."""

    index: int
    status: int
    document: dict[str, Any] | None = None
    error: ItemError | None = None


class BatchResult(_Model):
    """Every item's result, in the order of the request."""

    stored: int
    refused: int
    results: list[BatchItemResult]


# -- wiring into the OpenAPI document ------------------------------------------------------------


def request_body(model: type[BaseModel], description: str = "") -> dict[str, Any]:
    """``openapi_extra`` for an operation whose JSON body is described by ``model``."""
    return {"requestBody": {"required": True, "description": description or model.__doc__ or "",
                            "content": {"application/json": {"schema": {
                                "$ref": _REF.format(model=model.__name__)}}}}}


def install_body_schemas(app: FastAPI, models: Iterable[type[BaseModel]]) -> None:
    """Make ``app.openapi()`` list ``models`` (and what they refer to) in its components."""
    wanted = tuple(models)

    def generate() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes)
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for model in wanted:
            schema = model.model_json_schema(ref_template=_REF)
            for name, definition in schema.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components.setdefault(model.__name__, schema)
        app.openapi_schema = document
        return document

    app.openapi = generate  # type: ignore[method-assign]
