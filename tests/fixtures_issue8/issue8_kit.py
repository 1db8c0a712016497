"""Helpers of the issue-8 tests (keys that follow the code, ``cache explain``,
``recover --from``, ``prune``, crashed executions): ``rillet`` run as a real
subprocess on a real home, and user files written (and edited) in a temporary
folder, so that every run sees the file as it is now."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clikit import Result, rillet_env  # noqa: E402


def write(path: Path, text: str) -> Path:
    """Write a user file; each write moves its mtime forward, so an edit made within
    the same second as the last one is never hidden behind a stale ``__pycache__``."""
    previous = path.stat().st_mtime if path.exists() else time.time() - 10
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    stamp = max(time.time(), previous + 2)
    os.utime(path, (stamp, stamp))
    return path


def edit(path: Path, old: str, new: str) -> Path:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    return write(path, text.replace(old, new))


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Rillet:
    """``rillet("run", ...)`` runs the CLI with ``--home`` set to this test's home,
    in ``cwd``, with ``PYTHONPATH`` when given."""

    def __init__(self, home: Path, cwd: Path) -> None:
        self.home = home
        self.cwd = cwd
        self.pythonpath: list[Path] = []

    def env(self) -> dict[str, str]:
        env = rillet_env()
        env.pop("PYTHONPATH", None)
        if self.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(str(p) for p in self.pythonpath)
        return env

    def start(self, *args: str, ctrl_c: bool = False) -> subprocess.Popen[str]:
        """With ``ctrl_c``, SIGINT is made to act as Ctrl-C in the child even when the
        tests run in a background job (which starts its children with SIGINT ignored)."""
        return subprocess.Popen(
            [sys.executable, "-m", "rillet.cli", *args, "--home", str(self.home)],
            cwd=self.cwd, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, preexec_fn=_default_sigint if ctrl_c else None)

    def __call__(self, *args: str, timeout: float = 120) -> Result:
        proc = self.start(*args)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"rillet {' '.join(args)} timed out\n{out}\n{err}") from None
        return Result(list(args), proc.returncode, out, err)

    def ok(self, *args: str, timeout: float = 120) -> Result:
        r = self(*args, timeout=timeout)
        assert r.code == 0, str(r)
        return r

    # -- common reads ----------------------------------------------------------------
    def run_json(self, target: str, *inputs: str, executor: str = "inline") -> dict[str, Any]:
        r = self("run", target, *inputs, "--json", "--executor", executor)
        assert r.code in (0, 1), str(r)
        body: dict[str, Any] = r.json
        return body

    def show(self, execution_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.ok("executions", "show", execution_id, "--json").json
        return body

    def statuses(self, execution_id: str) -> dict[str, str]:
        return {n["node_id"]: n["status"] for n in self.show(execution_id)["nodes"]}

    def explain(self, target: str, *inputs: str) -> dict[str, dict[str, Any]]:
        body = self.ok("cache", "explain", target, *inputs, "--json").json
        return {n["node_id"]: n for n in body["nodes"]}

    def executions(self) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = self.ok("executions", "list", "--json").json
        return body


def make_dist(root: Path, name: str, version: str, source: str, record: bool = True) -> Path:
    """An installed distribution ``name`` at ``version`` in ``root`` (the package and a
    ``*.dist-info`` with METADATA and, unless ``record`` is false, RECORD, as pip would
    leave them); the previous version's ``dist-info`` is removed. Returns ``root``."""
    for old in root.glob(f"{name}-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    write(root / name / "__init__.py", source)
    info = root / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if record:
        (info / "RECORD").write_text(f"{name}/__init__.py,,\n{info.name}/METADATA,,\n")
    return root
