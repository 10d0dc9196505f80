"""Operations: health, readiness, metrics (unauthenticated, for probes and scrapers)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text

from node.api.deps import ContextDep
from node.api.models import Health, Readiness
from node.api.schemas import documented
from node.context import NodeContext
from node.services.delivery import outbox_depth
from node.storage.database import read_session
from protocol.timeutil import utc_now
from trust_registry.expiry import ExpiringKind, expiring

router = APIRouter(tags=["operations"])


@router.get("/healthz", operation_id="health", **documented(answer=Health))
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="ready", **documented(answer=Readiness),
            openapi_extra={"responses": {"503": {
                "description": "Not ready: the same report, saying which check failed",
                "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Readiness"}}}}}})
def ready(ctx: ContextDep) -> JSONResponse:
    """Ready to serve: the database answers, the keys are in memory, a registry is held."""
    checks: dict[str, str] = {}
    try:
        with read_session(ctx.engine) as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"unavailable: {type(exc).__name__}"
    checks["keys"] = "ok" if ctx.document_signer and ctx.node_signer else "missing"
    try:
        checks["registry"] = f"version {ctx.registry.current().version}"
    except Exception as exc:  # noqa: BLE001
        checks["registry"] = f"unavailable: {type(exc).__name__}"
    ready_ = checks["database"] == "ok" and checks["keys"] == "ok" and \
        checks["registry"].startswith("version")
    return JSONResponse({"status": "ready" if ready_ else "not-ready", "checks": checks},
                        status_code=200 if ready_ else 503)


@router.get("/metrics", operation_id="metrics", response_class=PlainTextResponse)
def metrics(ctx: ContextDep) -> Response:
    """Prometheus exposition format."""
    ctx.metrics.outbox_depth.set(outbox_depth(ctx))
    _expiry_gauge(ctx)
    return Response(ctx.metrics.render(), media_type="text/plain; version=0.0.4")


EXPIRY_WARNING = dt.timedelta(days=30)  # as GET /v1/registry's ``expiring``


def _expiry_gauge(ctx: NodeContext) -> None:
    """``tradeaccord_registry_expiring{kind}``: what ends within the warning window."""
    warnings = expiring(ctx.registry.current(), at=utc_now(), within=EXPIRY_WARNING)
    for kind in ExpiringKind:
        ctx.metrics.registry_expiring.labels(kind=kind.value).set(
            sum(1 for warning in warnings if warning.kind is kind))
