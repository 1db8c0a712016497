"""Routes of lineage, the cache, artifact records, and a value's preview and bytes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from rillet import services
from rillet.server._errors import ERROR_RESPONSES
from rillet.server._routes_executions import Id, instance
from rillet.services import _blobs

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

Digest = Annotated[str, PathParam(pattern=r"^[0-9a-f]{1,128}$")]
Task = Annotated[str | None, Query(min_length=1, max_length=500, pattern=r"^[^\x00]+$")]


@router.get("/lineage/{ref}", response_model=services.LineageShape)
async def lineage(request: Request, ref: Id,
                  direction: Literal["upstream", "downstream"] = "upstream") -> Any:
    """Where a value came from, or what used it: REF is an execution id, EXEC:NODE
    or an artifact hash prefix."""
    return JSONResponse(services.lineage(instance(request), ref, direction))


@router.get("/cache", response_model=list[services.CacheEntryShape])
async def cache_list(request: Request, task: Task = None) -> Any:
    """Cache entries, of one task (``module:name`` or just its name) or all."""
    return JSONResponse(services.cache_list(instance(request), task))


class Cleared(BaseModel):
    removed: int


@router.delete("/cache", response_model=Cleared)
async def cache_clear(request: Request, task: Task = None) -> Any:
    """Delete cache entries (of one task, or all)."""
    return JSONResponse({"removed": services.cache_clear(instance(request), task)})


class ExplainRequest(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]+$")]
    version: Annotated[str | None, Field(min_length=1, max_length=200,
                                         pattern=r"^[^\x00]+$")] = None
    project: Annotated[str, Field(min_length=1, max_length=200)] = "default"
    domain: Annotated[str, Field(min_length=1, max_length=200)] = "development"
    inputs: dict[str, Any] = Field(default_factory=dict)


@router.post("/cache/explain", response_model=services.CacheExplainShape)
async def cache_explain(request: Request, body: ExplainRequest) -> Any:
    """Which nodes of a registered workflow or launch plan (the newest version, or
    ``version``) a launch with these inputs in ``project``/``domain`` would take from
    the cache, and why the others would not; writes nothing. The inputs are checked as
    a launch checks them (400 naming the input). The version's bundle is loaded in a
    process of its own, never in the server's."""
    return JSONResponse(await run_in_threadpool(
        services.cache_explain_registered, instance(request), body.name, body.version,
        project=body.project, domain=body.domain, inputs=body.inputs))


class PruneRequest(BaseModel):
    older_than: Annotated[str, Field(min_length=1, max_length=40)] | Annotated[
        float, Field(ge=0, allow_inf_nan=False)] | None = None
    max_size: Annotated[str, Field(min_length=1, max_length=40)] | Annotated[
        int, Field(ge=0)] | None = None
    dry_run: bool = False


@router.post("/prune", response_model=services.PruneShape)
async def prune(request: Request, body: PruneRequest) -> Any:
    """Free stored values nothing kept refers to, as ``rillet prune`` does: of executions
    older than ``older_than`` (seconds, or an age like ``30d``) and/or least recently used
    cache entries until the values fit ``max_size`` (bytes, or a size like ``2G``); with
    ``dry_run`` only say what would go. An admin's operation when auth is on."""
    return JSONResponse(await run_in_threadpool(
        services.prune, instance(request), older_than=body.older_than,
        max_size=body.max_size, dry_run=body.dry_run))


@router.get("/artifacts/{digest}", response_model=services.ArtifactShape)
async def artifact(request: Request, digest: Digest) -> Any:
    """The record of one stored value (its type, size, URI); never its decoded value."""
    return JSONResponse(services.artifact(instance(request), digest))


class Column(BaseModel):
    name: str
    type: str
    nullable: bool


class Preview(BaseModel):
    hash: str
    type: str
    size: int
    kind: Literal["dataframe", "ndarray", "json", "csv", "text", "none"]
    num_rows: int
    num_columns: int
    columns: list[Column]
    rows: list[dict[str, Any]]
    truncated: bool
    shape: list[int] | None = None  # an ndarray's
    text: str | None = None  # a text file's first lines
    reason: str | None = None  # kind none: why this value cannot be shown


@router.get("/artifacts/{digest}/preview", response_model=Preview)
async def artifact_preview(request: Request, digest: Digest,
                           rows: Annotated[int, Query(ge=1, le=_blobs.MAX_ROWS)] = 50) -> Any:
    """A stored value's first ``rows`` rows as a table, read from its bytes once they
    hash to its digest: a DataFrame's schema and rows (pyarrow), an ndarray's shape and
    first rows, a JSON value (records as a table), a CSV file's header and rows, a text
    file's first lines (``text``). A pickle (never loaded), a directory or a binary file
    is a 400; bytes that do not match their digest are a 404 saying so."""
    return JSONResponse(await run_in_threadpool(_blobs.preview, instance(request), digest,
                                                rows))


@router.get("/artifacts/{digest}/download", response_class=JSONResponse, responses={
    200: {"description": "The value's bytes as stored, checked against its digest",
          "content": {"application/octet-stream": {
              "schema": {"type": "string", "format": "binary"}}}}})
async def artifact_download(request: Request, digest: Digest) -> Any:
    """The bytes of a stored value (a DataFrame's parquet, a file, a pickle's bytes as
    they are), streamed from a copy verified against its digest first (a mismatch is a
    404 saying the bytes are corrupt, and nothing is sent)."""
    got = await run_in_threadpool(_blobs.download, instance(request), digest)
    return StreamingResponse(got.chunks(), media_type=got.media_type,
                             background=BackgroundTask(got.close), headers={
                                 "content-length": str(got.size),
                                 "content-disposition": f'attachment; filename="{got.filename}"',
                                 "x-rillet-digest": got.digest})
