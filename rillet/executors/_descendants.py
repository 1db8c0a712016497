"""Processes a task leaves behind: a worker is made the "child subreaper" of what its
tasks start (Linux ``PR_SET_CHILD_SUBREAPER``), so that a descendant that escapes the
worker's process group (``setsid``, a double fork) stays below the worker, where it
is found by walking the process tree and ended with the attempt.

Only ``/proc`` and ``os`` calls: no psutil on the per-attempt path. Nothing here
decides when; the worker and the pool call it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import signal
import sys

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make orphaned descendants of this process its children (Linux); False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
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
        for pid in left:  # below them first: killing a parent orphans its children to us
            for below in reversed(descendants(pid)):
                with contextlib.suppress(OSError):
                    os.kill(below, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pid in left:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, 0)
                ended += 1
        while True:  # orphans that came to us meanwhile and already ended
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
    return ended


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid``'s descendants (those that left its process group included)."""
    for below in reversed(descendants(pid)):
        with contextlib.suppress(OSError):
            os.kill(below, signal.SIGKILL)
