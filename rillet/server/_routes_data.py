"""Routes of lineage, the cache, artifact records, and a value's preview and bytes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel
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
    num_rows: int
    num_columns: int
    columns: list[Column]
    rows: list[dict[str, Any]]
    truncated: bool


@router.get("/artifacts/{digest}/preview", response_model=Preview)
async def artifact_preview(request: Request, digest: Digest,
                           rows: Annotated[int, Query(ge=1, le=_blobs.MAX_ROWS)] = 50) -> Any:
    """A stored DataFrame's schema and first ``rows`` rows, read with pyarrow from its
    bytes once they hash to its digest. Any other value is a 400 (a pickle is never
    loaded); bytes that do not match their digest are a 404 saying so."""
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
