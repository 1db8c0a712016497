"""Running ONE attempt in the current process: the context sink, output capture,
the timeout and the error report that every executor shares.

It never retries (the engine does), never schedules and never writes the store:
checkpoints go to the attempt's local file, params and metrics come back in the
:class:`AttemptResult`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from rillet.engine._attempts import call_with_timeout
from rillet.engine._context import STATE
from rillet.engine._direct import check_map_ratio, map_tolerant, run_map, unequal_lengths
from rillet.engine._protocols import AttemptJob, AttemptResult
from rillet.engine._validate import validated_fn
from rillet.engine._values import by_reference, loaded
from rillet.errors import DefinitionError, TaskTimeoutError, UserCodeError
from rillet.executors._environments import (
    INSIDE,
    EnvironmentBuildError,
    EnvironmentTaskError,
    call_in_environment,
)

LOG_LIMIT = 4 << 20  # bytes of captured output kept per attempt (head and tail)
_RILLET_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class FileSink:
    """The RunSink of one attempt: checkpoint in a local file, params and metrics in memory."""

    def __init__(self, job: AttemptJob) -> None:
        self.execution_id = job.execution_id
        self.node_id = job.node_id
        self.path = job.checkpoint_path
        self.workdir = job.workdir
        self.params: list[tuple[str, Any]] = []
        self.metrics: list[tuple[str, float, int | None, float, int | None]] = []
        self._memory: dict[str, bytes] = {}  # when the job names no checkpoint file
        self.store_root = job.checkpoint_store
        self.store_name = job.checkpoint_name
        self._store: Any = None
        self.live: Callable[[tuple[str, float, int | None, float]], None] | None = None

    def _file(self, key: str) -> str:
        """The checkpoint file of ``key``: the node's, or ``FILE[i]`` for map element i."""
        return self.path + key[len(self.node_id):] if key.startswith(self.node_id) else self.path

    def _in_store(self, key: str) -> tuple[Any, str]:
        """The artifact store holding the checkpoints, and the name of ``key``'s there."""
        if self._store is None:
            from rillet.artifacts._folder import FolderArtifactStore

            self._store = FolderArtifactStore(self.store_root)
        suffix = key[len(self.node_id):] if key.startswith(self.node_id) else ""
        if suffix:  # a map element's: NODE[i]
            from urllib.parse import quote

            return self._store, self.store_name + quote(suffix, safe="")
        return self._store, self.store_name

    def checkpoint_read(self, node_id: str) -> bytes | None:
        if self.store_root:  # the store is the truth: it may be newer than a local file
            store, name = self._in_store(node_id)
            return store.get_checkpoint(name)  # type: ignore[no-any-return]
        if not self.path:
            return self._memory.get(node_id)
        try:
            with open(self._file(node_id), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def checkpoint_write(self, node_id: str, data: bytes) -> None:
        if self.store_root:  # saved where the next attempt finds it, on any machine
            store, name = self._in_store(node_id)
            store.put_checkpoint(name, bytes(data))
            return
        if not self.path:
            self._memory[node_id] = bytes(data)
            return
        path = self._file(node_id)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".checkpoint-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def log_param(self, node_id: str, attempt: int, key: str, value: Any) -> None:
        self.params.append((key, value))

    def log_metric(
        self, node_id: str, attempt: int, key: str, value: float, step: int | None
    ) -> None:
        element = STATE.element  # inside a map: the element logging it
        point = (key, float(value), step, time.time(), element if element >= 0 else None)
        self.metrics.append(point)  # one tuple per call: a task may log 10,000s
        if self.live is not None:
            self.live(point[:4])

    def checkpoint_dir(self, node_id: str) -> str:
        """The node's checkpoint folder: beside its checkpoint file, kept as it is."""
        path = (self._file(node_id) + ".d") if self.path else os.path.join(
            self.working_root(), ".checkpoint", *node_id.split("/"))
        os.makedirs(path, exist_ok=True)
        return path

    def working_root(self) -> str:
        if not self.workdir:
            self.workdir = tempfile.mkdtemp(prefix="rillet-")
        return self.workdir


class AttemptStopped(BaseException):
    """Raised inside a task (at its next logged metric) that an in-process executor
    was asked to stop; a ``BaseException`` so that the task's ``except Exception``
    does not swallow it."""


@dataclass(frozen=True, slots=True)
class ChunkOutcome:
    """The outputs of one chunk of a map with ``min_success_ratio`` < 1: a value per
    element (None where it failed), how many failed, and the first error as
    (type name, message, traceback)."""

    values: list[Any]
    failed: int
    first_error: tuple[str, str, str] | None
    # each failed element: (index, error type, message, traceback, what it printed)
    errors: list[tuple[int, str, str, str, str]] = field(default_factory=list)


def run_attempt(
    job: AttemptJob,
    *,
    capture: str,
    apply_timeout: bool = True,
    log_fd: int | None = None,
    collect_failures: bool = False,
    live: Callable[[tuple[str, float, int | None, float]], None] | None = None,
    output: Callable[[str], None] | None = None,
    console: bool = True,
    done: list[Any] | None = None,
    seen: list[tuple[int, str, str, str, str]] | None = None,
) -> AttemptResult:
    """Run one attempt of ``job`` here and report it; never raises for the task's errors.

    ``capture="fd"`` redirects file descriptors 1 and 2 (C code and subprocesses
    included) to the file open as ``log_fd`` or a temporary file; ``capture="sys"`` tees
    ``sys.stdout``/``sys.stderr`` (Python-level output only). ``apply_timeout=False``
    leaves the timeout to the caller (the process pool kills the worker instead).
    ``collect_failures`` runs a map chunk element by element and returns a
    :class:`ChunkOutcome` as the outputs. ``live`` is called with each metric as it
    is logged when the job has ``live_metrics``; it may raise :class:`AttemptStopped`.
    With ``capture="sys"``, ``output`` is called with what the task prints as it prints
    it, and ``console=False`` keeps it off the console (``output`` shows it instead).
    A map appends its values to ``done`` and its failed elements to ``seen`` as they
    come (another thread may read them while it runs).
    """
    if capture not in ("fd", "sys"):
        raise ValueError(f"capture must be 'fd' or 'sys', got {capture!r}")
    sink = FileSink(job)
    if job.live_metrics:
        sink.live = live
    state = STATE
    saved = state.sink, state.node_id, state.attempt, state.prefix
    # job.node_id is the full id (a subworkflow's prefix included)
    state.sink, state.node_id, state.attempt, state.prefix = sink, job.node_id, job.attempt, ""
    logs: list[str] = []
    started = time.time()
    error: BaseException | None = None
    stopped: AttemptStopped | None = None
    outputs: Any = None
    element_errors: list[tuple[int, str, str, str, str]] = []
    if done is None:
        done = []  # a map's values so far (None where an element failed)
    if seen is None:
        seen = []  # its failed elements so far
    element_values: list[tuple[int, Any]] | None = None
    try:
        with _capture(capture, log_fd, logs, output, console) as marker:
            try:
                job = with_loaded_inputs(job)  # by reference: read, checked, decoded here
                call = _make_call(job, collect_failures, marker, done, seen)
                timeout = job.timeout if apply_timeout else None
                outputs = call_with_timeout(call, {}, timeout) if timeout else call()
                if isinstance(outputs, ChunkOutcome) and not collect_failures:
                    outputs, element_errors = _whole_map(job, outputs)
            except _MapBelowRatio as exc:
                error, element_errors = exc.error, exc.errors
                element_values = succeeded_elements(job, exc.values, exc.errors)
            except (Exception, SystemExit) as exc:
                error = exc
            except AttemptStopped as exc:
                stopped = exc
    finally:
        state.sink, state.node_id, state.attempt, state.prefix = saved
    ended = time.time()
    base: dict[str, Any] = dict(
        execution_id=job.execution_id, node_id=job.node_id, attempt=job.attempt,
        logs=logs[0] if logs else "", started_at=started, ended_at=ended, pid=os.getpid(),
        params=sink.params, metrics=sink.metrics, element_errors=element_errors,
    )
    if (stopped is not None or error is not None) and element_values is None and done:
        element_values = succeeded_elements(job, list(done), element_errors or list(seen))
    base["element_values"] = element_values or []
    if stopped is not None:
        return AttemptResult(ok=False, stopped=True, retryable=False,
                             error_type="AttemptStopped", error_message=str(stopped), **base)
    if error is None:
        return AttemptResult(ok=True, outputs=outputs, **base)
    return AttemptResult(ok=False, **error_fields(error), **base)


def with_loaded_inputs(job: AttemptJob) -> AttemptJob:
    """``job`` with each input sent by reference (a ``StoredInput``: a recovered input,
    a cached node's output, read from the store and checked against its digest; or a
    mapped input's ``StoredElement``s) decoded in this process, the one that runs the
    task."""
    if not any(by_reference(v) for v in job.inputs.values()):
        return job
    return dataclasses.replace(job, inputs={k: loaded(v) for k, v in job.inputs.items()})


def error_fields(error: BaseException) -> dict[str, Any]:
    """``error_type``, ``error_message``, ``traceback``, ``timed_out``, ``retryable``."""
    if isinstance(error, EnvironmentTaskError):  # as the task's environment reported it
        r = error.result
        return dict(error_type=r.error_type, error_message=r.error_message,
                    traceback=r.traceback, timed_out=r.timed_out, retryable=r.retryable)
    if isinstance(error, EnvironmentBuildError):  # never retried
        return dict(error_type=type(error).__name__, error_message=str(error), traceback="",
                    timed_out=False, retryable=False)
    return dict(
        error_type=type(error).__name__,
        error_message=str(error),
        traceback=format_error(error),
        timed_out=isinstance(error, TaskTimeoutError),
        retryable=not isinstance(error, DefinitionError) and not (
            isinstance(error, UserCodeError) and not error.retryable),
    )


def format_error(error: BaseException) -> str:
    """The traceback of ``error``, starting at the first frame outside rillet."""
    tb = error.__traceback__
    while (
        tb is not None and tb.tb_next is not None
        and tb.tb_frame.f_code.co_filename.startswith(_RILLET_DIR)
    ):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def element_index(job: AttemptJob, place: int) -> int:
    """The index in the whole map of the element at ``place`` in the job's mapped inputs."""
    indices = job.map_indices
    return job.map_offset + place if indices is None else indices[place]


def succeeded_elements(job: AttemptJob, values: list[Any],
                       errors: list[tuple[int, str, str, str, str]]) -> list[tuple[int, Any]]:
    """(index, value) of the elements of ``values`` (the job's first ones) that did not
    fail (``errors`` names those that did)."""
    failed = {e[0] for e in errors}
    pairs = [(element_index(job, place), v) for place, v in enumerate(values)]
    return [p for p in pairs if p[0] not in failed] if failed else pairs


class _MapBelowRatio(Exception):
    """A whole map whose failed elements are too many (carries them, and the values)."""

    def __init__(self, error: BaseException, errors: list[tuple[int, str, str, str, str]],
                 values: list[Any]):
        super().__init__(str(error))
        self.error = error
        self.errors = errors
        self.values = values


def _whole_map(job: AttemptJob, outcome: ChunkOutcome
               ) -> tuple[list[Any], list[tuple[int, str, str, str, str]]]:
    """A whole map run element by element (ratio < 1, in this process): its values and
    failed elements, or _MapBelowRatio when too many failed."""
    first = outcome.first_error
    stand_in = type(first[0], (Exception,), {})(first[1]) if first else None
    try:
        check_map_ratio(job.node_id, len(outcome.values), outcome.failed,
                        job.min_success_ratio, stand_in)
    except UserCodeError as exc:
        raise _MapBelowRatio(exc, outcome.errors, outcome.values) from None
    return outcome.values, outcome.errors


def _make_call(job: AttemptJob, collect_failures: bool, marker: Marker, done: list[Any],
               seen: list[tuple[int, str, str, str, str]]) -> Callable[[], Any]:
    fn = validated_fn(job.task)
    name = getattr(job.task.fn, "__qualname__", "task")
    env = getattr(job.task, "environment", None)
    if env is not None and os.environ.get(INSIDE) != env.hash:

        def call() -> Any:  # in the task's virtual environment (a child process)
            return call_in_environment(job, collect_failures)

    elif not job.mapped:

        def call() -> Any:
            return fn(**job.inputs)

    elif collect_failures or job.min_success_ratio < 1.0:

        def call() -> Any:
            problem = unequal_lengths(job.node_id, job.inputs, job.mapped)
            if problem is not None:
                raise UserCodeError(problem, node_id=job.node_id, retryable=False)
            return map_collecting(fn, dict(job.inputs), job.mapped, job.map_offset, marker,
                                  job.map_indices, done, seen)

    else:

        def call() -> Any:
            return run_map(job.node_id, fn, dict(job.inputs), job.mapped, job.min_success_ratio,
                           job.map_offset, job.map_indices, done)

    call.__qualname__ = name
    return call


def map_collecting(
    fn: Callable[..., Any], kw: dict[str, Any], mapped: tuple[str, ...], offset: int = 0,
    marker: Marker | None = None, indices: tuple[int, ...] | None = None,
    out: list[Any] | None = None, errors: list[tuple[int, str, str, str, str]] | None = None,
) -> ChunkOutcome:
    """Call ``fn`` per element, keeping None (and counting) where it raises; each
    failed element's error and what it printed (``marker`` reads the attempt's output).
    ``out`` and ``errors`` receive the values and failed elements as they come."""
    if errors is None:
        errors = []
    start = [0]

    def before() -> None:
        if marker is not None:
            start[0] = marker.position()

    def on_error(index: int, exc: BaseException) -> None:
        printed = marker.since(start[0]) if marker is not None else ""
        errors.append((index, type(exc).__name__, str(exc), format_error(exc), printed))

    values, failed, error = map_tolerant(fn, kw, mapped, None, offset, on_error, before,
                                         indices=indices, out=out)
    first = (type(error).__name__, str(error), format_error(error)) if error else None
    return ChunkOutcome(values, failed, first, errors)


# --- output capture ------------------------------------------------------------


class Marker:
    """Where an attempt's captured output stands, to take what one map element printed."""

    def __init__(self, buffer: io.StringIO | None = None, fd: int | None = None) -> None:
        self._buffer = buffer
        self._fd = fd

    def position(self) -> int:
        if self._buffer is not None:
            return self._buffer.tell()
        if self._fd is None:
            return 0
        _flush()
        return os.fstat(self._fd).st_size

    def since(self, start: int) -> str:
        """What was printed since ``position()`` gave ``start`` (at most LOG_LIMIT)."""
        end = self.position()
        if self._buffer is not None:
            return clip(self._buffer.getvalue()[start:end])
        if self._fd is None or end <= start:
            return ""
        size = min(end - start, LOG_LIMIT)
        return os.pread(self._fd, size, end - size).decode("utf-8", "replace")


@contextlib.contextmanager
def _capture(mode: str, log_fd: int | None, out: list[str],
             push: Callable[[str], None] | None = None, console: bool = True
             ) -> Iterator[Marker]:
    if mode == "sys":
        with _capture_sys(out, push, console) as marker:
            yield marker
    else:
        with _capture_fd(log_fd, out) as marker:
            yield marker


class Tee(io.TextIOBase):
    """A text stream that keeps what is written, hands it to ``push`` (as it comes) and
    passes it on to ``target`` (unless ``console`` is False; its file descriptor is
    still the stream's, for a subprocess given ``sys.stdout``)."""

    def __init__(self, target: TextIO | None, buffer: io.StringIO,
                 push: Callable[[str], None] | None = None, console: bool = True) -> None:
        self._target = target
        self._shown = target if console else None
        self._buffer = buffer
        self._push = push

    def write(self, s: str) -> int:
        self._buffer.write(s)
        if self._push is not None and s:
            self._push(s)
        if self._shown is not None:
            with contextlib.suppress(Exception):
                self._shown.write(s)
        return len(s)

    def flush(self) -> None:
        if self._shown is not None:
            with contextlib.suppress(Exception):
                self._shown.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        if self._target is None:
            raise io.UnsupportedOperation("fileno")
        return self._target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", None) or "utf-8"


@contextlib.contextmanager
def _capture_sys(out: list[str], push: Callable[[str], None] | None = None,
                 console: bool = True) -> Iterator[Marker]:
    buffer = io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout = Tee(saved[0], buffer, push, console)
    sys.stderr = Tee(saved[1], buffer, push, console)
    # logging.basicConfig's handler holds the stream it was given at import time
    handlers = _stream_handlers(saved) if push is not None else []
    for handler, stream in handlers:
        handler.stream = sys.stdout if stream is saved[0] else sys.stderr
    try:
        yield Marker(buffer=buffer)
    finally:
        for handler, stream in handlers:
            handler.stream = stream
        sys.stdout, sys.stderr = saved
        out.append(clip(buffer.getvalue()))


def _stream_handlers(streams: tuple[Any, Any]) -> list[tuple[Any, Any]]:
    """The root logger's handlers writing to one of ``streams`` (``sys.stdout`` or
    ``sys.stderr`` before the attempt), with that stream."""
    logging = sys.modules.get("logging")
    if logging is None:
        return []
    return [(h, h.stream) for h in logging.root.handlers
            if type(h) is logging.StreamHandler and any(h.stream is s for s in streams)]


@contextlib.contextmanager
def _capture_fd(log_fd: int | None, out: list[str]) -> Iterator[Marker]:
    _flush()
    log = tempfile.TemporaryFile() if log_fd is None else None  # noqa: SIM115
    fd = log.fileno() if log is not None else log_fd
    assert fd is not None
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    saved = os.dup(1), os.dup(2)
    streams = sys.stdout, sys.stderr
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        # Python-level output goes through fds 1 and 2 as well, whatever sys.stdout was.
        sys.stdout, sys.stderr = fd_stream(1), fd_stream(2)
        try:
            yield Marker(fd=fd)
        finally:
            _flush()
            sys.stdout, sys.stderr = streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
        out.append(read_log(fd))
    finally:
        os.close(saved[0])
        os.close(saved[1])
        if log is not None:
            log.close()


_FD_STREAMS: dict[int, TextIO] = {}


def fd_stream(fd: int) -> TextIO:
    """A line-buffered text stream writing to file descriptor ``fd`` (left open); made
    once per process and fd (again if a task closed it), not once per attempt."""
    stream = _FD_STREAMS.get(fd)
    if stream is None or stream.closed:
        stream = _FD_STREAMS[fd] = io.TextIOWrapper(
            io.FileIO(fd, "w", closefd=False), encoding="utf-8", errors="backslashreplace",
            line_buffering=True,
        )
    return stream


def read_log(fd: int) -> str:
    """The (clipped) text of the log file open as ``fd``; its offset is left alone."""
    size = os.fstat(fd).st_size
    if size <= LOG_LIMIT:
        return os.pread(fd, size, 0).decode("utf-8", "replace")
    head = LOG_LIMIT // 4
    tail = LOG_LIMIT - head
    first = os.pread(fd, head, 0).decode("utf-8", "replace")
    last = os.pread(fd, tail, size - tail).decode("utf-8", "replace")
    return _join_clipped(first, size - head - tail, last)


def clip(text: str) -> str:
    """Keep the head and the tail of a log longer than LOG_LIMIT characters."""
    if len(text) <= LOG_LIMIT:
        return text
    head = LOG_LIMIT // 4
    tail = LOG_LIMIT - head
    return _join_clipped(text[:head], len(text) - LOG_LIMIT, text[-tail:])


def _join_clipped(first: str, cut: int, last: str) -> str:
    return f"{first}\n[... rillet: {cut} characters of output left out ...]\n{last}"


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.flush()
