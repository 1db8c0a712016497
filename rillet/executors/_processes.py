"""The process executor: a pool of warm worker processes on this machine.

Workers are forked (so tasks of the user's loaded file and of ``__main__`` are
there already) once, lazily, and reused for every attempt. The parent admits
an attempt only when its declared cpu/mem/gpu fit in what is left of the
machine's capacity and a worker is free; it enforces timeouts by killing the
worker's process group, replaces workers that die, and splits map nodes into
chunks spread over several workers. It never retries: one job is one attempt.
Call ``submit``/``wait`` from one thread.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import math
import multiprocessing
import multiprocessing.connection
import os
import pickle
import shutil
import signal
import sys
import tempfile
import threading
import time
import weakref
from typing import Any

from rillet.engine._direct import check_map_ratio
from rillet.engine._protocols import AttemptJob, AttemptResult
from rillet.errors import ExecutorError, TaskTimeoutError, UserCodeError
from rillet.executors._capacity import gpu_ids, machine_capacity
from rillet.executors._run import (
    ChunkOutcome,
    clip,
    error_fields,
    fd_stream,
    read_log,
    run_attempt,
)

_STOP = b""
_LIVENESS_S = 1.0  # how often busy workers are checked for a silent death
_EPS = 1e-9


def dumps(obj: Any) -> bytes:
    """Pickle by value where plain pickle cannot (lambdas, local classes)."""
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        import cloudpickle

        return bytes(cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


# --- the worker side -----------------------------------------------------------


def _worker_main(conn: multiprocessing.connection.Connection, parent: int, log_path: str) -> None:
    """Loop of one worker process: receive a job, run it, send back the result."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # a group of its own: a timeout kills the task's children too
    sys.stdout, sys.stderr = fd_stream(1), fd_stream(2)  # not the parent's replacements
    with contextlib.suppress(Exception):
        import faulthandler

        faulthandler.enable(file=sys.stderr)  # a crash prints its traceback into the log
    threading.Thread(target=_watch_parent, args=(parent, log_path), daemon=True).start()
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if data == _STOP:
            return
        reply = _serve(data, log_path)
        try:
            conn.send_bytes(reply)
        except OSError:
            return


