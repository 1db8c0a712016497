"""Per-task environments (ImageSpec / environment=): recorded with the task, built once
per environment hash under the home, used by the processes executor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import rillet
from rillet.errors import DefinitionError
from rillet.flyte import ImageSpec
from rillet.sdk._environment import Environment

PACKAGE = "text-unidecode==1.3"  # tiny, pure Python, not a dependency of rillet


def test_the_environment_record_is_small_frozen_and_hashed() -> None:
    a = Environment(packages=("b==1", "a==2"), python_version="3.11")
    b = ImageSpec(packages=["a==2", "b==1"], python_version="3.11", registry="ghcr.io/x")
    assert a.packages == ("a==2", "b==1")
    assert b.environment() == a and len(a.hash) == 16
    assert Environment(packages=("a==2",)).hash != a.hash
    with pytest.raises(DefinitionError, match="python_version"):
        Environment(python_version="three")

    @rillet.task(container_image=b)
    def t() -> None: ...

    @rillet.task(container_image="ghcr.io/org/image:1")
    def u() -> None: ...

    assert t.environment == a and t.container_image is b  # type: ignore[attr-defined]
    assert u.environment is None and u.container_image == "ghcr.io/org/image:1"  # type: ignore[attr-defined]


FLOW = f'''
import sys
from rillet import task, workflow
from rillet.flyte import ImageSpec

@task(container_image=ImageSpec(packages=["{PACKAGE}"]))
def slug(s: str) -> str:
    from text_unidecode import unidecode
    return unidecode(s) + "|" + sys.prefix

@workflow
def wf(s: str = "h\\u00e9llo") -> str:
    return slug(s=s)

@task(retries=2, environment=ImageSpec(packages=["rillet-no-such-package-zz==9.9"]))
def broken() -> int:
    return 1

@workflow
def bad() -> int:
    return broken()

@task(environment=ImageSpec(python_version="2.7"))
def old() -> int:
    return 1

@workflow
def ancient() -> int:
    return old()
'''


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("envs")
    (folder / "flow.py").write_text(FLOW)
    return folder


def _run(folder: Path, target: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RILLET_")}
    cmd = ["run", f"flow.py:{target}"] if target else list(args)
    return subprocess.run([sys.executable, "-m", "rillet.cli", *cmd,
                           "--json", "--home", str(folder / "home")], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=900)


def test_a_task_runs_in_its_environment_built_once_under_the_home(flow: Path) -> None:
    import json

    with pytest.raises(ImportError):
        __import__("text_unidecode")  # not here: only in the task's environment
    first = _run(flow, "wf")
    assert first.returncode == 0, first.stderr
    value, prefix = json.loads(first.stdout)["outputs"]["o0"].split("|")
    assert value == "hello"
    envs = flow / "home" / "envs"
    (built,) = [p for p in envs.iterdir() if p.is_dir()]
    assert Path(prefix).resolve() == built.resolve()
    ready = built / ".rillet-ready"
    stamp = ready.stat().st_mtime_ns
    again = _run(flow, "wf")
    assert again.returncode == 0, again.stderr
    assert ready.stat().st_mtime_ns == stamp  # built once per environment hash


def test_a_package_that_cannot_be_installed_fails_clearly_without_retries(flow: Path) -> None:
    import json

    r = _run(flow, "bad")
    assert r.returncode == 1
    error = json.loads(r.stdout)["error"]
    assert "task 'flow:broken': cannot install its packages" in error
    assert "rillet-no-such-package-zz==9.9" in error and "\n" not in error
    shown = _run(flow, "", "executions", "show", json.loads(r.stdout)["execution_id"])
    (node,) = json.loads(shown.stdout)["nodes"]
    assert node["attempts"] == 1  # retries=2, yet a broken environment is not retried


def test_a_python_version_other_than_rillets_is_a_clear_error(flow: Path) -> None:
    import json

    r = _run(flow, "ancient")
    assert r.returncode == 1
    error = json.loads(r.stdout)["error"]
    assert "asks for Python 2.7, but rillet runs on Python" in error


