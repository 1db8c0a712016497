"""``create_app(instance)``: the FastAPI application of ``rillet server``: the
routers, the JSON error handlers, the event broadcaster and the local runner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel

from rillet.server import _errors
from rillet.server._broadcast import Broadcaster
from rillet.server._runner import LocalRunner
from rillet.store._instance import Instance

API = "/api/v1"

UI_PLACEHOLDER = """<!doctype html><html><head><meta charset="utf-8"><title>rillet</title></head>
<body><h1>rillet</h1><p>The web UI is not built yet (it is a later issue). This server's
API is at <a href="/docs">/docs</a> (<a href="/openapi.json">/openapi.json</a>);
<code>GET /api/v1/health</code> says whether it serves.</p></body></html>"""


class Health(BaseModel):
    status: str


def create_app(instance: Instance, *, workers: int = 0, poll: float = 0.05) -> FastAPI:
    """The app serving ``instance``. ``workers`` local workers run launches (issue 14's
    worker module starts them when present)."""
    from rillet.server import _routes_data, _routes_executions

    broadcaster = Broadcaster(instance.store, poll=poll)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broadcaster.start()
        try:
            yield
        finally:
            broadcaster.stop()

    from importlib.metadata import version

    app = FastAPI(title="rillet", version=version("rillet"), lifespan=lifespan,
                  docs_url="/docs", redoc_url=None)
    app.state.instance = instance
    app.state.broadcaster = broadcaster
    app.state.runner = LocalRunner(instance, broadcaster.wake)
    app.state.workers = workers
    _errors.install(app)

    @app.get(f"{API}/health", response_model=Health)
    async def health() -> Any:
        """``{"status": "ok"}`` once the server serves."""
        return JSONResponse({"status": "ok"})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def ui() -> Any:
        return HTMLResponse(UI_PLACEHOLDER)

    app.include_router(_routes_executions.router)
    app.include_router(_routes_data.router)
    return app
