"""The Ray executor: each attempt (or each batch of a map's elements) is one Ray task.

``ray`` is imported only when this executor is first used (``rillet[ray]``). It
connects to ``address`` (default ``$RAY_ADDRESS``), else starts a local Ray for
this process and stops it at ``shutdown``. A job's declared ``cpu``/``mem``/``gpu``
(and ``Resources(custom=...)``) become the Ray task's ``num_cpus``/``memory``/
``num_gpus``/``resources``; Ray places it on a node that has them. The driver
keeps the deadlines: a timed-out attempt is cancelled with ``force=True`` and
fails with ``TaskTimeoutError``; a Ray task lost with its node fails with
``WorkerDied`` (the engine retries it, Ray places the retry on a live node).
Ray never retries by itself (``max_retries=0``): one job is one rillet attempt.
Outputs come back to the driver, which records them in the artifact store as
with every executor. What a task prints, and the metrics a ``live_metrics`` job logs,
reach the driver while it runs once it has run ``STREAM_AFTER`` seconds
(``_raystream``: ``poll_output`` and ``listen``, as on the process executor); ``stop``
cancels a running attempt's Ray task. Call ``submit``/``wait`` from one thread.

What one attempt costs the driver is kept near a bare ``ray.remote`` call: the Ray
task's options are built once per set of requests (not per attempt), the cluster's
nodes are read once per ``NODES_FRESH`` seconds (again at once when a job fits none
of them, or a Ray task was lost with its node), and ``wait`` blocks in one
``ray.wait`` on the running tasks' refs. A map goes out as two even batches per slot
of the cluster; the elements of each batch that succeeded are told to the engine
(``poll_elements``), which records them, so a killed driver keeps finished batches.
"""

from __future__ import annotations

import codecs
import contextlib
import itertools
import math
import os
import pickle
import socket
import sys
import tempfile
import time
import uuid
from typing import Any

from rillet.engine._protocols import AttemptJob, AttemptResult, MetricListener, MetricPoint
from rillet.errors import ExecutorError, TaskTimeoutError
from rillet.executors._processes import _Attempt, _describe, unequal_map
from rillet.executors._raystream import STREAM_AFTER, STREAM_EVERY, STREAMER, Mail, start_mailbox
from rillet.executors._run import LOG_LIMIT, clip, error_fields, run_attempt
from rillet.executors._worker import attempt_environ, dumps, load_message, unsendable

_EPS = 1e-9
NODES_FRESH = 10.0  # s the driver trusts its view of the cluster's nodes
_LOCAL = {"owned": False, "users": 0}  # a local Ray this process started, and its users
_LOG: list[Any] = []  # in a Ray worker: the file its attempts' output goes to, one by one


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            "executor 'ray' needs Ray: pip install 'rillet[ray]'"
        ) from None
    return ray


def run_remote(payload: bytes) -> bytes:
    """What one Ray task runs: one attempt or one chunk of a map, on whatever node.
    A payload that ``streamed_payload`` framed names a mailbox: an attempt that runs
    long streams to it (``_raystream``); the reply says whether it did: ``(kind, body,
    host, streamed)``. (One argument: each argument of a Ray task costs the driver and
    the worker a serialization of its own, ~0.15 ms per chain step for two more.)"""
    token, mailbox, message = _unframe(payload)
    try:
        job, collect, env = load_message(message)
    except BaseException as exc:
        fields = error_fields(exc)
        fields["retryable"] = False
        return dumps(("failed", fields, socket.gethostname(), False))
    streamed = False
    with attempt_environ(env, os.getcwd()):
        fd = _log_fd()
        if mailbox:
            STREAMER.begin(token, mailbox, fd)
        try:
            result = run_attempt(job, capture="fd", apply_timeout=False, log_fd=fd,
                                 collect_failures=collect,
                                 live=STREAMER.metric if mailbox else None)
        finally:
            if mailbox:
                streamed = STREAMER.end()
    try:
        return dumps(("result", result, socket.gethostname(), streamed))
    except Exception as exc:
        return dumps(("result", unsendable(job, result, exc, "the Ray worker"),
                      socket.gethostname(), streamed))


