"""Routes of lineage, the cache and artifact records."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from rillet import services
from rillet.server._errors import ERROR_RESPONSES
from rillet.server._routes_executions import Id, instance

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

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
async def artifact(request: Request,
                   digest: Annotated[str, PathParam(pattern=r"^[0-9a-f]{1,128}$")]) -> Any:
    """The record of one stored value (its type, size, URI); never its decoded value."""
    return JSONResponse(services.artifact(instance(request), digest))
