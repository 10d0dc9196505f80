"""Transferable records (e-bills of lading): the title history as a chain of holders and nodes.

``/titles`` lists the records visible to the viewer (officers: every record at this node;
traders: those naming their party); ``/titles/{id}`` draws one record's verified chain: the
issuing carrier, then every holder in turn with the node that held the record in custody,
the node that signed each step and the control registry's countersignatures, to the present
holder. A record this node handed over shows as transferred away, naming the new custodian.
An unknown (or not visible) record is said so on the page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from node.api.deps import ContextDep
from node.console.web import ConsoleRoute, ViewerDep, render
from node.errors import NotFoundError
from node.services import titles as service
from node.services.apikeys import Role
from node.services.documents import require_role
from node.storage.database import read_session, storage_errors
from protocol.timeutil import utc_now

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PAGE = 200


@router.get("/titles")
def titles(request: Request, ctx: ContextDep, viewer: ViewerDep) -> Response:
    """The transferable records visible to the viewer, newest first."""
    require_role(viewer.principal, Role.TRADER, Role.OFFICER)
    with storage_errors(), read_session(ctx.engine) as session:
        rows = [service.brief(row) for row in service.list_rows(session, viewer.principal,
                                                                limit=PAGE)]
    return render(request, "titles.html", viewer=viewer, title="Transferable records",
                  record_id=None, rows=rows, record=None)


@router.get("/titles/{record_id}")
def title_page(request: Request, record_id: str, ctx: ContextDep,
               viewer: ViewerDep) -> Response:
    """One record's title chain, verified as it is read."""
    require_role(viewer.principal, Role.TRADER, Role.OFFICER)
    record: dict[str, Any] | None = None
    with storage_errors(), read_session(ctx.engine) as session:
        try:
            row = service.visible_row(session, viewer.principal, record_id)
        except NotFoundError:
            row = None
        if row is not None:
            record = service.summary(ctx, session, row, utc_now())
    return render(request, "titles.html", viewer=viewer, title="Transferable records",
                  record_id=record_id, rows=None, record=record)
