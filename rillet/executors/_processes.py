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

import contextlib
import dataclasses
import math
import multiprocessing.connection
import os
import pickle
import time
import weakref
from typing import Any

from rillet.engine._direct import check_map_ratio, unequal_lengths
from rillet.engine._protocols import AttemptJob, AttemptResult, MetricListener, MetricPoint
from rillet.errors import ExecutorError, TaskTimeoutError, UserCodeError
from rillet.executors._capacity import gpu_ids, machine_capacity
from rillet.executors._run import ChunkOutcome, clip, error_fields
from rillet.executors._worker import Pool, Worker, dumps

_LIVENESS_S = 1.0  # how often busy workers are checked for a silent death
_EPS = 1e-9


class _Piece:
    """One message in flight on a worker: a whole attempt or one chunk of a map."""

    __slots__ = ("attempt", "gpu_ids", "payload", "read", "resent", "start", "streamed",
                 "worker")

    def __init__(self, attempt: _Attempt, start: int, gpus: list[str]) -> None:
        self.attempt = attempt
        self.start = start  # the index of its first element (its chunk's key)
        self.gpu_ids = gpus
        self.payload = b""  # kept until the reply, to resend once if a worker is stale
        self.resent = False
        self.worker: Worker | None = None
        self.streamed: list[tuple[str, float, int | None, float]] = []  # live metrics
        self.read = 0  # bytes of its worker's log already handed to poll_output


