"""``/docs`` and ``/redoc`` render offline: they name only node-local URLs, and the node
serves each of them (the Swagger UI and ReDoc bundles come from package data)."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from fastapi import FastAPI

from node.api.app import create_app
from node.settings import Settings

URL = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(), run_worker=False)


def _get(app: FastAPI, path: str) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as http:
            return await http.get(path)

    return asyncio.run(run())


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_names_only_node_local_assets_and_each_answers(app: FastAPI,
                                                                  page: str) -> None:
    response = _get(app, page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "http://" not in html and "https://" not in html, "an absolute URL leaves the node"
    urls = {a or b for a, b in URL.findall(html)}
    assert "/openapi.json" in urls
    assets = {u for u in urls if u.startswith("/docs/assets/")}
    assert len(assets) >= (3 if page == "/docs" else 2), urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        answer = _get(app, url)
        assert answer.status_code == 200, url
        assert answer.content, url


def test_docs_assets_are_the_bundles(app: FastAPI) -> None:
    script = _get(app, "/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in script.headers["content-type"]
    assert b"SwaggerUIBundle" in script.content
    assert _get(app, "/docs/assets/no-such-asset.js").status_code == 404


def test_docs_pages_are_not_api_operations(app: FastAPI) -> None:
    paths = _get(app, "/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]
