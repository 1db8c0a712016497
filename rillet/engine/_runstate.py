"""The state of one durable execution while the engine advances it, and the
helpers every part of the engine shares: values of bindings, node records,
flushing a batch to the store. No scheduling decisions are made here.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeGuard

from rillet.compiler._access import follow
from rillet.compiler._interface import is_namedtuple
from rillet.compiler._spec import (
    CONST,
    DICT,
    FAIL_AFTER_EXECUTABLE_NODES_COMPLETE,
    INPUT,
    LIST,
    NODE,
    PATH,
    Binding,
    WorkflowSpec,
)
from rillet.engine._apart import available as apart_available
from rillet.engine._graph import Graph, RNode
from rillet.engine._protocols import OutputStreamingExecutor
from rillet.engine._records import (
    Batch,
    CacheEntry,
    ExecutionRecord,
    ExecutionStatus,
    NodeRecord,
    NodeStatus,
)
from rillet.engine._streams import OutputStreams
from rillet.engine._values import Value, ValueStore
from rillet.errors import LeaseLost as LeaseLost  # (the store raises it too)
from rillet.errors import RilletError
from rillet.types._codecs import UnpickleRefused, no_unpickling

if TYPE_CHECKING:
    from rillet.engine._durable import Engine

Observer = Callable[[str, NodeStatus], None]
HEARTBEAT_EVERY = 2.0


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped an execution: it is recorded ABORTED; ``execution_id`` names it
    (so the command line can say how to recover it)."""

    def __init__(self, execution_id: str) -> None:
        super().__init__(execution_id)
        self.execution_id = execution_id


PREFETCH_LIMIT = 5000  # cache entries whose value records are read with the entries
SERIALIZE_POLL = 0.1


class Heartbeats:
    """Beats for the executions of this process whose engine loop may be blocked for
    long: an executor that runs tasks in the engine's thread (inline) returns only when
    the task does, and without beats a long inline task looks, from another host, like
    a dead owner. One thread serves them all; it starts with the first and ends when
    none is left (starting a thread per execution cost about 1 ms per run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # execution id -> (its store, what to call after each beat, or None)
        self._live: dict[str, tuple[Any, Callable[[], None] | None]] = {}
        self._thread: threading.Thread | None = None

    def add(self, store: Any, execution_id: str,
            keeper: Callable[[], None] | None = None) -> None:
        """Beat for ``execution_id``; ``keeper`` is called after each beat (in the beat
        thread: it records what the blocked engine cannot, such as a running map's
        finished elements; what it raises is dropped, to try again at the next beat)."""
        with self._lock:
            self._live[execution_id] = (store, keeper)
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, daemon=True,
                                                name="rillet-heartbeats")
                self._thread.start()

    def remove(self, execution_id: str) -> None:
        with self._lock:
            self._live.pop(execution_id, None)

    def _beat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_EVERY)
            with self._lock:
                live = list(self._live.items())
                if not live:
                    self._thread = None
                    return
            now = time.time()
            for execution_id, (store, keeper) in live:
                try:
                    store.heartbeat(execution_id, now)
                except RilletError:  # not recorded yet, or the store is busy: next time
                    pass
                if keeper is not None:
                    try:
                        keeper()
                    except Exception:  # the store is busy, the run ended: next time
                        pass
            # Hold no store while waiting: a store kept alive by this (daemon) thread is
            # never closed at exit, and its last WAL checkpoint would fall to whichever
            # process closes the database next (a read-only command, say).
            del live, store, keeper


HEARTBEATS = Heartbeats()


def new_execution_id() -> str:
    return uuid.uuid4().hex[:16]


_OWNER: dict[int, tuple[str, int, float]] = {}


def owner_identity() -> tuple[str, int, float]:
    """(host, pid, process start time): read once per process (a fork reads its own),
    not once per execution: reading /proc costs up to milliseconds on a busy machine."""
    pid = os.getpid()
    found = _OWNER.get(pid)
    if found is None:
        import psutil

        found = _OWNER[pid] = (socket.gethostname(), pid, psutil.Process(pid).create_time())
    return found


def process_owner(host: str, pid: int, started: float) -> str:
    """The lease owner of an execution run by a process itself (``rillet run``)."""
    return f"process:{host}:{pid}:{started:.3f}"


@dataclasses.dataclass(slots=True, kw_only=True)
class Reuse:
    """What a recovery may copy: the old execution's finished nodes."""

    execution_id: str
    nodes: dict[str, NodeRecord]
    rerun: frozenset[str] = frozenset()
    pruned: frozenset[str] = frozenset()  # output hashes whose values are no longer stored


