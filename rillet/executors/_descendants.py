"""Processes a task leaves behind: a worker is made the "child subreaper" of what its
tasks start (Linux ``PR_SET_CHILD_SUBREAPER``), so that a descendant that escapes the
worker's process group (``setsid``, a double fork) stays below the worker, where it
is found by walking the process tree and ended with the attempt.

The inline executor runs attempts in the engine's own process, which has children of
its own: :class:`AttemptProcesses` notes (by an audit hook) whether an attempt starts a
process; if it does, the process is a subreaper until the attempt ends, and then the
children it gained during the attempt are ended. Not those it had before, nor older
processes orphaned to it meanwhile: a child is the attempt's when it started after the
attempt did, from the attempt's thread, a thread started since, or the main thread
(where Linux puts the orphans). Limits: a process started from C code with no audit
event (a C extension's ``fork``, multiprocessing's spawn/forkserver helpers) is not
noticed; when attempts of several executions run at once in threads of one process,
the children of the other attempts' threads are left to them, and a child another
thread of the process starts during the attempt from the main thread is taken for the
attempt's. No cgroup: with the subreaper the tree walk is complete on Linux.

Only ``/proc`` and ``os`` calls: no psutil on the per-attempt path. Nothing here
decides when; the worker, the pool and the inline executor call it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import signal
import sys
import threading
import time
from types import TracebackType
from typing import Any

_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_LIBC: list[Any] = []


def _libc() -> Any:
    if not _LIBC:
        import ctypes

        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return _LIBC[0]


def become_subreaper(on: bool = True) -> bool:
    """Make orphaned descendants of this process its children (Linux), or stop (``on``
    False); False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(_libc().prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def is_subreaper() -> bool:
    """Whether this process is a child subreaper now (Linux; False elsewhere)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        flag = ctypes.c_int(0)
        if _libc().prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) != 0:
            return False
        return bool(flag.value)
    except (OSError, AttributeError):
        return False


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (``/proc/PID/task/*/children``, else psutil)."""
    files = glob.glob(f"/proc/{pid}/task/*/children")
    if not files:
        try:
            import psutil

            return [c.pid for c in psutil.Process(pid).children()]
        except Exception:
            return []
    out: list[int] = []
    for name in files:
        with contextlib.suppress(OSError), open(name) as f:
            out.extend(int(p) for p in f.read().split())
    return out


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, read top-down (a snapshot)."""
    out: list[int] = []
    level = children(pid)
    while level:
        out.extend(level)
        level = [c for p in level for c in children(p)]
    return out


def end_children(rounds: int = 20) -> int:
    """SIGKILL and reap every child of this process (as a subreaper, what a finished
    task left running, wherever it went in the tree); return how many were ended."""
    ended = 0
    me = os.getpid()
    for _ in range(rounds):
        left = children(me)
        if not left:
            break
        ended += _kill_and_reap(left)
        while True:  # orphans that came to us meanwhile and already ended
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
    return ended


def _kill_and_reap(pids: list[int]) -> int:
    """SIGKILL each of ``pids`` (children of this process) with what is below it, below
    first (killing a parent orphans its children to us), then reap them; how many were
    reaped."""
    for pid in pids:
        kill_tree(pid)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    ended = 0
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)
            ended += 1
    return ended


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid``'s descendants (those that left its process group included)."""
    for below in reversed(descendants(pid)):
        with contextlib.suppress(OSError):
            os.kill(below, signal.SIGKILL)


# -- an attempt run in this process (the inline executor) -------------------------------

_SPAWNS = frozenset({"subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn",
                     "os.spawn", "os.system", "pty.spawn"})
_ACTIVE: set[AttemptProcesses] = set()
_LOCK = threading.Lock()
_HOOKED: list[bool] = []
_REAPER = [False]  # whether the attempts running made this process a subreaper
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _ACTIVE and event in _SPAWNS:
        for watch in list(_ACTIVE):
            watch.spawning()


def _now_ticks() -> int:
    """Clock ticks since boot, as ``/proc/PID/stat`` gives a process's start."""
    clock = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)
    return int(time.clock_gettime(clock) * _TICKS)


def started(pid: int, of: int | None = None) -> int | None:
    """When ``pid`` (a thread of ``of`` when given) started, in clock ticks since boot;
    None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat" if of is None else f"/proc/{of}/task/{pid}/stat",
                  "rb") as f:
            data = f.read()
    except OSError:
        return None
    return int(data[data.rindex(b")") + 2:].split()[19])


def _thread_children(pid: int, tid: int) -> set[int]:
    """The children that thread ``tid`` of ``pid`` started (Linux)."""
    try:
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            return {int(p) for p in f.read().split()}
    except OSError:
        return set()


class AttemptProcesses:
    """``with AttemptProcesses():`` around an attempt run in this process: what it started
    (its children, what they started, what escaped with ``setsid`` or a double fork) is
    ended (SIGKILL) and reaped when the block ends, however it ends. See the module.
    An attempt that starts no process costs a clock read and a set update."""

    def __init__(self) -> None:
        self.spawned = False
        self.before: set[int] = set()
        self.since = 0
        self.tid = 0

    def spawning(self) -> None:
        """A thread of this process is about to start a process: note what children it
        had, and make it a subreaper (orphans of what starts now come to it)."""
        if not self.spawned:
            self.before = set(children(os.getpid()))
            self.spawned = True
            with _LOCK:
                if not _REAPER[0] and not is_subreaper():
                    _REAPER[0] = become_subreaper()

    def __enter__(self) -> AttemptProcesses:
        if not _HOOKED:
            with _LOCK:
                if not _HOOKED:
                    sys.addaudithook(_audit)
                    _HOOKED.append(True)
        self.since = _now_ticks() - 1
        self.tid = threading.get_native_id()
        with _LOCK:
            _ACTIVE.add(self)
        return self

    def __exit__(self, etype: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self.spawned:
                self.end()
        finally:
            with _LOCK:
                _ACTIVE.discard(self)
                if not _ACTIVE and _REAPER[0]:
                    become_subreaper(False)
                    _REAPER[0] = False

    def _mine(self, me: int) -> list[int]:
        """This process's children that the attempt started: those of its own thread,
        of threads started since it began and of the main thread (where orphans land),
        not another attempt's, not there when it first started a process, and started
        after it began."""
        others = {w.tid for w in list(_ACTIVE) if w is not self}
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{me}/task")]
        except OSError:
            return []
        found: set[int] = set()
        for tid in tids:
            if tid in others:
                continue
            # the main thread too: Linux hands orphans to a subreaper's first live thread
            if tid in (self.tid, me) or (started(tid, me) or 0) >= self.since:
                found |= _thread_children(me, tid)
        return [p for p in found - self.before if (started(p) or self.since) >= self.since]
    def end(self, rounds: int = 20) -> int:
        """SIGKILL and reap the processes this attempt started; how many were ended."""
        me = os.getpid()
        ended = 0
        for _ in range(rounds):
            mine = self._mine(me)
            if not mine:
                break
            ended += _kill_and_reap(mine)
        return ended
