"""``Remote(...).models`` (and ``models_in(project, domain)``): the model registry of
one project and domain of a server, with the names of
``rillet.models`` (``register``, ``set_alias``, ``load``, ``versions``, ``history``)
and those the CLI reads (``names``, ``version``, ``resolve``).

``load`` fetches the stored bytes and decodes them here, after checking them against
the value's hash, exactly as a home would: the server never decodes (nor unpickles) a
value. Unpickling a pickled model is this client's choice, as with ``models.load``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rillet.engine._records import ArtifactRecord
from rillet.errors import DefinitionError, NotFound
from rillet.services._model_registry import HistoryEvent, ModelVersion, parse_ref

if TYPE_CHECKING:
    from rillet.remote._client import Remote


def _version(d: dict[str, Any]) -> ModelVersion:
    return ModelVersion(
        name=d["name"], version=int(d["version"]), execution_id=d["execution_id"],
        node_id=d["node_id"], output=d["output"], hash=d["hash"], created_at=d["created_at"],
        created_by=d["created_by"], aliases=tuple(d.get("aliases") or ()),
        workflow=d.get("workflow") or "", task=d.get("task") or "",
        inputs=dict(d.get("inputs") or {}), project=d.get("project") or "default",
        domain=d.get("domain") or "development")


def _event(d: dict[str, Any]) -> HistoryEvent:
    return HistoryEvent(name=d["name"], event=d["event"], alias=d["alias"],
                        version=d["version"], previous=d["previous"], detail=d["detail"],
                        at=d["at"], who=d["who"], project=d.get("project") or "default",
                        domain=d.get("domain") or "development")


def _seg(part: str) -> str:
    from urllib.parse import quote

    return quote(part, safe="")


class RemoteModels:
    """The registry of ``project``/``domain`` on the server ``remote`` talks to."""

    def __init__(self, remote: Remote, *, project: str = "default",
                 domain: str = "development") -> None:
        self._remote = remote
        self.project = project
        self.domain = domain
        self.scope = (project, domain)

    def _params(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"project": self.project, "domain": self.domain, **(extra or {})}

    def _call(self, method: str, path: str, params: dict[str, Any] | None = None,
              **kw: Any) -> Any:
        return self._remote._call(method, f"/models{path}", params=self._params(params), **kw)

    # -- reads -----------------------------------------------------------------------
    def names(self) -> list[dict[str, Any]]:
        """Every model: name, latest version, count, aliases, last change."""
        return list(self._call("GET", ""))

    def show_json(self, name: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/{_seg(name)}"))

    def versions(self, name: str) -> list[ModelVersion]:
        """The versions of ``name``, each with its lineage (execution, node, inputs)."""
        return [_version(v) for v in self.show_json(name)["versions"]]

    def history(self, name: str) -> list[HistoryEvent]:
        """Every registration and alias move of ``name``, with who and when."""
        return [_event(e) for e in self.show_json(name)["history"]]

    def resolve_json(self, ref: str) -> dict[str, Any]:
        name, alias, number = parse_ref(ref)
        params: dict[str, Any] = {}
        if alias is not None:
            params["alias"] = alias
        if number is not None:
            params["version"] = number
        return dict(self._call("GET", f"/{_seg(name)}/resolve", params=params))

    def resolve(self, ref: str) -> ModelVersion:
        """The version ``NAME@ALIAS``, ``NAME/N`` or ``NAME`` (the latest) names."""
        return _version(self.resolve_json(ref)["version"])

    def version(self, name: str, version: int) -> ModelVersion:
        return self.resolve(f"{name}/{int(version)}")

    def alias_version(self, name: str, alias: str) -> int:
        """The version ``alias`` points at now."""
        return int(self.resolve_json(f"{name}@{alias}")["version"]["version"])

    def request_lineage_json(self, request_id: str) -> dict[str, Any]:
        """A served request, its model version and the upstream tree of that version's
        value in its training execution (``rillet lineage request:ID``)."""
        return dict(self._remote._call("GET", f"/requests/{_seg(request_id)}/lineage"))

    # -- writes ----------------------------------------------------------------------
    def register(self, name: str, *, execution: str, node: str, output: str = "o0",
                 alias: str | None = None) -> int:
        """Register an output of a node of a succeeded execution on the server; the
        new version's number."""
        body = {"execution": execution, "node": node, "output": output, "alias": alias}
        return int(self._call("POST", f"/{_seg(name)}/versions", json=body)["version"])

    def set_alias(self, name: str, alias: str, version: int) -> int | None:
        """Point ``alias`` at ``version``; the version it pointed at before."""
        moved = self._call("PUT", f"/{_seg(name)}/aliases/{_seg(alias)}",
                           json={"version": int(version)})
        previous = moved["previous"]
        return None if previous is None else int(previous)

    def record_serving(self, name: str, detail: dict[str, Any]) -> None:
        """A serving change (``rillet serve --server`` started), in the model's history."""
        self._call("POST", f"/{_seg(name)}/serving", json={"detail": detail})

    def record_requests(self, rows: list[tuple[Any, ...]]) -> int:
        """Send request-log rows (``RequestLog``'s tuples) to the server; how many were new."""
        from rillet.services._model_requests import _COLS

        body = {"rows": [dict(zip(_COLS, row, strict=True)) for row in rows]}
        return int(self._remote._call("POST", "/requests", json=body,
                                      params=self._params())["recorded"])

    # -- values ----------------------------------------------------------------------
    def load(self, ref: str | ModelVersion) -> Any:
        """The Python object a version serves: its bytes fetched, checked against its
        hash and decoded in this process."""
        from rillet.engine._values import ValueStore
        from rillet.types._descriptor import type_of

        if isinstance(ref, ModelVersion):
            ref = f"{ref.name}/{ref.version}"
        found = self.resolve_json(ref)
        mv, value = _version(found["version"]), found["value"]
        if value is None:
            raise NotFound(f"model {mv.name}/{mv.version}: its value {mv.hash[:12]} has no "
                           "record on the server")
        record = ArtifactRecord(hash=value["hash"], format=value["format"], type=value["type"],
                                size=value["size"], inline=value["inline"],
                                uri=f"models/{mv.name}/{mv.version}" if value["stored"] else None,
                                purged=value["purged"], tag=value["tag"])
        reads: Any = _OneRecord(record)
        fetch: Any = _VersionBytes(self, mv)
        values = ValueStore(reads, fetch)
        try:
            return values.load(record.hash, type_of(record.type))
        except (ModuleNotFoundError, AttributeError) as exc:
            raise DefinitionError(
                f"model {mv.name}/{mv.version} is an object of a class this process cannot "
                f"import ({exc}); import the code that defines it (its task is {mv.task}) "
                "and load it again") from None


class _OneRecord:
    """The store reads ``ValueStore.load`` makes, for the one record at hand."""

    def __init__(self, record: ArtifactRecord) -> None:
        self.record = record

    def artifacts(self, hashes: list[str]) -> dict[str, ArtifactRecord]:
        return {h: self.record for h in hashes if h == self.record.hash}


class _VersionBytes:
    """The artifact store ``ValueStore`` reads: a model version's bytes from the API."""

    def __init__(self, models: RemoteModels, mv: ModelVersion) -> None:
        self.models = models
        self.mv = mv

    def get(self, uri: str) -> bytes:
        import httpx

        remote = self.models._remote
        path = f"/api/v1/models/{_seg(self.mv.name)}/versions/{self.mv.version}/value"
        try:
            response = remote._http.get(path, params=self.models._params())
        except httpx.HTTPError as exc:
            raise NotFound(f"cannot fetch model {self.mv.name}/{self.mv.version} from "
                           f"{remote.url}: {exc}") from None
        if response.status_code >= 400:
            remote._raise(response)
        return bytes(response.content)
