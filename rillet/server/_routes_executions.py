"""Routes of executions: list, show, logs, abort, recover and the live event stream.
Thin: parse, call ``rillet.services``, return its shape."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from rillet import services
from rillet.engine._records import ENDED, Event, ExecutionStatus
from rillet.server._auth import who
from rillet.server._broadcast import queue_listener
from rillet.server._errors import ERROR_RESPONSES
from rillet.server._logstream import follow_log
from rillet.store._instance import Instance

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
_ENDED = frozenset(s.value for s in ENDED)

SSE_EVENT = {"type": "object", "properties": {
    "id": {"type": "string"}, "event": {"type": "string"}, "data": {"type": "string"},
    "retry": {"type": "integer"}}}

Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]


def instance(request: Request) -> Instance:
    inst: Instance = request.app.state.instance
    return inst


@router.get("/executions", response_model=list[services.ExecutionSummary])
async def list_executions(
    request: Request,
    limit: Annotated[int, Query(ge=0, le=services._executions.MAX_PAGE)] = 50,
    workflow: Annotated[str | None, Query(max_length=500, pattern=r"^[^\x00]*$")] = None,
    status: ExecutionStatus | None = None,
    before: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    project: Annotated[str | None, Query(min_length=1, max_length=200,
                                         pattern=r"^[^\x00]+$")] = None,
    domain: Annotated[str | None, Query(min_length=1, max_length=200,
                                        pattern=r"^[^\x00]+$")] = None,
    since: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    until: Annotated[float | None, Query(allow_inf_nan=False)] = None,
) -> Any:
    """Newest first; filter by workflow (``module:qualname``), status, project, domain
    and creation time (``since`` <= ``created_at`` < ``until``, epoch seconds); page
    with ``before`` = the ``created_at`` of the last row of the previous page."""
    return JSONResponse(services.list_executions(
        instance(request), limit=limit, workflow=workflow,
        status=status.value if status else None, before=before, project=project,
        domain=domain, since=since, until=until))


@router.get("/executions/{execution_id}", response_model=services.ExecutionDetail)
def get_execution(request: Request, execution_id: Id) -> Any:
    """One execution with its nodes (a unique prefix of the id is accepted)."""
    return JSONResponse(services.execution_detail(instance(request), execution_id))


@router.get("/compare", response_model=list[services.ComparedExecution])
def compare_executions(request: Request, ids: Annotated[str, Query(
        min_length=1, max_length=20_000, pattern=r"^[^\x00]+$",
        description="execution ids (unique prefixes accepted), comma-separated, at most "
                    "200")]) -> Any:
    """Executions side by side: their inputs, params and metrics (each metric as steps
    and values columns), in the order given; for the compare page."""
    wanted = [i for i in ids.split(",") if i]
    return JSONResponse(services.compare_executions(instance(request), wanted))


@router.get("/executions/{execution_id}/graph", response_model=services.ExecutionGraph)
def execution_graph(request: Request, execution_id: Id) -> Any:
    """The execution's whole DAG from its compiled IR: every node (those not started
    included) and the edges its bindings draw; ``planned`` is false when no IR is kept
    for it. A dynamic's children appear in the execution's nodes once it runs."""
    return JSONResponse(services.execution_graph(instance(request), execution_id))


@router.get("/executions/{execution_id}/nodes/{node_id}/logs",
            response_model=services.AttemptLogs)
async def node_logs(request: Request, execution_id: Id, node_id: Id,
                    attempt: Annotated[int | None, Query(ge=1, le=10_000)] = None) -> Any:
    """The captured stdout and stderr of one attempt (default: the last)."""
    return JSONResponse(services.node_logs(instance(request), execution_id, node_id, attempt))


@router.get("/executions/{execution_id}/nodes/{node_id}/logs/download",
            response_class=PlainTextResponse,
            responses={200: {"description": "The attempt's captured output as a text file",
                             "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def node_logs_download(request: Request, execution_id: Id, node_id: Id,
                             attempt: Annotated[int | None, Query(ge=1, le=10_000)] = None
                             ) -> Any:
    """The captured stdout and stderr of one attempt (default: the last) as a file
    (``EXECUTION-NODE-attemptN.log``)."""
    got = services.node_logs(instance(request), execution_id, node_id, attempt)
    name = f"{got['execution_id']}-{got['node_id']}-attempt{got['attempt']}.log"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return PlainTextResponse(got["logs"], headers={
        "content-disposition": f'attachment; filename="{safe}"'})


@router.get("/executions/{execution_id}/nodes/{node_id}/logs/stream",
            response_class=JSONResponse,
            responses={200: {"description": "A text/event-stream of the attempt's output "
                             "while it runs: `log` events (data: {text, offset}), then one "
                             "`end` event (data: {status, offset}); each id is a byte offset",
                             "content": {"text/event-stream": {"schema": SSE_EVENT}}}})
async def node_logs_stream(
    request: Request, execution_id: Id, node_id: Id,
    attempt: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    last_event_id: Annotated[str | None, Header(max_length=30)] = None,
) -> Any:
    """Server-sent events: one attempt's output (default: the last attempt) as it is
    written, from byte ``offset`` of the execution's log file (or the ``Last-Event-ID``)
    on, ending when the attempt ends; its recorded logs (``.../logs``) are then the
    whole of it."""
    from sse_starlette.sse import EventSourceResponse

    inst = instance(request)
    got = await run_in_threadpool(services.node_logs, inst, execution_id, node_id, attempt)
    if last_event_id and last_event_id.isdigit():
        offset = max(offset, min(int(last_event_id), 2**62))
    return EventSourceResponse(follow_log(inst, request.app.state.broadcaster,
                                          got["execution_id"], node_id, got["attempt"],
                                          offset), ping=15)


@router.get("/executions/{execution_id}/nodes/{node_id}/elements",
            response_model=list[services.MapElementShape])
async def node_elements(request: Request, execution_id: Id, node_id: Id) -> Any:
    """The elements of a map node: status, value (when its output list is inline),
    and the error, traceback and logs of those recorded on their own."""
    return JSONResponse(services.map_elements(instance(request), execution_id, node_id))


@router.post("/executions/{execution_id}/abort", response_model=services.ExecutionSummary)
async def abort(request: Request, execution_id: Id) -> Any:
    """Kill its running attempts and end it ABORTED (409 when it already ended)."""
    shown = await run_in_threadpool(services.abort, instance(request), execution_id,
                                    who(request))
    request.app.state.broadcaster.wake()
    return JSONResponse(shown)


class RecoverBody(BaseModel):
    from_nodes: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=1000)


@router.post("/executions/{execution_id}/recover", response_model=services.ExecutionSummary,
             status_code=202)
async def recover(request: Request, execution_id: Id, body: RecoverBody | None = None) -> Any:
    """Start a recovery (a new execution reusing what this one finished); it runs on
    the server's local runner. Returns the new execution, RUNNING."""
    runner = request.app.state.runner
    shown = await run_in_threadpool(runner.recover, execution_id,
                                    tuple(body.from_nodes) if body else ())
    return JSONResponse(shown, status_code=202)


