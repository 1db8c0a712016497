"""The public surface: exactly ``rillet.__all__``, importable lazily, and a light import."""

import json
import subprocess
import sys

import pytest

import rillet

PUBLIC = [
    "Cache",
    "Choice",
    "CompileError",
    "CronSchedule",
    "DefinitionError",
    "Directory",
    "Execution",
    "ExecutionContext",
    "FailureInfo",
    "File",
    "FixedRate",
    "Float",
    "Int",
    "LaunchPlan",
    "NodeExecution",
    "RecoverableError",
    "Remote",
    "Resources",
    "RilletError",
    "Task",
    "TaskTimeoutError",
    "TypeMismatchError",
    "UserCodeError",
    "Webhook",
    "Workflow",
    "conditional",
    "current_context",
    "dynamic",
    "execution",
    "executions",
    "map_task",
    "models",
    "notebook",
    "recover",
    "run",
    "task",
    "tune",
    "workflow",
]

# The names DESIGN.md's "Public API" promises to user code.
DESIGN_API = [
    "task", "workflow", "dynamic", "map_task", "conditional", "Resources", "Cache",
    "current_context", "File", "Directory", "LaunchPlan", "CronSchedule", "FixedRate",
    "RecoverableError", "FailureInfo",
]

HEAVY = ("pandas", "numpy", "pyarrow", "sqlalchemy", "alembic", "fsspec", "click", "rich", "ray",
         "optuna", "pandera", "fastapi", "uvicorn", "httpx", "starlette", "pydantic")


def test_all_is_pinned() -> None:
    assert sorted(rillet.__all__) == PUBLIC
    assert len(set(rillet.__all__)) == len(rillet.__all__)


def test_the_design_api_is_public() -> None:
    assert set(DESIGN_API) <= set(rillet.__all__)


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_resolves(name: str) -> None:
    value = getattr(rillet, name)
    assert value is getattr(rillet, name)
    assert getattr(value, "__name__", name).rpartition(".")[2] == name  # rillet.models too


def test_star_import_gives_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from rillet import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == PUBLIC


def test_dir_lists_the_public_names_and_unknown_names_fail() -> None:
    assert set(PUBLIC) <= set(dir(rillet))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rillet.nope  # noqa: B018
    assert isinstance(rillet.__version__, str)


def test_error_tree() -> None:
    assert issubclass(rillet.CompileError, rillet.DefinitionError)
    assert issubclass(rillet.TypeMismatchError, rillet.DefinitionError)
    assert issubclass(rillet.TypeMismatchError, TypeError)
    assert issubclass(rillet.DefinitionError, rillet.RilletError)
    assert issubclass(rillet.UserCodeError, rillet.RilletError)
    assert issubclass(rillet.TaskTimeoutError, rillet.RilletError)
    assert issubclass(rillet.TaskTimeoutError, TimeoutError)
    assert not issubclass(rillet.RecoverableError, rillet.RilletError)


def _modules_after(code: str) -> list[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))\n"
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.splitlines()[-1])
    return sorted({m.split(".")[0] for m in loaded} & set(HEAVY))


def test_import_loads_no_heavy_library() -> None:
    assert _modules_after("import rillet") == []


def test_defining_and_calling_a_workflow_loads_no_heavy_library() -> None:
    code = (
        "from rillet import task, workflow, map_task, conditional, current_context\n"
        "@task\n"
        "def inc(x: int) -> int:\n"
        "    current_context().log_metric('x', x)\n"
        "    return x + 1\n"
        "@workflow\n"
        "def wf(xs: list[int]) -> int:\n"
        "    ys = map_task(inc)(x=xs)\n"
        "    n = inc(x=inc(x=1))\n"
        "    return conditional('c').if_(n > 2).then(inc(x=n)).else_().then(inc(x=0))\n"
        "assert wf(xs=[1, 2]) == 4\n"
    )
    assert _modules_after(code) == []


def test_the_tuning_names_load_no_optuna_until_a_study_runs() -> None:
    code = "from rillet import tune, Float, Int, Choice\nFloat(0.1, 1.0, log=True); Choice([1])\n"
    assert _modules_after(code) == []