def _literal(b: Binding, items: list[Any]) -> Any:
    """The object of the LIST or DICT binding ``b`` whose items are ``items``."""
    if b.kind == DICT:
        return dict(zip(b.keys, items, strict=True))
    if is_namedtuple(b.type):  # a task's named outputs passed whole
        return b.type(*items)
    return tuple(items) if getattr(b.type, "__origin__", None) is tuple else items


def _part(b: Binding, objs: list[Any]) -> Any:
    """The part of ``objs[0]`` that the PATH binding ``b`` names."""
    return follow(objs[0], b.path)


def spec_hash_or_blank(spec: WorkflowSpec) -> str:
    from rillet.compiler._serialize import spec_hash

    try:
        return spec_hash(spec)
    except Exception:  # a constant with no stable encoding: the execution still runs
        return ""


class RunState:
    """What one execution holds while it runs (shared by the engine's parts)."""

    def __init__(self, engine: Engine, workflow: Any, inputs: dict[str, Any], *, source: str,
                 reuse: Reuse | None, parent: ExecutionRecord | None,
                 execution_id: str, name: str | None = None,
                 tags: dict[str, str] | None = None) -> None:
        self.engine = engine
        self.store = engine.store
        self.executor = engine.executor
        self.spec: WorkflowSpec = workflow.spec
        self.id = execution_id
        self.values = ValueStore(engine.store, engine.artifacts)
        self.graph = Graph()
        self.batch = Batch()
        self.reuse = reuse
        self.outputs: dict[str, dict[str, Value]] = {}
        self.inputs_raw = inputs
        self.input_values: dict[str, Value] = {}
        # Values of constant and composite bindings, made once per binding object.
        self.bound_values: dict[int, Value] = {}
        self.failure: tuple[str, str, str] | None = None
        # FAIL_AFTER_EXECUTABLE_NODES_COMPLETE: after a failure, start what does not depend on it
        self.keep_going = self.spec.failure_policy == FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
        self.running: set[str] = set()
        self.waiting_lock: dict[str, str] = {}  # node id -> cache key held by another
        self.held_locks: dict[str, str] = {}  # node id -> cache key we hold
        self.node_meta: dict[str, dict[str, Any]] = {}
        self.cache: dict[str, CacheEntry] = {}
        self.versions: dict[str, tuple[str, dict[str, str]]] = {}
        self.tainted: set[str] = set()
        # Awaited nodes of an eager workflow that failed for good -> their error (raised
        # into the body at the await when it is replayed).
        self.eager_failed: dict[str, str] = {}
        self.unrecorded: dict[str, RNode] = {}  # new nodes whose QUEUED is not written
        self.digests: dict[str, str] = {}
        # Nodes a recovery must run even if reusable or cached: those named by --from,
        # and what lies inside them (a subworkflow's, dynamic's or branch's nodes).
        self.forced: set[str] = set(reuse.rerun) if reuse is not None else set()
        self._workdir: str | None = None
        host, pid, started = engine.owner or owner_identity()
        now = time.time()
        scope = parent.checkpoint_scope if parent is not None else execution_id
        self.record = ExecutionRecord(
            id=execution_id, workflow=workflow.name, source=source,
            spec_hash=spec_hash_or_blank(workflow.spec),
            status=ExecutionStatus.RUNNING, inputs={}, parent_id=parent.id if parent else None,
            executor=self.executor.name, created_at=now, started_at=now, owner_host=host,
            owner_pid=pid, owner_started=started, heartbeat_at=now, checkpoint_scope=scope,
            name=name if name is not None else (parent.name if parent else None),
            tags=dict(tags if tags is not None else (parent.tags if parent else {})),
            lease_owner=engine.lease_owner or process_owner(host, pid, started),
            lease_expires_at=now + engine.lease_ttl,
        )
        self.last_beat = self.last_renewed = now
        # A fenced engine renews its lease (``renew_lease``, only while it holds it) at
        # least three times per lease, and checks it before writing after a long gap.
        self.fenced = bool(engine.lease_owner)
        self.beat_every = min(HEARTBEAT_EVERY, engine.lease_ttl / 3) if self.fenced \
            else HEARTBEAT_EVERY
        self.streams: OutputStreams | None = None
        if engine.log_path is not None and _streams_output(self.executor):
            self.executor.poll_output()  # it collects from now on (and drops what it had)
            self.streams = OutputStreams(engine.log_path(execution_id),
                                         self.executor.poll_output, engine.echo)
            push = getattr(self.executor, "push_output", None)
            if push is not None:  # it runs tasks here: they print into the streams
                push(self.streams.feed, console=engine.echo is None)
        self.last_holder_check = now
        # An executor that says which elements of a running map are done (processes):
        # they are recorded as they finish once the map has run KEEP_AFTER seconds.
        self.element_poll = getattr(self.executor, "poll_elements", None)
        # Its workers decode the values they use: a value this process did not compute
        # is never unpickled here (``_apart``).
        self.decodes_apart = bool(getattr(self.executor, "reads_stored_inputs", False)) \
            and apart_available()
        if self.element_poll is not None:
            self.element_poll()  # it keeps them from now on (and drops what it had)
        self.pending_elements: dict[str, list[tuple[int, Any]]] = {}
        # the heartbeat thread's own: elements of a running inline map not recorded yet
        self.unkept_elements: dict[tuple[str, int], list[tuple[int, Any]]] = {}

    def workdir(self) -> str:
        if self._workdir is None:
            self._workdir = self.engine.work_dir(self.id)
        return self._workdir

    # -- values -------------------------------------------------------------
    def value_of(self, b: Binding) -> Value:
        kind = b.kind
        if kind == NODE:
            return self.outputs[b.ref][b.output]
        if kind == INPUT:
            return self.input_values[b.ref]
        v = self.bound_values.get(id(b))
        if v is not None:  # a binding lives as long as its node: its id stays its own
            return v
        if kind == CONST:
            obj: Any = b.value
        elif kind in (LIST, DICT):
            found = [self.value_of(i) for i in b.items]
            if not all(x.held for x in found):
                # an item this process did not compute (recovered, cached): its stored
                # form is nested as it is, never decoded here (the worker decodes it);
                # else, where a pickle would be loaded, the literal is built apart
                v = self.values.compose(b.type, list(b.keys) if kind == DICT else None,
                                        found) or self._apart(found, partial(_literal, b), b.type)
                if v is not None:
                    self.bound_values[id(b)] = v
                    return v
            obj = _literal(b, [x.get() for x in found])
        elif kind == PATH:  # ``out.field[0]``: that part of the value, stored as a value
            whole = self.value_of(b.items[0])
            if not whole.held:  # not computed here: read from its stored form, not decoded
                v = self.values.at_path(whole, b.path, b.type) or self._apart(
                    [whole], partial(_part, b), b.type)
                if v is not None:
                    self.bound_values[id(b)] = v
                    return v
            obj = follow(whole.get(), b.path)
        elif kind == "error":
            raise RilletError("the error binding is only for on_failure handlers")
        else:
            raise RilletError(f"unknown binding kind {kind!r}")
        v = self.bound_values[id(b)] = self.values.put(obj, b.type)
        return v

    def _apart(self, found: list[Value], build: Callable[[list[Any]], Any],
               tp: Any) -> Value | None:
        """The value ``build`` makes of the objects of ``found`` (as type ``tp``), for an
        executor whose workers decode what they use: decoded here when no part holds a
        pickle (then None: the caller builds it), else built and encoded in a forked
        child (``ValueStore.built_apart``), so that this process never unpickles a value
        it did not compute. None too for an executor that runs tasks in this process
        (inline): it decodes here, where the task runs."""
        if not self.decodes_apart:
            return None
        try:
            with no_unpickling():
                for x in found:
                    x.get()
        except UnpickleRefused:
            return self.values.built_apart(found, build, tp)
        return None

    def _load_cache(self, nodes: list[RNode]) -> None:
        names = sorted({
            n.spec.entity.name for n in nodes
            if n.spec is not None and n.kind in ("task", "map")
            and getattr(n.spec.entity, "cache", None) is not None
        } - {e.task for e in self.cache.values()})
        if names:
            entries = self.store.cache_entries(names)
            self.cache.update(entries)
            if len(entries) <= PREFETCH_LIMIT:  # a hit then checks its values without a query
                self.values.prefetch([d for e in entries.values() for d in e.outputs.values()])

    # -- records --------------------------------------------------------------
    def _queued(self, node: RNode) -> None:
        """A new node: its QUEUED record is written with the next flush, unless it has
        moved on by then (a cache hit in the same step records only CACHED)."""
        node.status = NodeStatus.QUEUED
        self.unrecorded[node.id] = node
        if self.engine.observer is not None:
            self.engine.observer(node.id, NodeStatus.QUEUED)

    def _record_node(self, node: RNode, status: NodeStatus, *, error: str | None = None,
                     source: tuple[str, str] | None = None) -> None:
        self.unrecorded.pop(node.id, None)
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

    def _record_skipped(self, prefix: str, spec_node: Any) -> None:
        """A node of an arm not taken, and the nodes of its own arms, as SKIPPED."""
        node_id = prefix + spec_node.id
        self.batch.nodes.append(NodeRecord(
            execution_id=self.id, node_id=node_id, task=spec_node.entity_name,
            kind=spec_node.kind, status=NodeStatus.SKIPPED, ended_at=time.time(),
        ))
        if self.engine.observer is not None:
            self.engine.observer(node_id, NodeStatus.SKIPPED)
        for case in spec_node.cases:  # a nested branch's arms live beside it
            for inner in case.nodes:
                self._record_skipped(prefix, inner)

    def _renew_lease(self, now: float) -> None:
        """Renew the lease of a fenced engine; raise :class:`LeaseLost` (having stopped
        the attempts) when another owner holds it. A store that cannot answer now is
        asked again at the next beat."""
        try:
            held = self.store.renew_lease(self.id, self.engine.lease_owner,
                                          self.engine.lease_ttl, now)
        except RilletError:
            return
        if held:
            self.last_renewed = now
            self.record = dataclasses.replace(
                self.record, heartbeat_at=now, lease_expires_at=now + self.engine.lease_ttl)
            return
        self._lost(LeaseLost(self.id, self.engine.lease_owner))

    def _lost(self, exc: LeaseLost) -> None:
        """The execution is another owner's: write nothing more, kill the running
        attempts, raise ``exc``."""
        self.batch = Batch()  # none of it is written: the execution is someone else's
        try:
            self.executor.shutdown()  # kill its running attempts
        finally:
            raise exc

    def _flush(self) -> None:
        if self.fenced:  # a gap since the last renewal (paused?): check before writing
            now = time.time()
            if now - self.last_renewed > self.beat_every:
                self._renew_lease(now)
        if self.unrecorded:
            waiting = [n for n in self.unrecorded.values() if n.status is NodeStatus.QUEUED]
            self.unrecorded = {}
            for node in waiting:
                self._record_node(node, NodeStatus.QUEUED)
        batch = self.batch
        batch.artifacts.extend(self.values.take_pending())
        if batch:
            if len(batch.nodes) > 1:  # a node that moved twice in one step: its last state
                last = {n.node_id: n for n in batch.nodes}
                if len(last) < len(batch.nodes):
                    batch.nodes = list(last.values())
            try:  # when it raises, the batch stays for the next try
                self.store.apply(batch)
            except LeaseLost as exc:  # the store's fence: another owner took the lease
                self._lost(exc)  # between this engine's last renewal and this write
            self.batch = Batch()
            if batch.artifacts:
                self.values.confirm_stored()

    def _done(self, node: RNode) -> None:
        self.graph.finished(node.id)

    def _take_outputs(self, node: RNode, hashes: dict[str, str]) -> None:
        self.outputs[node.id] = {
            name: self.values.ref(hashes[name], tp) for name, tp in node.outputs.items()
        }

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


_STREAMING: dict[type, bool] = {}


def _streams_output(executor: Any) -> TypeGuard[OutputStreamingExecutor]:
    """``isinstance(executor, OutputStreamingExecutor)``, once per class (a runtime
    protocol check walks the protocol's members: ~50 us, at every execution's start)."""
    cls = type(executor)
    known = _STREAMING.get(cls)
    if known is None:
        known = _STREAMING[cls] = isinstance(executor, OutputStreamingExecutor)
    return known
