"""``rillet.flyte``: flytekit's import paths, and the semantics Flyte's examples rely on."""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import rillet
from rillet import File, Resources, task, workflow
from rillet.errors import CompileError, DefinitionError, UserCodeError

HERE = Path(__file__).parent
RUNNER = HERE / "run_flytesnacks.py"


def test_the_flytekit_paths_the_examples_import_exist() -> None:
    from rillet.flyte import (  # noqa: F401
        CronSchedule,
        FixedRate,
        FlyteContextManager,
        ImageSpec,
        LaunchPlan,
        Secret,
        Workflow,
        WorkflowFailurePolicy,
        conditional,
        create_node,
        current_context,
        dynamic,
        map_task,
    )
    from rillet.flyte.core.node_creation import create_node as cn
    from rillet.flyte.exceptions.user import FlyteRecoverableException
    from rillet.flyte.types.directory import FlyteDirectory
    from rillet.flyte.types.file import FlyteFile

    assert FlyteFile is rillet.File and FlyteDirectory is rillet.Directory
    assert issubclass(FlyteRecoverableException, rillet.RecoverableError)
    assert cn is create_node
    from rillet import flyte

    assert flyte.Resources is rillet.Resources and flyte.workflow is rillet.workflow


def test_flyte_task_options_map_onto_rillet_and_cluster_ones_are_recorded() -> None:
    from rillet import flyte

    @flyte.task(cache=True, cache_version="2", retries=1, interruptible=True,
                requests=flyte.Resources(cpu="1", mem="1Gi", ephemeral_storage="2Gi"))
    def t(x: int) -> int:
        return x

    assert t.cache is not None and t.cache.version == "2"
    assert t.retries == 1
    assert t.flyte_options == {"interruptible": True}
    assert t.requests is not None and t.requests.storage_bytes == 2 * 1024**3
    with pytest.raises(DefinitionError, match="not_an_option"):
        flyte.task(not_an_option=1)(lambda: None)


def test_flyte_current_context_gives_an_execution_id_with_a_name_and_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rillet import flyte

    monkeypatch.setenv("_FSEC_GROUP_KEY", "s3cret")

    @flyte.task
    def t() -> str:
        ctx = flyte.current_context()
        return f"{ctx.execution_id.name}|{ctx.secrets.get('group', 'key')}"

    @flyte.workflow
    def wf() -> str:
        return t()

    name, secret = wf().split("|")
    assert secret == "s3cret" and name == rillet.current_context().execution_id or name


# -- >> and create_node --------------------------------------------------------

RAN: list[str] = []


@task
def step(name: str) -> None:
    RAN.append(name)


@task
def value(x: int) -> int:
    RAN.append(f"value{x}")
    return x


def test_rshift_orders_nodes_without_data_even_against_the_body_order() -> None:
    @workflow
    def wf() -> int:
        a = step(name="a")
        b = step(name="b")
        v = value(x=1)
        b >> a  # a now waits for b
        v >> b  # and b for v
        return v

    ids = [n.id for n in wf.spec.nodes]
    assert ids.index("value") < ids.index("step-1") < ids.index("step")
    assert "step-1" in wf.spec.node("step").upstream
    RAN.clear()
    assert wf() == 1
    assert RAN == ["value1", "b", "a"]
    RAN.clear()
    ex = rillet.run(wf, home=str(HERE.parent.parent / ".rillet-test-unused"), cache=False) \
        if False else None  # the durable order is tested below
    assert ex is None


def test_rshift_order_holds_in_a_durable_run(tmp_path: Path) -> None:
    @workflow
    def wf() -> None:
        a = step(name="a")
        b = step(name="b")
        b >> a

    RAN.clear()
    ex = rillet.run(wf, home=str(tmp_path / "home"), executor="inline")
    assert ex.status == "SUCCEEDED"
    assert RAN == ["b", "a"]


def test_a_cycle_of_rshift_is_a_compile_error() -> None:
    with pytest.raises(CompileError, match="wait for each other"):

        @workflow
        def wf() -> None:
            a = step(name="a")
            b = step(name="b")
            a >> b
            b >> a


def test_create_node_returns_a_node_with_outputs() -> None:
    from rillet.flyte import create_node

    @workflow
    def wf() -> int:
        first = create_node(step, name="first")
        n = create_node(value, x=3)
        first >> n
        return n.o0

    RAN.clear()
    assert wf() == 3
    assert RAN == ["first", "value3"]
    assert create_node(value, x=4) == 4  # outside a body it runs


# -- imperative workflows, failure policy, wraps -------------------------------

def test_imperative_workflow_builds_and_runs(tmp_path: Path) -> None:
    wf = rillet.Workflow(name="imp")
    wf.add_workflow_input("x", int)
    node = wf.add_entity(value, x=wf.inputs["x"])
    wf.add_workflow_output("out", node.outputs["o0"])
    assert isinstance(wf, rillet.Workflow)
    assert list(wf.spec.interface.outputs) == ["out"]
    assert wf(x=7) == 7


def _fails() -> None:
    raise ValueError("boom")


@task
def boom() -> None:
    _fails()