_FRAMED = b"S"  # a message made by _Attempt.message is a pickle: it starts with b"\x80"


def streamed_payload(message: bytes, token: int, mailbox: str) -> bytes:
    """``message`` with the token and mailbox of a piece that may stream, in front."""
    return b"%s%d %s\n%s" % (_FRAMED, token, mailbox.encode(), message)


def _unframe(payload: bytes) -> tuple[int, str, bytes]:
    """(token, mailbox, message) of a payload (0, "", payload when not framed)."""
    if payload[:1] != _FRAMED:
        return 0, "", payload
    end = payload.index(b"\n")
    token, mailbox = payload[1:end].split(b" ", 1)
    return int(token), mailbox.decode(), payload[end + 1:]


def _log_fd() -> int:
    """The output file of this Ray worker, made once (each attempt truncates it)."""
    if not _LOG or _LOG[0].closed:
        _LOG[:] = [tempfile.TemporaryFile()]  # noqa: SIM115 (open for the worker's life)
    return int(_LOG[0].fileno())


def node_capacities(ray: Any) -> list[dict[str, float]]:
    """The resources of each live node of the connected cluster."""
    return [dict(n.get("Resources", {})) for n in ray.nodes() if n.get("Alive")]


def custom_of(task: Any) -> dict[str, float]:
    res = getattr(task, "requests", None)
    return dict(getattr(res, "custom", None) or ())


def runtime_env_of(task: Any) -> dict[str, Any] | None:
    """The Ray ``runtime_env`` of a task's ``environment`` (its pip packages), or None.

    Ray runs every task with the cluster's Python; a task asking for another version
    is refused rather than run on the wrong one."""
    env = getattr(task, "environment", None)
    if env is None:
        return None
    if not env.runs_here():
        raise ExecutorError(
            f"task '{getattr(task, 'name', task)}' asks for Python {env.python_version}, but "
            f"executor 'ray' runs tasks with the cluster's Python "
            f"({'.'.join(map(str, sys.version_info[:3]))}); drop python_version or run a "
            "cluster on that version")
    if not env.packages:
        return None
    return {"pip": {"packages": list(env.packages), "pip_check": False}}


class _Piece:
    """One Ray task in flight: a whole attempt or one chunk of a map."""

    __slots__ = ("attempt", "decoder", "metrics", "start", "started", "text", "token")

    def __init__(self, attempt: _Attempt, start: int, token: int) -> None:
        self.attempt = attempt
        self.start = start  # the index of its first element (its chunk's key)
        self.token = token  # its name in the mailbox's messages (0: it does not stream)
        self.started = time.monotonic()
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.text: list[str] = []  # what it printed, as streamed (for a stop or timeout)
        self.metrics: list[MetricPoint] = []  # the metrics it streamed

    def keep(self, text: str) -> None:
        if sum(map(len, self.text)) < LOG_LIMIT:
            self.text.append(text)


