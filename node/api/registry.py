"""``/v1/registry``: read the trust registry (any role); operators change it.

Each change verifies what it is given (signatures of both roots for an agreement, the
owner's root for a snapshot), installs a new registry version in one transaction with its
audit event, and rewrites ``DIR/registry.json``. A refused change leaves the registry as it
was. Signing on the node (``propose``, ``countersign``, status changes) needs the
authority's root key in the authority directory; production deployments keep the root key
offline and upload what the CLI signed instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from node.api.deps import ContextDep, IdPath, PrincipalDep, read_body, read_json, require_object
from node.api.models import (
    AuthorityIn,
    ProposeRequest,
    RegistryChange,
    RegistryView,
    StatusChangeRequest,
)
from node.api.schemas import GeneralJWSIn, documented
from node.context import NodeContext
from node.errors import RequestError
from node.services import trust
from node.services.apikeys import Principal, Role
from node.services.documents import require_role
from node.storage.database import storage_errors, write_session
from protocol.reason_codes import ReasonCode
from protocol.timeutil import parse_time, utc_now
from trust_registry import (
    DEFAULT_REGISTRY_LIMITS,
    Agreement,
    AgreementId,
    AgreementStatus,
    Authority,
    AuthorityId,
    Direction,
    DocType,
    StatusChange,
    TrustRegistry,
    build_scope,
    countersign_agreement,
    propose_agreement,
    sign_status_change,
)
from trust_registry.expiry import expiring

router = APIRouter(prefix="/v1/registry", tags=["registry"])


def _summary(registry: TrustRegistry) -> dict[str, Any]:
    return {"version": registry.version, "owner": registry.owner,
            "authorities": sorted(registry.authorities), "agreements": sorted(registry.agreements)}


async def _change(ctx: NodeContext, principal: Principal, event: str,
                  edit: Callable[[TrustRegistry], TrustRegistry]) -> dict[str, Any]:
    """Apply ``edit`` to the current registry and install the result atomically."""
    require_role(principal, Role.OPERATOR)

    def _run() -> dict[str, Any]:
        with storage_errors(), write_session(ctx.engine) as session:
            current = ctx.registry.current(session)
            updated = edit(current)
            if updated is current:
                return {"changed": False, **_summary(current)}
            ctx.registry.install(session, updated, actor=f"{principal.name}:{event}")
            session.commit()
        ctx.registry.after_commit(updated)
        return {"changed": True, **_summary(updated)}

    return await run_in_threadpool(_run)


EXPIRY_WARNING = dt.timedelta(days=30)  # how far ahead ``expiring`` looks


@router.get("", operation_id="getRegistry", **documented(answer=RegistryView))
def get_registry(ctx: ContextDep, principal: PrincipalDep) -> dict[str, Any]:
    """The registry in force (any authenticated caller), with ``expiring``: agreements, trust
    anchors and node certificates that end within 30 days (``trust_registry.expiry``)."""
    registry = ctx.registry.current()
    warnings = expiring(registry, at=utc_now(), within=EXPIRY_WARNING)
    return {**_summary(registry), "registry": registry.to_dict(),
            "expiring": [warning.to_dict() for warning in warnings]}


@router.post("/authorities", operation_id="addAuthority",
             **documented(answer=RegistryChange, body=AuthorityIn))
async def add_authority(request: Request, ctx: ContextDep,
                        principal: PrincipalDep) -> dict[str, Any]:
    """Operator: add an authority (the registry's JSON form of one authority). The answer's
    ``warnings`` say what the entry lacks (an endpoint without a node certificate)."""
    require_role(principal, Role.OPERATOR)
    authority = Authority.from_dict(await read_json(request, ctx))
    answer = await _change(ctx, principal, "add-authority",
                           lambda registry: registry.add_authority(authority))
    # Recorded all the same; the operator is told what will go wrong (issue 12).
    return {**answer, "warnings": trust.authority_warnings(authority)}


@router.post("/agreements", operation_id="addAgreement",
             **documented(answer=RegistryChange, body=GeneralJWSIn))
async def add_agreement(request: Request, ctx: ContextDep,
                        principal: PrincipalDep) -> dict[str, Any]:
    """Operator: activate an agreement signed by both parties' roots (a proposal with one
    signature is refused with AGREEMENT_SIGNATURE_MISSING)."""
    require_role(principal, Role.OPERATOR)
    body = await read_body(request, ctx.limits.max_document_bytes)
    at = utc_now()
    return await _change(ctx, principal, "add-agreement",
                         lambda registry: registry.add_agreement(body, at=at, limits=ctx.limits))


PROPOSE_MEMBERS = {"agreementId", "partner", "documentTypes", "recognisedAs", "mappingIds",
                    "direction", "validFrom", "validUntil", "legalReference"}


def agreement_from_request(body: dict[str, Any], owner: str, at: dt.datetime) -> Agreement:
    """The agreement a proposal body describes (REQUEST_INVALID when it is malformed); also
    used by ``node.api.negotiations``."""
    try:
        types = [DocType(t) for t in body["documentTypes"]]
        scope = build_scope(
            proposer=AuthorityId(owner), partner=AuthorityId(body["partner"]),
            document_types=types,
            recognised_as=[DocType(t) for t in body.get("recognisedAs") or []],
            mapping_ids=list(body.get("mappingIds") or []),
            direction=Direction(body.get("direction") or "both"))
        return Agreement(
            agreement_id=AgreementId(body["agreementId"]),
            parties=(AuthorityId(owner), AuthorityId(body["partner"])),
            legal_reference=body.get("legalReference") or "Bilateral arrangement on mutual "
            "recognition of electronic trade documents",
            valid_from=parse_time(body["validFrom"]) if body.get("validFrom") else at,
            valid_until=parse_time(body["validUntil"]) if body.get("validUntil") else None,
            scope=scope)
    except (TypeError, ValueError) as exc:
        raise RequestError(ReasonCode.REQUEST_INVALID, f"bad agreement: {exc}") from exc


@router.post("/agreements/propose", operation_id="proposeAgreement",
             **documented(answer=RegistryChange, body=ProposeRequest))
async def propose(request: Request, ctx: ContextDep, principal: PrincipalDep) -> dict[str, Any]:
    """Operator: draw up an agreement with a partner, sign it with this authority's root key
    (needs the root key in the authority directory) and record it as a proposal. The answer
    holds the signed ``proposal`` to hand to the partner for countersigning. Body:
    ``{"agreementId", "partner", "documentTypes": […], "recognisedAs"?, "mappingIds"?,
    "direction"?: "both"|"outbound"|"inbound", "validFrom"?, "validUntil"?,
    "legalReference"?}``."""
    require_role(principal, Role.OPERATOR)
    body = require_object(await read_json(request, ctx), PROPOSE_MEMBERS,
                          {"agreementId", "partner", "documentTypes"})
    at = utc_now()
    known = {doc_type for doc_type, _version in ctx.schemas.types()}
    for field_name in ("documentTypes", "recognisedAs", "mappingIds"):
        values = body.get(field_name) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise RequestError(ReasonCode.REQUEST_INVALID,
                               f"{field_name} must be an array of strings")
    for field_name in ("documentTypes", "recognisedAs"):
        values = body.get(field_name) or []
        unknown = [t for t in values if t not in known]
        if unknown:
            raise RequestError(ReasonCode.DOC_TYPE_UNKNOWN,
                               f"{field_name}: no schema for {unknown!r}")
    agreement = agreement_from_request(body, ctx.authority_id, at)
    signed: dict[str, Any] = {}

    def edit(registry: TrustRegistry) -> TrustRegistry:
        signer = ctx.authority.root_signer(ctx.settings.passphrase_bytes())
        proposal = propose_agreement(agreement, signer, signed_at=at)
        signed["proposal"] = proposal.to_dict()
        return registry.add_proposal(proposal, at=at, limits=ctx.limits)

    result = await _change(ctx, principal, "propose", edit)
    return {**result, **signed}


@router.post("/proposals", operation_id="addProposal",
             **documented(answer=RegistryChange, body=GeneralJWSIn))
async def add_proposal(request: Request, ctx: ContextDep,
                       principal: PrincipalDep) -> dict[str, Any]:
    """Operator: record a partner's proposal (signed by one root) for countersigning."""
    require_role(principal, Role.OPERATOR)
    body = await read_body(request, ctx.limits.max_document_bytes)
    at = utc_now()
    return await _change(ctx, principal, "add-proposal",
                         lambda registry: registry.add_proposal(body, at=at, limits=ctx.limits))


