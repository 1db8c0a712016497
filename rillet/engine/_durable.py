"""The durable engine: advances one execution, recording every transition.

It walks the runtime graph: ready nodes are taken from the cache, reused from
the execution being recovered, expanded (branches, dynamics, subworkflows) or
dispatched to the executor; results are recorded before dependents are
released. Records go to the MetadataStore in one batch per step; the engine is
the only writer of execution state. It never imports SQLAlchemy or fsspec:
stores and executors come in through the protocols.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from rillet.compiler._spec import CONST, DICT, INPUT, LIST, NODE, Binding, WorkflowSpec
from rillet.engine._cachekey import cache_key, code_hash_of, keyed_inputs, task_version
from rillet.engine._direct import _OPS
from rillet.engine._graph import Graph, RNode, binding_deps, remap, remap_condition
from rillet.engine._protocols import (
    ArtifactStore,
    AttemptJob,
    AttemptResult,
    Executor,
    MetadataStore,
)
from rillet.engine._reaper import reap_running
from rillet.engine._records import (
    DONE_OK,
    AttemptRecord,
    Batch,
    CacheEntry,
    ExecutionRecord,
    ExecutionStatus,
    FailureInfo,
    MetricRecord,
    NodeRecord,
    NodeStatus,
    ParamRecord,
)
from rillet.engine._values import Value, ValueStore
from rillet.errors import ExecutorError, RilletError

Observer = Callable[[str, NodeStatus], None]
HEARTBEAT_EVERY = 2.0
SERIALIZE_POLL = 0.1


def new_execution_id() -> str:
    return uuid.uuid4().hex[:16]


def owner_identity() -> tuple[str, int, float]:
    import psutil

    pid = os.getpid()
    return socket.gethostname(), pid, psutil.Process(pid).create_time()


@dataclasses.dataclass(slots=True, kw_only=True)
class Reuse:
    """What a recovery may copy: the old execution's finished nodes."""

    execution_id: str
    nodes: dict[str, NodeRecord]
    rerun: frozenset[str] = frozenset()
    pruned: frozenset[str] = frozenset()  # output hashes whose values are no longer stored


