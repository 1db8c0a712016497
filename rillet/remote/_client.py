"""``Remote``: a rillet server from Python (notebooks) and for the CLI's
``--server``. JSON methods (``*_json``) return the services' shapes as the server
sent them; the others return the same ``Execution`` view as ``rillet.run``, read
through the API (``RemoteExecution`` adds ``wait``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from rillet.engine._records import (
    ENDED,
    ArtifactRecord,
    ExecutionRecord,
    ExecutionStatus,
    MetricRecord,
    NodeRecord,
    NodeStatus,
    ParamRecord,
)
from rillet.engine._values import ValueStore
from rillet.engine._views import Execution
from rillet.errors import AuthError, Conflict, DefinitionError, NotFound, RilletError, StoreError

if TYPE_CHECKING:
    from rillet.remote._models import RemoteModels

_BY_STATUS: dict[int, type[RilletError]] = {
    400: DefinitionError, 401: AuthError, 403: AuthError, 404: NotFound, 409: Conflict,
}


class Remote:
    """The client of the server at ``url`` (``RILLET_SERVER``)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    # -- transport ---------------------------------------------------------------------
    def _call(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        try:
            response = self._http.request(method, f"/api/v1{path}", **kw)
        except httpx.HTTPError as exc:
            raise RilletError(f"cannot reach the rillet server at {self.url}: {exc}") from None
        if response.status_code >= 400:
            self._raise(response)
        return response.json()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the services' shapes ----------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return dict(self._call("GET", "/health"))

    def executions_json(self, *, limit: int = 50, workflow: str | None = None,
                        status: str | None = None, before: float | None = None,
                        project: str | None = None, domain: str | None = None
                        ) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("limit", limit), ("workflow", workflow),
                                    ("status", status), ("before", before),
                                    ("project", project), ("domain", domain)) if v is not None}
        return list(self._call("GET", "/executions", params=params))

    def execution_json(self, execution_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/executions/{_seg(execution_id)}"))

    def logs_json(self, execution_id: str, node_id: str,
                  attempt: int | None = None) -> dict[str, Any]:
        params = {"attempt": attempt} if attempt is not None else {}
        return dict(self._call("GET", f"/executions/{_seg(execution_id)}/nodes/"
                                      f"{_seg(node_id)}/logs", params=params))

    def abort_json(self, execution_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/executions/{_seg(execution_id)}/abort"))

    def recover_json(self, execution_id: str, from_nodes: tuple[str, ...] = ()
                     ) -> dict[str, Any]:
        return dict(self._call("POST", f"/executions/{_seg(execution_id)}/recover",
                               json={"from_nodes": list(from_nodes)}))

    def lineage_json(self, ref: str, direction: str = "upstream") -> dict[str, Any]:
        return dict(self._call("GET", f"/lineage/{_seg(ref)}",
                               params={"direction": direction}))

    def cache_json(self, task: str | None = None) -> list[dict[str, Any]]:
        return list(self._call("GET", "/cache", params={"task": task} if task else {}))

    def cache_clear(self, task: str | None = None) -> int:
        body = self._call("DELETE", "/cache", params={"task": task} if task else {})
        return int(body["removed"])

    def cache_explain(self, name: str, version: str | None = None, *,
                      project: str = "default", domain: str = "development",
                      **inputs: Any) -> dict[str, Any]:
        """Which nodes of registered ``name`` a launch with ``inputs`` (JSON values,
        checked as a launch checks them) would take from the cache, and why the others
        would not: ``{"workflow", "nodes": [{node_id, task, status, reason, ...}]}``,
        as ``rillet cache explain --json`` prints it."""
        return dict(self._call("POST", "/cache/explain", json={
            "name": name, "version": version, "project": project, "domain": domain,
            "inputs": inputs}))

    def prune(self, *, older_than: str | float | None = None,
              max_size: str | int | None = None, dry_run: bool = False) -> dict[str, Any]:
        """``rillet prune`` on the server's stores (an admin token when it runs with
        ``--auth``): what was freed (or would be, ``dry_run``), as ``--json`` prints it."""
        return dict(self._call("POST", "/prune", json={
            "older_than": older_than, "max_size": max_size, "dry_run": dry_run}))

    def artifact_json(self, digest: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/artifacts/{_seg(digest)}"))

    def events(self, execution_id: str, after: int = 0,
               timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """The execution's events from ``after``, live, until it ends (SSE)."""
        import httpx

        try:
            with self._http.stream("GET", f"/api/v1/executions/{_seg(execution_id)}/events",
                                   params={"after": after},
                                   timeout=httpx.Timeout(timeout, connect=30.0)) as r:
                if r.status_code >= 400:
                    r.read()
                    self._raise(r)
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        yield json.loads(line[5:].strip())
        except httpx.TimeoutException:
            raise TimeoutError(f"execution {execution_id} did not end within {timeout}s"
                               ) from None

    def _raise(self, response: Any) -> NoReturn:
        """The error of a 4xx or 5xx response, as the rillet exception it names."""
        try:
            message = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200] or response.reason_phrase
        kind = _BY_STATUS.get(response.status_code,
                              StoreError if response.status_code >= 500 else RilletError)
        raise kind(str(message))

    # -- views -------------------------------------------------------------------------
    def execution(self, execution_id: str) -> RemoteExecution:
        return RemoteExecution(self, self.execution_json(execution_id))

    def executions(self, project: str = "default", workflow: str | None = None,
                   status: str | None = None, limit: int = 50,
                   domain: str | None = None) -> list[RemoteExecution]:
        """The newest executions of ``project`` (of one domain, or all three)."""
        return [self.execution(s["execution_id"]) for s in self.executions_json(
            limit=limit, workflow=workflow, status=status, project=project, domain=domain)]

    def recover(self, execution_id: str, from_nodes: tuple[str, ...] = ()) -> RemoteExecution:
        return self.execution(self.recover_json(execution_id, from_nodes)["execution_id"])

    def abort(self, execution_id: str) -> RemoteExecution:
        return self.execution(self.abort_json(execution_id)["execution_id"])

    def register(self, path: str, project: str = "default", domain: str = "development",
                 version: str | None = None) -> list[dict[str, Any]]:
        """Pack ``path`` (a ``.py`` file or a folder) and register every task, workflow
        and launch plan in it on the server; return the registered entities."""
        from rillet.platform._bundle import pack

        params = {"project": project, "domain": domain}
        if version:
            params["version"] = version
        found: list[dict[str, Any]] = self._call(
            "POST", "/register", content=pack(path).data, params=params,
            headers={"content-type": "application/octet-stream"})
        return found

    def versions(self, name: str | None = None, project: str = "default",
                 domain: str = "development") -> list[dict[str, Any]]:
        """Registered versions (of ``name``, or of everything), newest first."""
        params = {"project": project, "domain": domain}
        if name:
            params["name"] = name
        found: list[dict[str, Any]] = self._call("GET", "/versions", params=params)
        return found

    def launch(self, name: str, version: str | None = None, *, project: str = "default",
               domain: str = "development", **inputs: Any) -> RemoteExecution:
        """Queue an execution of registered ``name`` (inputs are JSON values, checked
        by the server); a worker runs it. ``.wait()`` follows it to its end."""
        detail = self._call("POST", "/launch", json={
            "name": name, "version": version, "project": project, "domain": domain,
            "inputs": inputs})
        return RemoteExecution(self, detail)

    @property
    def models(self) -> RemoteModels:
        """The server's model registry of ``default``/``development``, with the names of
        ``rillet.models``: ``r.models.register(...)``, ``set_alias``, ``versions``,
        ``history``, ``load``. ``models_in`` gives another project's."""
        return self.models_in()

    def models_in(self, project: str = "default", domain: str = "development"
                  ) -> RemoteModels:
        """The server's model registry of ``project``/``domain`` (a model name is unique
        within them): ``r.models_in("churn", "staging").register(...)``."""
        from rillet.remote._models import RemoteModels

        return RemoteModels(self, project=project, domain=domain)

    # -- teams ---------------------------------------------------------------------
    def projects(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/projects"))

    def create_project(self, name: str, description: str = "") -> dict[str, Any]:
        return dict(self._call("POST", "/projects",
                               json={"name": name, "description": description}))

    def promote(self, name: str, version: str, *, project: str = "default",
                from_domain: str, to_domain: str) -> dict[str, Any]:
        """Make ``name`` at ``version`` available in ``to_domain`` (the same bundle)."""
        return dict(self._call("POST", "/promote", json={
            "name": name, "version": version, "project": project,
            "from_domain": from_domain, "to_domain": to_domain}))

    def promotions(self, project: str | None = None, name: str | None = None,
                   limit: int = 100) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("project", project), ("name", name),
                                    ("limit", limit)) if v is not None}
        return list(self._call("GET", "/promotions", params=params))

    def audit(self, project: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("project", project), ("limit", limit)) if v is not None}
        return list(self._call("GET", "/audit", params=params))

    def create_token(self, user: str, *, project: str | None = None, role: str | None = None,
                     admin: bool = False) -> dict[str, Any]:
        """A token for ``user`` (its text is in the answer only)."""
        return dict(self._call("POST", "/tokens", json={
            "user": user, "project": project, "role": role, "admin": admin}))

    def revoke_tokens(self, user: str) -> dict[str, Any]:
        """Revoke every live token of ``user`` (an admin token only)."""
        return dict(self._call("POST", "/tokens/revoke", json={"user": user}))

    def launch_plans(self, name: str | None = None, *, project: str = "default",
                     domain: str = "development") -> list[dict[str, Any]]:
        params = {"project": project, "domain": domain, **({"name": name} if name else {})}
        return list(self._call("GET", "/launchplans", params=params))

    def activate(self, name: str, *, project: str = "default", domain: str = "development",
                 version: str | None = None, catch_up: bool = False) -> dict[str, Any]:
        return dict(self._call("POST", "/launchplans/activate", json={
            "name": name, "project": project, "domain": domain, "version": version,
            "catch_up": catch_up}))

    def deactivate(self, name: str, *, project: str = "default",
                   domain: str = "development") -> dict[str, Any]:
        return dict(self._call("POST", "/launchplans/deactivate", json={
            "name": name, "project": project, "domain": domain}))

    def deliveries(self, name: str, *, project: str = "default", domain: str = "development",
                   limit: int = 100) -> list[dict[str, Any]]:
        """Every delivery attempt of launch plan ``name``'s webhooks, newest first."""
        return list(self._call("GET", f"/launchplans/{_seg(name)}/deliveries", params={
            "project": project, "domain": domain, "limit": limit}))

    def __repr__(self) -> str:
        return f"Remote({self.url!r})"


def _seg(part: str) -> str:
    from urllib.parse import quote

    return quote(part, safe="")


class _RemoteReads:
    """The store reads an ``Execution`` view makes, answered from one execution's
    detail (and the API for artifact records)."""

    def __init__(self, remote: Remote, detail: dict[str, Any]) -> None:
        self.remote = remote
        self.detail = detail

    def nodes(self, execution_id: str) -> list[NodeRecord]:
        return [NodeRecord(
            execution_id=self.detail["execution_id"], node_id=n["node_id"], task=n["task"],
            kind=n["kind"], status=NodeStatus(n["status"]), attempts=n["attempts"],
            inputs=n["inputs"], outputs=n["outputs"], cache_key=n["cache_key"],
            source_execution=n["source_execution"], source_node=n["source_node"],
            started_at=n["started_at"], ended_at=n["ended_at"], error=n["error"])
            for n in self.detail["nodes"]]

    def params(self, execution_id: str) -> list[ParamRecord]:
        return [ParamRecord(execution_id=execution_id, node_id=n["node_id"], attempt=0,
                            key=k, value=v)
                for n in self.detail["nodes"] for k, v in n["params"].items()]

    def metrics(self, execution_id: str) -> list[MetricRecord]:
        return [MetricRecord(execution_id=execution_id, node_id=n["node_id"],
                             attempt=m.get("attempt") or 0, key=m["key"], value=m["value"],
                             step=m.get("step"), timestamp=m.get("timestamp") or 0.0)
                for n in self.detail["nodes"] for m in n["metrics"]]

    def artifacts(self, hashes: list[str]) -> dict[str, ArtifactRecord]:
        out: dict[str, ArtifactRecord] = {}
        for digest in dict.fromkeys(hashes):
            try:
                a = self.remote.artifact_json(digest)
            except NotFound:
                continue
            out[digest] = ArtifactRecord(
                hash=a["hash"], format=a["format"], type=a["type"], size=a["size"],
                uri=a["uri"], inline=a["inline"], created_at=a["created_at"],
                purged=a["purged"])
        return out


class _RemoteBytes:
    """Values too big to be inline are not sent by this server yet."""

    def get(self, uri: str) -> bytes:
        raise StoreError(f"the value at {uri} is stored on the server; this client reads "
                         "inline (JSON) values only")


def _record(d: dict[str, Any]) -> ExecutionRecord:
    return ExecutionRecord(
        id=d["execution_id"], workflow=d["workflow"], source=d.get("source", ""),
        spec_hash="", status=ExecutionStatus(d["status"]), inputs=d.get("inputs", {}),
        outputs=d.get("outputs"), error=d["error"], parent_id=d["parent_id"],
        created_at=d["created_at"], started_at=d["started_at"], ended_at=d["ended_at"])


class RemoteExecution(Execution):
    """The ``Execution`` view of an execution on a server; ``wait`` follows it live."""

    def __init__(self, remote: Remote, detail: dict[str, Any]) -> None:
        reads: Any = _RemoteReads(remote, detail)
        bytes_: Any = _RemoteBytes()
        super().__init__(_record(detail), reads, ValueStore(reads, bytes_))
        self._remote = remote

    def output(self, name: str) -> Any:
        """One output's value: a JSON value as its plain JSON form (this client knows
        no Python types of the server's code); other values are not sent."""
        digest = (self.record.outputs or {})[name]
        found = self._store.artifacts([digest]).get(digest)
        if found is None:
            raise NotFound(f"output {name!r} ({digest[:12]}) is not on the server")
        if found.format == "json" and found.inline is not None:
            return json.loads(found.inline)
        return {"type": found.type.get("kind"), "uri": found.uri, "hash": found.hash}

    def refresh(self) -> RemoteExecution:
        detail = self._remote.execution_json(self.id)
        self.__init__(self._remote, detail)  # type: ignore[misc]
        return self

    def wait(self, timeout: float | None = None) -> RemoteExecution:
        """Block until the execution ends (following its event stream); raise
        ``TimeoutError`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.status not in ENDED:
            for _ in self._remote.events(self.id, timeout=timeout):
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"execution {self.id} did not end within {timeout}s")
        return self.refresh()