class RayExecutor:
    """Executor over a Ray cluster (an existing one, or a local one it starts)."""

    name = "ray"

    def __init__(self, address: str | None = None, max_parallel: int | None = None) -> None:
        if max_parallel is not None and max_parallel < 1:
            raise ExecutorError(f"RayExecutor(max_parallel={max_parallel!r}): must be >= 1")
        self._address = address
        self._max_parallel = max_parallel
        self._started = False  # whether this executor started (and so stops) Ray
        self._remotes: dict[tuple[Any, ...], Any] = {}  # options -> Ray remote function
        self._nodes: list[dict[str, float]] | None = None
        self._nodes_at = 0.0
        self._keeping = False  # whether the engine polls finished map elements
        self._elements: list[tuple[_Attempt, int, AttemptResult]] = []  # batches ended
        self._pieces: dict[Any, _Piece] = {}  # ObjectRef -> its piece
        self._attempts: dict[int, _Attempt] = {}
        self._ready: list[AttemptResult] = []
        # live output and metrics (_raystream)
        self._listener: MetricListener | None = None
        self._output: list[tuple[str, int, str]] = []
        self._collecting = False  # poll_output was called: keep output for the next call
        self._mailbox_name = f"rillet-mailbox-{uuid.uuid4().hex}"
        self._mailbox: Any = None  # its actor, made once an attempt runs STREAM_AFTER s
        self._take: Any = None  # the ObjectRef of the mailbox's ``take`` in flight
        self._take_at = 0.0  # when the next ``take`` is due
        self._tokens = itertools.count(1)
        self._streams: dict[int, _Piece] = {}  # token -> a piece that may stream

    # -- the cluster --

    def connect(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            address = self._address or os.environ.get("RAY_ADDRESS") or None
            opts: dict[str, Any] = dict(log_to_driver=False, include_dashboard=False,
                                        configure_logging=False)
            if address:
                ray.init(address=address, **opts)
            else:
                from rillet.executors._capacity import cpu_capacity

                ray.init(num_cpus=max(1, int(cpu_capacity())), **opts)
                _LOCAL["owned"] = True
        if _LOCAL["owned"] and not self._started:
            self._started = True  # one more user of the local Ray (several executors share it)
            _LOCAL["users"] += 1
        return ray

    def nodes(self, fresh: bool = True) -> list[dict[str, float]]:
        """Resources of each live node (``CPU``, ``memory`` in bytes, ``GPU``, custom);
        ``fresh=False`` accepts a view read less than ``NODES_FRESH`` seconds ago."""
        now = time.monotonic()
        if fresh or self._nodes is None or now - self._nodes_at > NODES_FRESH:
            self._nodes, self._nodes_at = node_capacities(self.connect()), now
        return self._nodes

    def capacity(self) -> tuple[float, int, int]:
        total = self.connect().cluster_resources()
        return (float(total.get("CPU", 0.0)), int(total.get("memory", 0)),
                int(total.get("GPU", 0)))

    @property
    def max_parallel(self) -> int:
        if self._max_parallel is None:
            self._max_parallel = max(1, int(self.capacity()[0] + _EPS))
        return self._max_parallel

    # -- Executor protocol --

    def submit(self, job: AttemptJob) -> bool:
        ray = self.connect()
        self.refuse_unplaceable(job)
        if len(self._pieces) >= self.max_parallel:
            return False
        unequal = unequal_map(job)
        if unequal is not None:
            self._ready.append(unequal)
            return True
        attempt = _Attempt(job, self.max_parallel)
        self._attempts[id(attempt)] = attempt
        if attempt.total == 0:
            self._finish(attempt, attempt.result(ok=True, outputs=[]))
            return True
        self._start_chunks(ray, attempt)
        return True

    def wait(self, timeout: float | None) -> list[AttemptResult]:
        ray = self.connect()
        end = math.inf if timeout is None else time.monotonic() + timeout
        while not self._ready:
            now = time.monotonic()
            if not self._pieces:
                if timeout and end > now:
                    time.sleep(end - now)
                return []
            nearest = min((a.deadline for a in self._attempts.values()), default=math.inf)
            limit = min(end, nearest, now + 1.0)
            if self._streams:
                limit = min(limit, self._mail_due(ray, now))
            refs = list(self._pieces)
            if self._take is not None:
                refs.append(self._take)
            done, _ = ray.wait(refs, num_returns=1, timeout=max(0.0, limit - now))
            if done and len(refs) > 1:  # and all the others that are done by now
                done, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            for ref in done:
                if ref in self._pieces:
                    self._on_done(ray, ref)
                elif self._take is not None and ref == self._take:
                    self._take_mail(ray)
            self._expire(ray)
            if time.monotonic() >= end:
                break
        ready, self._ready = self._ready, []
        return ready

    def poll_output(self) -> list[tuple[str, int, str]]:
        """What running (and just finished) attempts printed since the last call: (node
        id, attempt, text) each; a running one's once it has run ``STREAM_AFTER`` s.
        Nothing is kept before the first call (an engine that writes no log file never
        calls it), and attempts submitted before it do not stream."""
        self._collecting = True
        out, self._output = self._output, []
        return out

    def listen(self, listener: MetricListener | None) -> None:
        """Call ``listener`` (from inside ``wait``) with each metric a ``live_metrics``
        job logs: while it runs once it has run ``STREAM_AFTER`` s, else as it ends."""
        self._listener = listener

    def stop(self, execution_id: str, node_id: str, reason: str) -> None:
        """Cancel the Ray tasks of that node's running attempt (``force=True``: their
        worker processes end); its result (``stopped=True``) has the metrics and the
        output streamed until then."""
        for attempt in list(self._attempts.values()):
            job = attempt.job
            if job.execution_id == execution_id and job.node_id == node_id:
                logs, streamed = self._so_far(attempt)
                self._cancel(attempt)
                self._finish(attempt, attempt.result(
                    ok=False, stopped=True, retryable=False, error_type="AttemptStopped",
                    error_message=reason, traceback=reason, logs=clip(logs),
                    metrics=streamed, element_values=attempt.finished_elements()))

    def running(self) -> int:
        return len(self._attempts) + len(self._ready)

    def poll_elements(self) -> list[tuple[AttemptJob, list[tuple[int, Any]]]]:
        """The elements of running maps whose batches succeeded since the last call: (the
        map's job, [(index, value), ...]) each. Nothing is kept before the first call;
        the batches of a map that has ended are left out (its result has them all)."""
        self._keeping = True
        ended, self._elements = self._elements, []
        return [(a.job, a.chunk_elements(start, r)) for a, start, r in ended
                if id(a) in self._attempts]

    def shutdown(self) -> None:
        """Cancel running Ray tasks; stop Ray when this executor started it. When this
        process is no longer connected (``ray.shutdown()`` came first, e.g. at exit),
        nothing is asked of Ray: a call would connect again (Ray's auto-init) and wait
        for a cluster that may be gone."""
        ray = _ray() if self._pieces or self._started or self._mailbox is not None else None
        live = ray is not None and bool(ray.is_initialized())
        if ray is not None and live:
            for ref in list(self._pieces):
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
            if self._mailbox is not None:
                with contextlib.suppress(Exception):
                    ray.kill(self._mailbox)
        self._mailbox = self._take = None
        self._pieces.clear()
        self._streams.clear()
        self._output.clear()
        self._attempts.clear()
        self._ready.clear()
        self._elements.clear()
        self._nodes = None
        if ray is not None and self._started:
            self._started = False
            self._remotes.clear()
            _LOCAL["users"] -= 1
            if _LOCAL["users"] <= 0:  # the last user stops the local Ray
                if live:
                    ray.shutdown()
                _LOCAL["owned"], _LOCAL["users"] = False, 0

    # -- admission --

    def refuse_unplaceable(self, job: AttemptJob) -> None:
        """Raise unless one live node offers everything ``job`` requests (checked against
        the recent view of the cluster, and again against a fresh one before refusing)."""
        custom = custom_of(job.task)
        problem = unplaceable(job.cpu, job.mem, job.gpu, custom, self.nodes(fresh=False))
        if problem:
            problem = unplaceable(job.cpu, job.mem, job.gpu, custom, self.nodes())
        if problem:
            raise ExecutorError(
                f"task '{getattr(job.task, 'name', job.task)}' (node '{job.node_id}') "
                f"{problem}; lower its Resources(...) or add a bigger node")

    # -- dispatch and results --

    def _remote_for(self, job: AttemptJob) -> Any:
        """The Ray remote function with the options of ``job``'s requests, made once for
        each set of requests (``ray.remote(**options)``, not ``options()``: a call
        through ``options()`` merges the options again each time)."""
        custom = custom_of(job.task)
        runtime_env = runtime_env_of(job.task)
        key = (job.cpu, job.mem, job.gpu, tuple(sorted(custom.items())),
               None if runtime_env is None else repr(runtime_env))
        remote = self._remotes.get(key)
        if remote is None:
            options: dict[str, Any] = {"num_cpus": job.cpu if job.cpu else 1,
                                       "num_gpus": job.gpu}
            if job.mem:
                options["memory"] = job.mem
            if custom:
                options["resources"] = custom
            if runtime_env:
                options["runtime_env"] = runtime_env
            remote = self._remotes[key] = _ray().remote(max_retries=0, **options)(run_remote)
        return remote

    def _start_chunks(self, ray: Any, attempt: _Attempt) -> None:
        remote = self._remote_for(attempt.job)
        stream = self._collecting or attempt.job.live_metrics
        while True:
            span = attempt.next_chunk(even=True)
            if span is None:
                return
            try:
                payload = attempt.message(*span, {})
            except Exception as exc:
                fields = error_fields(exc)
                fields["error_message"] = (
                    f"the inputs of task '{attempt.name}' cannot be sent to Ray: {exc}")
                fields["retryable"] = False
                self._chunk_done(attempt, span[0], attempt.result(ok=False, **fields))
                return
            if stream:
                piece = _Piece(attempt, span[0], next(self._tokens))
                ref = remote.remote(streamed_payload(payload, piece.token, self._mailbox_name))
                self._streams[piece.token] = piece
            else:
                piece = _Piece(attempt, span[0], 0)
                ref = remote.remote(payload)
            self._pieces[ref] = piece
            attempt.pieces.add(ref)

    def _on_done(self, ray: Any, ref: Any) -> None:
        piece = self._pieces.pop(ref)
        attempt = piece.attempt
        attempt.pieces.discard(ref)
        if id(attempt) not in self._attempts:
            self._streams.pop(piece.token, None)
            return
        try:
            kind, body, _host, streamed = pickle.loads(ray.get(ref))
        except Exception as exc:  # the Ray task or its node died, or it was cancelled
            message = (f"the Ray task running task '{attempt.name}' ended without returning "
                       f"a result: {type(exc).__name__}: {str(exc).splitlines()[0][:500]}")
            result = attempt.result(ok=False, error_type="WorkerDied", error_message=message,
                                    traceback=message, logs=clip("".join(piece.text)))
            self._nodes = None  # its node may be gone: read the cluster again
        else:
            result = body if kind == "result" else attempt.result(ok=False, **body)
            if streamed:  # the rest of its output and metrics wait in the mailbox
                self._drain(ray)
            else:
                self._unstreamed(piece, result)
        self._streams.pop(piece.token, None)
        if id(attempt) in self._attempts:  # (a listener may have stopped it meanwhile)
            self._chunk_done(attempt, piece.start, result)

    # -- live output and metrics --

    def _mail_due(self, ray: Any, now: float) -> float:
        """When ``wait`` must look at the mailbox next (``math.inf``: its ``take`` is in
        flight); makes the mailbox once a piece that may stream has run STREAM_AFTER s."""
        oldest = min(p.started for p in self._streams.values())
        if now < oldest + STREAM_AFTER:
            return oldest + STREAM_AFTER
        if self._take is not None:
            return math.inf
        if now < self._take_at:
            return self._take_at
        if self._mailbox is None:
            self._mailbox = start_mailbox(ray, self._mailbox_name)
        self._take = self._mailbox.take.remote()
        self._take_at = now + STREAM_EVERY
        return math.inf

    def _take_mail(self, ray: Any, timeout: float | None = None) -> None:
        ref, self._take = self._take, None
        try:
            items: list[Mail] = ray.get(ref, timeout=timeout)
        except Exception:  # the mailbox died (it is restarted) or is slow: messages lost
            return
        self._read_mail(items)

    def _drain(self, ray: Any) -> None:
        """Take everything the mailbox holds (a piece that streamed has ended, and its
        last send is there)."""
        if self._mailbox is None:
            return
        if self._take is not None:
            self._take_mail(ray, timeout=30.0)
        self._take = self._mailbox.take.remote()
        self._take_mail(ray, timeout=30.0)

    def _read_mail(self, items: list[Mail]) -> None:
        for token, data, metrics, final in items:
            piece = self._streams.get(token)
            if piece is None:  # ended, stopped or timed out already
                continue
            job = piece.attempt.job
            text = piece.decoder.decode(data, final)
            if text:
                piece.keep(text)
                if self._collecting:
                    self._output.append((job.node_id, job.attempt, text))
            for point in metrics:
                piece.metrics.append(point)
                if self._listener is not None and job.live_metrics:
                    self._listener(job, *point)
                    if token not in self._streams:  # the listener stopped it
                        break

    def _unstreamed(self, piece: _Piece, result: AttemptResult) -> None:
        """A piece that ended before it streamed: its output and metrics as it ends."""
        job = piece.attempt.job
        if self._collecting and result.logs:
            self._output.append((job.node_id, job.attempt, result.logs))
        if self._listener is not None and job.live_metrics:
            for point in result.metrics:
                self._listener(job, *point[:4])
                if id(piece.attempt) not in self._attempts:  # the listener stopped it
                    return

    def _so_far(self, attempt: _Attempt) -> tuple[str, list[MetricPoint]]:
        """What ``attempt`` printed and the metrics it logged until now: its ended
        chunks' whole, its running pieces' as streamed."""
        done = sorted(attempt.done.items())
        logs = [r.logs for _, r in done]
        metrics = [m for _, r in done for m in r.metrics]
        running = sorted((self._pieces[r] for r in attempt.pieces if r in self._pieces),
                         key=lambda p: p.start)
        for piece in running:
            logs.append("".join(piece.text))
            metrics.extend(piece.metrics)
        return "".join(logs), metrics

    def _chunk_done(self, attempt: _Attempt, start: int, result: AttemptResult) -> None:
        if not attempt.is_map:
            self._finish(attempt, result)
            return
        if self._keeping and result.ok:
            self._elements.append((attempt, start, result))
        if attempt.add_chunk(start, result):
            self._cancel(attempt)
            self._finish(attempt, attempt.assemble())

    def _cancel(self, attempt: _Attempt) -> None:
        ray = _ray()
        for ref in list(attempt.pieces):
            piece = self._pieces.pop(ref, None)
            if piece is not None:
                self._streams.pop(piece.token, None)
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
        attempt.pieces.clear()

    def _expire(self, ray: Any) -> None:
        now = time.monotonic()
        for attempt in [a for a in self._attempts.values() if a.deadline <= now]:
            logs, _ = self._so_far(attempt)
            self._cancel(attempt)
            error = TaskTimeoutError(
                f"task '{attempt.name}' ran past its timeout of {attempt.job.timeout:g}s "
                "and its Ray task was cancelled (force=True)")
            fields = error_fields(error)
            fields["traceback"] = str(error)
            self._finish(attempt, attempt.result(ok=False, logs=clip(logs), **fields))

    def _finish(self, attempt: _Attempt, result: AttemptResult) -> None:
        self._attempts.pop(id(attempt), None)
        self._ready.append(result)


def unplaceable(cpu: float, mem: int, gpu: int, custom: dict[str, float],
                nodes: list[dict[str, float]]) -> str | None:
    """Why no node fits the request (naming the request and the largest node), or None."""
    def fits(n: dict[str, float]) -> bool:
        return (cpu <= n.get("CPU", 0.0) + _EPS and mem <= n.get("memory", 0.0)
                and gpu <= n.get("GPU", 0.0) + _EPS
                and all(v <= n.get(k, 0.0) + _EPS for k, v in custom.items()))

    if any(fits(n) for n in nodes):
        return None
    largest = max(nodes, key=lambda n: (n.get("GPU", 0.0), n.get("CPU", 0.0),
                                        n.get("memory", 0.0)), default={})
    want = _describe(cpu, mem, gpu) + "".join(f", {k}={v:g}" for k, v in custom.items())
    have = _describe(largest.get("CPU", 0.0), int(largest.get("memory", 0)),
                     int(largest.get("GPU", 0)))
    have += "".join(f", {k}={largest[k]:g}" for k in custom if k in largest)
    return (f"requests {want}, more than any node of the Ray cluster offers "
            f"(largest node: {have}; {len(nodes)} node(s))")
