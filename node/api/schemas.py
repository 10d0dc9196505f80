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


class TransferableRecordRef(_Model):
    """A bill of lading of the declaration that is a transferable record held at this node:
    its current holder and custodian, as this node recorded them."""

    id: str
    status: str
    holder: str
    custodian: str
    controlRegistry: str


class ReassessmentView(_Model):
    """A certificate revoked or replaced by its issuer after the decision: ``required`` when
    the preference rested on it (``node.services.declarations.reassessment``)."""

    required: bool
    documents: list[dict[str, Any]]


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
    reassessment: ReassessmentView
    timeline: list[TimelineEntry]
    transferableRecords: list[TransferableRecordRef] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# -- errors (RFC 9457 problem details) -----------------------------------------------------------


class ProblemError(BaseModel):
    code: str
    message: str
    reasons: list[str]


class Problem(BaseModel):
    """An error (RFC 9457 ``application/problem+json``) with the node's reason codes."""

    type: str = Field(description="https://tradeaccord.dev/errors#CODE, stable per reason code")
    title: str = Field(description="The reason code's description")
    status: int
    detail: str = Field(description="What was expected and what was found")
    instance: str | None = Field(default=None, description="The request path")
    code: str = Field(description="The reason code (docs/errors.md)")
    reasons: list[str] = Field(description="Every reason code the refusal stands for")
    error: ProblemError = Field(description="Deprecated: the body before ADR 0030, kept for "
                                "older clients; the same code, message (= detail), reasons")


PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_response(description: str) -> dict[str, Any]:
    """An OpenAPI response object for errors answered as ``Problem``."""
    return {"description": description,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _REF.format(model="Problem")}}}}


# Declared on every operation by ``install_body_schemas`` unless the operation declares them.
STANDARD_ERRORS: dict[str, dict[str, Any]] = {
    "4XX": problem_response("Refused: the reason code says why (docs/errors.md)"),
    "5XX": problem_response("The node failed or cannot reach its database or a peer"),
}


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


def request_body(*models: type[BaseModel], description: str = "") -> dict[str, Any]:
    """``openapi_extra`` for an operation whose JSON body is described by ``models`` (one of
    them, when several). The models must also be passed to ``install_body_schemas``."""
    refs = [{"$ref": _REF.format(model=model.__name__)} for model in models]
    schema = refs[0] if len(refs) == 1 else {"oneOf": refs}
    return {"requestBody": {"required": True,
                            "description": description or models[0].__doc__ or "",
                            "content": {"application/json": {"schema": schema}}}}


def documented(*, answer: type[BaseModel] | None = None, status: int = 200,
               body: type[BaseModel] | tuple[type[BaseModel], ...] | None = None,
               description: str = "") -> dict[str, Any]:
    """Keyword arguments for a route decorator that describe, without enforcing, the route's
    answer (``answer``, for ``status``) and JSON request body (``body``), e.g.
    ``@router.post("/x", status_code=201, **documented(answer=XView, status=201, body=XIn))``.

    The route still reads and answers as it does (``response_model=None``: the answer is not
    re-validated). Use ``response_model=`` instead where the answer should be checked."""
    kwargs: dict[str, Any] = {"response_model": None}
    if answer is not None:
        kwargs["responses"] = {status: {"model": answer,
                                        "description": description or answer.__doc__ or "OK"}}
    if body is not None:
        models = body if isinstance(body, tuple) else (body,)
        kwargs["openapi_extra"] = request_body(*models)
    return kwargs


def _references(value: Any, name: str) -> bool:
    if isinstance(value, dict):
        return value.get("$ref") == _REF.format(model=name) or any(
            _references(v, name) for v in value.values())
    if isinstance(value, list):
        return any(_references(v, name) for v in value)
    return False


def _declare_errors(document: dict[str, Any]) -> None:
    """Every operation answers its errors as ``Problem``: FastAPI's own 422 (its validation
    error shape, which this node never sends) becomes ``Problem`` and ``4XX``/``5XX`` are
    declared unless the operation declares them."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, response in list(responses.items()):
                if _references(response, "HTTPValidationError"):
                    responses[status] = problem_response(
                        "The parameters are not as documented (REQUEST_INVALID)")
            for status, response in STANDARD_ERRORS.items():
                responses.setdefault(status, response)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def install_body_schemas(app: FastAPI, models: Iterable[type[BaseModel]]) -> None:
    """Make ``app.openapi()`` list ``models`` (request bodies, and what they refer to) and
    ``Problem`` in its components, and declare the error responses of every operation."""
    wanted: tuple[type[BaseModel], ...] = (*models, Problem)

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
        _declare_errors(document)
        app.openapi_schema = document
        return document

    app.openapi = generate  # type: ignore[method-assign]
