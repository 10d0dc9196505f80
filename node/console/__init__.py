"""The web console: pages for officers, traders and operators, served by the node at ``/``.

Server-rendered (Jinja2 templates, plain HTML forms; a little optional script of our own),
every asset served by the node from ``node/console/static`` — it works on a network that
reaches nothing else. Pages call the node's services directly, with the same authorisation
as the API routes (ADR 0028).

- ``web``: templates, sessions of the signed-in viewer, CSRF, HTML error pages.
- ``sessions``: signed session cookies and CSRF tokens.
- ``pages_*``: the pages, one module per area.
- ``paper``, ``fields``, ``graph``, ``timeline``, ``presentation``: pure helpers that turn
  documents, uploads, the registry and a declaration's history into what the pages draw.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from node.console import (
    pages_auth,
    pages_declarations,
    pages_documents,
    pages_operator,
    pages_titles,
)
from node.console.web import ConsoleState

__all__ = ["install_console"]


def install_console(app: FastAPI) -> None:
    """Add the console's pages and assets to ``app`` (kept out of the OpenAPI document)."""
    app.state.console = ConsoleState()
    for module in (pages_auth, pages_documents, pages_declarations, pages_operator,
                   pages_titles):
        app.include_router(module.router)
    app.mount("/assets", StaticFiles(packages=[("node.console", "static")]), name="assets")
