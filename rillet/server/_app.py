"""``create_app(instance)``: the FastAPI application of ``rillet server``: the
routers, the JSON error handlers, the event broadcaster and the local runner."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from rillet.server import _errors, _ui
from rillet.server._broadcast import Broadcaster
from rillet.server._runner import LocalRunner
from rillet.store._instance import Instance

API = "/api/v1"

class Health(BaseModel):
    status: str


def create_app(instance: Instance, *, workers: int = 0, poll: float = 0.05,
               ui_dir: str | os.PathLike[str] | None = None,
               scheduler: bool = True, auth: bool = False,
               notifier: dict[str, Any] | None = None) -> FastAPI:
    """The app serving ``instance``. ``workers`` > 0 runs a platform worker with that many
    slots in this process for the app's lifetime (launches through the app wake it);
    shutdown drains it: running executions finish and are recorded. ``ui_dir`` holds the
    built web UI served at ``/`` (default: the package's ``ui_static``). ``scheduler``
    runs the launch plans' scheduler, and a ``Notifier`` that delivers their webhooks
    (``notifier`` passes options to it: ``tries``, ``backoff``), in threads for the
    app's lifetime. ``auth``
    requires a token on every API request and the role its route needs."""
    from rillet.server import (
        _routes_data,
        _routes_executions,
        _routes_models,
        _routes_registry,
        _routes_teams,
    )

    broadcaster = Broadcaster(instance.store, poll=poll)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broadcaster.start()
        local = start_local_workers(instance, workers)
        app.state.local_workers = local
        app.state.scheduler = None
        if scheduler:
            from rillet.platform._schedule import Scheduler

            app.state.scheduler = Scheduler(instance.store).start()
        from rillet.platform._notify import Notifier

        app.state.notifier = Notifier(instance.store, **(notifier or {})).start()
        try:
            yield
        finally:
            if app.state.scheduler is not None:
                await run_in_threadpool(app.state.scheduler.stop)
            await run_in_threadpool(app.state.notifier.stop)
            if local is not None:
                await run_in_threadpool(local.stop)
            broadcaster.stop()

    from importlib.metadata import version

    from fastapi import Depends

    from rillet.server._auth import authorize

    app = FastAPI(title="rillet", version=version("rillet"), lifespan=lifespan,
                  docs_url="/docs", redoc_url=None,
                  dependencies=[Depends(authorize)] if auth else [])
    app.state.auth = auth
    app.state.instance = instance
    app.state.broadcaster = broadcaster
    app.state.runner = LocalRunner(instance, broadcaster.wake)
    app.state.workers = workers
    _errors.install(app)

    @app.get(f"{API}/health", response_model=Health)
    async def health() -> Any:
        """``{"status": "ok"}`` once the server serves."""
        return JSONResponse({"status": "ok"})

    app.include_router(_routes_executions.router)
    app.include_router(_routes_data.router)
    app.include_router(_routes_registry.router)
    app.include_router(_routes_models.router)
    app.include_router(_routes_teams.router)
    _ui.mount(app, _ui.UI_DIR if ui_dir is None else Path(ui_dir))
    return app


class LocalWorkers:
    """A :class:`rillet.platform.Worker` with ``n`` slots, run in a thread of the server."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self.thread = threading.Thread(target=worker.run, daemon=True, name="rillet-workers")
        self.thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Drain (no new claim; running executions finish) and wait for the thread."""
        self.worker.stop()
        self.thread.join(timeout)


def start_local_workers(instance: Instance, n: int) -> LocalWorkers | None:
    """``n`` local worker slots on ``instance``'s stores, or None for 0."""
    if n <= 0:
        return None
    from rillet.platform._worker import Worker

    return LocalWorkers(Worker(instance.store, instance.artifacts, concurrency=n,
                               executor=instance.executor,
                               scratch=os.path.join(instance.scratch, "workers"),
                               # the tasks' output as it comes: GET .../logs/stream reads it
                               log_path=instance.log_path))
