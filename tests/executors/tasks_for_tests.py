"""Tasks the executor tests run, at module level so worker processes find them by
identity, plus helpers to build jobs and collect results."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rillet import RecoverableError, Resources, current_context, task
from rillet.engine._protocols import AttemptJob, AttemptResult
from rillet.errors import DefinitionError


@task
def inc(x: int) -> int:
    return x + 1


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def fail(x: int) -> int:
    raise ValueError(f"bad input {x}")


@task
def misdefined() -> int:
    raise DefinitionError("this task is defined wrongly")


@task
def fail_on_multiples_of_three(x: int) -> int:
    if x % 3 == 0:
        raise ValueError(f"{x} is a multiple of three")
    return x * 10


@task
def noisy(word: str) -> str:
    print(f"out:{word}")
    print(f"err:{word}", file=sys.stderr)
    return word


@task
def noisy_shell(word: str) -> str:
    print(f"py:{word}")
    os.system(f"echo shell:{word}")
    return word


@task
def noisy_element(x: int) -> int:
    print(f"element {x}")
    return x


@task
def resumable() -> str:
    ctx = current_context()
    previous = ctx.checkpoint.read()
    if previous is None:
        ctx.checkpoint.write(b"halfway")
        raise RecoverableError("first attempt saves and fails")
    return f"{previous.decode()} then done in attempt {ctx.attempt}"


@task
def tracked(lr: float) -> str:
    ctx = current_context()
    ctx.log_param("lr", lr)
    ctx.log_metric("loss", 0.5, step=1)
    ctx.log_metric("loss", 0.25, step=2)
    return ctx.working_directory


@task
def sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@task
def sleepy_with_child(seconds: float, pidfile: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    Path(pidfile).write_text(str(child.pid))
    time.sleep(seconds)


@task
def whoami() -> int:
    return os.getpid()


@task
def exits_hard(code: int) -> None:
    print("about to exit", flush=True)
    os._exit(code)


@task
def segfaults() -> None:
    ctypes.string_at(0)


@task
def returns_lambda() -> Any:
    return lambda: 1


@task
def returns_generator() -> Any:
    return (i for i in range(3))


@task(requests=Resources(cpu="2"))
def hog(seconds: float) -> tuple[float, float]:
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


@task
def cuda_devices() -> str | None:
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def job(t: Any, tmp: Path, node: str = "n0", attempt: int = 1, **kw: Any) -> AttemptJob:
    inputs = kw.pop("inputs", {})
    kw.setdefault("checkpoint_path", str(tmp / f"{node}.checkpoint"))
    kw.setdefault("workdir", str(tmp / "work"))
    return AttemptJob(
        execution_id="e1", node_id=node, attempt=attempt, task=t, inputs=inputs, **kw
    )


def collect(executor: Any, count: int, limit: float = 60.0) -> list[AttemptResult]:
    """Wait until ``count`` results came back (failing the test after ``limit`` s)."""
    results: list[AttemptResult] = []
    deadline = time.monotonic() + limit
    while len(results) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(results)} of {count} results after {limit}s")
        results.extend(executor.wait(1.0))
    return results


def run_one(executor: Any, j: AttemptJob, limit: float = 60.0) -> AttemptResult:
    assert executor.submit(j)
    (result,) = collect(executor, 1, limit)
    return result


@task
def element_pid(x: int) -> int:
    return os.getpid()


@task
def moves_away(to: str) -> str:
    os.chdir(to)
    return os.getcwd()


@task
def where() -> str:
    return os.getcwd()


class CountsPickles:
    """A fixed input that counts how often the parent pickles it."""

    pickled = 0

    def __reduce__(self) -> tuple[type, tuple[()]]:
        CountsPickles.pickled += 1
        return CountsPickles, ()


@task
def ignores_fixed(x: int, fixed: Any) -> int:
    return x