class _Attempt:
    """An admitted job until its result is ready; for a map, the state of its chunks."""

    def __init__(self, job: AttemptJob, workers: int) -> None:
        self.job = job
        self.name = str(getattr(job.task, "name", None) or job.task)
        self.admitted_at = time.time()
        self.deadline = time.monotonic() + job.timeout if job.timeout else math.inf
        self.pieces: set[_Piece] = set()
        self.is_map = bool(job.mapped)
        self.collect = self.is_map and job.min_success_ratio < 1.0
        self.concurrency = (job.concurrency or workers) if self.is_map else 1
        self.spread = max(1, min(self.concurrency, workers))  # chunks running at once
        self.columns = [_as_list(job.inputs[name]) for name in job.mapped]
        self.fixed = b""  # the map's unmapped inputs, pickled once for all its chunks
        self.total = len(self.columns[0]) if self.columns else 1
        self.next_start = 0
        self.done: dict[int, AttemptResult] = {}  # chunk results by start index
        self.failure: AttemptResult | None = None
        self.failed = 0
        self.first_error: tuple[int, tuple[str, str, str]] | None = None

    def next_chunk(self, even: bool = False) -> tuple[int, int] | None:
        """The next chunk's (start, stop): guided (big first, small last: a pool of warm
        workers balances its load with the small ones), or ``even``: two equal chunks per
        slot (a cluster, where each chunk is a task of its own and costs a round trip)."""
        if self.failure is not None or self.next_start >= self.total:
            return None
        if not self.is_map:
            self.next_start = 1
            return 0, 1
        left = self.total if even else self.total - self.next_start
        size = max(1, math.ceil(left / (2 * self.spread)))
        start = self.next_start
        self.next_start += size
        return start, start + size

    def message(self, start: int, stop: int, env: dict[str, str]) -> bytes:
        """What a worker is sent: ``(job, pickled fixed inputs, collect, env)``."""
        job = self.job
        if not self.is_map:
            return dumps((job, b"", False, env))
        if not self.fixed and len(job.inputs) > len(job.mapped):
            self.fixed = dumps({k: v for k, v in job.inputs.items() if k not in job.mapped})
        inputs = {
            name: column[start:stop]
            for name, column in zip(job.mapped, self.columns, strict=True)
        }
        indices = job.map_indices
        chunk = dataclasses.replace(job, inputs=inputs, map_offset=start,
                                    map_indices=None if indices is None else indices[start:stop])
        return dumps((chunk, self.fixed, self.collect, env))

    def add_chunk(self, start: int, result: AttemptResult) -> bool:
        """Record one chunk's result; True when the map has its final result."""
        self.done[start] = result
        if not result.ok:
            self.failure = self.failure or result  # ratio 1: no further chunks start
        elif self.collect and isinstance(result.outputs, ChunkOutcome):
            outcome = result.outputs
            self.failed += outcome.failed
            if outcome.first_error is not None and (
                self.first_error is None or start < self.first_error[0]
            ):
                self.first_error = (start, outcome.first_error)
        return not self.pieces and (self.failure is not None or self.next_start >= self.total)

    def assemble(self) -> AttemptResult:
        """One result for the map from the results of its chunks, in element order."""
        chunks = [r for _, r in sorted(self.done.items())]
        pids = {r.pid for r in chunks}
        extra: dict[str, Any] = dict(
            logs=clip("".join(r.logs for r in chunks)),
            params=[p for r in chunks for p in r.params],
            metrics=[m for r in chunks for m in r.metrics],
            pid=pids.pop() if len(pids) == 1 else None,
            element_errors=[e for r in chunks if isinstance(r.outputs, ChunkOutcome)
                            for e in r.outputs.errors],
        )
        failure = self.failure
        if failure is not None:
            return self.result(element_values=self.finished_elements(),
                ok=False, error_type=failure.error_type, error_message=failure.error_message,
                traceback=failure.traceback, timed_out=failure.timed_out,
                retryable=failure.retryable, **extra,
            )
        values: list[Any] = []
        for r in chunks:
            values.extend(r.outputs.values if isinstance(r.outputs, ChunkOutcome) else r.outputs)
        if self.collect:
            first = self.first_error[1] if self.first_error else None
            stand_in = type(first[0], (Exception,), {})(first[1]) if first else None
            try:
                check_map_ratio(
                    self.job.node_id, self.total, self.failed, self.job.min_success_ratio, stand_in
                )
            except UserCodeError as exc:
                tb = f"{first[2]}\n" if first else ""
                return self.result(
                    ok=False, error_type="UserCodeError", error_message=str(exc),
                    traceback=f"{tb}UserCodeError: {exc}",
                    element_values=self.finished_elements(), **extra,
                )
        return self.result(ok=True, outputs=values, **extra)

    def timed_out(self, running_logs: list[str], pid: int | None) -> AttemptResult:
        done_logs = [r.logs for _, r in sorted(self.done.items())]
        error = TaskTimeoutError(
            f"task '{self.name}' ran past its timeout of {self.job.timeout:g}s "
            "and its process was killed"
        )
        fields = error_fields(error)
        fields["traceback"] = str(error)
        return self.result(ok=False, logs=clip("".join(done_logs + running_logs)), pid=pid,
                           element_values=self.finished_elements(), **fields)

    def finished_elements(self) -> list[tuple[int, Any]]:
        """(index, value) of each element that succeeded in the chunks ended so far: what
        a map attempt that failed, timed out or was stopped keeps."""
        out: list[tuple[int, Any]] = []
        if not self.is_map:
            return out
        for start, r in sorted(self.done.items()):
            out.extend(self.chunk_elements(start, r))
        return out

    def chunk_elements(self, start: int, r: AttemptResult) -> list[tuple[int, Any]]:
        """(index, value) of each element that succeeded in the chunk at ``start``."""
        if not r.ok:
            return r.element_values
        if isinstance(r.outputs, ChunkOutcome):
            failed = {e[0] for e in r.outputs.errors}
            return [(i, v) for i, v in zip(self._indices(start, len(r.outputs.values)),
                                           r.outputs.values, strict=True) if i not in failed]
        if isinstance(r.outputs, list):
            return list(zip(self._indices(start, len(r.outputs)), r.outputs, strict=True))
        return []

    def _indices(self, start: int, n: int) -> range | tuple[int, ...]:
        indices = self.job.map_indices
        return range(start, start + n) if indices is None else indices[start:start + n]

    def result(self, **fields: Any) -> AttemptResult:
        job = self.job
        fields.setdefault("started_at", self.admitted_at)
        fields.setdefault("ended_at", time.time())
        return AttemptResult(
            execution_id=job.execution_id, node_id=job.node_id, attempt=job.attempt, **fields
        )


def unequal_map(job: AttemptJob) -> AttemptResult | None:
    """The failed result (never retried) of a map whose mapped inputs differ in length;
    None for any other job."""
    message = unequal_lengths(job.node_id, job.inputs, job.mapped) if job.mapped else None
    if message is None:
        return None
    return _Attempt(job, 1).result(ok=False, error_type="UserCodeError", error_message=message,
                                   traceback=message, retryable=False)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else list(value)