def test_fail_after_executable_nodes_complete_runs_the_independent_nodes(tmp_path: Path) -> None:
    from rillet.flyte import WorkflowFailurePolicy

    def body() -> None:
        b = boom()
        after = step(name="after-boom")
        b >> after
        step(name="independent")

    RAN.clear()
    default = workflow(body)
    with pytest.raises(UserCodeError):
        default()
    assert RAN == []
    keep = workflow(failure_policy=WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE)(body)
    with pytest.raises(UserCodeError, match="boom"):
        keep()
    assert RAN == ["independent"]
    RAN.clear()
    ex = rillet.run(keep, home=str(tmp_path / "home"), executor="inline")
    assert ex.status == "FAILED"
    assert RAN == ["independent"]
    with pytest.raises(DefinitionError, match="failure_policy"):
        workflow(failure_policy="SOMETIMES")(body)


def _logged(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        RAN.append("wrapped")
        return fn(*args, **kwargs)

    return wrapper


def test_a_functools_wraps_decorator_keeps_the_interface_and_runs_the_wrapper() -> None:
    @task
    @_logged
    def inc(x: int) -> int:
        return x + 1

    assert list(inc.interface.inputs) == ["x"]

    @workflow
    def wf(x: int) -> int:
        return inc(x=x)

    RAN.clear()
    assert wf(x=1) == 2
    assert RAN == ["wrapped"]


class Pair(NamedTuple):
    a: int
    b: str


# -- files from URLs ------------------------------------------------------------

@task
def read(f: File) -> str:
    with open(f) as fh:
        return fh.read()


@workflow
def read_wf(f: File) -> str:
    return read(f=f)


def test_a_file_input_accepts_a_path_a_file_url_and_an_http_url(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("hello")
    assert read_wf(f=str(tmp_path / "data.txt")) == "hello"
    assert read_wf(f=f"file://{tmp_path / 'data.txt'}") == "hello"

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/data.txt"
        f = File(url)
        assert f.url == url and f.name == "data.txt"
        assert read_wf(f=url) == "hello"
        with pytest.raises(UserCodeError, match="cannot fetch"):
            read_wf(f=url + ".missing")
    finally:
        server.shutdown()
        server.server_close()


def test_resources_take_ephemeral_storage() -> None:
    assert Resources(ephemeral_storage="1Gi").storage_bytes == 1024**3
    with pytest.raises(DefinitionError, match="ephemeral_storage"):
        Resources(ephemeral_storage="lots")


# -- the flytesnacks runner, on fixtures written for these tests ----------------

def test_the_runner_ports_runs_and_reports_each_example() -> None:
    proc = subprocess.run(
        [sys.executable, str(RUNNER), str(HERE / "fixtures"), "--folders", "demo"],
        capture_output=True, text=True, timeout=600,
    )
    lines = proc.stdout.splitlines()
    assert "PASS demo/ported.py" in lines, proc.stdout + proc.stderr
    assert any(ln.startswith("FAIL demo/broken.py: ") and "TypeMismatchError" in ln
               for ln in lines), proc.stdout
    assert any(ln.startswith("SKIP demo/plugin.py: plugin") for ln in lines)
    assert lines[-1].startswith("1 of 2 runnable examples pass; 1 skipped")
    assert proc.returncode == 1


def test_the_readme_flyte_example_is_a_sed_port_and_runs(tmp_path: Path) -> None:
    import json
    import os
    import re

    readme = (HERE.parent.parent / "README.md").read_text()
    code = re.search(r"```python\n(# pipeline.py, after the sed.*?)```", readme, re.S)
    assert code is not None
    ported = code.group(1)
    flyte = ported.replace("rillet.flyte", "flytekit")
    assert re.sub(r"\bflytekit\b", "rillet.flyte", flyte) == ported  # the sed is the port
    assert "rillet" not in flyte
    (tmp_path / "pipeline.py").write_text(ported)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RILLET_")}
    r = subprocess.run([sys.executable, "-m", "rillet.cli", "run", "pipeline.py:pipeline",
                        "--json", "--home", str(tmp_path / "home")], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)["outputs"]
    assert out["o0"] == 5 and out["o1"]["type"] == "file"


def test_the_surface_fixtures_pass_after_the_port() -> None:
    """Ports written for the five semantics flytesnacks needed last (attribute access,
    generator tasks, shell tasks, eager workflows, structured dataset handlers)."""
    proc = subprocess.run(
        [sys.executable, str(RUNNER), str(HERE / "fixtures"), "--folders", "surface"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all(ln.startswith("PASS ") for ln in proc.stdout.splitlines()[:-1]), proc.stdout


class Ratio(NamedTuple):
    ratio: float


@task
def bare_ratio(a: int, b: int) -> Ratio:
    return a / b  # type: ignore[return-value]  # flytekit accepts the field's value itself


def test_a_one_field_named_tuple_task_may_return_the_bare_value(tmp_path: Path) -> None:
    @workflow
    def wf(a: int = 3, b: int = 2) -> float:
        return bare_ratio(a=a, b=b).ratio

    assert bare_ratio(a=1, b=4) == Ratio(0.25)
    assert wf() == 1.5
    ex = rillet.run(wf, home=str(tmp_path / "home"), executor="inline")
    assert ex.status == "SUCCEEDED" and ex.output("o0") == 1.5
