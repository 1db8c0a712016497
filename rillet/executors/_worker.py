"""One worker process of the process executor: the loop it runs (child side),
and the parent's handles on it and on the pool (start, kill, liveness, logs).

It runs what it is sent and nothing else: admission, deadlines and map
splitting belong to ``_processes``.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import socket
import stat
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from typing import IO, Any

from rillet.engine._protocols import AttemptJob, AttemptResult
from rillet.errors import ExecutorError
from rillet.executors._descendants import become_subreaper, end_children, kill_tree
from rillet.executors._run import error_fields, fd_stream, read_log, run_attempt

STOP = b""


def dumps(obj: Any) -> bytes:
    """Pickle by value where plain pickle cannot (lambdas, local classes)."""
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        import cloudpickle

        return bytes(cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


# --- the child side ------------------------------------------------------------


def worker_main(conn: multiprocessing.connection.Connection, parent: int, log_fd: int) -> None:
    """Loop of one worker process: receive a job, run it, send back the result.

    A message is ``(job, fixed, collect_failures, env)``, ``fixed`` being a map's
    unmapped inputs pickled once for all its chunks (or ``b""``); the reply is ``("result",
    AttemptResult)`` or ``("stale", error fields)`` when the job cannot be loaded
    here (the worker was forked before the task or a class of its inputs existed).
    A job with ``live_metrics`` also sends ``("metric", (key, value, step, time))``
    for each metric as the task logs it, before its reply.
    """
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # a group of its own: a timeout kills the task's children too
    drop_server_sockets(keep=conn.fileno())
    become_subreaper()  # and what leaves the group (setsid) stays below it, to be ended
    sys.stdout, sys.stderr = fd_stream(1), fd_stream(2)  # not the parent's replacements
    with contextlib.suppress(Exception):
        import faulthandler

        faulthandler.enable(file=sys.stderr)  # a crash prints its traceback into the log
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    cwd = os.getcwd()  # each attempt starts here, whatever the one before did
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if data == STOP:
            return
        reply = _serve(data, log_fd, cwd, conn)
        try:
            conn.send_bytes(reply)
        except OSError:
            return


def drop_server_sockets(keep: int) -> int:
    """Let go of the server sockets the fork copied from the parent (a ``rillet server``
    runs its executions' workers): its listening TCP sockets and the connections it
    accepted on them. Held here, a connection the server closes (an idle keep-alive)
    would stay open (no FIN while a copy lives), and a browser's next request on it
    would never be answered. Each is replaced by /dev/null, so that its number is not
    reused under a socket object the fork also copied. Client sockets (a database, an
    object store) are left alone. How many were dropped."""
    folder = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    try:
        fds = sorted(int(n) for n in os.listdir(folder) if n.isdigit())
    except OSError:
        return 0
    listening: set[int] = set()  # ports: a connection accepted on one has it as its own
    dropped: list[int] = []
    others: list[tuple[int, int]] = []
    for fd in fds:
        if fd == keep or fd <= 2:
            continue
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            with socket.socket(fileno=os.dup(fd)) as probe:
                if probe.family not in (socket.AF_INET, socket.AF_INET6) or \
                        probe.type != socket.SOCK_STREAM:
                    continue
                where = int(probe.getsockname()[1])
                if probe.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                    listening.add(where)
                    dropped.append(fd)
                else:
                    others.append((fd, where))
        except OSError:
            continue
    dropped += [fd for fd, where in others if where in listening]
    if not dropped:
        return 0
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in dropped:
            with contextlib.suppress(OSError):
                os.dup2(null, fd)
    finally:
        os.close(null)
    return len(dropped)


def _serve(data: bytes, log_fd: int, cwd: str,
           conn: multiprocessing.connection.Connection) -> bytes:
    try:
        job, collect, env = load_message(data)
    except BaseException as exc:
        return dumps(("stale", error_fields(exc)))
    with attempt_environ(env, cwd):
        try:
            result = run_attempt(
                job, capture="fd", apply_timeout=False, log_fd=log_fd, collect_failures=collect,
                live=lambda metric: conn.send_bytes(dumps(("metric", metric))),
            )
        finally:
            end_children()  # processes the task left running end with its attempt
    try:
        return dumps(("result", result))
    except Exception as exc:
        return dumps(("result", unsendable(job, result, exc, "the worker process")))


def load_message(data: bytes) -> tuple[AttemptJob, bool, dict[str, str]]:
    """The job (its map's fixed inputs put back), ``collect_failures`` and environment
    variables of a message that ``_Attempt.message`` made."""
    job, fixed, collect, env = pickle.loads(data)
    if fixed:
        job = dataclasses.replace(job, inputs={**pickle.loads(fixed), **job.inputs})
    return job, collect, env


@contextlib.contextmanager
def attempt_environ(env: dict[str, str], cwd: str) -> Iterator[None]:
    """Run one attempt with ``env`` set; afterwards the variables are as they were and
    the working directory is ``cwd`` again: a task's changes do not leak into the next
    attempt on this process."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.chdir(cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def unsendable(job: AttemptJob, result: AttemptResult, exc: Exception,
               where: str) -> AttemptResult:
    """``result`` failed (not retried) because its outputs cannot be pickled back from
    ``where``; its logs, params and metrics are kept."""
    fields = error_fields(exc)
    fields["error_message"] = (f"the outputs of task '{getattr(job.task, 'name', job.task)}' "
                               f"cannot be sent back from {where}: {exc}")
    fields["retryable"] = False
    return dataclasses.replace(result, ok=False, outputs=None, element_values=[], **fields)


def _watch_parent(parent: int) -> None:
    """End the worker (and its task's children) soon after its parent is gone."""
    while os.getppid() == parent:
        time.sleep(0.5)
    end_children()
    with contextlib.suppress(OSError):
        if os.getpgid(0) == os.getpid():
            os.killpg(0, signal.SIGKILL)
    os._exit(1)


# --- the parent side -----------------------------------------------------------


class Worker:
    """The parent's handle on one worker process."""

    __slots__ = ("conn", "gpus", "log", "pid", "piece", "process")

    def __init__(
        self, process: Any, conn: multiprocessing.connection.Connection, log: IO[bytes]
    ) -> None:
        self.process = process
        self.conn = conn
        self.pid: int = process.pid
        self.log = log  # unlinked: nothing is left on disk whatever ends the worker
        self.piece: Any = None  # the work it runs now (None: idle)
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

    def exit_description(self) -> str:
        code = self.process.exitcode
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by signal {signal.Signals(-code).name}"
        return f"exit code {code}"

    def kill(self) -> None:
        """SIGKILL the worker's process group (the task's children with it) and reap it."""
        if self.unreaped():
            kill_tree(self.pid)  # its task's descendants, those that left its group too
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        self.process.join(5)
        self.conn.close()
        self.log.close()

    def stop(self) -> None:
        """Ask an idle worker to end, and kill it if it does not."""
        with contextlib.suppress(OSError):
            self.conn.send_bytes(STOP)
        self.process.join(2)
        self.kill()

    def partial_log(self) -> str:
        """What the current (or last) attempt on this worker printed so far."""
        try:
            return read_log(self.log.fileno())
        except (OSError, ValueError):
            return ""


class Pool:
    """The worker processes of one executor; closing is safe to repeat and runs at exit."""

    def __init__(self) -> None:
        self.workers: list[Worker] = []
        self.owner = os.getpid()
        self.serial = 0

    def spawn(self) -> Worker:
        """Fork a new worker (it inherits every module loaded so far)."""
        try:
            ctx = multiprocessing.get_context("fork")
        except ValueError:
            raise ExecutorError(
                "the processes executor needs the 'fork' start method (Linux, macOS); "
                "use the inline executor on this platform"
            ) from None
        _LIVE_POOLS.add(self)
        _register_atexit()
        self.serial += 1
        log = tempfile.TemporaryFile(prefix="rillet-worker-")  # noqa: SIM115 - Worker closes it
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        for stream in (sys.stdout, sys.stderr):  # else the child writes them out again
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.flush()
        process = ctx.Process(  # type: ignore[attr-defined]
            target=worker_main, args=(child_conn, os.getpid(), log.fileno()),
            name=f"rillet-worker-{self.serial}",
        )
        process.start()
        child_conn.close()
        pid = process.pid
        if pid is None:  # pragma: no cover - start() always sets it
            raise ExecutorError("could not start a worker process")
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # also here: no window before the child's own call
        worker = Worker(process, parent_conn, log)
        self.workers.append(worker)
        return worker

    def drop(self, worker: Worker) -> None:
        """Take ``worker`` out of the pool and end it (killing what it runs)."""
        if worker in self.workers:
            self.workers.remove(worker)
        if worker.piece is None and not worker.exited():
            worker.stop()
        else:
            worker.kill()

    def close(self) -> None:
        if os.getpid() != self.owner:
            return
        workers, self.workers = self.workers, []
        for w in workers:
            if w.piece is None:
                with contextlib.suppress(OSError):
                    w.conn.send_bytes(STOP)
            else:
                w.kill()
        for w in workers:
            w.process.join(2)
            w.kill()


_LIVE_POOLS: weakref.WeakSet[Pool] = weakref.WeakSet()
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