@router.get("/executions/{execution_id}/events", response_class=JSONResponse,
            responses={200: {"description": "A text/event-stream of state changes: each "
                             "event's data is one event as JSON (seq, kind, status, ...)",
                             "content": {"text/event-stream": {"schema": SSE_EVENT}}}})
async def execution_events(
    request: Request, execution_id: Id,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    last_event_id: Annotated[str | None, Header(max_length=30)] = None,
) -> Any:
    """Server-sent events: the execution's state changes from ``after`` (or the
    ``Last-Event-ID``), then live ones; the stream ends when the execution ends."""
    from sse_starlette.sse import EventSourceResponse

    inst = instance(request)
    eid = services.get_execution(inst, execution_id).id
    if last_event_id and last_event_id.isdigit():
        after = max(after, int(last_event_id))
    return EventSourceResponse(_stream(request, inst, eid, after), ping=15)


async def _stream(request: Request, inst: Instance, eid: str,
                  after: int) -> AsyncIterator[dict[str, Any]]:
    broadcaster = request.app.state.broadcaster
    queue: asyncio.Queue[Event] = asyncio.Queue()
    token = broadcaster.subscribe(eid, queue_listener(asyncio.get_running_loop(), queue))
    try:
        backlog = await run_in_threadpool(inst.store.events, eid, after, 100_000)
        for event in backlog:
            after = event.seq
            yield _sse(event)
        if (backlog and _ends(backlog[-1])) or _ended(inst, eid):
            return
        while True:
            event = await queue.get()
            if event.seq <= after:
                continue
            after = event.seq
            yield _sse(event)
            if _ends(event):
                return
    finally:
        broadcaster.unsubscribe(token)


def _ends(event: Event) -> bool:
    return event.kind == "execution" and event.status in _ENDED


def _ended(inst: Instance, eid: str) -> bool:
    return inst.store.get_execution(eid).status.value in _ENDED


def _sse(event: Event) -> dict[str, Any]:
    return {"id": str(event.seq), "event": event.kind,
            "data": json.dumps(services._executions.event_shape(event))}
