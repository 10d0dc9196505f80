"""Transferable records (e-bills of lading): the title history as a chain of holders and nodes.

PLACEHOLDER — the titles service of the node is being built separately (issue 12 leaves
this page to it). Until ``node.services`` holds title chains, both pages answer, for
traders and officers alike, that transferable records are not available on this node.
When the service exists, ``title_page`` draws the chain: each entry a holder at a node, in
order, from the issuing carrier to the present holder, with the transfers between them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from node.console.web import ConsoleRoute, ViewerDep, render
from node.services.apikeys import Role
from node.services.documents import require_role

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/titles")
def titles(request: Request, viewer: ViewerDep) -> Response:
    """The transferable records visible to the viewer (not available on this node yet)."""
    require_role(viewer.principal, Role.TRADER, Role.OFFICER)
    return render(request, "titles.html", viewer=viewer, title="Transferable records",
                  record_id=None)


@router.get("/titles/{record_id}")
def title_page(request: Request, record_id: str, viewer: ViewerDep) -> Response:
    """One record's title chain (not available on this node yet)."""
    require_role(viewer.principal, Role.TRADER, Role.OFFICER)
    return render(request, "titles.html", viewer=viewer, title="Transferable records",
                  record_id=record_id)
