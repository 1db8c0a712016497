"""The web UI at ``/``: the single-page app built from ``ui/`` (``make ui``) into
``rillet/ui_static``, shipped inside the package so that ``pip install`` needs no Node.
Client routes (``/executions/<id>``, ``/launch``, ``/compare``, ``/lineage/<ref>``,
``/versions``, ``/versions/<version>``, ``/launchplans``, ``/models``) answer the app's
``index.html``; ``/assets`` its files. Without a build, ``/`` says what to run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse

from rillet.errors import NotFound

UI_DIR = Path(__file__).resolve().parent.parent / "ui_static"

BUILD_HINT = ("run `make ui` in a clone of rillet (it needs Node 20 and npm), "
              "or install a rillet wheel built with the UI")

NOT_BUILT = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,"><title>rillet</title></head>
<body><h1>rillet</h1><p>The web UI is not built: {BUILD_HINT.replace('`make ui`',
'<code>make ui</code>')}. This server's API is at <a href="/docs">/docs</a>
(<a href="/openapi.json">/openapi.json</a>); <code>GET /api/v1/health</code> says whether it
serves.</p></body></html>"""


def built(ui_dir: Path = UI_DIR) -> bool:
    return (ui_dir / "index.html").is_file()


def not_built_note(ui_dir: Path = UI_DIR) -> str | None:
    """One line for ``rillet ui``/``server`` to print when the UI's assets are missing."""
    if built(ui_dir):
        return None
    return f"rillet: the web UI is not built ({ui_dir} has no index.html): {BUILD_HINT}"


CLIENT_ROUTES = ("/", "/executions/{rest:path}", "/launch", "/compare", "/lineage/{rest:path}",
                 "/versions", "/versions/{rest:path}", "/launchplans", "/models")


def mount(app: FastAPI, ui_dir: Path = UI_DIR) -> None:
    """Serve the app at ``/`` and its client routes (after the API's routes)."""
    index = ui_dir / "index.html"

    def page() -> Any:
        # Looked up per request: a `make ui` while the server runs is picked up.
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(NOT_BUILT)

    # The app's client routes: each answers with the same page, whose router shows it.
    for path in CLIENT_ROUTES:
        app.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse,
                          include_in_schema=False)

    assets = ui_dir / "assets"

    @app.get("/assets/{name:path}", include_in_schema=False)
    async def asset(name: str) -> Any:
        # Vite names them by content hash: cached for good. Never outside the folder.
        root = assets.resolve()
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise NotFound(f"no UI asset {name!r}")
        return FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, "
                                           "immutable"})