@router.post("/agreements/{agreement_id}/countersign", operation_id="countersignAgreement",
             **documented(answer=RegistryChange))
async def countersign(agreement_id: IdPath, ctx: ContextDep,
                      principal: PrincipalDep) -> dict[str, Any]:
    """Operator: countersign a recorded proposal with this authority's root key (needs the
    root key in the authority directory) and put the agreement in force. The answer holds
    the dual-signed ``agreement`` for the partner to activate."""
    require_role(principal, Role.OPERATOR)
    at = utc_now()
    signed: dict[str, Any] = {}

    def edit(registry: TrustRegistry) -> TrustRegistry:
        record = registry.agreement(agreement_id)
        signer = ctx.authority.root_signer(ctx.settings.passphrase_bytes())
        agreement = countersign_agreement(record.signed.jws, signer, signed_at=at)
        signed["agreement"] = agreement.to_dict()
        return registry.add_agreement(agreement, at=at, limits=ctx.limits)

    result = await _change(ctx, principal, "countersign", edit)
    return {**result, **signed}


@router.post("/agreements/{agreement_id}/status", operation_id="changeAgreementStatus",
             **documented(answer=RegistryChange, body=(StatusChangeRequest, GeneralJWSIn)))
async def change_status(agreement_id: IdPath, request: Request, ctx: ContextDep,
                        principal: PrincipalDep) -> dict[str, Any]:
    """Operator: suspend, resume or terminate an agreement.

    Body: ``{"status": "suspended"|"in-force"|"terminated", "effectiveAt": T?, "reason"?}``
    (signed here with the root key), or a status change already signed by either party's
    root (a JWS, uploaded as is)."""
    require_role(principal, Role.OPERATOR)
    data = await read_json(request, ctx)
    at = utc_now()
    if isinstance(data, dict) and "payload" in data:
        change = StatusChange.parse(data, at=at, limits=ctx.limits)
        if change.agreement_id != agreement_id:
            # The statement is applied to the agreement it names: the path must name it too.
            raise RequestError(ReasonCode.REQUEST_INVALID,
                               f"the signed status change is about {change.agreement_id}, "
                               f"not {agreement_id}")
        return await _change(ctx, principal, "status-change",
                             lambda registry: registry.change_agreement_status(
                                 change.jws, at=at, limits=ctx.limits))
    body = require_object(data, {"status", "effectiveAt", "reason"}, {"status"})
    try:
        status = AgreementStatus(body["status"])
        effective = parse_time(body["effectiveAt"]) if body.get("effectiveAt") else at
    except (ValueError, TypeError) as exc:
        raise RequestError(ReasonCode.REQUEST_INVALID, str(exc)) from exc
    reason = body.get("reason") or ""
    if not isinstance(reason, str):
        raise RequestError(ReasonCode.REQUEST_INVALID, "reason must be a string")

    def edit(registry: TrustRegistry) -> TrustRegistry:
        record = registry.agreement(agreement_id)
        signer = ctx.authority.root_signer(ctx.settings.passphrase_bytes())
        try:
            change = sign_status_change(record.signed, signer, status=status,
                                        effective_at=effective, signed_at=at, reason=reason)
        except ValueError as exc:
            raise RequestError(ReasonCode.REQUEST_INVALID, str(exc)) from exc
        return registry.change_agreement_status(change, at=at, limits=ctx.limits)

    return await _change(ctx, principal, f"status-{status.value}", edit)


@router.post("/snapshots", operation_id="importSnapshot",
             **documented(answer=RegistryChange, body=GeneralJWSIn))
async def import_snapshot(request: Request, ctx: ContextDep,
                          principal: PrincipalDep) -> dict[str, Any]:
    """Operator: import a snapshot signed by this registry owner's root. Refused (and the
    registry unchanged) on rollback, expiry, or a bad or foreign signature."""
    require_role(principal, Role.OPERATOR)
    # The bound import_snapshot parses with: larger bodies are refused before being read.
    body = await read_body(request, DEFAULT_REGISTRY_LIMITS.max_registry_bytes)
    at = utc_now()
    return await _change(ctx, principal, "import-snapshot",
                         lambda registry: registry.import_snapshot(body, at=at))
