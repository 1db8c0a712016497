"""Routes of teams: projects, promotion and its history, the audit trail. Thin: parse,
call ``rillet.services._teams``, return its shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from rillet.server._auth import who
from rillet.server._errors import ERROR_RESPONSES
from rillet.services import _teams
from rillet.store._instance import Instance

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
Domain = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
Filter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]


class ProjectRequest(BaseModel):
    name: Text
    description: Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")] = ""


class PromoteRequest(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]+$")]
    version: Text
    project: Text = "default"
    from_domain: Domain
    to_domain: Domain


def _inst(request: Request) -> Instance:
    inst: Instance = request.app.state.instance
    return inst


class WhoAmI(BaseModel):
    user: str
    auth: bool
    admin: bool
    roles: dict[str, str]


@router.get("/whoami", response_model=WhoAmI)
async def whoami(request: Request) -> Any:
    """Who the request's token is: its user, whether it is an admin, and its role in
    each project (viewer, launcher, editor or admin). On a server without ``--auth``
    every request may do everything: ``auth`` false, ``admin`` true."""
    identity = getattr(request.state, "identity", None)
    if identity is None:
        return JSONResponse({"user": who(request), "auth": bool(request.app.state.auth),
                             "admin": not request.app.state.auth, "roles": {}})
    return JSONResponse({"user": identity.user, "auth": True, "admin": bool(identity.admin),
                         "roles": dict(sorted(identity.roles.items()))})


@router.get("/projects", response_model=list[dict[str, Any]])
async def list_projects(request: Request) -> Any:
    """Every project (``default`` first) with its domains."""
    return JSONResponse(_teams.list_projects(_inst(request)))


@router.post("/projects", response_model=dict[str, Any], status_code=201)
async def create_project(request: Request, body: ProjectRequest) -> Any:
    """Create a project (409 if it exists); it has development, staging and production."""
    made = await run_in_threadpool(_teams.create_project, _inst(request), body.name,
                                   description=body.description, who=who(request))
    return JSONResponse(made, status_code=201)


@router.post("/promote", response_model=dict[str, Any])
async def promote(request: Request, body: PromoteRequest) -> Any:
    """Make a registered version available in another domain (same bundle, nothing
    rebuilt); recorded with who and when."""
    return JSONResponse(await run_in_threadpool(
        _teams.promote, _inst(request), body.name, body.version, project=body.project,
        from_domain=body.from_domain, to_domain=body.to_domain, who=who(request)))


@router.get("/promotions", response_model=list[dict[str, Any]])
async def promotions(request: Request, project: Filter = None,
                     name: Annotated[str | None, Query(min_length=1, max_length=500,
                                                       pattern=r"^[^\x00]+$")] = None,
                     limit: Annotated[int, Query(ge=0, le=1000)] = 100) -> Any:
    """The history of promotions, newest first."""
    return JSONResponse(_teams.promotions(_inst(request), project=project, name=name,
                                          limit=limit))


@router.get("/audit", response_model=list[dict[str, Any]])
async def audit(request: Request, project: Filter = None,
                limit: Annotated[int, Query(ge=0, le=10_000)] = 100) -> Any:
    """Every write (register, launch, abort, promote, project create), newest first."""
    return JSONResponse(_teams.audit(_inst(request), project=project, limit=limit))


class PlanRequest(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]+$")]
    project: Text = "default"
    domain: Domain = "development"
    version: Text | None = None
    catch_up: bool = False


@router.get("/launchplans", response_model=list[dict[str, Any]])
async def launch_plans(request: Request, project: Annotated[str, Query(
        min_length=1, max_length=200, pattern=r"^[^\x00]+$")] = "default",
        domain: Annotated[str, Query(min_length=1, max_length=200,
                                     pattern=r"^[^\x00]+$")] = "development",
        name: Annotated[str | None, Query(min_length=1, max_length=500,
                                          pattern=r"^[^\x00]+$")] = None) -> Any:
    """The launch plans of a project and domain: schedule, active, next fire time."""
    return JSONResponse(_teams.launch_plans(_inst(request), project=project, domain=domain,
                                            name=name))


@router.get("/launchplans/{name}/deliveries", response_model=list[dict[str, Any]])
async def deliveries(request: Request, name: str, project: Annotated[str, Query(
        min_length=1, max_length=200, pattern=r"^[^\x00]+$")] = "default",
        domain: Annotated[str, Query(min_length=1, max_length=200,
                                     pattern=r"^[^\x00]+$")] = "development",
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Any:
    """The webhook deliveries of a launch plan's executions (every attempt), newest
    first: url, event, state (sending, delivered, failed), HTTP status, error, when, by."""
    return JSONResponse(await run_in_threadpool(
        _teams.deliveries, _inst(request), name, project=project, domain=domain,
        limit=limit))


@router.post("/launchplans/activate", response_model=dict[str, Any])
async def activate(request: Request, body: PlanRequest) -> Any:
    """Fire a launch plan on its schedule (its active version, or ``version``)."""
    return JSONResponse(await run_in_threadpool(
        _teams.activate, _inst(request), body.name, project=body.project, domain=body.domain,
        version=body.version, catch_up=body.catch_up, who=who(request)))


@router.post("/launchplans/deactivate", response_model=dict[str, Any])
async def deactivate(request: Request, body: PlanRequest) -> Any:
    """Stop firing a launch plan (409 when it is not active)."""
    return JSONResponse(await run_in_threadpool(
        _teams.deactivate, _inst(request), body.name, project=body.project,
        domain=body.domain, who=who(request)))


class TokenRequest(BaseModel):
    user: Text
    project: Text | None = None
    role: Annotated[str | None, Field(pattern=r"^(viewer|launcher|editor|admin)$")] = None
    admin: bool = False


@router.post("/tokens", response_model=dict[str, Any], status_code=201)
async def create_token(request: Request, body: TokenRequest) -> Any:
    """A token for a user (with a role in a project, or admin); its text is in this
    answer only, the server keeps its hash."""
    made = await run_in_threadpool(_teams.create_token, _inst(request), body.user,
                                   project=body.project, role=body.role, admin=body.admin,
                                   who=who(request))
    return JSONResponse(made, status_code=201)


class RevokeRequest(BaseModel):
    user: Text


@router.post("/tokens/revoke", response_model=dict[str, Any])
async def revoke_tokens(request: Request, body: RevokeRequest) -> Any:
    """Revoke every live token of a user (404 if none); refused at once by this server,
    within 5 s by others on the same store."""
    return JSONResponse(await run_in_threadpool(
        _teams.revoke_tokens, _inst(request), body.user, who=who(request)))
