"""Routes of the model registry: list, show, resolve a version, register, move an
alias, a version's stored bytes, and the lineage of a served request. Thin: parse,
call ``rillet.services._models``, return its shape. No value is decoded here (a
pickled model stays bytes). Every registry route works in the project and domain of
its ``project``/``domain`` query (``default``/``development`` when absent); the auth
policy checks the caller's role there."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from rillet.server._auth import who
from rillet.server._errors import ERROR_RESPONSES
from rillet.server._routes_executions import instance
from rillet.services import _models

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

Name = Annotated[str, PathParam(min_length=1, max_length=200)]
Label = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
Number = Annotated[int, Field(ge=1, le=2**62)]
Scope = Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    execution: Label
    node: Label
    output: Label = "o0"
    alias: Label | None = None


Hash = Annotated[str | None, Field(max_length=200)]
Body = Annotated[str | None, Field(max_length=64 * 2**20)]


class RequestRow(BaseModel):
    """One answered prediction, as a serving process records it."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.\-]+$")]
    at: Annotated[float, Field(ge=0, le=1e11)]
    name: Label
    version: Number
    route: Annotated[str, Field(min_length=1, max_length=50)]
    status: Annotated[int, Field(ge=100, le=599)]
    latency_ms: Annotated[float, Field(ge=0, le=1e9)]
    input_hash: Hash = None
    output_hash: Hash = None
    input_body: Body = None
    output_body: Body = None


class RequestBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: Annotated[list[RequestRow], Field(max_length=20000)]


class Recorded(BaseModel):
    recorded: int


class ServingChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    detail: dict[str, str | int | float | bool | None]


class AliasRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Number


@router.get("/models", response_model=list[dict[str, Any]])
async def list_models(request: Request, project: Scope = "default",
                      domain: Scope = "development") -> Any:
    """Every registered model of a project and domain: its latest version, how many,
    its aliases."""
    return JSONResponse(await run_in_threadpool(
        _models.model_list, instance(request), project=project, domain=domain))


@router.get("/models/{name}", response_model=dict[str, Any])
async def show_model(request: Request, name: Name, project: Scope = "default",
                     domain: Scope = "development") -> Any:
    """The versions of a model (each with its execution, node and inputs) and its
    history (every registration and alias move, with who and when)."""
    return JSONResponse(await run_in_threadpool(
        _models.model_show, instance(request), name, project=project, domain=domain))


@router.get("/models/{name}/resolve", response_model=dict[str, Any])
async def resolve_model(
    request: Request, name: Name,
    alias: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    version: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    project: Scope = "default", domain: Scope = "development",
) -> Any:
    """The version an alias (or a number; neither: the latest) names, with the record
    of its stored value: format, type, and the JSON itself when it is kept inline."""
    return JSONResponse(await run_in_threadpool(
        _models.model_resolve, instance(request), name, alias=alias, version=version,
        project=project, domain=domain))


@router.post("/models/{name}/versions", response_model=dict[str, Any])
async def register_model(request: Request, name: Name, body: RegisterRequest,
                         project: Scope = "default", domain: Scope = "development") -> Any:
    """Register an output of a node of a succeeded execution of the same project as the
    next version (409 for an execution of another project)."""
    return JSONResponse(await run_in_threadpool(
        _models.model_register, instance(request), name, execution=body.execution,
        node=body.node, output=body.output, alias=body.alias, who=who(request),
        project=project, domain=domain))


@router.put("/models/{name}/aliases/{alias}", response_model=dict[str, Any])
async def move_alias(request: Request, name: Name,
                     alias: Annotated[str, PathParam(min_length=1, max_length=200)],
                     body: AliasRequest, project: Scope = "default",
                     domain: Scope = "development") -> Any:
    """Point an alias at a version (recorded in the history; servers swap to it)."""
    return JSONResponse(await run_in_threadpool(
        _models.model_alias, instance(request), name, alias, body.version, who(request),
        project=project, domain=domain))


@router.get("/models/{name}/versions/{version}/value", response_class=Response, responses={
    200: {"description": "The stored bytes, checked against the value's hash",
          "content": {"application/octet-stream": {
              "schema": {"type": "string", "format": "binary"}}}}})
async def model_value(request: Request, name: Name,
                      version: Annotated[int, PathParam(ge=1, le=2**62)],
                      project: Scope = "default", domain: Scope = "development") -> Any:
    """The stored bytes of a version's value, as stored (never decoded or unpickled
    here); the client checks them against the hash and decodes them."""
    data = await run_in_threadpool(_models.model_bytes, instance(request), name, version,
                                   project=project, domain=domain)
    return Response(data, media_type="application/octet-stream")


@router.get("/requests/{request_id}/lineage", response_model=dict[str, Any])
async def request_lineage(
        request: Request,
        request_id: Annotated[str, PathParam(min_length=1, max_length=200,
                                             pattern=r"^[^\x00]+$")]) -> Any:
    """From a served prediction (its id, or a unique prefix) to the model version that
    answered it and the execution, node and upstream data that trained it."""
    return JSONResponse(await run_in_threadpool(
        _models.request_lineage, instance(request), request_id))


@router.post("/requests", response_model=Recorded)
async def record_requests(request: Request, body: RequestBatch, project: Scope = "default",
                          domain: Scope = "development") -> Any:
    """Record a batch of answered predictions (what ``rillet serve --server`` sends);
    each names a registered version of the project and domain (404 otherwise, nothing
    written). A row already recorded (same id) is not recorded twice."""
    rows = [row.model_dump() for row in body.rows]
    return JSONResponse({"recorded": await run_in_threadpool(
        _models.record_requests, instance(request), rows, project=project, domain=domain)})


@router.post("/models/{name}/serving", response_model=dict[str, Any])
async def record_serving(request: Request, name: Name, body: ServingChange,
                         project: Scope = "default", domain: Scope = "development") -> Any:
    """A serving change of a model (a ``rillet serve --server`` started), kept in its
    history with the request's user."""
    await run_in_threadpool(_models.record_serving, instance(request), name, body.detail,
                            who(request), project=project, domain=domain)
    return JSONResponse({"name": name, "event": "serve"})
