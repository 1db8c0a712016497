"""Who makes a request, and whether they may: with ``rillet server --auth`` every API
request (but ``/health``) needs ``Authorization: Bearer TOKEN``; the token's user needs
the role :data:`POLICY` names for the route in the project the request touches.

401 without a valid token; 403 for a role too low or a project the user has no role
in. The check runs before the route, so a refused request writes nothing. Routes pass
:func:`who` to the services, which record it in the audit trail (``anonymous`` on an
open server).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

ANONYMOUS = "anonymous"
API = "/api/v1"

# (method, route path) -> (role, where the project comes from):
#   query / body: the request's ``project`` (default ``default``);
#   query? : the ``project`` filter; without one only a global admin may ask;
#   execution: the project of the execution in the path;
#   executions: the project of each execution in the ``ids`` query (the role in each);
#   request: the project of the served request in the path (its model's);
#   any: a role in some project (data not kept per project: artifacts, lineage);
#   global: an admin token only;
#   token: any valid token (who it is: no project is touched).
POLICY: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/executions"): ("viewer", "query?"),
    ("GET", "/executions/{execution_id}"): ("viewer", "execution"),
    ("GET", "/executions/{execution_id}/nodes/{node_id}/logs"): ("viewer", "execution"),
    ("GET", "/executions/{execution_id}/nodes/{node_id}/logs/download"): ("viewer", "execution"),
    ("GET", "/executions/{execution_id}/nodes/{node_id}/logs/stream"): ("viewer", "execution"),
    ("GET", "/executions/{execution_id}/events"): ("viewer", "execution"),
    ("GET", "/executions/{execution_id}/graph"): ("viewer", "execution"),
    ("GET", "/compare"): ("viewer", "executions"),
    ("GET", "/executions/{execution_id}/nodes/{node_id}/elements"): ("viewer", "execution"),
    ("POST", "/executions/{execution_id}/abort"): ("launcher", "execution"),
    ("POST", "/executions/{execution_id}/recover"): ("launcher", "execution"),
    ("GET", "/lineage/{ref}"): ("viewer", "any"),
    ("GET", "/cache"): ("viewer", "any"),
    ("DELETE", "/cache"): ("admin", "global"),
    ("POST", "/cache/explain"): ("viewer", "body"),  # reads (its bundle loads in a child)
    ("POST", "/prune"): ("admin", "global"),  # the stores of every project
    ("GET", "/artifacts/{digest}"): ("viewer", "any"),
    ("GET", "/artifacts/{digest}/preview"): ("viewer", "any"),
    ("GET", "/artifacts/{digest}/download"): ("viewer", "any"),
    ("POST", "/register"): ("editor", "query"),
    ("GET", "/versions"): ("viewer", "query"),
    ("GET", "/versions/{version}/files"): ("viewer", "query"),
    ("GET", "/versions/{version}/file"): ("viewer", "query"),
    ("POST", "/launch"): ("launcher", "body"),
    ("POST", "/uploads"): ("launcher", "query"),  # a file for a launch's File input
    ("POST", "/uploads/directory"): ("launcher", "query"),  # a Directory input's folder
    # the model registry of the query's project and domain (writes: admin in production)
    ("GET", "/models"): ("viewer", "query"),
    ("GET", "/models/{name}"): ("viewer", "query"),
    ("GET", "/models/{name}/resolve"): ("viewer", "query"),
    ("GET", "/models/{name}/versions/{version}/value"): ("viewer", "query"),
    ("POST", "/models/{name}/versions"): ("editor", "query"),
    ("PUT", "/models/{name}/aliases/{alias}"): ("editor", "query"),
    ("GET", "/requests/{request_id}/lineage"): ("viewer", "request"),
    ("POST", "/requests"): ("launcher", "query"),  # a model server's request log
    ("POST", "/models/{name}/serving"): ("editor", "query"),
    ("GET", "/projects"): ("viewer", "any"),
    ("GET", "/whoami"): ("viewer", "token"),
    ("POST", "/projects"): ("admin", "global"),
    ("POST", "/promote"): ("editor", "body"),  # admin to production
    ("GET", "/promotions"): ("viewer", "query?"),
    ("GET", "/audit"): ("admin", "query?"),
    ("GET", "/launchplans"): ("viewer", "query"),
    ("GET", "/launchplans/{name}/deliveries"): ("viewer", "query"),
    ("POST", "/launchplans/activate"): ("admin", "body"),
    ("POST", "/launchplans/deactivate"): ("admin", "body"),
    ("POST", "/tokens"): ("admin", "body"),  # an admin token: a global admin only
    ("POST", "/tokens/revoke"): ("admin", "global"),  # a user's tokens span projects
}
OPEN = {("GET", "/health")}
# Writes that, like registering a bundle, need an admin in ``production``.
PRODUCTION_ADMIN = {("POST", "/register"), ("POST", "/models/{name}/versions"),
                    ("PUT", "/models/{name}/aliases/{alias}"),
                    ("POST", "/models/{name}/serving")}


def who(request: Request) -> str:
    user = getattr(request.state, "user", None)
    return str(user) if user else ANONYMOUS


def _deny(status: int, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


async def _body(request: Request) -> dict[str, Any]:
    if request.method not in ("POST", "PUT") or "json" not in request.headers.get(
            "content-type", ""):
        return {}
    try:
        found = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}  # the route answers 400 for it
    return found if isinstance(found, dict) else {}


async def authorize(request: Request) -> None:
    """The app-wide dependency of ``create_app(auth=True)``."""
    from rillet.platform._tokens import IDENTITIES

    route = request.scope.get("route")
    path = str(getattr(route, "path", request.url.path))
    if not path.startswith(API):
        return
    key = (request.method.upper(), path[len(API):])
    if key in OPEN:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _deny(401, "this server needs a token: Authorization: Bearer TOKEN "
                         "(rillet token create; --token or RILLET_TOKEN)")
    store = request.app.state.instance.store
    identity = await run_in_threadpool(IDENTITIES.lookup, store, token.strip())
    if identity is None:
        raise _deny(401, "the token is not valid (unknown or revoked)")
    request.state.user = identity.user
    request.state.identity = identity
    role, source = POLICY.get(key, ("admin", "global"))
    if identity.admin or source == "token":
        return
    if source == "global":
        raise _deny(403, f"{request.method} {path} needs an admin token; "
                         f"{identity.user} is not an admin")
    if source == "any":
        if not identity.roles:
            raise _deny(403, f"{identity.user} has no role in any project")
        return
    if source == "default":
        project = "default"
    elif source == "execution":
        project = await run_in_threadpool(_execution_project, store,
                                          request.path_params.get("execution_id", ""))
    elif source == "executions":
        wanted = [i for i in request.query_params.get("ids", "").split(",") if i]
        for project in sorted(set(await run_in_threadpool(
                lambda: [_execution_project(store, i) for i in wanted[:200]]))):
            if not identity.allows(project, role):
                raise _deny(403, f"{request.method} {path} needs the role {role} in "
                                 f"project {project!r} (an execution of it is asked for); "
                                 f"{identity.user} has {identity.roles.get(project) or 'none'}")
        return
    elif source == "request":
        project = await run_in_threadpool(
            _request_project, store, request.path_params.get("request_id", ""),
            request.query_params.get("project") or "default")
    elif source == "body":
        body = await _body(request)
        project = str(body.get("project") or "default")
        if key == ("POST", "/promote") and body.get("to_domain") == "production":
            role = "admin"
        if key == ("POST", "/tokens") and (body.get("admin") or not body.get("project")):
            raise _deny(403, f"only an admin token makes admin tokens; {identity.user} is "
                             "not an admin")
    else:
        given = request.query_params.get("project")
        if given is None and source == "query?":
            raise _deny(403, f"{identity.user} may list one project at a time: give project "
                             "(only an admin token lists them all)")
        project = given or "default"
        if key in PRODUCTION_ADMIN and request.query_params.get("domain") == "production":
            role = "admin"
    if not identity.allows(project, role):
        have = identity.roles.get(project)
        raise _deny(403, f"{request.method} {path} in project {project!r} needs the role "
                         f"{role}; {identity.user} has "
                         f"{'the role ' + have if have else 'no role there'}")


def _request_project(store: Any, request_id: str, otherwise: str) -> str:
    """The project of a served request (of the model that answered it); an unknown id
    is checked against ``otherwise`` (the query's project), and the route answers 404."""
    from rillet.services._model_requests import request as find

    try:
        return str(find(store.database, request_id)["project"])
    except Exception:
        return otherwise


def _execution_project(store: Any, execution_id: str) -> str:
    from rillet.platform._teams import execution_scope

    try:
        execution_id = store.get_execution(execution_id).id
    except Exception:
        return "default"  # an unknown id: the route answers 404 to whoever may ask
    return execution_scope(store, execution_id)[0]