class ProcessExecutor:
    """Executor over a pool of warm worker processes with resource admission."""

    name = "processes"
    # Workers are on this machine and read the store: a value the engine did not compute
    # is sent by reference and decoded by the worker that runs the task.
    reads_stored_inputs = True

    def __init__(
        self, max_parallel: int | None = None, *, capacity: tuple[float, int, int] | None = None
    ) -> None:
        if max_parallel is not None and max_parallel < 1:
            raise ExecutorError(f"ProcessExecutor(max_parallel={max_parallel!r}): must be >= 1")
        self._capacity = capacity
        self._max_parallel = max_parallel
        self._pool = Pool()
        self._attempts: dict[int, _Attempt] = {}  # admission order
        self._ready: list[AttemptResult] = []
        self._used_cpu = 0.0
        self._used_mem = 0
        self._free_gpus: list[str] | None = None
        self._listener: MetricListener | None = None
        self._output: list[tuple[str, int, str]] = []
        self._collecting = False  # poll_output was called: keep output for the next call
        self._elements: list[tuple[AttemptJob, list[tuple[int, Any]]]] = []
        self._keeping = False  # poll_elements was called: keep finished chunks' elements
        weakref.finalize(self, self._pool.close)

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
        unequal = unequal_map(job)
        if unequal is not None:
            self._ready.append(unequal)
            return True
        if not self._can_start(job):
            return False
        attempt = _Attempt(job, self.max_parallel)
        self._attempts[id(attempt)] = attempt
        if attempt.total == 0:
            self._finish(attempt, attempt.result(ok=True, outputs=[]))
            return True
        self._start_next(attempt)
        self._pump()
        return True

    def wait(self, timeout: float | None) -> list[AttemptResult]:
        end = math.inf if timeout is None else time.monotonic() + timeout
        while not self._ready:
            busy: dict[Any, Worker] = {}
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
                self._on_ready(worker)
            for worker in list(self._pool.workers):
                if worker.piece is not None and worker.exited():
                    self._on_ready(worker)
            self._expire()
            self._pump()
            if time.monotonic() >= end:
                break
        ready_results, self._ready = self._ready, []
        return ready_results

    def poll_output(self) -> list[tuple[str, int, str]]:
        """What running (and just finished) attempts printed since the last call:
        (node id, attempt, text) each, read from their workers' log files. Nothing is
        kept before the first call (an engine that writes no log file never calls it)."""
        self._collecting = True
        for w in self._pool.workers:
            if w.piece is not None:
                self._read_output(w, w.piece)
        out, self._output = self._output, []
        return out

    def poll_elements(self) -> list[tuple[AttemptJob, list[tuple[int, Any]]]]:
        """The elements of running maps whose chunks succeeded since the last call: (the
        map's job, [(index, value), ...]) each. Nothing is kept before the first call."""
        self._keeping = True
        out, self._elements = self._elements, []
        return out

    def _read_output(self, worker: Worker, piece: _Piece) -> None:
        if not self._collecting:
            return
        try:
            fd = worker.log.fileno()
            size = os.fstat(fd).st_size
            if size <= piece.read:
                return
            data = os.pread(fd, size - piece.read, piece.read)
        except (OSError, ValueError):
            return
        piece.read += len(data)
        job = piece.attempt.job
        self._output.append((job.node_id, job.attempt, data.decode("utf-8", "replace")))

    def running(self) -> int:
        """Admitted attempts whose result ``wait`` has not returned yet."""
        return len(self._attempts) + len(self._ready)

    def shutdown(self) -> None:
        """Stop every worker (killing running attempts); safe to call again. A later
        ``submit`` starts fresh workers."""
        self._pool.close()
        self._attempts.clear()
        self._ready.clear()
        self._elements.clear()
        self._used_cpu, self._used_mem = 0.0, 0
        self._free_gpus = None

    def listen(self, listener: MetricListener | None) -> None:
        self._listener = listener

    def stop(self, execution_id: str, node_id: str, reason: str) -> None:
        """SIGKILL the process group of each worker running that node's attempt; its
        result (``stopped=True``) has the metrics streamed until then."""
        for attempt in list(self._attempts.values()):
            job = attempt.job
            if job.execution_id == execution_id and job.node_id == node_id:
                logs, pid, streamed, killed = self._kill_pieces(attempt)
                ended = time.time()  # its processes are gone (reaped); replacements next
                self._finish(attempt, attempt.result(
                    ok=False, stopped=True, retryable=False, error_type="AttemptStopped",
                    error_message=reason, traceback=reason, logs=clip("".join(logs)), pid=pid,
                    metrics=streamed, ended_at=ended, element_values=attempt.finished_elements()))
                self._refill(killed)

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

    def _can_start(self, job: AttemptJob) -> bool:
        cpu, mem, _ = self.capacity()
        if (
            self._used_cpu + job.cpu > cpu + _EPS
            or self._used_mem + job.mem > mem
            or len(self._gpus()) < job.gpu
        ):
            return False
        workers = self._pool.workers
        return len(workers) < self.max_parallel or any(w.piece is None for w in workers)

    def _gpus(self) -> list[str]:
        if self._free_gpus is None:
            count = self.capacity()[2]
            ids = gpu_ids() if count else []
            self._free_gpus = ids[:count] if len(ids) >= count else [str(i) for i in range(count)]
        return self._free_gpus

    # -- dispatch --

    def _pump(self) -> None:
        """Start further chunks of admitted maps while workers and resources allow."""
        for attempt in list(self._attempts.values()):
            while len(attempt.pieces) < attempt.concurrency and self._can_start(attempt.job):
                if not self._start_next(attempt):
                    break

    def _start_next(self, attempt: _Attempt) -> bool:
        span = attempt.next_chunk()
        if span is None:
            return False
        job = attempt.job
        free = self._gpus()
        gpus, free[: job.gpu] = free[: job.gpu], []
        self._used_cpu += job.cpu
        self._used_mem += job.mem
        piece = _Piece(attempt, span[0], gpus)
        attempt.pieces.add(piece)
        env = {"CUDA_VISIBLE_DEVICES": ",".join(gpus)} if gpus else {}
        try:
            piece.payload = attempt.message(*span, env)
        except Exception as exc:
            fields = error_fields(exc)
            fields["error_message"] = (
                f"the inputs of task '{attempt.name}' cannot be sent to a worker process: {exc}"
            )
            fields["retryable"] = False
            self._piece_done(piece, attempt.result(ok=False, **fields))
            return True
        self._send(piece)
        return True

    def _send(self, piece: _Piece, *, fresh: bool = False) -> None:
        worker = self._pool.spawn() if fresh else self._take_worker(piece.gpu_ids)
        worker.piece = piece
        piece.worker = worker
        piece.read = 0
        if self._collecting:
            with contextlib.suppress(OSError, ValueError):
                os.ftruncate(worker.log.fileno(), 0)  # poll_output reads this attempt's only
        if piece.gpu_ids:
            worker.gpus = ",".join(piece.gpu_ids)
        try:
            worker.conn.send_bytes(piece.payload)
        except OSError:
            if fresh:
                self._on_death(worker)
            else:  # it died while idle; the job never reached it: a fresh worker takes it
                worker.piece = None
                self._pool.drop(worker)
                self._send(piece, fresh=True)

    def _take_worker(self, gpu_ids: list[str]) -> Worker:
        idle = []
        for w in [w for w in self._pool.workers if w.piece is None]:
            if w.exited():  # died while idle (OOM killer, a stray kill): not the job's fault
                self._pool.drop(w)
            else:
                idle.append(w)
        if not gpu_ids:
            return idle[0] if idle else self._pool.spawn()
        # Prefer a worker that used the same GPUs or none: CUDA may be set up already.
        gpus = ",".join(gpu_ids)
        same = [w for w in idle if w.gpus == gpus] or [w for w in idle if w.gpus is None]
        if same:
            return same[0]
        if len(self._pool.workers) >= self.max_parallel and idle:
            self._pool.drop(idle[0])
        return self._pool.spawn()

    # -- results --

    def _on_ready(self, worker: Worker) -> None:
        """The worker replied or ended."""
        piece = worker.piece
        if piece is None:
            return
        try:
            if not worker.conn.poll():
                if worker.exited():
                    self._on_death(worker)
                return
            data = worker.conn.recv_bytes()
        except (EOFError, OSError):  # its end of the pipe closed: it is gone
            self._on_death(worker)
            return
        try:
            kind, body = pickle.loads(data)
        except Exception as exc:
            kind, body = "stale", error_fields(exc)
        if kind == "metric":  # the attempt runs on; a listener may stop it
            piece.streamed.append(body)
            if self._listener is not None:
                self._listener(piece.attempt.job, *body)
            return
        self._read_output(worker, piece)  # the rest of what it printed
        worker.piece = None
        if kind == "stale":
            if not piece.resent:
                piece.resent = True
                self._pool.drop(worker)
                self._send(piece, fresh=True)  # forked now, it knows the task
                return
            body["retryable"] = False
            body = piece.attempt.result(ok=False, pid=worker.pid, **body)
        self._piece_done(piece, body)

    def _on_death(self, worker: Worker) -> None:
        """A worker ended without replying: its attempt fails with WorkerDied."""
        piece = worker.piece
        if piece is not None:
            self._read_output(worker, piece)
        worker.piece = None
        if worker in self._pool.workers:
            self._pool.workers.remove(worker)
        logs = worker.partial_log()
        worker.kill()
        if piece is None:
            return
        attempt = piece.attempt
        message = (
            f"the worker process (pid {worker.pid}) running task '{attempt.name}' ended "
            f"without returning a result ({worker.exit_description()})"
        )
        self._piece_done(piece, attempt.result(
            ok=False, error_type="WorkerDied", error_message=message, traceback=message,
            logs=logs, pid=worker.pid,
        ))
        self._replace()

    def _replace(self) -> None:
        # Keep the pool warm: a fresh worker instead of one that died or was killed.
        if len(self._pool.workers) < self.max_parallel:
            self._pool.spawn()

    def _refill(self, killed: int) -> None:
        """Fresh workers for those just killed (after their result is timed)."""
        for _ in range(killed):
            self._replace()

    def _expire(self) -> None:
        now = time.monotonic()
        for attempt in [a for a in self._attempts.values() if a.deadline <= now]:
            logs, pid, _, killed = self._kill_pieces(attempt)
            self._finish(attempt, attempt.timed_out(logs, pid))
            self._refill(killed)

    def _kill_pieces(
        self, attempt: _Attempt
    ) -> tuple[list[str], int | None, list[MetricPoint], int]:
        """SIGKILL the workers running ``attempt``; their logs, last pid, streamed metrics
        and how many were killed (replaced by the caller once the result is timed)."""
        logs: list[str] = []
        pid = None
        killed = 0
        streamed = [m for _, r in sorted(attempt.done.items()) for m in r.metrics]
        for piece in sorted(attempt.pieces, key=lambda p: p.start):
            worker = piece.worker
            if worker is not None and worker.piece is piece:
                self._read_output(worker, piece)
                logs.append(worker.partial_log())
                pid = worker.pid
                self._pool.drop(worker)  # SIGKILL to its process group
                worker.piece = None
                killed += 1
            streamed.extend(piece.streamed)
            self._release(piece)
        return logs, pid, streamed, killed

    def _release(self, piece: _Piece) -> None:
        attempt = piece.attempt
        if piece in attempt.pieces:
            attempt.pieces.discard(piece)
            self._used_cpu = max(0.0, self._used_cpu - attempt.job.cpu)
            self._used_mem = max(0, self._used_mem - attempt.job.mem)
            self._gpus().extend(piece.gpu_ids)
            piece.payload = b""

    def _piece_done(self, piece: _Piece, result: AttemptResult) -> None:
        self._release(piece)
        attempt = piece.attempt
        if id(attempt) not in self._attempts:
            return  # finished already (timed out)
        if not attempt.is_map:
            self._finish(attempt, result)
            return
        if self._keeping and result.ok:
            self._elements.append((attempt.job, attempt.chunk_elements(piece.start, result)))
        if attempt.add_chunk(piece.start, result):
            self._finish(attempt, attempt.assemble())

    def _finish(self, attempt: _Attempt, result: AttemptResult) -> None:
        self._attempts.pop(id(attempt), None)
        self._ready.append(result)


def _describe(cpu: float, mem: int, gpu: int) -> str:
    return f"cpu={cpu:g}, mem={_size(mem)}, gpu={gpu}"


def _size(n: int) -> str:
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n >= size:
            return f"{n / size:.4g}{unit}"
    return str(n)
