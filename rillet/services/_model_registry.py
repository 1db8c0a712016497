"""The model registry: named, numbered versions that point at stored values, aliases
that move, and the history of every move.

A version is an output of a node of a succeeded execution; the registry keeps the
value's hash (never a copy), so a version's lineage is that execution's. A registry
belongs to one project and domain (issue 15): a model name is unique within them, and
a version is registered only from an execution of the same project. Everything
goes through the metadata store's ``Database`` (plain SQL with ``?`` parameters), so
the same code runs on the embedded home and on PostgreSQL. Nothing here serves, and
only ``load`` decodes a value (the server never calls it: it never unpickles).
It lives in the service layer so that the CLI, ``rillet.models`` and the server's
routes share it.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rillet.errors import (
    Conflict,
    DefinitionError,
    NotFound,
    StoreError,
    TypeMismatchError,
    ValueUnavailable,
)

if TYPE_CHECKING:
    from rillet.engine._protocols import ArtifactStore
    from rillet.store._sql import SqlMetadataStore

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_VERSION_COLS = "name, version, execution_id, node_id, output, hash, created_at, created_by"
_IN = "project = ? AND domain = ?"  # every statement below is within the registry's scope
DEFAULT_SCOPE = ("default", "development")


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelVersion:
    """One registered version, with its lineage: the execution, node and output it is."""

    name: str
    version: int
    execution_id: str
    node_id: str
    output: str
    hash: str  # the stored value this version serves
    created_at: float
    created_by: str
    aliases: tuple[str, ...] = ()
    workflow: str = ""
    task: str = ""
    inputs: dict[str, str] = field(default_factory=dict)  # the execution's inputs: name -> hash
    project: str = DEFAULT_SCOPE[0]
    domain: str = DEFAULT_SCOPE[1]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "aliases": list(self.aliases),
                "project": self.project, "domain": self.domain,
                "execution_id": self.execution_id, "node_id": self.node_id,
                "output": self.output, "hash": self.hash, "workflow": self.workflow,
                "task": self.task, "inputs": self.inputs, "created_at": self.created_at,
                "created_by": self.created_by}


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEvent:
    """A registration, an alias move or a serving change."""

    name: str
    event: str  # register | alias | serve
    alias: str | None
    version: int | None
    previous: int | None
    detail: dict[str, Any]
    at: float
    who: str
    project: str = DEFAULT_SCOPE[0]
    domain: str = DEFAULT_SCOPE[1]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "project": self.project, "domain": self.domain,
                "event": self.event, "alias": self.alias,
                "version": self.version, "previous": self.previous, "detail": self.detail,
                "at": self.at, "who": self.who}


def who() -> str:
    """The user recorded in the history: ``$RILLET_USER``, else the login name."""
    try:
        return os.environ.get("RILLET_USER") or getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return f"uid:{os.getuid()}"


def check_name(name: str, what: str = "model name") -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise DefinitionError(f"{what} {name!r}: use letters, digits, '_', '-' and '.'")
    return name


def check_alias(alias: str) -> str:
    check_name(alias, "alias")
    if alias.isdigit():
        raise DefinitionError(f"alias {alias!r}: an alias cannot be a number (that names a "
                              "version)")
    return alias


def parse_ref(ref: str) -> tuple[str, str | None, int | None]:
    """``NAME@ALIAS`` -> (name, alias, None); ``NAME/3`` -> (name, None, 3); ``NAME`` ->
    (name, None, None), the latest version."""
    if "@" in ref:
        name, _, alias = ref.partition("@")
        return check_name(name), check_alias(alias), None
    if "/" in ref:
        name, _, number = ref.partition("/")
        if not number.isdigit() or int(number) < 1:
            raise DefinitionError(f"model reference {ref!r}: the version after '/' is a "
                                  "number from 1 (e.g. churn/3)")
        return check_name(name), None, int(number)
    return check_name(ref), None, None


class Registry:
    """The registry of one project and domain over a metadata store (and its artifact
    store, to load values)."""

    def __init__(self, store: SqlMetadataStore, artifacts: ArtifactStore | None = None, *,
                 project: str = DEFAULT_SCOPE[0], domain: str = DEFAULT_SCOPE[1]) -> None:
        from rillet.platform._registry import check_scope

        check_scope(project, domain)
        self.store = store
        self.db = store.database
        self.artifacts = artifacts
        self.project = project
        self.domain = domain
        self.scope = (project, domain)

    def within(self, project: str, domain: str) -> Registry:
        """The registry of another project and domain over the same stores."""
        return Registry(self.store, self.artifacts, project=project, domain=domain)

    def where(self) -> str:
        """The scope as messages name it (``project/domain``)."""
        return f"{self.project}/{self.domain}"

    # -- writes ----------------------------------------------------------------------
    def register(self, name: str, *, execution: str, node: str, output: str = "o0",
                 alias: str | None = None, user: str | None = None) -> int:
        """Register the value ``output`` of ``node`` of ``execution`` as the next version.
        ``user`` is who the history records (default: this process's user; a server
        passes the request's)."""
        from rillet.platform._teams import require_project

        check_name(name)
        if alias is not None:
            check_alias(alias)
        require_project(self.store, self.project)
        digest, execution_id = self._value_of(execution, node, output)
        user, now = user or who(), time.time()
        detail = {"execution_id": execution_id, "node_id": node, "output": output,
                  "hash": digest}
        for attempt in range(5):  # two registrations racing on PostgreSQL: one retries
            try:
                with self.db.write() as c:
                    (top,) = c.execute("SELECT max(version) FROM model_versions WHERE "
                                       f"{_IN} AND name = ?", (*self.scope, name)).fetchone()
                    version = int(top or 0) + 1
                    c.execute(f"INSERT INTO model_versions ({_VERSION_COLS}, project, domain) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              (name, version, execution_id, node, output, digest, now, user,
                               *self.scope))
                    self._history(c, name, "register", None, version, None, detail, now, user)
                    self._audit(c, user, "model.register", f"{name}/{version}",
                                {**detail, "alias": alias}, now)
                    if alias is not None:
                        self._move(c, name, alias, version, now, user)
                return version
            except Conflict:
                if attempt == 4:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def set_alias(self, name: str, alias: str, version: int, user: str | None = None
                  ) -> int | None:
        """Point ``alias`` at ``version``; returns the version it pointed at before."""
        check_name(name)
        check_alias(alias)
        user, now = user or who(), time.time()
        with self.db.write() as c:
            found = c.execute(f"SELECT 1 FROM model_versions WHERE {_IN} AND name = ? AND "
                              "version = ?", (*self.scope, name, int(version))).fetchone()
            if found is None:
                raise NotFound(self._no_version(name, version, self._numbers(c, name)))
            return self._move(c, name, alias, int(version), now, user)

    def record_serving(self, name: str, detail: dict[str, Any], user: str | None = None
                       ) -> None:
        """A serving change (``rillet serve`` started, with its traffic split)."""
        version = detail.get("version")
        with self.db.write() as c:
            self._history(c, name, "serve", detail.get("alias"),
                     version if isinstance(version, int) else None, None, detail,
                     time.time(), user or who())

    def _move(self, c: Any, name: str, alias: str, version: int, now: float, user: str
              ) -> int | None:
        row = c.execute(f"SELECT version FROM model_aliases WHERE {_IN} AND name = ? AND "
                        "alias = ?", (*self.scope, name, alias)).fetchone()
        previous = None if row is None else int(row[0])
        if row is None:
            c.execute("INSERT INTO model_aliases (name, alias, version, updated_at, updated_by, "
                      "project, domain) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (name, alias, version, now, user, *self.scope))
        else:
            c.execute("UPDATE model_aliases SET version = ?, updated_at = ?, updated_by = ? "
                      f"WHERE {_IN} AND name = ? AND alias = ?",
                      (version, now, user, *self.scope, name, alias))
        self._history(c, name, "alias", alias, version, previous, {}, now, user)
        self._audit(c, user, "model.alias", f"{name}@{alias}",
                    {"version": version, "previous": previous}, now)
        return previous

    def _history(self, c: Any, name: str, event: str, alias: str | None, version: int | None,
                 previous: int | None, detail: dict[str, Any], at: float, user: str) -> None:
        c.execute("INSERT INTO model_history (name, event, alias, version, previous, detail, "
                  "at, who, project, domain) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (name, event, alias, version, previous, json.dumps(detail, sort_keys=True),
                   at, user, *self.scope))

    def _audit(self, c: Any, user: str, action: str, target: str, detail: dict[str, Any],
               at: float) -> None:
        from rillet.platform._teams import audit

        audit(c, who=user, project=self.project, domain=self.domain, action=action,
              target=target, detail=detail, at=at)

    def _value_of(self, execution: str, node: str, output: str) -> tuple[str, str]:
        """The hash of a stored, unpurged output of a succeeded execution's node."""
        from rillet.platform._teams import execution_scope

        record = self.store.get_execution(execution)
        project, _ = execution_scope(self.store, record.id)
        if project != self.project:
            raise Conflict(f"execution {record.id} belongs to project {project!r}, not "
                           f"{self.project!r}: a model of {self.where()} is registered from "
                           f"an execution of project {self.project!r}; nothing was registered")
        if record.status.value != "SUCCEEDED":
            raise Conflict(f"execution {record.id} is {record.status.value}: only an output "
                           "of a succeeded execution can be registered")
        nodes = {n.node_id: n for n in self.store.nodes(record.id)}
        found = nodes.get(node)
        if found is None:
            raise NotFound(f"execution {record.id} has no node '{node}' (nodes: "
                           f"{', '.join(sorted(nodes)) or 'none'})")
        digest = found.outputs.get(output)
        if digest is None:
            raise NotFound(f"node '{node}' of execution {record.id} has no output '{output}' "
                           f"(outputs: {', '.join(sorted(found.outputs)) or 'none'})")
        artifact = self.store.artifacts([digest]).get(digest)
        if artifact is None:
            raise NotFound(f"the value {digest[:12]} of {record.id}:{node}:{output} is not in "
                           "the store; nothing was registered")
        if artifact.purged:
            raise Conflict(f"the value {digest[:12]} of {record.id}:{node}:{output} was "
                           "pruned; nothing was registered (run the execution again)")
        return digest, record.id

    # -- reads -----------------------------------------------------------------------
    def names(self) -> list[dict[str, Any]]:
        """Every model: name, latest version, count, aliases, last change."""
        rows = self.db.read("SELECT name, max(version), count(*), max(created_at) "
                            f"FROM model_versions WHERE {_IN} GROUP BY name ORDER BY name",
                            self.scope)
        aliases = self._aliases()
        return [{"name": n, "latest": int(top), "versions": int(count),
                 "aliases": aliases.get(n, {}), "updated_at": at}
                for n, top, count, at in rows]

    def versions(self, name: str) -> list[ModelVersion]:
        rows = self.db.read(f"SELECT {_VERSION_COLS} FROM model_versions WHERE {_IN} AND "
                            "name = ? ORDER BY version", (*self.scope, check_name(name)))
        if not rows:
            raise NotFound(self._no_model(name))
        return self._versions(rows)

    def version(self, name: str, version: int) -> ModelVersion:
        rows = self.db.read(f"SELECT {_VERSION_COLS} FROM model_versions WHERE {_IN} AND "
                            "name = ? AND version = ?", (*self.scope, name, int(version)))
        if not rows:
            self.versions(name)  # an unknown model says so first
            raise NotFound(self._no_version(name, version, self._numbers(None, name)))
        return self._versions(rows)[0]

    def resolve(self, ref: str) -> ModelVersion:
        """The version ``NAME@ALIAS``, ``NAME/N`` or ``NAME`` (latest) names."""
        name, alias, number = parse_ref(ref)
        if alias is not None:
            number = self.alias_version(name, alias)
        elif number is None:
            number = self.versions(name)[-1].version
        return self.version(name, number)

    def alias_version(self, name: str, alias: str) -> int:
        rows = self.db.read(f"SELECT version FROM model_aliases WHERE {_IN} AND name = ? AND "
                            "alias = ?", (*self.scope, name, alias))
        if not rows:
            self.versions(name)
            known = ", ".join(sorted(self._aliases().get(name, {}))) or "none"
            raise NotFound(f"model {name!r} has no alias {alias!r}{self._in()} "
                           f"(aliases: {known})")
        return int(rows[0][0])

    def aliases(self, name: str) -> dict[str, int]:
        return self._aliases(name).get(name, {})

    def history(self, name: str) -> list[HistoryEvent]:
        rows = self.db.read("SELECT name, event, alias, version, previous, detail, at, who "
                            f"FROM model_history WHERE {_IN} AND name = ? ORDER BY id",
                            (*self.scope, check_name(name)))
        if not rows:
            raise NotFound(self._no_model(name))
        return [HistoryEvent(name=r[0], event=r[1], alias=r[2], version=r[3], previous=r[4],
                             detail=json.loads(r[5]), at=r[6], who=r[7], project=self.project,
                             domain=self.domain) for r in rows]

    def load(self, ref: str | ModelVersion) -> Any:
        """The Python object a version serves, decoded from the store."""
        from rillet.engine._values import ValueStore

        if self.artifacts is None:
            raise StoreError("this registry has no artifact store to load values from")
        mv = self.resolve(ref) if isinstance(ref, str) else ref
        values = ValueStore(self.store, self.artifacts)
        try:
            return values.load(mv.hash, self._stored_type(mv.hash))
        except ValueUnavailable as exc:  # its bytes are gone or corrupt: say which model
            raise ValueUnavailable(f"model {mv.name}/{mv.version} cannot be loaded: {exc}",
                                   digest=exc.digest, uri=exc.uri, reason=exc.reason) from None
        except (ModuleNotFoundError, AttributeError, TypeMismatchError):
            # A class of the user's code (pickled by reference, or a dataclass stored as
            # JSON that decodes only as its class): load the code the execution ran (its
            # file, or its registered bundle) and try again.
            if not self._load_source(mv):
                raise
            return values.load(mv.hash, self._stored_type(mv.hash))

    def _load_source(self, mv: ModelVersion) -> bool:
        """Load the code that trained ``mv``: the execution's ``.py``/``.ipynb`` file, or
        the registered bundle it ran (``bundle:HASH``: unpacked from the artifact store
        into this machine's bundle cache and put on ``sys.path``, its notebooks loaded).
        False when there is none to load."""
        from rillet.engine._loading import load_file

        source = self.store.get_execution(mv.execution_id).source
        if source.endswith((".py", ".ipynb")) and os.path.isfile(source):
            load_file(source)
            return True
        if not source.startswith("bundle:") or self.artifacts is None:
            return False
        import importlib
        import sys

        from rillet.platform._bundle import cached_modules, module_file, unpack
        from rillet.platform._registry import default_cache

        digest = source[len("bundle:"):]
        rows = self.db.read("SELECT bundle_uri FROM registered_entities WHERE bundle_hash = ?",
                            (digest,))
        if not rows:
            return False
        folder = unpack(self.artifacts.get(rows[0][0]), digest, default_cache())
        if folder not in sys.path:
            sys.path.insert(0, folder)
        importlib.invalidate_caches()
        for module in cached_modules(folder):
            notebook = module_file(folder, module)
            if notebook is not None:
                load_file(notebook)
        return True

    def _stored_type(self, digest: str) -> Any:
        """The type a value was stored as (its record's descriptor): a plain ``int`` is
        stored as the JSON ``3``, which only the tagged form of ``Any`` would not read.
        A class that cannot be imported yet is ``Any``: its value names its own class."""
        from rillet.types._descriptor import type_of

        record = self.store.artifacts([digest]).get(digest)
        return type_of(record.type) if record is not None else Any

    def _versions(self, rows: list[tuple[Any, ...]]) -> list[ModelVersion]:
        aliases: dict[tuple[str, int], list[str]] = {}
        for name, by_alias in self._aliases(rows[0][0]).items():
            for alias, version in by_alias.items():
                aliases.setdefault((name, version), []).append(alias)
        out = []
        executions: dict[str, Any] = {}
        for r in rows:
            ex = executions.get(r[2])
            if ex is None:
                try:
                    ex = executions[r[2]] = (self.store.get_execution(r[2]),
                                             {n.node_id: n.task for n in self.store.nodes(r[2])})
                except NotFound:
                    ex = executions[r[2]] = (None, {})
            record, tasks = ex
            out.append(ModelVersion(
                name=r[0], version=int(r[1]), execution_id=r[2], node_id=r[3], output=r[4],
                hash=r[5], created_at=r[6], created_by=r[7],
                aliases=tuple(sorted(aliases.get((r[0], int(r[1])), []))),
                workflow=record.workflow if record else "", task=tasks.get(r[3], ""),
                inputs=dict(record.inputs) if record else {}, project=self.project,
                domain=self.domain))
        return out

    def _aliases(self, name: str | None = None) -> dict[str, dict[str, int]]:
        sql = f"SELECT name, alias, version FROM model_aliases WHERE {_IN}"
        rows = (self.db.read(f"{sql} ORDER BY alias", self.scope) if name is None else
                self.db.read(f"{sql} AND name = ? ORDER BY alias", (*self.scope, name)))
        out: dict[str, dict[str, int]] = {}
        for n, alias, version in rows:
            out.setdefault(n, {})[alias] = int(version)
        return out

    def _numbers(self, c: Any, name: str) -> list[int]:
        sql = f"SELECT version FROM model_versions WHERE {_IN} AND name = ? ORDER BY version"
        params = (*self.scope, name)
        rows = c.execute(sql, params).fetchall() if c is not None else self.db.read(sql, params)
        return [int(v) for (v,) in rows]

    def _in(self) -> str:
        """`` in project/domain`` for a message, but for the default registry."""
        return "" if self.scope == DEFAULT_SCOPE else f" in {self.where()}"

    def _no_model(self, name: str, list_known: bool = True) -> str:
        flags = "" if self.scope == DEFAULT_SCOPE else \
            f" --project {self.project} --domain {self.domain}"
        known = (", ".join(m["name"] for m in self.names()) or "none") if list_known else ""
        return (f"no model named {name!r}{self._in()} ("
                + (f"models: {known}; " if known else "")
                + f"see `rillet models list{flags}`)")

    def _no_version(self, name: str, version: int, numbers: list[int]) -> str:
        if not numbers:  # (inside a write: no other read)
            return self._no_model(name, list_known=False)
        return f"model {name!r} has no version {version} (versions: {_span(numbers)})"


def _span(numbers: list[int]) -> str:
    return f"{numbers[0]}-{numbers[-1]}" if len(numbers) > 2 else ", ".join(map(str, numbers))
