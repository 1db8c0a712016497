"""``cache explain``: which nodes of a workflow will hit the cache, and why the
others will not, predicted before a run and writing nothing.

Walks the compiled nodes in order with the same key rules as the engine;
downstream keys are predicted through upstream hits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rillet.compiler._access import AccessError, follow
from rillet.compiler._spec import (
    CONST,
    DICT,
    INPUT,
    LIST,
    NODE,
    PATH,
    Binding,
    Node,
    WorkflowSpec,
)
from rillet.engine._cachekey import cache_key, code_hash_of, keyed_inputs, task_version
from rillet.engine._graph import remap
from rillet.engine._protocols import ArtifactStore, MetadataStore
from rillet.engine._records import CacheEntry
from rillet.errors import StoreError

HIT, MISS, NOT_CACHED, UNKNOWN = "HIT", "MISS", "NOT CACHED", "UNKNOWN"
_NONE: Any = object()  # a value that cannot be known before the run


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    node_id: str
    task: str
    status: str
    reason: str = ""
    source_execution: str | None = None
    source_node: str | None = None
    changed: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "task": self.task, "status": self.status,
                "reason": self.reason, "source_execution": self.source_execution,
                "source_node": self.source_node, "changed": self.changed}


class _Explainer:
    def __init__(self, store: MetadataStore, spec: WorkflowSpec, inputs: dict[str, Any],
                 artifacts: ArtifactStore | None, scope: str = "") -> None:
        from rillet.engine._values import ValueStore
        from rillet.types._literal import content_hash

        self.store = store
        self.scope = scope
        self.hash = content_hash
        self.values = ValueStore(store, artifacts) if artifacts is not None else None
        self.inputs = inputs
        self.out: list[Explanation] = []
        self.known: dict[tuple[str, str], str] = {}  # (node, output) -> hash
        self.input_hashes = {k: content_hash(inputs[k], tp)
                             for k, tp in spec.interface.inputs.items()}
        self.entries: dict[str, list[CacheEntry]] = {}

    def entries_of(self, task: str) -> list[CacheEntry]:
        found = self.entries.get(task)
        if found is None:
            found = self.entries[task] = self.store.cache_list(task)
        return found

    def binding_hash(self, b: Binding) -> str | None:
        if b.kind == CONST:
            return str(self.hash(b.value, b.type))
        if b.kind == INPUT:
            return self.input_hashes.get(b.ref)
        if b.kind == NODE:
            return self.known.get((b.ref, b.output))
        if b.kind in (LIST, DICT, PATH):
            # The engine hashes a list (or dict) of promises from the values themselves:
            # load the upstream values (reading only) and hash what the run would build.
            value = self.binding_value(b)
            return None if value is _NONE else str(self.hash(value, b.type))
        return None

    def unknown_upstream(self, b: Binding) -> list[str]:
        """The upstream nodes whose outputs ``b`` needs and that are not predicted."""
        if b.kind == NODE:
            return [] if (b.ref, b.output) in self.known else [b.ref]
        return sorted({u for item in b.items for u in self.unknown_upstream(item)})

    def binding_value(self, b: Binding) -> Any:
        """The value a run would pass for ``b``, or ``_NONE`` when it is not known yet."""
        if b.kind == CONST:
            return b.value
        if b.kind == INPUT:
            return self.inputs[b.ref]
        if b.kind == NODE:
            digest = self.known.get((b.ref, b.output))
            if digest is None or self.values is None:
                return _NONE
            try:  # a read-only command: a pickled value is not loaded, so not predicted
                return self.values.load(digest, b.type, unpickle=False)
            except StoreError:  # pruned, missing or corrupt: the run computes it again
                return _NONE
        if b.kind in (LIST, DICT):
            items = [self.binding_value(i) for i in b.items]
            if any(i is _NONE for i in items):
                return _NONE
            if b.kind == DICT:
                return dict(zip(b.keys, items, strict=True))
            return tuple(items) if getattr(b.type, "__origin__", None) is tuple else items
        if b.kind == PATH:
            base = self.binding_value(b.items[0])
            if base is _NONE:
                return _NONE
            try:
                return follow(base, b.path)
            except AccessError:  # the run fails this node: nothing to predict
                return _NONE
        return _NONE

    def walk(self, nodes: tuple[Node, ...], prefix: str, imap: dict[str, Binding] | None) -> None:
        for n in nodes:
            nid = prefix + n.id
            inputs = {k: remap(b, prefix, imap) for k, b in n.inputs.items()}
            if n.kind == "workflow":
                self.walk(n.entity.spec.nodes, nid + "/", inputs)
                for name, b in n.entity.spec.outputs.items():
                    h = self.binding_hash(remap(b, nid + "/", inputs))
                    if h is not None:
                        self.known[(nid, name)] = h
                continue
            if n.kind in ("branch", "dynamic"):
                self.out.append(Explanation(
                    node_id=nid, task=n.entity_name, status=UNKNOWN,
                    reason="decided at run time (conditional or dynamic); its nodes are not "
                           "predicted"))
                continue
            self.explain_task(n, nid, inputs)

    def explain_task(self, n: Node, nid: str, inputs: dict[str, Binding]) -> None:
        task = n.entity
        if task.cache is None:
            self.out.append(Explanation(node_id=nid, task=task.name, status=NOT_CACHED,
                                        reason="the task has no cache"))
            return
        hashes: dict[str, str] = {}
        for k, b in inputs.items():
            h = self.binding_hash(b)
            if h is None:
                ups = ", ".join(self.unknown_upstream(b)) or k
                self.out.append(Explanation(
                    node_id=nid, task=task.name, status=UNKNOWN,
                    reason=f"input '{k}' depends on {ups}, which will run"))
                return
            hashes[k] = h
        version, parts = task_version(task)
        name = task.name + ("#map" if n.kind == "map" else "")
        key = cache_key(name, version, keyed_inputs(task, hashes), self.scope)
        entries = self.entries_of(task.name)
        hit = next((e for e in entries if e.key == key), None)
        gone = self.gone(n, hit) if hit is not None else None
        if hit is not None and gone is not None:
            self.out.append(Explanation(
                node_id=nid, task=task.name, status=MISS,
                reason=f"value missing: the cached value of output '{gone[0]}' is {gone[1]}; "
                       "the node runs again and its entry is rewritten",
                source_execution=hit.execution_id, source_node=hit.node_id))
            return
        if hit is not None:
            for out_name, h in hit.outputs.items():
                self.known[(nid, out_name)] = h
            self.out.append(Explanation(
                node_id=nid, task=task.name, status=HIT,
                reason=f"cached by execution {hit.execution_id} node {hit.node_id}",
                source_execution=hit.execution_id, source_node=hit.node_id))
            return
        self.out.append(self.miss(nid, task, version, parts, keyed_inputs(task, hashes),
                                  entries))

    def gone(self, n: Node, hit: CacheEntry) -> tuple[str, str] | None:
        """(output, why) of the first output of ``hit`` whose value cannot be loaded:
        a run takes such a hit as a miss. Needs the artifact store to check bytes."""
        if self.values is None:
            return None
        types = n.entity.interface.outputs
        for name, digest in hit.outputs.items():
            why = self.values.unusable(digest, types.get(name), remove=False)
            if why is not None:
                return name, why
        return None

    def miss(self, nid: str, task: Any, version: str, parts: dict[str, str],
             hashes: dict[str, str], entries: list[CacheEntry]) -> Explanation:
        if not entries:
            return Explanation(node_id=nid, task=task.name, status=MISS,
                               reason="no cache entry for this task yet")
        same_inputs = [e for e in entries if e.input_hashes == hashes]
        if same_inputs:
            old = max(same_inputs, key=lambda e: e.created_at)
            if old.cache_version == version and old.code_parts == parts:
                # same task version and inputs, another key: another cache scope
                return Explanation(
                    node_id=nid, task=task.name, status=MISS,
                    reason="no entry in this cache scope: the same task version and inputs "
                           f"are cached by execution {old.execution_id} in another "
                           "project/domain",
                    source_execution=old.execution_id, source_node=old.node_id)
            if not version.startswith("code:") or not old.cache_version.startswith("code:"):
                return Explanation(
                    node_id=nid, task=task.name, status=MISS,
                    reason=f"cache version changed ({old.cache_version} -> {version})")
            return self.code_changed(nid, task, old, parts)
        same_version = [e for e in entries if e.cache_version == version] or entries
        closest = max(same_version, key=lambda e: sum(
            1 for k, v in hashes.items() if e.input_hashes.get(k) == v))
        differing = sorted(k for k in set(hashes) | set(closest.input_hashes)
                           if hashes.get(k) != closest.input_hashes.get(k))
        return Explanation(
            node_id=nid, task=task.name, status=MISS,
            reason=f"no entry for these inputs; input(s) {', '.join(differing)} differ from the "
                   f"closest entry (execution {closest.execution_id} node {closest.node_id})",
            source_execution=closest.execution_id, source_node=closest.node_id)

    def code_changed(self, nid: str, task: Any, old: CacheEntry,
                     parts: dict[str, str]) -> Explanation:
        from rillet.compiler._codehash import changed_parts

        files = dict(code_hash_of(task).files)
        changed = [{"name": name, "file": files.get(name, ""),
                    "change": "added" if name not in old.code_parts else
                    "removed" if name not in parts else "changed"}
                   for name in changed_parts(old.code_parts, parts)]
        for c in changed:  # a distribution's part is its version: say which
            if c["name"].startswith("dist:"):
                c["from"] = old.code_parts.get(c["name"], "")
                c["to"] = parts.get(c["name"], "")
        shown = ", ".join(_shown(c) for c in changed) or "the task's interface"
        return Explanation(node_id=nid, task=task.name, status=MISS,
                           reason=f"code changed: {shown}", changed=changed,
                           source_execution=old.execution_id, source_node=old.node_id)


def _shown(c: dict[str, str]) -> str:
    if "from" in c and c["change"] == "changed":
        return f"{c['name']} ({c['from']} -> {c['to']})"
    return f"{c['name']} ({c['change']}" + (f", {c['file']})" if c["file"] else ")")


def explain(store: MetadataStore, workflow: Any, inputs: dict[str, Any],
            artifacts: ArtifactStore | None = None, scope: str = "") -> list[Explanation]:
    """Predict, node by node, what a run of ``workflow(**inputs)`` would take from the cache.

    With ``artifacts``, an input built from several upstream values (a list or dict of
    promises) is predicted from those values, read from the store; without, it is UNKNOWN.
    ``scope`` is the cache scope of the run (``project/domain`` of a launched execution,
    '' for ``rillet run`` and default/development).
    """
    ex = _Explainer(store, workflow.spec, inputs, artifacts, scope)
    ex.walk(workflow.spec.nodes, "", None)
    return ex.out
