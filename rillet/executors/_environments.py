"""Per-task Python environments: a virtual environment built once per environment hash,
and one attempt run in it.

A task declared with ``environment=`` (or flytekit's ``container_image=ImageSpec(...)``)
runs in ``<home>/envs/<hash>``: a virtual environment whose packages are installed with
``uv`` when it is on PATH, else ``venv`` + pip. It sees the packages of the interpreter
that runs rillet (a ``.pth`` file), its own installs first. Building is locked, so
concurrent attempts build once. The attempt runs in a child process of that
environment's Python (``python -m rillet.executors._envrun``); its output goes where
the attempt's output goes, and its result comes back pickled. Nothing here schedules.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from typing import Any

from rillet.engine._context import STATE
from rillet.engine._protocols import AttemptJob, AttemptResult
from rillet.errors import ExecutorError

INSIDE = "RILLET_ENVIRONMENT"  # set in the child: the hash of the environment it runs in
_READY = ".rillet-ready"


class EnvironmentBuildError(ExecutorError):
    """A task's environment could not be built (never retried)."""


class EnvironmentTaskError(Exception):
    """The task failed inside its environment: carries the child's error fields."""

    def __init__(self, result: AttemptResult) -> None:
        super().__init__(result.error_message or "")
        self.result = result


def _parent_paths() -> list[str]:
    """The folders that make rillet and its dependencies importable here."""
    paths = list(dict.fromkeys([*site.getsitepackages(), site.getusersitepackages(),
                                sysconfig.get_paths()["purelib"]]))
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../rillet
    paths.append(os.path.dirname(package))
    return [p for p in dict.fromkeys(paths) if os.path.isdir(p)]


def _tail(text: str, lines: int = 6) -> str:
    kept = [ln for ln in text.strip().splitlines() if ln.strip() and "WARNING: Location" not in ln]
    return " | ".join(kept[-lines:])


def ensure(env: Any, root: str, task_name: str) -> str:
    """The Python of ``env``'s virtual environment under ``root``, built if missing."""
    if not env.runs_here():
        here = ".".join(map(str, sys.version_info[:3]))
        raise EnvironmentBuildError(
            f"task '{task_name}' asks for Python {env.python_version}, but rillet runs on "
            f"Python {here}; run rillet with that Python (an environment adds packages, "
            "it cannot change the interpreter rillet itself runs on)"
        )
    folder = os.path.join(root, env.hash)
    python = os.path.join(folder, "bin", "python")
    if os.path.exists(os.path.join(folder, _READY)):
        return python
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, f"{env.hash}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not os.path.exists(os.path.join(folder, _READY)):
                _build(env, folder, task_name)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return python


def _build(env: Any, folder: str, task_name: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)  # a build that died half way
    uv = shutil.which("uv")
    python = os.path.join(folder, "bin", "python")
    if uv:
        steps = [[uv, "venv", "--quiet", "--python", sys.executable, folder]]
        install = [uv, "pip", "install", "--quiet", "--python", python, *env.packages]
    else:
        steps = [[sys.executable, "-m", "venv", "--without-pip", folder]]
        install = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
                   "--disable-pip-version-check", *env.packages]
    for cmd in steps:
        _check(cmd, env, task_name, "create the virtual environment")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    os.makedirs(purelib, exist_ok=True)
    with open(os.path.join(purelib, "_rillet_parent.pth"), "w") as fh:
        fh.write("\n".join(_parent_paths()) + "\n")
    if env.packages:
        _check(install, env, task_name, "install its packages")
    with open(os.path.join(folder, _READY), "w") as fh:
        fh.write(" ".join(env.packages) + "\n")


def _check(cmd: list[str], env: Any, task_name: str, what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EnvironmentBuildError(
            f"task '{task_name}': cannot {what} for its environment "
            f"{env.hash} (packages: {', '.join(env.packages) or 'none'}): "
            f"{_tail(proc.stderr or proc.stdout)}"
        )


def environment_root(job: AttemptJob) -> str:
    """``<home>/envs`` for a job of a home (its workdir is ``<home>/work/<execution>``),
    else a folder in the user's cache."""
    if job.workdir:
        home = os.path.dirname(os.path.dirname(os.path.abspath(job.workdir)))
        if os.path.exists(os.path.join(home, "home.json")):
            return os.path.join(home, "envs")
    return os.path.join(os.path.expanduser("~"), ".cache", "rillet", "envs")


def call_in_environment(job: AttemptJob, collect_failures: bool) -> Any:
    """Run the attempt in the child Python of the task's environment; return its outputs
    or raise :class:`EnvironmentTaskError` with the child's error."""
    import cloudpickle

    env = job.task.environment
    python = ensure(env, environment_root(job), job.task.name)
    payload = cloudpickle.dumps((job, collect_failures))
    with tempfile.TemporaryDirectory(prefix="rillet-env-") as tmp:
        out = os.path.join(tmp, "result.pickle")
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        proc = subprocess.Popen(
            [python, "-m", "rillet.executors._envrun", out], stdin=subprocess.PIPE,
            env={**os.environ, INSIDE: env.hash}, cwd=os.getcwd(),
        )
        try:
            proc.communicate(payload)
        finally:
            if proc.poll() is None:  # the attempt timed out in the parent: end the child
                proc.kill()
                proc.wait()
        if not os.path.exists(out):
            raise ExecutorError(
                f"task '{job.task.name}': its environment's Python exited with code "
                f"{proc.returncode} before reporting a result"
            )
        with open(out, "rb") as fh:
            result: AttemptResult = cloudpickle.loads(fh.read())
    sink = STATE.sink
    if sink is not None:
        for key, value in result.params:
            sink.log_param(job.node_id, job.attempt, key, value)
        kept = getattr(sink, "metrics", None)
        if isinstance(kept, list):  # the attempt's FileSink: the points as the child made them
            kept.extend(result.metrics)
        else:
            for key, value, step, *_rest in result.metrics:
                sink.log_metric(job.node_id, job.attempt, key, value, step)
    if not result.ok:
        raise EnvironmentTaskError(result)
    return result.outputs
