"""Tasks whose attempts matter: one that outlives its timeout (and writes its
pid first), one that resumes from its checkpoint, one that keeps its checkpoint
across a recovery."""

from __future__ import annotations

import os
import time

from marks import mark

from rillet import RecoverableError, current_context, task, workflow


@task(timeout=1.0, retries=1)
def sleepy(pid_file: str, seconds: float) -> int:
    mark(pid_file, str(os.getpid()))
    time.sleep(seconds)
    return 0


@workflow
def hangs(pid_file: str, seconds: float = 60.0) -> int:
    return sleepy(pid_file=pid_file, seconds=seconds)


@task(retries=1)
def resumable(n: int, marker: str) -> int:
    """Counts to n; attempt 1 saves half its progress and fails, attempt 2 resumes."""
    ctx = current_context()
    saved = ctx.checkpoint.read()
    start = int(saved.decode()) if saved is not None else 0
    mark(marker, f"attempt {ctx.attempt} starts at {start}")
    for i in range(start, n):
        if ctx.attempt == 1 and i == n // 2:
            ctx.checkpoint.write(str(i).encode())
            raise RecoverableError(f"stopped at {i}")
        mark(marker, f"step {i}")
    return n


@workflow
def resumes(n: int, marker: str) -> int:
    return resumable(n=n, marker=marker)


@task
def first(x: int) -> int:
    return x + 1


@task
def once_saved(x: int, marker: str) -> str:
    """Fails on the first run after saving a checkpoint; succeeds once it finds one."""
    ctx = current_context()
    saved = ctx.checkpoint.read()
    mark(marker, f"{ctx.execution_id} attempt {ctx.attempt} found {saved!r}")
    if saved is None:
        ctx.checkpoint.write(f"progress of {x}".encode())
        raise RuntimeError("no checkpoint yet")
    return saved.decode()


@workflow
def survives(marker: str, x: int = 1) -> str:
    return once_saved(x=first(x=x), marker=marker)
