"""``Worker``: claims launched executions and runs them with the durable engine and an
executor, on any machine that reaches the metadata and artifact stores.

Each claim's bundle is unpacked once into a cache keyed by its hash. The worker's
heartbeat renews the leases it holds; an execution whose lease lapsed (its worker died)
is claimed again and resumed: nodes recorded as succeeded are kept, the rest run.
``stop()`` drains: no new claim, running executions finish and are recorded.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from rillet.engine._durable import Engine, Reuse
from rillet.engine._loading import resolve
from rillet.engine._reaper import ABORT_REASON, end_unowned
from rillet.engine._records import ENDED, Batch, ExecutionStatus
from rillet.errors import ExecutionEnded, LeaseLost, RilletError
from rillet.platform._bundle import module_file, unpack
from rillet.platform._decode import decode_inputs
from rillet.platform._livelogs import LogShipper
from rillet.platform._queue import (
    ABORTS,
    CHANNEL,
    WAKE,
    Claim,
    claim,
    finish,
    is_postgres,
    lease_owner,
    renew,
)
from rillet.platform._registry import default_cache, find

LEASE = 30.0
IDLE_WAIT = 5.0  # the longest a worker sleeps between looks at the queue when nobody wakes it


class Worker:
    """One worker: ``concurrency`` executions at a time, each with its own executor."""

    def __init__(self, store: Any, artifacts: Any, *, concurrency: int = 1,
                 executor: str = "processes", lease: float = LEASE, cache: str | None = None,
                 scratch: str | None = None, name: str | None = None,
                 log_path: Callable[[str], str] | None = None,
                 ship_logs: bool = False) -> None:
        if concurrency < 1:
            raise RilletError(f"worker concurrency must be >= 1, got {concurrency}")
        self.store = store
        self.artifacts = artifacts
        self.concurrency = concurrency
        self.executor_kind = executor
        self.lease = lease
        self.cache = cache or default_cache()
        self.scratch = scratch or os.path.join(os.path.dirname(self.cache), "scratch")
        self.log_path = log_path  # where running tasks' output goes (a server reads it)
        # On a machine of its own: the output goes to a file here, shipped to the artifact
        # store while it runs (the server streams it from there).
        self.shipper: LogShipper | None = None
        if ship_logs:
            self.log_path = log_path or self._log_file
            self.shipper = LogShipper(artifacts, self.log_path)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._listener: Any = None
        self._listen_lock = threading.Lock()
        self.completed = 0
        self._entities: dict[tuple[str, str, str, str], Any] = {}
        # execution id -> the abort signal of the engine running it (set on an abort)
        self._signals: dict[str, threading.Event] = {}
        self._done = threading.Event()  # run() returned (after a drain)

    # -- the loop ---------------------------------------------------------------------
    def run(self, max_executions: int | None = None) -> int:
        """Claim and run until :meth:`stop` (or ``max_executions`` ran); return how many."""
        beat = threading.Thread(target=self._heartbeat, daemon=True, name="rillet-lease")
        beat.start()
        self._done.clear()
        token = ABORTS.subscribe(self._aborted)
        if self.shipper is not None:
            threading.Thread(target=self.shipper.run, daemon=True,
                             name="rillet-live-logs").start()
        if is_postgres(self.store.database):
            threading.Thread(target=self._listen_aborts, daemon=True,
                             name="rillet-aborts").start()
        slots = [threading.Thread(target=self._slot, args=(max_executions,), daemon=True,
                                  name=f"rillet-slot-{i}") for i in range(self.concurrency)]
        for t in slots:
            t.start()
        try:
            for t in slots:
                while t.is_alive():
                    t.join(0.5)
        finally:
            self._stop.set()
            self._done.set()
            if self.shipper is not None:
                self.shipper.stop()
            ABORTS.unsubscribe(token)
            if self._listener is not None:
                self._listener.close()
        return self.completed

    def _aborted(self, execution_id: str) -> None:
        """An abort of ``execution_id`` was asked for: when a slot of this worker runs it,
        its engine aborts at once (stops the attempts, records them ABORTED)."""
        with self._lock:
            signal = self._signals.get(execution_id)
        if signal is not None:
            signal.set()

    def _listen_aborts(self) -> None:
        """On PostgreSQL: LISTEN to ``rillet_abort`` (``request_abort`` NOTIFYs it with the
        execution's id) while the worker runs; the engines' heartbeats cover a gap."""
        import psycopg

        from rillet.store._sql import ABORT_CHANNEL

        url = str(self.store.database.url).replace("postgresql+psycopg://", "postgresql://")
        while not self._done.is_set():
            try:
                conn = psycopg.connect(url, autocommit=True)
            except Exception:
                self._done.wait(1.0)
                continue
            try:
                conn.execute(f"LISTEN {ABORT_CHANNEL}")
                while not self._done.is_set():
                    for note in conn.notifies(timeout=1.0):
                        self._aborted(note.payload)
            except Exception:
                self._done.wait(1.0)  # the server went away: connect again
            finally:
                conn.close()

    def stop(self) -> None:
        """Drain: take no new execution; those running finish and are recorded."""
        self._stop.set()
        WAKE.notify()

    def _slot(self, max_executions: int | None) -> None:
        engine = Engine(store=self.store, artifacts=self.artifacts,
                        executor=_make_executor(self.executor_kind),
                        checkpoint_path=self._checkpoint_path, work_dir=self._work_dir,
                        log_path=self.log_path, owner=(self.name, 0, 0.0),
                        # the one lease: the execution's, renewed by the engine (and by
                        # this worker's heartbeat); lost, the engine stops its attempts
                        lease_owner=lease_owner(self.name), lease_ttl=self.lease,
                        # in the artifact store: a takeover on another machine reads them
                        checkpoint_store=str(self.artifacts.root))
        try:
            while not self._stop.is_set():
                if max_executions is not None and self.completed >= max_executions:
                    return
                seen = WAKE.count()
                got = claim(self.store, self.name, self.lease)
                if got is None:
                    self._wait(seen)
                    continue
                with self._lock:
                    self._held.add(got.execution_id)
                if self.shipper is not None:
                    self.shipper.follow(got.execution_id)
                try:
                    self._execute(engine, got)
                except ExecutionEnded:  # aborted while it ran: the abort's end stands
                    pass
                except LeaseLost as exc:  # another worker has it now: it finishes it
                    print(f"rillet worker {self.name}: {exc}", file=sys.stderr, flush=True)
                except Exception as exc:  # the code could not load or start: it fails
                    self._fail(got.execution_id, f"{type(exc).__name__}: {exc}")
                finally:
                    if self.shipper is not None:
                        self.shipper.drop(got.execution_id)
                    with self._lock:
                        self._held.discard(got.execution_id)
                        self.completed += 1
                    finish(self.store, self.name, got.execution_id)
        finally:
            engine.executor.shutdown()

    def _wait(self, seen: int) -> None:
        """Until a launch wakes us: NOTIFY on PostgreSQL, this process's signal otherwise."""
        if is_postgres(self.store.database):
            listener = self._listen()
            if listener is not None:
                with self._lock:  # one slot listens; the others wait on its wake-ups
                    listening = not getattr(self, "_listening", False)
                    self._listening = True
                if listening:
                    try:
                        for _ in listener.notifies(timeout=IDLE_WAIT, stop_after=1):
                            break
                    except Exception:
                        with self._listen_lock:
                            if self._listener is listener:
                                self._listener = None
                        listener.close()
                    finally:
                        self._listening = False
                        WAKE.notify()
                    return
        WAKE.wait(seen, IDLE_WAIT if not self._stop.is_set() else 0)

    def _listen(self) -> Any:
        with self._listen_lock:  # slots wait at once: one connection, not one each
            return self._open_listener()

    def _open_listener(self) -> Any:
        if self._listener is None:
            try:
                import psycopg

                url = str(self.store.database.url).replace("postgresql+psycopg://",
                                                           "postgresql://")
                conn = psycopg.connect(url, autocommit=True)
                conn.execute(f"LISTEN {CHANNEL}")
                self._listener = conn
            except Exception:
                return None
        return self._listener

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease / 3):
            self._renew()
        while True:  # draining: keep the leases of what still runs
            with self._lock:
                if not self._held:
                    return
            time.sleep(self.lease / 3)
            self._renew()

    def _renew(self) -> None:
        with self._lock:
            held = sorted(self._held)
        try:
            renew(self.store, self.name, held, self.lease)
        except RilletError:
            pass  # the store is busy or away: next beat

    # -- one execution ----------------------------------------------------------------
    def _stored(self, digest: str, tp: Any) -> Any:
        """A stored value given as a launch input (an uploaded file): loaded lazily, its
        bytes checked against ``digest`` when first read (``ValueStore.load``)."""
        from rillet.engine._values import ValueStore

        return ValueStore(self.store, self.artifacts).load(digest, tp)

    def _execute(self, engine: Engine, got: Claim) -> None:
        key = (got.project, got.domain, got.name, got.version)
        entity = self._entities.get(key)  # registered versions never change
        if entity is None:
            entity = self._entities[key] = find(self.store, got.name, got.version,
                                                project=got.project, domain=got.domain)
        folder = os.path.join(self.cache, entity.bundle_hash)
        if not os.path.isdir(folder):
            folder = unpack(self.artifacts.get(entity.bundle_uri), entity.bundle_hash,
                            self.cache)
        workflow = load_workflow(folder, entity.identity)
        values = workflow.resolve_inputs((), decode_inputs(
            got.inputs, workflow.interface.inputs, stored=self._stored))
        signal = threading.Event()  # before the look: an abort after it sets the signal
        with self._lock:
            self._signals[got.execution_id] = signal
        try:
            self._run_claimed(engine, got, entity, workflow, values, signal)
        finally:
            engine.abort_signal = None
            with self._lock:
                self._signals.pop(got.execution_id, None)

    def _run_claimed(self, engine: Engine, got: Claim, entity: Any, workflow: Any,
                     values: dict[str, Any], signal: threading.Event) -> None:
        # Aborted since the claim (while the bundle loaded)? Then nothing runs. (An abort
        # after this look is the store's: it refuses any write over an ended status.)
        record = self.store.get_execution(got.execution_id)
        if record.status in ENDED:
            return
        if record.abort_requested_at is not None:
            end_unowned(self.store, record, ExecutionStatus.ABORTED, ABORT_REASON)
            return
        reuse = None
        if got.claims > 1:  # a worker held it before and died: keep what it recorded
            nodes = {n.node_id: n for n in self.store.nodes(got.execution_id)}
            reuse = Reuse(execution_id=got.execution_id, nodes=nodes)
        engine.abort_signal = signal
        engine.execute(workflow, values, source=f"bundle:{entity.bundle_hash}",
                       execution_id=got.execution_id, reuse=reuse,
                       cache_scope=cache_scope(got.project, got.domain))

    def _fail(self, execution_id: str, message: str) -> None:
        record = self.store.get_execution(execution_id)
        if record.status.value in ("QUEUED", "RUNNING") and record.lease_owner in (
                "", lease_owner(self.name)):  # not when another worker took it over
            now = time.time()
            try:
                self.store.apply(Batch(executions=[dataclasses.replace(
                    record, status=ExecutionStatus.FAILED, error=message, ended_at=now,
                    started_at=record.started_at or now)]))
            except LeaseLost:  # taken over since it was read: the new owner ends it
                pass

    def _checkpoint_path(self, scope: str, node_id: str) -> str:
        folder = os.path.join(self.scratch, "checkpoints", _safe(scope))
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, _safe(node_id))

    def _log_file(self, execution_id: str) -> str:
        return os.path.join(self.scratch, "logs", _safe(execution_id) + ".log")

    def _work_dir(self, execution_id: str) -> str:
        folder = os.path.join(self.scratch, "work", _safe(execution_id))
        os.makedirs(folder, exist_ok=True)
        return folder


