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
import threading
import time
from collections.abc import Callable
from typing import Any

from rillet.compiler._access import AccessError
from rillet.compiler._identity import ByIdentity
from rillet.engine._cachekey import cache_key, keyed_inputs
from rillet.engine._direct import OutputCheck
from rillet.engine._elements import Elements
from rillet.engine._expand import Expansion
from rillet.engine._failure import FailureInfo
from rillet.engine._graph import RNode
from rillet.engine._memo import Memo
from rillet.engine._protocols import (
    ArtifactStore,
    AttemptJob,
    AttemptResult,
    Executor,
    MetadataStore,
    checkpoint_name,
)
from rillet.engine._reaper import ADVANCING
from rillet.engine._records import (
    LEASE_TTL,
    AttemptRecord,
    Batch,
    ExecutionRecord,
    ExecutionStatus,
    MapElementRecord,
    NodeStatus,
    ParamRecord,
)
from rillet.engine._runstate import (
    HEARTBEAT_EVERY,
    HEARTBEATS,
    SERIALIZE_POLL,
    Interrupted,
    Observer,
    Reuse,
    new_execution_id,
    owner_identity,
)
from rillet.engine._streams import Echo
from rillet.engine._values import Value
from rillet.errors import ExecutorError, RilletError, StoreError

# What a failing metadata or artifact store raises: our StoreError (missing, corrupt or
# refused values included), and the OS's own errors (ENOSPC, EROFS, EACCES, ...).
STORE_FAULTS = (StoreError, OSError)

LOST_ATTEMPT = ("the worker running this attempt was lost; another worker took the "
                "execution over and ran the node again")
OUTPUT_POLL = 0.25  # how often running attempts' output is read while they run
ABORT_POLL = 0.1  # how often an engine given an ``abort_signal`` looks at it

__all__ = ["Engine", "Interrupted", "Observer", "Reuse", "new_execution_id", "owner_identity"]


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
        owner: tuple[str, int, float] | None = None,
        log_path: Callable[[str], str] | None = None,
        echo: Echo | None = None,
        lease_owner: str = "",
        lease_ttl: float = LEASE_TTL,
        checkpoint_store: str = "",
    ) -> None:
        # The root URL of an artifact store that keeps the checkpoints (a worker's: the
        # next attempt may run on another machine); '' = the local ``checkpoint_path``.
        self.checkpoint_store = checkpoint_store
        self.lease_owner = lease_owner  # '' = this process (``process:host:pid:start``)
        self.lease_ttl = lease_ttl
        self.store = store
        # Who owns its executions: this process (host, pid, start time) by default; a
        # platform worker passes (its name, 0, 0.0), since its lease in the queue, not a
        # process the reaper can see, says who holds the execution.
        self.owner = owner
        self.artifacts = artifacts
        self.executor = executor
        self.checkpoint_path = checkpoint_path
        self.work_dir = work_dir
        self.observer = observer
        # Where an execution's task output goes while it runs (executors that stream
        # it), and a console echo of it, line by line with the node's id.
        self.log_path = log_path
        self.echo = echo
        # Set by an owner that learns of an abort at once (a platform worker: LISTEN on
        # PostgreSQL, the server's own signal on the home): while it is given, the loop
        # looks at it every ABORT_POLL seconds (in memory, no query) besides its
        # heartbeat's look at the store, and aborts when it is set.
        self.abort_signal: threading.Event | None = None

    def execute(
        self,
        workflow: Any,
        inputs: dict[str, Any],
        *,
        source: str,
        reuse: Reuse | None = None,
        parent: ExecutionRecord | None = None,
        execution_id: str | None = None,
        use_cache: bool = True,
        name: str | None = None,
        tags: dict[str, str] | None = None,
        cache_scope: str = "",
    ) -> ExecutionRecord:
        """Run ``workflow`` to its end; ``use_cache=False`` neither reads nor writes the
        cache (``rillet reproduce`` computes every node again); ``cache_scope`` (a launched
        execution's ``project/domain``) keeps its cache apart from other scopes'."""
        run = _Run(self, workflow, inputs, source=source, reuse=reuse, parent=parent,
                   execution_id=execution_id or new_execution_id(), name=name, tags=tags)
        run.use_cache = use_cache
        run.cache_scope = cache_scope
        return run.go()


_CHECKS: ByIdentity[OutputCheck] = ByIdentity()


