"""Routes of the registry: register a bundle, list versions, launch. Thin: parse, call
``rillet.services._registry``, return its shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from rillet import services
from rillet.server._auth import who
from rillet.server._errors import ERROR_RESPONSES
from rillet.services import _registry
from rillet.store._instance import Instance

if TYPE_CHECKING:
    from rillet.services._uploads import Spool

S = TypeVar("S", bound="Spool")

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

Scope = Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
Name = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]+$")]
MAX_UPLOAD = 64 * 2**20


class LaunchRequest(BaseModel):
    name: Name
    version: Annotated[str | None, Field(min_length=1, max_length=200,
                                         pattern=r"^[^\x00]+$")] = None
    project: Annotated[str, Field(min_length=1, max_length=200)] = "default"
    domain: Annotated[str, Field(min_length=1, max_length=200)] = "development"
    inputs: dict[str, Any] = Field(default_factory=dict)


def _inst(request: Request) -> Instance:
    inst: Instance = request.app.state.instance
    return inst


@router.post("/register", response_model=list[dict[str, Any]], openapi_extra={
    "requestBody": {"required": True, "content": {"application/octet-stream": {
        "schema": {"type": "string", "format": "binary"}}}}})
async def register(request: Request, project: Scope = "default",
                   domain: Scope = "development",
                   version: Annotated[str | None, Query(min_length=1, max_length=200,
                                                        pattern=r"^[^\x00]+$")] = None) -> Any:
    """Register every task, workflow and launch plan of an uploaded bundle (the tar.gz
    that ``rillet register`` packs)."""
    data = await request.body()
    if len(data) > MAX_UPLOAD:
        from rillet.errors import DefinitionError
        raise DefinitionError(f"the bundle passes {MAX_UPLOAD // 2**20} MiB")
    return JSONResponse(await run_in_threadpool(
        _registry.register, _inst(request), data, project=project, domain=domain,
        version=version, who=who(request)))


@router.post("/uploads", response_model=services.UploadShape, status_code=201, openapi_extra={
    "requestBody": {"required": True, "content": {"application/octet-stream": {
        "schema": {"type": "string", "format": "binary"}}}}})
async def upload(request: Request,
                 name: Annotated[str, Query(min_length=1, max_length=255,
                                            pattern=r"^[^\x00/\\]+$")],
                 project: Scope = "default") -> Any:
    """Store an uploaded file (the raw body, streamed) as a File value; a launch gives
    a File input as the answer's ``ref`` (``artifact:<hash>``). Over the server's limit
    (256 MiB): 413, nothing stored."""
    from rillet.services._uploads import UploadSink, UploadTooLarge

    inst = _inst(request)
    limit = _upload_limit(request)
    try:
        sink = await _spooled(request, lambda: UploadSink(inst, name, limit), limit,
                              f"the upload '{name}'")
        return JSONResponse(await run_in_threadpool(sink.store), status_code=201)
    except UploadTooLarge as exc:
        return JSONResponse({"error": str(exc)}, status_code=413)


@router.post("/uploads/directory", response_model=services.UploadShape, status_code=201,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string",
                                                         "format": "binary"}}}}})
async def upload_directory(request: Request,
                           name: Annotated[str, Query(min_length=1, max_length=255,
                                                      pattern=r"^[^\x00/\\]+$")],
                           format: Literal["tar", "tgz", "zip"] = "tar",
                           project: Scope = "default") -> Any:
    """Store an uploaded folder, sent as an archive (the raw body: a tar, tar.gz or
    zip), as a Directory value; a launch gives a Directory input as the answer's
    ``ref``. An entry that is a link or special file, or whose name is absolute or has
    ``..``: 400, nothing stored. Over the server's limit, sent or unpacked: 413."""
    from rillet.services._dir_uploads import store_directory
    from rillet.services._uploads import Spool, UploadTooLarge

    inst = _inst(request)
    limit = _upload_limit(request)
    try:
        sink = await _spooled(request, lambda: Spool(inst, "the archive", limit), limit,
                              "the archive")
        try:
            shown = await run_in_threadpool(store_directory, inst, sink.finish(), format,
                                            name, limit)
        finally:
            sink.close()
        return JSONResponse(shown, status_code=201)
    except UploadTooLarge as exc:
        return JSONResponse({"error": str(exc)}, status_code=413)


def _upload_limit(request: Request) -> int:
    return int(getattr(request.app.state, "upload_limit", 0) or services.MAX_UPLOAD)


async def _spooled(request: Request, make: Callable[[], S], limit: int, what: str) -> S:
    """The request's body in a spool ``make()`` gives (made in a thread): refused
    before reading when its declared length is over ``limit``; dropped on any error."""
    from rillet.services._uploads import UploadTooLarge

    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UploadTooLarge(f"{what} ({declared} bytes) is larger than the server's limit "
                             f"of {limit} bytes; nothing was stored")
    sink = await run_in_threadpool(make)
    try:
        async for chunk in request.stream():
            if chunk:
                sink.write(chunk)
    except BaseException:
        sink.close()
        raise
    return sink


@router.get("/versions", response_model=list[dict[str, Any]])
async def versions(request: Request,
                   name: Annotated[str | None, Query(min_length=1, max_length=500,
                                                     pattern=r"^[^\x00]+$")] = None,
                   project: Scope = "default", domain: Scope = "development") -> Any:
    """Registered versions (of ``name``, or of everything), newest first."""
    return JSONResponse(_registry.versions(_inst(request), name, project=project,
                                           domain=domain))


Version = Annotated[str, PathParam(min_length=1, max_length=200, pattern=r"^[^\x00/\s]+$")]


class BundleFile(BaseModel):
    path: str
    size: int


class Entity(BaseModel):
    name: str
    kind: str


class VersionFiles(BaseModel):
    project: str
    domain: str
    version: str
    bundle_hash: str
    created_at: float
    entities: list[Entity]
    files: list[BundleFile]


class FileText(BaseModel):
    path: str
    size: int
    text: str


@router.get("/versions/{version}/files", response_model=VersionFiles)
async def version_files(request: Request, version: Version, project: Scope = "default",
                        domain: Scope = "development") -> Any:
    """The files of a registered version's code bundle (its bytes checked against its
    hash first), and the tasks, workflows and launch plans it registered."""
    return JSONResponse(await run_in_threadpool(
        _registry.version_files, _inst(request), version, project=project, domain=domain))


@router.get("/versions/{version}/file", response_model=FileText)
async def version_file(request: Request, version: Version,
                       path: Annotated[str, Query(min_length=1, max_length=1000,
                                                  pattern=r"^[^\x00]+$")],
                       project: Scope = "default", domain: Scope = "development") -> Any:
    """One file of a registered version's bundle as text (UTF-8, up to 1 MiB; else 400)."""
    return JSONResponse(await run_in_threadpool(
        _registry.version_file, _inst(request), version, path, project=project,
        domain=domain))


@router.post("/launch", response_model=services.ExecutionDetail)
async def launch(request: Request, body: LaunchRequest) -> Any:
    """Queue an execution of a registered workflow or launch plan; inputs are checked
    against its interface (400 naming the input). Returns the queued execution."""
    inst = _inst(request)
    eid = await run_in_threadpool(_registry.launch, inst, body.name, body.version,
                                  project=body.project, domain=body.domain, inputs=body.inputs,
                                  who=who(request))
    request.app.state.broadcaster.wake()
    return JSONResponse(services.execution_detail(inst, eid))