class Engine:
    """Runs executions of compiled workflows on one store, artifact store and executor."""

    def __init__(
        self,
        *,
        store: MetadataStore,
        artifacts: ArtifactStore,
        executor: Executor,
        checkpoint_path: Callable[[str, str], str],
        work_dir: Callable[[str], str],
        observer: Observer | None = None,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.executor = executor
        self.checkpoint_path = checkpoint_path
        self.work_dir = work_dir
        self.observer = observer

    def execute(
        self,
        workflow: Any,
        inputs: dict[str, Any],
        *,
        source: str,
        reuse: Reuse | None = None,
        parent: ExecutionRecord | None = None,
        execution_id: str | None = None,
    ) -> ExecutionRecord:
        run = _Run(self, workflow, inputs, source=source, reuse=reuse, parent=parent,
                   execution_id=execution_id or new_execution_id())
        return run.go()


class _Run:
    """The state of one execution while the engine advances it."""

    def __init__(self, engine: Engine, workflow: Any, inputs: dict[str, Any], *, source: str,
                 reuse: Reuse | None, parent: ExecutionRecord | None,
                 execution_id: str) -> None:
        self.engine = engine
        self.store = engine.store
        self.executor = engine.executor
        self.workflow = workflow
        self.spec: WorkflowSpec = workflow.spec
        self.id = execution_id
        self.values = ValueStore(engine.store, engine.artifacts)
        self.graph = Graph()
        self.batch = Batch()
        self.reuse = reuse
        self.outputs: dict[str, dict[str, Value]] = {}
        self.inputs_raw = inputs
        self.input_values: dict[str, Value] = {}
        self.const_values: dict[int, Value] = {}
        self.failure: tuple[str, str, str] | None = None
        self.running: set[str] = set()
        self.waiting_lock: dict[str, str] = {}  # node id -> cache key held by another
        self.held_locks: dict[str, str] = {}  # node id -> cache key we hold
        self.node_meta: dict[str, dict[str, Any]] = {}
        self.cache: dict[str, CacheEntry] = {}
        self.versions: dict[str, tuple[str, dict[str, str]]] = {}
        self.tainted: set[str] = set()
        self.digests: dict[str, str] = {}
        # Nodes a recovery must run even if reusable or cached: those named by --from,
        # and what lies inside them (a subworkflow's, dynamic's or branch's nodes).
        self.forced: set[str] = set(reuse.rerun) if reuse is not None else set()
        self._workdir: str | None = None
        host, pid, started = owner_identity()
        now = time.time()
        scope = parent.checkpoint_scope if parent is not None else execution_id
        self.record = ExecutionRecord(
            id=execution_id, workflow=workflow.name, source=source,
            spec_hash=_spec_hash(workflow.spec),
            status=ExecutionStatus.RUNNING, inputs={}, parent_id=parent.id if parent else None,
            executor=self.executor.name, created_at=now, started_at=now, owner_host=host,
            owner_pid=pid, owner_started=started, heartbeat_at=now, checkpoint_scope=scope,
        )
        self.last_beat = now
        self.last_holder_check = now

    # -- the loop -----------------------------------------------------------
    def go(self) -> ExecutionRecord:
        for name, tp in self.spec.interface.inputs.items():
            self.input_values[name] = self.values.put(self.inputs_raw[name], tp)
        self.record = dataclasses.replace(
            self.record, inputs={k: v.hash for k, v in self.input_values.items()}
        )
        self.batch.executions.append(self.record)
        added = self.graph.expand(self.spec.nodes, "", None)
        self._load_cache(added)
        for node in added:
            self._record_node(node, NodeStatus.QUEUED)
        try:
            self._loop()
        except KeyboardInterrupt:
            self._abort("interrupted")
            raise
        return self.record

    def _loop(self) -> None:
        while True:
            self._advance()
            self._flush()
            if self.failure is not None:
                self.waiting_lock.clear()
            if not self.running and not self.waiting_lock and not self._pending_dispatch():
                break
            timeout = SERIALIZE_POLL if self.waiting_lock else HEARTBEAT_EVERY
            results = self.executor.wait(timeout) if self.running else self._sleep(timeout)
            for result in results:
                self._on_result(result)
            self._recheck_locks()
            now = time.time()
            if now - self.last_beat > HEARTBEAT_EVERY:
                self.last_beat = now
                self.record = dataclasses.replace(self.record, heartbeat_at=now)
                self.batch.executions.append(self.record)
        self._finish()

    def _sleep(self, timeout: float) -> list[AttemptResult]:
        time.sleep(timeout)
        return []

    def _pending_dispatch(self) -> bool:
        return bool(self.graph.ready)

    def _advance(self) -> None:
        graph = self.graph
        deferred: list[str] = []
        while graph.ready:
            node_id = graph.ready.pop(0)
            node = graph.nodes[node_id]
            if self.failure is not None:
                continue
            if node.kind == "join":
                self._complete_join(node)
            elif node.kind == "branch":
                self._expand_branch(node)
            elif node.kind == "dynamic":
                self._expand_dynamic(node)
            elif not self._start(node):
                deferred.append(node_id)
        graph.ready.extend(deferred)
        if deferred and not self.running:
            raise ExecutorError(
                f"node '{deferred[0]}' cannot be admitted by the {self.executor.name} executor "
                "and nothing else is running"
            )

    # -- values -------------------------------------------------------------
    def value_of(self, b: Binding) -> Value:
        kind = b.kind
        if kind == NODE:
            return self.outputs[b.ref][b.output]
        if kind == INPUT:
            return self.input_values[b.ref]
        if kind == CONST:
            v = self.const_values.get(id(b))
            if v is None:
                v = self.const_values[id(b)] = self.values.put(b.value, b.type)
            return v
        if kind == LIST:
            items = [self.value_of(i).get() for i in b.items]
            obj: Any = tuple(items) if getattr(b.type, "__origin__", None) is tuple else items
            return self.values.put(obj, b.type)
        if kind == DICT:
            obj = {k: self.value_of(i).get() for k, i in zip(b.keys, b.items, strict=True)}
            return self.values.put(obj, b.type)
        if kind == "error":
            raise RilletError("the error binding is only for on_failure handlers")
        raise RilletError(f"unknown binding kind {kind!r}")

    # -- starting task nodes --------------------------------------------------
    def _start(self, node: RNode) -> bool:
        assert node.spec is not None
        task = node.spec.entity
        ins = {k: self.value_of(b) for k, b in node.inputs.items()}
        hashes = {k: v.hash for k, v in ins.items()}
        meta = self.node_meta.setdefault(node.id, {})
        meta["inputs"] = hashes
        if "code_hash" not in meta:
            meta["code_hash"] = self._code_digest(task)
        if node.attempt == 0:
            if self._try_reuse(node, meta):
                return True
            if self.reuse is not None:  # what follows re-runs too, even if this one hits
                self.tainted.add(node.id)
            if task.cache is not None and node.kind in ("task", "map"):
                version, parts = self._version(task)
                key = cache_key(task.name + ("#map" if node.kind == "map" else ""), version,
                                keyed_inputs(task, hashes))
                meta["cache_key"] = key
                meta["version"] = version
                meta["parts"] = parts
                if not self._forced(node.id) and self._try_cache(node, key):
                    return True
                if (task.cache.serialize and node.id not in self.held_locks
                        and not self._lock(node, key)):
                    return True  # waits for the holder's result
        job = AttemptJob(
            execution_id=self.id, node_id=node.id, attempt=node.attempt + 1, task=task,
            inputs={k: v.get() for k, v in ins.items()},
            timeout=task.timeout_seconds,
            cpu=_req(task, "cpu_cores", 0.0), mem=_req(task, "mem_bytes", 0),
            gpu=_req(task, "gpu_count", 0),
            mapped=node.spec.map.mapped if node.spec.map else (),
            min_success_ratio=node.spec.map.min_success_ratio if node.spec.map else 1.0,
            concurrency=node.spec.map.concurrency if node.spec.map else None,
            checkpoint_path=self.engine.checkpoint_path(self.record.checkpoint_scope, node.id),
            workdir=self.workdir(),
        )
        if not self.executor.submit(job):
            return False
        node.attempt += 1
        now = time.time()
        meta.setdefault("started_at", now)
        meta["attempt_started"] = now
        self.running.add(node.id)
        self.tainted.add(node.id)
        self._record_node(node, NodeStatus.RUNNING)
        self.batch.attempts.append(AttemptRecord(
            execution_id=self.id, node_id=node.id, attempt=node.attempt,
            status=NodeStatus.RUNNING, executor=self.executor.name, started_at=now,
        ))
        return True

    def workdir(self) -> str:
        if self._workdir is None:
            self._workdir = self.engine.work_dir(self.id)
        return self._workdir

    def _code_digest(self, task: Any) -> str:
        digest = self.digests.get(task.name)
        if digest is None:
            try:
                digest = str(code_hash_of(task).digest)
            except Exception:  # code without source: recovery then always re-runs it
                digest = ""
            self.digests[task.name] = digest
        return digest

    def _version(self, task: Any) -> tuple[str, dict[str, str]]:
        v = self.versions.get(task.name)
        if v is None:
            v = self.versions[task.name] = task_version(task)
        return v

    def _load_cache(self, nodes: list[RNode]) -> None:
        names = sorted({
            n.spec.entity.name for n in nodes
            if n.spec is not None and n.kind in ("task", "map")
            and getattr(n.spec.entity, "cache", None) is not None
        } - {e.task for e in self.cache.values()})
        if names:
            self.cache.update(self.store.cache_entries(names))

    def _try_cache(self, node: RNode, key: str) -> bool:
        entry = self.cache.get(key)
        if entry is None:
            return False
        self._take_outputs(node, entry.outputs)
        self.batch.cache_hits.append(key)
        self._record_node(node, NodeStatus.CACHED, source=(entry.execution_id, entry.node_id))
        self._done(node)
        return True

    def _forced(self, node_id: str) -> bool:
        """Named by ``--from``, or inside a subworkflow or dynamic so named."""
        forced = self.forced
        if not forced:
            return False
        head = node_id
        while True:
            if head in forced:
                return True
            if "/" not in head:
                return False
            head = head.rpartition("/")[0]

    def _try_reuse(self, node: RNode, meta: dict[str, Any]) -> bool:
        reuse = self.reuse
        if reuse is None or self._forced(node.id):
            return False
        old = reuse.nodes.get(node.id)
        if old is None or old.status not in DONE_OK:
            return False
        if old.code_hash != meta.get("code_hash") or not old.code_hash:
            return False
        if any(d in self.tainted for d in _upstream_of(node)):
            return False
        if old.inputs != meta.get("inputs"):
            return False
        if reuse.pruned and not reuse.pruned.isdisjoint(old.outputs.values()):
            return False  # its value was pruned: compute it again
        self._take_outputs(node, old.outputs)
        src = (old.source_execution or reuse.execution_id, old.source_node or node.id)
        self._record_node(node, NodeStatus.RECOVERED, source=src)
        self._done(node)
        return True

    def _take_outputs(self, node: RNode, hashes: dict[str, str]) -> None:
        self.outputs[node.id] = {
            name: self.values.ref(hashes[name], tp) for name, tp in node.outputs.items()
        }

    # -- serialize locks ------------------------------------------------------
    def _lock(self, node: RNode, key: str) -> bool:
        owner = f"{self.id}:{node.id}"
        stale = max(3600.0, 2 * (node.spec.entity.timeout_seconds or 0)) if node.spec else 3600.0
        got = self.store.reserve(key, owner, stale)
        if got is None:
            self.waiting_lock[node.id] = key
            return False
        self.held_locks[node.id] = key
        # Somebody may have finished it between our cache load and the lock.
        self.cache.update(self.store.cache_entries([node.spec.entity.name]))  # type: ignore[union-attr]
        if key in self.cache:
            self.store.release(key, owner)
            del self.held_locks[node.id]
            self._try_cache(node, key)
            return False
        return True

    def _recheck_locks(self) -> None:
        if not self.waiting_lock:
            return
        names = sorted({self.graph.nodes[n].spec.entity.name for n in self.waiting_lock})  # type: ignore[union-attr]
        self.cache.update(self.store.cache_entries(names))
        now = time.time()
        if now - self.last_holder_check > HEARTBEAT_EVERY:
            # A holder whose process died is marked FAILED and its locks freed.
            self.last_holder_check = now
            reap_running(self.store)
        for node_id, key in list(self.waiting_lock.items()):
            node = self.graph.nodes[node_id]
            if self._try_cache(node, key):
                del self.waiting_lock[node_id]
                continue
            owner = f"{self.id}:{node_id}"
            got = self.store.reserve(key, owner, 3600.0)
            if got is not None:  # the holder gave up: this waiter takes over
                del self.waiting_lock[node_id]
                self.held_locks[node_id] = key
                self.graph.ready.append(node_id)

    # -- results ------------------------------------------------------------
    def _on_result(self, r: AttemptResult) -> None:
        node = self.graph.nodes[r.node_id]
        self.running.discard(node.id)
        meta = self.node_meta[node.id]
        for key, value in r.params:
            self.batch.params.append(ParamRecord(execution_id=self.id, node_id=node.id,
                                                 attempt=r.attempt, key=key, value=value))
        for key, value, step, ts in r.metrics:
            self.batch.metrics.append(MetricRecord(execution_id=self.id, node_id=node.id,
                                                   attempt=r.attempt, key=key, value=value,
                                                   step=step, timestamp=ts))
        if r.ok:
            try:
                self._store_outputs(node, r.outputs)
            except Exception as exc:  # the task returned something we cannot store
                r = dataclasses.replace(r, ok=False, error_type=type(exc).__name__,
                                        error_message=str(exc), retryable=False)
        status = NodeStatus.SUCCEEDED if r.ok else (
            NodeStatus.TIMED_OUT if r.timed_out else NodeStatus.FAILED)
        self.batch.attempts.append(AttemptRecord(
            execution_id=self.id, node_id=node.id, attempt=r.attempt, status=status,
            executor=self.executor.name, started_at=r.started_at or meta["attempt_started"],
            ended_at=r.ended_at or time.time(), error_type=r.error_type,
            error_message=r.error_message, traceback=r.traceback, logs=r.logs, pid=r.pid,
        ))
        if r.ok:
            self._record_node(node, NodeStatus.SUCCEEDED)
            self._write_cache(node, meta)
            self._release_lock(node)
            self._done(node)
            return
        task = node.spec.entity  # type: ignore[union-attr]
        if r.retryable and r.attempt <= task.retries and self.failure is None:
            node.status = NodeStatus.QUEUED
            self.graph.ready.append(node.id)
            return
        self._release_lock(node)
        message = f"{r.error_type}: {r.error_message}"
        self._record_node(node, status, error=message)
        if self.failure is None:
            self.failure = (node.id, r.error_type or "Error", r.error_message or "")

    def _store_outputs(self, node: RNode, result: Any) -> None:
        outs = node.outputs
        if not outs:
            self.outputs[node.id] = {}
            return
        if len(outs) == 1:
            ((name, tp),) = outs.items()
            self.outputs[node.id] = {name: self.values.put(result, tp)}
            return
        self.outputs[node.id] = {
            name: self.values.put(value, tp)
            for (name, tp), value in zip(outs.items(), result, strict=True)
        }

    def _write_cache(self, node: RNode, meta: dict[str, Any]) -> None:
        key = meta.get("cache_key")
        if key is None:
            return
        now = time.time()
        entry = CacheEntry(
            key=key, task=node.spec.entity.name, cache_version=meta["version"],  # type: ignore[union-attr]
            code_parts=meta["parts"], input_hashes=meta["inputs"],
            outputs={k: v.hash for k, v in self.outputs[node.id].items()},
            execution_id=self.id, node_id=node.id, created_at=now, last_used_at=now,
        )
        self.cache[key] = entry
        self.batch.cache_entries.append(entry)

    def _release_lock(self, node: RNode) -> None:
        key = self.held_locks.pop(node.id, None)
        if key is not None:
            self._flush()
            self.store.release(key, f"{self.id}:{node.id}")

    def _done(self, node: RNode) -> None:
        self.graph.finished(node.id)

    # -- joins, branches, dynamics --------------------------------------------
    def _complete_join(self, node: RNode) -> None:
        self.outputs[node.id] = {k: self.value_of(b) for k, b in node.out_bindings.items()}
        deps = [d for b in node.out_bindings.values() for d in binding_deps(b)]
        reused = bool(deps) and all(
            self.graph.nodes[d].status is NodeStatus.RECOVERED for d in deps
            if d in self.graph.nodes
        )
        if not reused:
            self.tainted.add(node.id)
        self._record_node(node, NodeStatus.RECOVERED if reused else NodeStatus.SUCCEEDED)
        self._done(node)

    def _expand_branch(self, node: RNode) -> None:
        assert node.spec is not None
        chosen = None
        for case in node.spec.cases:
            if case.condition is None or self._test(
                    remap_condition(case.condition, node.prefix, node.input_map)):
                chosen = case
                break
        for case in node.spec.cases:
            if case is not chosen:
                for skipped in case.nodes:
                    self._record_skipped(node.prefix + skipped.id, skipped)
        if chosen is None or chosen.fail is not None:
            message = chosen.fail if chosen is not None else "no condition matched"
            self._record_node(node, NodeStatus.FAILED, error=f"conditional failed: {message}")
            if self.failure is None:
                self.failure = (node.id, "ConditionalFailure", str(message))
            return
        added = self.graph.expand(chosen.nodes, node.prefix, node.input_map)
        if self._forced(node.id):  # the arm's nodes live beside the branch, not inside
            self.forced.update(n.id for n in added)
        self._load_cache(added)
        for n in added:
            self._record_node(n, NodeStatus.QUEUED)
        node.kind = "join"
        node.out_bindings = {k: remap(b, node.prefix, node.input_map)
                             for k, b in chosen.outputs.items()}
        self.graph.rewait(node, [d for b in node.out_bindings.values() for d in binding_deps(b)])
        self._record_node(node, NodeStatus.RUNNING)

    def _test(self, cond: Any) -> bool:
        if hasattr(cond, "left") and isinstance(cond.left, Binding):
            return bool(_OPS[cond.op](self.value_of(cond.left).get(),
                                      self.value_of(cond.right).get()))
        if cond.op == "and":
            return self._test(cond.left) and self._test(cond.right)
        return self._test(cond.left) or self._test(cond.right)

    def _expand_dynamic(self, node: RNode) -> None:
        assert node.spec is not None
        entity = node.spec.entity
        kwargs = {k: self.value_of(b).get() for k, b in node.inputs.items()}
        try:
            sub = entity.compile_with(kwargs)
        except Exception as exc:
            self._record_node(node, NodeStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
            if self.failure is None:
                self.failure = (node.id, type(exc).__name__, str(exc))
            return
        prefix = node.id + "/"
        added = self.graph.expand(sub.nodes, prefix, {})
        self._load_cache(added)
        for n in added:
            self._record_node(n, NodeStatus.QUEUED)
        node.kind = "join"
        node.out_bindings = {k: remap(b, prefix, {}) for k, b in sub.outputs.items()}
        self.tainted.add(node.id)
        self.graph.rewait(node, [d for b in node.out_bindings.values() for d in binding_deps(b)])
        self._record_node(node, NodeStatus.RUNNING)

    # -- records --------------------------------------------------------------
    def _record_node(self, node: RNode, status: NodeStatus, *, error: str | None = None,
                     source: tuple[str, str] | None = None) -> None:
        node.status = status
        meta = self.node_meta.setdefault(node.id, {})
        now = time.time()
        if status in (NodeStatus.CACHED, NodeStatus.RECOVERED):
            meta.setdefault("started_at", now)
        ended = now if status not in (NodeStatus.QUEUED, NodeStatus.RUNNING) else None
        outs = self.outputs.get(node.id)
        task_name = node.spec.entity_name if node.spec is not None else ""
        self.batch.nodes.append(NodeRecord(
            execution_id=self.id, node_id=node.id, task=task_name, kind=node.kind,
            status=status, attempts=node.attempt, inputs=meta.get("inputs", {}),
            outputs={k: v.hash for k, v in outs.items()} if outs else {},
            cache_key=meta.get("cache_key"), code_hash=meta.get("code_hash"),
            source_execution=source[0] if source else None,
            source_node=source[1] if source else None,
            started_at=meta.get("started_at"), ended_at=ended, error=error,
        ))
        if self.engine.observer is not None:
            self.engine.observer(node.id, status)

    def _record_skipped(self, node_id: str, spec_node: Any) -> None:
        self.batch.nodes.append(NodeRecord(
            execution_id=self.id, node_id=node_id, task=spec_node.entity_name,
            kind=spec_node.kind, status=NodeStatus.SKIPPED, ended_at=time.time(),
        ))
        if self.engine.observer is not None:
            self.engine.observer(node_id, NodeStatus.SKIPPED)
        for case in spec_node.cases:
            for inner in case.nodes:
                self._record_skipped(node_id.rsplit("/", 1)[0] + "/" + inner.id
                                     if "/" in node_id else inner.id, inner)

    def _flush(self) -> None:
        batch = self.batch
        batch.artifacts.extend(self.values.take_pending())
        if batch:
            self.batch = Batch()
            self.store.apply(batch)

    # -- the end ------------------------------------------------------------
    def _finish(self) -> None:
        now = time.time()
        if self.failure is None:
            try:
                outputs = {k: self.value_of(b).hash for k, b in self.spec.outputs.items()}
            except Exception as exc:
                self.failure = ("<outputs>", type(exc).__name__, str(exc))
            else:
                self.record = dataclasses.replace(
                    self.record, status=ExecutionStatus.SUCCEEDED, outputs=outputs,
                    ended_at=now, heartbeat_at=now)
        if self.failure is not None:
            for node in self.graph.nodes.values():
                if node.status is NodeStatus.QUEUED or (
                        node.status is NodeStatus.RUNNING and node.kind == "join"):
                    self._record_node(node, NodeStatus.ABORTED)
            self._run_failure_handler()
            node_id, etype, message = self.failure
            self.record = dataclasses.replace(
                self.record, status=ExecutionStatus.FAILED, ended_at=now, heartbeat_at=now,
                error=f"node '{node_id}' failed: {etype}: {message}")
        self.batch.executions.append(self.record)
        self._flush()
        self._release_all_locks()

    def _release_all_locks(self) -> None:
        """Serialize locks still held (a node that took one over but never ran)."""
        for node_id, key in list(self.held_locks.items()):
            del self.held_locks[node_id]
            self.store.release(key, f"{self.id}:{node_id}")

    def _run_failure_handler(self) -> None:
        handler = self.spec.on_failure
        if handler is None or self.failure is None:
            return
        node_id, etype, message = self.failure
        info = FailureInfo(node_id=node_id, error_type=etype, message=message)
        kw: dict[str, Any] = {}
        for name, b in handler.inputs.items():
            kw[name] = info if b.kind == "error" else self.value_of(b).get()
        rnode = RNode(id="on_failure", kind="task", spec=handler, inputs={}, outputs={})
        self.graph.nodes[rnode.id] = rnode
        rnode.attempt = 1
        self.node_meta["on_failure"] = {"started_at": time.time()}
        job = AttemptJob(execution_id=self.id, node_id="on_failure", attempt=1,
                         task=handler.entity, inputs=kw,
                         checkpoint_path=self.engine.checkpoint_path(
                             self.record.checkpoint_scope, "on_failure"),
                         workdir=self.engine.work_dir(self.id))
        r = self._run_alone(job)
        status = NodeStatus.SUCCEEDED if r.ok else NodeStatus.FAILED
        self.batch.attempts.append(AttemptRecord(
            execution_id=self.id, node_id="on_failure", attempt=1, status=status,
            executor=self.executor.name, started_at=r.started_at, ended_at=r.ended_at,
            error_type=r.error_type, error_message=r.error_message, traceback=r.traceback,
            logs=r.logs, pid=r.pid))
        self._record_node(rnode, status, error=None if r.ok else f"{r.error_type}: "
                          f"{r.error_message}")

    def _run_alone(self, job: AttemptJob) -> AttemptResult:
        """Run one job on the executor when nothing else runs (the failure handler)."""
        while not self.executor.submit(job):
            for other in self.executor.wait(HEARTBEAT_EVERY):
                self._on_result(other)
        while True:
            for r in self.executor.wait(HEARTBEAT_EVERY):
                if r.node_id == job.node_id:
                    return r
                self._on_result(r)

    def _abort(self, why: str) -> None:
        now = time.time()
        for node in self.graph.nodes.values():
            if node.status in (NodeStatus.QUEUED, NodeStatus.RUNNING):
                self._record_node(node, NodeStatus.ABORTED, error=why)
        self.record = dataclasses.replace(self.record, status=ExecutionStatus.ABORTED,
                                          ended_at=now, error=why)
        self.batch.executions.append(self.record)
        try:
            self._flush()
            self._release_all_locks()
        finally:
            self.executor.shutdown()


def _spec_hash(spec: WorkflowSpec) -> str:
    from rillet.compiler._serialize import spec_hash

    try:
        return spec_hash(spec)
    except Exception:  # a constant with no stable encoding: the execution still runs
        return ""


def _req(task: Any, attr: str, default: Any) -> Any:
    res = task.requests
    value = getattr(res, attr, None) if res is not None else None
    return default if value is None else value


def _upstream_of(node: RNode) -> list[str]:
    return [d for b in node.inputs.values() for d in binding_deps(b)]