class _Run(Memo, Expansion, Elements):
    """Advances one execution: the loop, dispatch, results and the end."""

    use_cache = True
    cache_scope = ""

    def _output_check(self, node: RNode) -> OutputCheck:
        """The output check of a task node, made once per task and outputs."""
        assert node.spec is not None
        entity, outs = node.spec.entity, node.outputs
        return _CHECKS.get((entity, outs), lambda: OutputCheck(entity, outs))

    # -- the loop -----------------------------------------------------------
    def go(self) -> ExecutionRecord:
        for name, tp in self.spec.interface.inputs.items():
            raw = self.inputs_raw[name]  # a Value: a recorded input, decoded when used
            self.input_values[name] = raw if isinstance(raw, Value) else self.values.put(raw, tp)
        self.record = dataclasses.replace(
            self.record, inputs={k: v.hash for k, v in self.input_values.items()}
        )
        self.batch.executions.append(self.record)
        if self.record.spec_hash:  # its whole DAG, for the UI (kept once per spec)
            from rillet.compiler._serialize import spec_text

            self.batch.specs.append((self.record.spec_hash, spec_text(self.spec)))
        added = self.graph.expand(self.spec.nodes, "", None)
        self._load_cache(added)
        if self.reuse is not None:  # a reused node then checks its values without a query
            self.values.prefetch([d for n in self.reuse.nodes.values()
                                  for d in n.outputs.values()])
        for node in added:
            self._queued(node)
        ADVANCING.add(self.id)
        try:
            if getattr(self.executor, "runs_in_this_thread", False) and not self.fenced:
                # (a fenced engine's owner, a worker, renews its lease from a thread)
                keeper = self._keep_running_elements if self.element_poll else None
                HEARTBEATS.add(self.store, self.id, keeper)
                try:
                    self._loop()
                finally:
                    HEARTBEATS.remove(self.id)
            else:  # the loop wakes at least every HEARTBEAT_EVERY and beats itself
                self._loop()
        except KeyboardInterrupt as exc:
            self._abort("interrupted")
            if isinstance(exc, Interrupted):
                raise
            raise Interrupted(self.id) from exc
        except STORE_FAULTS as exc:
            self._store_failed(exc)
        finally:
            ADVANCING.discard(self.id)
            if self.streams is not None:
                push = getattr(self.executor, "push_output", None)
                if push is not None:
                    push(None, console=True)
        return self.record

    def _loop(self) -> None:
        while True:
            self._advance()
            if self.failure is not None:
                self.waiting_lock.clear()
            if not self.running and not self.waiting_lock and not self._pending_dispatch():
                break  # nothing was started: _finish commits this step with the end
            self._flush()
            timeout = SERIALIZE_POLL if self.waiting_lock else self.beat_every
            if self.streams is not None:
                timeout = min(timeout, OUTPUT_POLL)
            signal = self.engine.abort_signal
            if signal is not None:
                timeout = min(timeout, ABORT_POLL)
            results = self.executor.wait(timeout) if self.running else self._sleep(timeout)
            if self.streams is not None:
                self.streams.poll()
            for result in results:
                if self.streams is not None:
                    self.streams.end(result.node_id, result.attempt)
                self._on_result(result)
            if self.element_poll is not None:  # after the results: not those just ended
                self._poll_elements()
            self._recheck_locks()
            if signal is not None and signal.is_set():
                self._abort("aborted on request")
                return
            now = time.time()
            if now - self.last_beat > self.beat_every:
                if self.fenced:  # first: a lost lease stops it before anything is written
                    self._renew_lease(now)
                self.last_beat = now
                if self._abort_requested():
                    self._abort("aborted on request")
                    return
                self.record = dataclasses.replace(
                    self.record, heartbeat_at=now, lease_expires_at=now + self.engine.lease_ttl)
                self.batch.executions.append(self.record)
        self._finish()

    def _abort_requested(self) -> bool:
        """Whether somebody asked to abort this execution (``rillet abort``), read at each
        heartbeat; a store that cannot answer now is asked again at the next one."""
        try:
            return self.store.get_execution(self.id).abort_requested_at is not None
        except RilletError:
            return False

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
            if self.failure is not None and not self.keep_going:
                continue
            if node.kind == "join":
                self._complete_join(node)
            elif node.kind == "branch":
                self._expand_branch(node)
            elif node.kind == "dynamic":
                self._expand_dynamic(node)
            elif node.kind == "eager":
                self._replay_eager(node)
            elif not self._start(node):
                deferred.append(node_id)
        graph.ready.extend(deferred)
        if deferred and not self.running:
            raise ExecutorError(
                f"node '{deferred[0]}' cannot be admitted by the {self.executor.name} executor "
                "and nothing else is running"
            )

    # -- starting task nodes --------------------------------------------------
    def _start(self, node: RNode) -> bool:
        try:
            return self._start_node(node)
        except STORE_FAULTS as exc:  # an input cannot be read or written
            self._release_lock(node)
            message = f"cannot read its inputs: {type(exc).__name__}: {exc}"
            self._record_node(node, NodeStatus.FAILED, error=f"StoreError: {message}")
            if self.failure is None:
                self.failure = (node.id, "StoreError", message)
            return True
        except AccessError as exc:  # ``out[3]`` of a shorter list, ``out["k"]`` with no k
            self._release_lock(node)
            message = f"cannot read its inputs: {exc}"
            self._record_node(node, NodeStatus.FAILED, error=f"AccessError: {message}")
            if self.failure is None:
                self.failure = (node.id, "AccessError", message)
            return True

    def _start_node(self, node: RNode) -> bool:
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
            if task.cache is not None and self.use_cache and node.kind in ("task", "map"):
                version, parts = self._version(task)
                key = cache_key(task.name + ("#map" if node.kind == "map" else ""), version,
                                keyed_inputs(task, hashes), self.cache_scope)
                meta["cache_key"] = key
                meta["version"] = version
                meta["parts"] = parts
                if not self._forced(node.id) and self._try_cache(node, key):
                    return True
                if (task.cache.serialize and node.id not in self.held_locks
                        and not self._lock(node, key)):
                    return True  # waits for the holder's result
            if node.kind == "map":
                self._recovered_elements(node, meta)
        inputs = self._job_inputs(node, ins)
        mapping = node.spec.map
        indices = None
        ratio = mapping.min_success_ratio if mapping else 1.0
        if mapping is not None and node.kind == "map":  # only the elements not done yet
            inputs, indices, ratio = self._map_inputs(node, meta, inputs, mapping.mapped, ratio)
        if node.attempt == 0:
            self._after_lost_attempts(node)
        job = AttemptJob(
            execution_id=self.id, node_id=node.id, attempt=node.attempt + 1, task=task,
            inputs=inputs,
            timeout=task.timeout_seconds,
            cpu=_req(task, "cpu_cores", 0.0), mem=_req(task, "mem_bytes", 0),
            gpu=_req(task, "gpu_count", 0),
            mapped=mapping.mapped if mapping else (), map_indices=indices,
            min_success_ratio=ratio,
            concurrency=mapping.concurrency if mapping else None,
            checkpoint_path=self.engine.checkpoint_path(self.record.checkpoint_scope, node.id),
            workdir=self.workdir(), checkpoint_store=self.engine.checkpoint_store,
            checkpoint_name=self._checkpoint_name(node.id),
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

    def _job_inputs(self, node: RNode, ins: dict[str, Value]) -> dict[str, Any]:
        """The inputs a job sends: objects, or (to an executor whose workers read the
        store) values not computed here by reference, decoded by the worker. A map's
        mapped inputs are lists, which the executor splits into chunks: of objects, or
        of elements by reference (``Value.elements``)."""
        if not getattr(self.executor, "reads_stored_inputs", False):
            return {k: v.get() for k, v in ins.items()}
        assert node.spec is not None
        mapped = node.spec.map.mapped if node.spec.map else ()
        return {k: v.elements() if k in mapped else v.sendable() for k, v in ins.items()}

    # -- results ------------------------------------------------------------
    def _on_result(self, r: AttemptResult) -> None:
        node = self.graph.nodes[r.node_id]
        self.running.discard(node.id)
        meta = self.node_meta[node.id]
        for key, value in r.params:
            self.batch.params.append(ParamRecord(execution_id=self.id, node_id=node.id,
                                                 attempt=r.attempt, key=key, value=value))
        if r.metrics:  # (key, value, step, timestamp[, map index]): as logged, one entry
            self.batch.metric_points.append((self.id, node.id, r.attempt, r.metrics))
        for index, etype, message, tb, printed in r.element_errors:
            self.batch.map_elements.append(MapElementRecord(
                execution_id=self.id, node_id=node.id, attempt=r.attempt, map_index=index,
                status=NodeStatus.FAILED, error_type=etype, error_message=message,
                traceback=tb, logs=printed))
        self.pending_elements.pop(node.id, None)
        if r.element_values and not r.ok and node.kind == "map":
            self._keep_elements(node, r.attempt, r.element_values)
        if r.ok:
            try:
                if node.kind == "task":  # the message names the task and both types
                    self._output_check(node)(r.outputs)
                self._store_outputs(node, self._whole_map(node, r.outputs)
                                    if node.kind == "map" else r.outputs)
            except Exception as exc:  # the task returned something we cannot store
                r = dataclasses.replace(r, ok=False, error_type=type(exc).__name__,
                                        error_message=str(exc), retryable=False)
        status = NodeStatus.SUCCEEDED if r.ok else NodeStatus.ABORTED if r.stopped else (
            NodeStatus.TIMED_OUT if r.timed_out else NodeStatus.FAILED)
        self._attempt_ended(r, status, meta["attempt_started"])
        if r.ok:
            self._record_node(node, NodeStatus.SUCCEEDED)
            self._write_cache(node, meta)
            self._release_lock(node)
            self._done(node)
            return
        task = node.spec.entity  # type: ignore[union-attr]
        if r.retryable and r.attempt - node.attempt_base <= task.retries and (
                self.failure is None or self.keep_going):
            node.status = NodeStatus.QUEUED
            self.graph.ready.append(node.id)
            return
        self._release_lock(node)
        message = f"{r.error_type}: {r.error_message}"
        self._record_node(node, status, error=message)
        if not r.stopped and self._awaited_by_eager(node):
            self.eager_failed[node.id] = message  # the replay raises it at the await
            self.graph.finished(node.id)
            return
        if self.failure is None:
            self.failure = (node.id, r.error_type or "Error", r.error_message or "")

    def _awaited_by_eager(self, node: RNode) -> bool:
        """Whether ``node`` is a task an eager workflow's body awaits (``<eager>/<task>``)."""
        parent = self.graph.nodes.get(node.id.rpartition("/")[0])
        return parent is not None and parent.kind == "eager" and node.kind in ("task", "map")

    def _after_lost_attempts(self, node: RNode) -> None:
        """A takeover (a worker resuming this same execution after its worker was lost):
        the attempts the lost worker started stay recorded under their numbers, ended
        FAILED (``WorkerLost``) where still RUNNING, and the new attempt takes the next
        number; they use none of the node's retries."""
        reuse = self.reuse
        if reuse is None or reuse.execution_id != self.id or node.id not in reuse.nodes:
            return
        before = self.store.attempts(self.id, node.id)
        if not before:
            return
        now = time.time()
        for a in before:
            if a.status is NodeStatus.RUNNING:
                self.batch.attempts.append(dataclasses.replace(
                    a, status=NodeStatus.FAILED, ended_at=now, error_type="WorkerLost",
                    error_message=LOST_ATTEMPT))
        node.attempt = node.attempt_base = max(a.attempt for a in before)

    def _attempt_ended(self, r: AttemptResult, status: NodeStatus, started: float) -> None:
        self.batch.attempts.append(AttemptRecord(
            execution_id=self.id, node_id=r.node_id, attempt=r.attempt, status=status,
            executor=self.executor.name, started_at=r.started_at or started,
            ended_at=r.ended_at or time.time(), error_type=r.error_type,
            error_message=r.error_message, traceback=r.traceback, logs=r.logs, pid=r.pid,
        ))

    def _store_outputs(self, node: RNode, result: Any) -> None:
        outs = node.outputs
        if not outs:
            self.outputs[node.id] = {}
            return
        if len(outs) == 1 and not _one_field(node):
            ((name, tp),) = outs.items()
            # a Value: a map's list put together from stored elements (``_whole_map``)
            self.outputs[node.id] = {name: result if isinstance(result, Value)
                                     else self.values.put(result, tp)}
            return
        self.outputs[node.id] = {
            name: self.values.put(value, tp)
            for (name, tp), value in zip(outs.items(), result, strict=True)
        }

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
            stopped = etype == "AttemptStopped"  # Executor.stop: asked for, not a failure
            self.record = dataclasses.replace(
                self.record, status=ExecutionStatus.ABORTED if stopped else ExecutionStatus.FAILED,
                ended_at=now, heartbeat_at=now,
                error=f"node '{node_id}' {'stopped' if stopped else 'failed'}: {etype}: {message}")
        self.batch.executions.append(self.record)
        self._flush()
        self._release_all_locks()
        if self.streams is not None:
            self.streams.close()

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
        started = time.time()
        self.node_meta["on_failure"] = {"started_at": started}
        job = AttemptJob(execution_id=self.id, node_id="on_failure", attempt=1,
                         task=handler.entity, inputs=kw,
                         checkpoint_path=self.engine.checkpoint_path(
                             self.record.checkpoint_scope, "on_failure"),
                         workdir=self.workdir(),
                         checkpoint_store=self.engine.checkpoint_store,
                         checkpoint_name=self._checkpoint_name("on_failure"))
        r = self._run_alone(job)
        status = NodeStatus.SUCCEEDED if r.ok else NodeStatus.FAILED
        self._attempt_ended(r, status, started)
        self._record_node(rnode, status, error=None if r.ok else f"{r.error_type}: "
                          f"{r.error_message}")

    def _checkpoint_name(self, node_id: str) -> str:
        """The node's checkpoint's name in the engine's checkpoint store ('' for none)."""
        if not self.engine.checkpoint_store:
            return ""
        return checkpoint_name(self.record.checkpoint_scope, node_id)

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

    def _store_failed(self, exc: BaseException) -> None:
        """The store or artifact store failed in the engine's own step: the execution
        fails with that cause. Running attempts finish and are recorded (their nodes
        then recover at once); nodes that succeeded stay SUCCEEDED. When even that
        cannot be written, ``StoreError`` leaves, and, as this process no longer
        advances the execution, the next reader reaps it as crashed."""
        cause = f"{type(exc).__name__}: {exc}"
        if self.failure is None:
            self.failure = ("<store>", "StoreError", cause)
        try:
            while self.running:
                for r in self.executor.wait(HEARTBEAT_EVERY):
                    self._on_result(r)
            self._finish()
            return
        except STORE_FAULTS as again:
            exc = again
        except KeyboardInterrupt as interrupt:
            self._abort("interrupted")
            raise Interrupted(self.id) from interrupt
        now = time.time()
        self.record = dataclasses.replace(
            self.record, status=ExecutionStatus.FAILED, ended_at=now, outputs=None,
            error=f"the store failed: {cause}")
        # The end alone (a small write) may fit where the step did not: the execution,
        # and its nodes still recorded as running, FAILED.
        self.batch = Batch()
        for node in self.graph.nodes.values():
            if node.status in (NodeStatus.RUNNING, NodeStatus.QUEUED):
                self._record_node(node, NodeStatus.FAILED, error=f"the store failed: {cause}")
        end = Batch(nodes=[n for n in self.batch.nodes if n.status is NodeStatus.FAILED],
                    executions=[self.record])
        try:
            self.store.apply(end)
        except STORE_FAULTS:
            raise StoreError(f"execution {self.id} could not record its end: "
                             f"{type(exc).__name__}: {exc}") from None

    def _abort(self, why: str) -> None:
        now = time.time()
        _keep_output(self, now)
        self._keep_pending_elements()
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


def _keep_output(run: _Run, now: float) -> None:
    """Aborting: record what each running attempt printed so far with the attempt
    (ABORTED), and end its lines in the log file."""
    streams = run.streams
    if streams is None:
        return
    try:
        streams.poll()
    except Exception:
        pass
    for node_id in sorted(run.running):
        node = run.graph.nodes[node_id]
        text = streams.seen.get((node_id, node.attempt), "")
        streams.end(node_id, node.attempt)
        run.batch.attempts.append(AttemptRecord(
            execution_id=run.id, node_id=node_id, attempt=node.attempt,
            status=NodeStatus.ABORTED, executor=run.executor.name,
            started_at=run.node_meta.get(node_id, {}).get("attempt_started", now),
            ended_at=now, error_type="Interrupted", error_message="interrupted",
            logs=text))
    streams.close()


def _req(task: Any, attr: str, default: Any) -> Any:
    res = task.requests
    value = getattr(res, attr, None) if res is not None else None
    return default if value is None else value


def _one_field(node: RNode) -> bool:
    """Whether a task node returns a NamedTuple of one field (its one output)."""
    entity = node.spec.entity if node.kind == "task" and node.spec is not None else None
    return entity is not None and entity.interface.output_tuple is not None