def cache_scope(project: str, domain: str) -> str:
    """The cache scope of a launched execution: '' for default/development (the scope of
    ``rillet run``, so the two share one cache), ``project/domain`` otherwise."""
    return "" if (project, domain) == ("default", "development") else f"{project}/{domain}"


def _safe(name: str) -> str:
    return name.replace("%", "%25").replace("/", "%2F").replace(os.sep, "%5C") or "%"


def _make_executor(kind: str) -> Any:
    """A new executor from the registry (``rillet.executors`` entry points): ``ray`` uses
    $RAY_ADDRESS (``rillet worker --ray-address`` sets it), else a local Ray."""
    from rillet.executors._registry import load_executor

    return load_executor(kind)


_LOADING = threading.Lock()  # slots load bundles one at a time (a module half-run is visible)


def load_workflow(folder: str, identity: str) -> Any:
    """The workflow ``module:qualname`` from an unpacked bundle."""
    with _LOADING:
        return _load_workflow(folder, identity)


def _load_workflow(folder: str, identity: str) -> Any:
    module, _, qualname = identity.partition(":")
    base = os.path.join(folder, *module.split("."))
    file = base + ".py" if os.path.isfile(base + ".py") else os.path.join(base, "__init__.py")
    file = module_file(folder, module) or file  # a notebook registered as a version
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return resolve(module, qualname, file if os.path.isfile(file) else None)