def _serve(data: bytes, log_path: str) -> bytes:
    try:
        job, collect, env = pickle.loads(data)
    except BaseException as exc:
        # A worker forked before the task (or a class of its inputs) existed.
        return dumps(("stale", error_fields(exc)))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        result = run_attempt(
            job, capture="fd", apply_timeout=False, log_path=log_path, collect_failures=collect
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:
        return dumps(("result", result))
    except Exception as exc:
        fields = error_fields(exc)
        fields["error_message"] = (
            f"the outputs of task '{getattr(job.task, 'name', job.task)}' cannot be sent back "
            f"from the worker process: {exc}"
        )
        fields["retryable"] = False
        failed = dataclasses.replace(result, ok=False, outputs=None, **fields)
        return dumps(("result", failed))


def _watch_parent(parent: int, log_path: str) -> None:
    """End the worker (and its task's children) soon after its parent is gone."""
    while os.getppid() == parent:
        time.sleep(0.5)
    shutil.rmtree(os.path.dirname(log_path), ignore_errors=True)
    with contextlib.suppress(OSError):
        if os.getpgid(0) == os.getpid():
            os.killpg(0, signal.SIGKILL)
    os._exit(1)


# --- the parent side -----------------------------------------------------------


class _Worker:
    __slots__ = ("conn", "gpus", "log_path", "pid", "piece", "process")

    def __init__(self, process: Any, conn: multiprocessing.connection.Connection, log: str) -> None:
        self.process = process
        self.conn = conn
        self.pid: int = process.pid
        self.log_path = log
        self.piece: _Piece | None = None
        self.gpus: str | None = None  # CUDA_VISIBLE_DEVICES of its last GPU job

    def unreaped(self) -> bool:
        """True while the worker's pid (and so its process group id) cannot be reused."""
        popen = getattr(self.process, "_popen", None)  # multiprocessing's, set by start()
        return popen is not None and popen.returncode is None

    def exited(self) -> bool:
        """Whether the worker ended, without reaping it (its group can still be killed)."""
        try:
            return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except (AttributeError, ChildProcessError, OSError):
            return not self.process.is_alive()

    def kill(self) -> None:
        """SIGKILL the worker's process group (the task's children with it) and reap it."""
        if self.unreaped():
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        self.process.join(5)
        self.conn.close()

    def partial_log(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return read_log(f)
        except OSError:
            return ""


class _Piece:
    """One message in flight on a worker: a whole attempt or one chunk of a map."""

    __slots__ = ("attempt", "gpu_ids", "resent", "start", "stop", "worker")

    def __init__(self, attempt: _Attempt, start: int, stop: int, gpus: list[str]) -> None:
        self.attempt = attempt
        self.start = start
        self.stop = stop
        self.gpu_ids = gpus
        self.resent = False
        self.worker: _Worker | None = None


class _Attempt:
    """An admitted job until its result is ready (for a map: the chunks' state)."""

    def __init__(self, job: AttemptJob, concurrency: int) -> None:
        self.job = job
        self.name = str(getattr(job.task, "name", None) or job.task)
        self.admitted_at = time.time()
        self.deadline = time.monotonic() + job.timeout if job.timeout else math.inf
        self.pieces: set[_Piece] = set()
        self.is_map = bool(job.mapped)
        self.collect = self.is_map and job.min_success_ratio < 1.0
        self.concurrency = (job.concurrency or concurrency) if self.is_map else 1
        self.spread = max(1, min(self.concurrency, concurrency))  # chunks in flight at once
        self.fixed = {k: v for k, v in job.inputs.items() if k not in job.mapped}
        self.columns = [_as_list(job.inputs[name]) for name in job.mapped]
        self.total = len(self.columns[0]) if self.columns else 1
        self.next_start = 0
        self.done: dict[int, AttemptResult] = {}  # chunk results by start index
        self.failure: AttemptResult | None = None
        self.failed = 0
        self.first_error: tuple[int, tuple[str, str, str]] | None = None

    def next_chunk(self) -> tuple[int, int] | None:
        if self.failure is not None or self.next_start >= self.total:
            return None
        if not self.is_map:
            self.next_start = 1
            return 0, 1
        left = self.total - self.next_start
        size = max(1, math.ceil(left / (2 * self.spread)))  # guided: big first, small last
        start = self.next_start
        self.next_start += size
        return start, start + size

    def chunk_job(self, start: int, stop: int) -> AttemptJob:
        if not self.is_map:
            return self.job
        inputs = dict(self.fixed)
        for name, column in zip(self.job.mapped, self.columns, strict=True):
            inputs[name] = column[start:stop]
        return dataclasses.replace(self.job, inputs=inputs)

    def in_flight(self) -> int:
        return len(self.pieces)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else list(value)


class _Pool:
    """The worker processes; closing it is safe to repeat and runs at exit."""

    def __init__(self) -> None:
        self.workers: list[_Worker] = []
        self.owner = os.getpid()
        self.tmpdir: str | None = None
        self.serial = 0

    def close(self) -> None:
        if os.getpid() != self.owner:
            return
        workers, self.workers = self.workers, []
        for w in workers:
            if w.piece is None:
                with contextlib.suppress(OSError):
                    w.conn.send_bytes(_STOP)
            else:
                w.kill()
        for w in workers:
            w.process.join(2)
            if w.process.is_alive():
                w.kill()
            w.conn.close()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


_LIVE_POOLS: weakref.WeakSet[_Pool] = weakref.WeakSet()
_ATEXIT = threading.Lock()
_atexit_registered = False


def _close_live_pools() -> None:
    for pool in list(_LIVE_POOLS):
        pool.close()


def _register_atexit() -> None:
    # Registered after multiprocessing's own exit hook, so it runs before that hook
    # joins (and would wait forever on) our still-running workers.
    global _atexit_registered
    with _ATEXIT:
        if not _atexit_registered:
            atexit.register(_close_live_pools)
            _atexit_registered = True


class ProcessExecutor:
    """Executor over a pool of warm worker processes with resource admission."""

    name = "processes"

    def __init__(
        self, max_parallel: int | None = None, *, capacity: tuple[float, int, int] | None = None
    ) -> None:
        if max_parallel is not None and max_parallel < 1:
            raise ExecutorError(f"ProcessExecutor(max_parallel={max_parallel!r}): must be >= 1")
        self._capacity = capacity
        self._max_parallel = max_parallel
        self._pool = _Pool()
        self._attempts: dict[int, _Attempt] = {}  # admission order
        self._ready: list[AttemptResult] = []
        self._used_cpu = 0.0
        self._used_mem = 0
        self._free_gpus: list[str] = []
        self._gpus_ready = False
        # Sent payloads until their reply: resent once to a fresh worker when a stale
        # one (forked before the task or a class of its inputs existed) cannot load it.
        self._payloads: dict[int, bytes] = {}
        self._finalizer = weakref.finalize(self, self._pool.close)

    # -- Executor protocol --

    def capacity(self) -> tuple[float, int, int]:
        if self._capacity is None:
            self._capacity = machine_capacity()
        return self._capacity

    @property
    def max_parallel(self) -> int:
        if self._max_parallel is None:
            self._max_parallel = max(1, int(self.capacity()[0] + _EPS))
        return self._max_parallel

    def submit(self, job: AttemptJob) -> bool:
        self._refuse_oversized(job)
        if job.mapped and not self._map_ok(job):
            return True
        if not self._can_start(job):
            return False
        attempt = _Attempt(job, self.max_parallel)
        self._attempts[id(attempt)] = attempt
        if attempt.total == 0:
            self._finish(attempt, self._base(attempt, ok=True, outputs=[]))
            return True
        self._start_next(attempt)
        self._pump()
        return True

    def wait(self, timeout: float | None) -> list[AttemptResult]:
        end = math.inf if timeout is None else time.monotonic() + timeout
        while not self._ready:
            busy: dict[Any, _Worker] = {}
            for w in self._pool.workers:
                if w.piece is not None:
                    busy[w.conn] = busy[w.process.sentinel] = w
            now = time.monotonic()
            if not busy:
                if timeout and end > now:
                    time.sleep(end - now)
                return []
            nearest = min((a.deadline for a in self._attempts.values()), default=math.inf)
            wait_for = max(0.0, min(end, nearest, now + _LIVENESS_S) - now)
            ready = multiprocessing.connection.wait(list(busy), wait_for)
            for worker in dict.fromkeys(busy[obj] for obj in ready):
                if worker.piece is None:
                    continue
                if worker.conn.poll():
                    self._on_readable(worker)
                else:
                    self._on_death(worker)
            self._check_liveness()
            self._expire()
            self._pump()
            if time.monotonic() >= end:
                break
        ready_results, self._ready = self._ready, []
        return ready_results

    def running(self) -> int:
        """Admitted attempts whose result ``wait`` has not returned yet."""
        return len(self._attempts) + len(self._ready)

    def shutdown(self) -> None:
        """Stop every worker (killing running attempts); safe to call again."""
        self._pool.close()
        self._attempts.clear()
        self._ready.clear()
        self._payloads.clear()
        self._used_cpu, self._used_mem = 0.0, 0
        self._gpus_ready = False

    def worker_pids(self) -> list[int]:
        return [w.pid for w in self._pool.workers]

    # -- admission --

    def _refuse_oversized(self, job: AttemptJob) -> None:
        cpu, mem, gpu = self.capacity()
        if job.cpu > cpu + _EPS or job.mem > mem or job.gpu > gpu:
            raise ExecutorError(
                f"task '{getattr(job.task, 'name', job.task)}' (node '{job.node_id}') requests "
                f"{_describe(job.cpu, job.mem, job.gpu)}, more than this machine's capacity "
                f"of {_describe(cpu, mem, gpu)}; lower its Resources(...) or run it elsewhere"
            )

    def _fits(self, job: AttemptJob) -> bool:
        cpu, mem, _ = self.capacity()
        self._init_gpus()
        return (
            self._used_cpu + job.cpu <= cpu + _EPS
            and self._used_mem + job.mem <= mem
            and len(self._free_gpus) >= job.gpu
        )

    def _can_start(self, job: AttemptJob) -> bool:
        if not self._fits(job):
            return False
        workers = self._pool.workers
        return len(workers) < self.max_parallel or any(w.piece is None for w in workers)

    def _init_gpus(self) -> None:
        if not self._gpus_ready:
            count = self.capacity()[2]
            ids = gpu_ids() if count else []
            self._free_gpus = ids[:count] if len(ids) >= count else [str(i) for i in range(count)]
            self._gpus_ready = True

    def _map_ok(self, job: AttemptJob) -> bool:
        lengths = [(name, len(_as_list(job.inputs[name]))) for name in job.mapped]
        bad = [(name, n) for name, n in lengths if n != lengths[0][1]]
        if not bad:
            return True
        message = (
            f"map node '{job.node_id}': mapped inputs have different lengths "
            f"({lengths[0][0]}: {lengths[0][1]}, {bad[0][0]}: {bad[0][1]})"
        )
        now = time.time()
        self._ready.append(AttemptResult(
            execution_id=job.execution_id, node_id=job.node_id, attempt=job.attempt, ok=False,
            error_type="UserCodeError", error_message=message, traceback=message,
            retryable=False, started_at=now, ended_at=now,
        ))
        return False

    # -- dispatch --

    def _pump(self) -> None:
        """Start further chunks of admitted maps while workers and resources allow."""
        for attempt in list(self._attempts.values()):
            while attempt.in_flight() < attempt.concurrency and self._can_start(attempt.job):
                if not self._start_next(attempt):
                    break

    def _start_next(self, attempt: _Attempt) -> bool:
        span = attempt.next_chunk()
        if span is None:
            return False
        job = attempt.job
        gpus = self._free_gpus[: job.gpu]
        del self._free_gpus[: job.gpu]
        self._used_cpu += job.cpu
        self._used_mem += job.mem
        piece = _Piece(attempt, span[0], span[1], gpus)
        attempt.pieces.add(piece)
        try:
            payload = dumps((attempt.chunk_job(*span), attempt.collect, self._env(gpus)))
        except Exception as exc:
            fields = error_fields(exc)
            fields["error_message"] = (
                f"the inputs of task '{attempt.name}' cannot be sent to a worker process: {exc}"
            )
            fields["retryable"] = False
            self._piece_done(piece, self._base(attempt, ok=False, **fields))
            return True
        self._send(piece, payload)
        return True

    def _env(self, gpus: list[str]) -> dict[str, str]:
        return {"CUDA_VISIBLE_DEVICES": ",".join(gpus)} if gpus else {}

    def _send(self, piece: _Piece, payload: bytes, *, fresh: bool = False) -> None:
        worker = self._spawn() if fresh else self._take_worker(",".join(piece.gpu_ids) or None)
        worker.piece = piece
        piece.worker = worker
        if piece.gpu_ids:
            worker.gpus = ",".join(piece.gpu_ids)
        try:
            worker.conn.send_bytes(payload)
        except OSError:
            if fresh:
                self._on_death(worker)
                return
            # It died while idle; the job never reached it: a fresh worker takes it.
            worker.piece = None
            self._pool.workers.remove(worker)
            worker.kill()
            self._send(piece, payload, fresh=True)
            return
        self._payloads[id(piece)] = payload

    def _take_worker(self, gpus: str | None) -> _Worker:
        idle = []
        for w in [w for w in self._pool.workers if w.piece is None]:
            if w.exited():  # died while idle (OOM killer, a stray kill): not the job's fault
                self._pool.workers.remove(w)
                w.kill()
            else:
                idle.append(w)
        if gpus is not None:
            same = [w for w in idle if w.gpus == gpus] or [w for w in idle if w.gpus is None]
            if same:
                return same[0]
            if len(self._pool.workers) >= self.max_parallel and idle:
                self._retire(idle[0])  # CUDA may be initialized there with other devices
        elif idle:
            return idle[0]
        return self._spawn()

    def _spawn(self) -> _Worker:
        pool = self._pool
        if pool.tmpdir is None:
            pool.tmpdir = tempfile.mkdtemp(prefix="rillet-workers-")
            _LIVE_POOLS.add(pool)
            _register_atexit()
        try:
            ctx = multiprocessing.get_context("fork")
        except ValueError:
            raise ExecutorError(
                "the processes executor needs the 'fork' start method (Linux, macOS); "
                "use the inline executor on this platform"
            ) from None
        pool.serial += 1
        log_path = os.path.join(pool.tmpdir, f"worker-{pool.serial}.log")
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        _flush_std()
        process = ctx.Process(  # type: ignore[attr-defined]
            target=_worker_main, args=(child_conn, os.getpid(), log_path),
            name=f"rillet-worker-{pool.serial}",
        )
        process.start()
        child_conn.close()
        pid = process.pid
        if pid is None:  # pragma: no cover - start() always sets it
            raise ExecutorError("could not start a worker process")
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # also here: no window before the child's own call
        worker = _Worker(process, parent_conn, log_path)
        pool.workers.append(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        self._pool.workers.remove(worker)
        if worker.piece is None:
            with contextlib.suppress(OSError):
                worker.conn.send_bytes(_STOP)
            worker.process.join(1)
        worker.kill()

    # -- results --

    def _on_readable(self, worker: _Worker) -> None:
        try:
            data = worker.conn.recv_bytes()
        except (EOFError, OSError):
            self._on_death(worker)
            return
        piece = worker.piece
        worker.piece = None
        if piece is None:
            return
        payload = self._payloads.pop(id(piece), b"")
        try:
            kind, body = pickle.loads(data)
        except Exception as exc:
            kind, body = "stale", error_fields(exc)
        if kind == "stale":
            if not piece.resent and payload:
                piece.resent = True
                self._retire(worker)
                self._send(piece, payload, fresh=True)
                return
            body["retryable"] = False
            result = self._base(piece.attempt, ok=False, pid=worker.pid, **body)
        else:
            result = body
        self._piece_done(piece, result)

    def _check_liveness(self) -> None:
        for worker in list(self._pool.workers):
            if worker.piece is not None and worker.exited():
                if worker.conn.poll():
                    self._on_readable(worker)
                else:
                    self._on_death(worker)

    def _on_death(self, worker: _Worker) -> None:
        """A worker ended without replying: the attempt fails with WorkerDied."""
        piece = worker.piece
        worker.piece = None
        if worker in self._pool.workers:
            self._pool.workers.remove(worker)
        worker.kill()
        if piece is None:
            return
        self._payloads.pop(id(piece), None)
        code = worker.process.exitcode
        how = (
            f"killed by signal {signal.Signals(-code).name}" if code is not None and code < 0
            else f"exit code {code}"
        )
        attempt = piece.attempt
        message = (
            f"the worker process (pid {worker.pid}) running task '{attempt.name}' ended "
            f"without returning a result ({how})"
        )
        self._piece_done(piece, self._base(
            attempt, ok=False, error_type="WorkerDied", error_message=message,
            traceback=message, logs=worker.partial_log(), pid=worker.pid,
        ))
        self._replace()

    def _replace(self) -> None:
        # Keep the pool warm: a fresh worker instead of one that died or was killed.
        if len(self._pool.workers) < self.max_parallel:
            self._spawn()

    def _expire(self) -> None:
        now = time.monotonic()
        for attempt in [a for a in self._attempts.values() if a.deadline <= now]:
            logs: list[str] = []
            pid = None
            for piece in sorted(attempt.pieces, key=lambda p: p.start):
                worker = piece.worker
                if worker is not None and worker.piece is piece:
                    logs.append(worker.partial_log())
                    pid = worker.pid
                    worker.piece = None
                    self._pool.workers.remove(worker)
                    worker.kill()
                    self._replace()
                self._release(piece)
            done_logs = [r.logs for _, r in sorted(attempt.done.items())]
            error = TaskTimeoutError(
                f"task '{attempt.name}' ran past its timeout of {attempt.job.timeout:g}s "
                "and its process was killed"
            )
            fields = error_fields(error)
            fields["traceback"] = str(error)
            self._finish(attempt, self._base(
                attempt, ok=False, logs=clip("".join(done_logs + logs)), pid=pid, **fields,
            ))

    def _release(self, piece: _Piece) -> None:
        attempt = piece.attempt
        if piece in attempt.pieces:
            attempt.pieces.discard(piece)
            self._used_cpu = max(0.0, self._used_cpu - attempt.job.cpu)
            self._used_mem = max(0, self._used_mem - attempt.job.mem)
            self._free_gpus.extend(piece.gpu_ids)
            self._payloads.pop(id(piece), None)

    def _piece_done(self, piece: _Piece, result: AttemptResult) -> None:
        self._release(piece)
        attempt = piece.attempt
        if id(attempt) not in self._attempts:
            return  # finished already (timed out)
        if not attempt.is_map:
            self._finish(attempt, result)
            return
        attempt.done[piece.start] = result
        if not result.ok:
            if attempt.failure is None:
                attempt.failure = result
        elif attempt.collect and isinstance(result.outputs, ChunkOutcome):
            outcome = result.outputs
            attempt.failed += outcome.failed
            if outcome.first_error is not None and (
                attempt.first_error is None or piece.start < attempt.first_error[0]
            ):
                attempt.first_error = (piece.start, outcome.first_error)
        if attempt.in_flight() == 0 and (
            attempt.failure is not None or attempt.next_start >= attempt.total
        ):
            self._finish(attempt, self._assemble(attempt))

    def _assemble(self, attempt: _Attempt) -> AttemptResult:
        """One result for a map job from the results of its chunks, in order."""
        chunks = [r for _, r in sorted(attempt.done.items())]
        pids = {r.pid for r in chunks}
        extra: dict[str, Any] = dict(
            logs=clip("".join(r.logs for r in chunks)),
            params=[p for r in chunks for p in r.params],
            metrics=[m for r in chunks for m in r.metrics],
            pid=pids.pop() if len(pids) == 1 else None,
        )
        failure = attempt.failure
        if failure is not None:
            return self._base(
                attempt, ok=False, error_type=failure.error_type,
                error_message=failure.error_message, traceback=failure.traceback,
                timed_out=failure.timed_out, retryable=failure.retryable, **extra,
            )
        values: list[Any] = []
        for r in chunks:
            values.extend(r.outputs.values if isinstance(r.outputs, ChunkOutcome) else r.outputs)
        if attempt.collect:
            first = attempt.first_error[1] if attempt.first_error else None
            stand_in = type(first[0], (Exception,), {})(first[1]) if first else None
            try:
                check_map_ratio(
                    attempt.job.node_id, attempt.total, attempt.failed,
                    attempt.job.min_success_ratio, stand_in,
                )
            except UserCodeError as exc:
                tb = f"{first[2]}\n" if first else ""
                return self._base(
                    attempt, ok=False, error_type="UserCodeError", error_message=str(exc),
                    traceback=f"{tb}UserCodeError: {exc}", **extra,
                )
        return self._base(attempt, ok=True, outputs=values, **extra)

    def _finish(self, attempt: _Attempt, result: AttemptResult) -> None:
        self._attempts.pop(id(attempt), None)
        self._ready.append(result)

    def _base(self, attempt: _Attempt, **fields: Any) -> AttemptResult:
        job = attempt.job
        fields.setdefault("started_at", attempt.admitted_at)
        fields.setdefault("ended_at", time.time())
        return AttemptResult(
            execution_id=job.execution_id, node_id=job.node_id, attempt=job.attempt, **fields
        )


def _flush_std() -> None:
    # Unflushed buffers would be written twice: by the parent and by the child.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()


def _describe(cpu: float, mem: int, gpu: int) -> str:
    return f"cpu={cpu:g}, mem={_size(mem)}, gpu={gpu}"


def _size(n: int) -> str:
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n >= size:
            return f"{n / size:.4g}{unit}"
    return str(n)

