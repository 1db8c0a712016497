"""``current_context()`` inside tasks: ids, attempt, working directory, checkpoint, params."""

import os

import pytest

from rillet import ExecutionContext, current_context, map_task, task, workflow


@task
def describe() -> dict[str, str]:
    ctx = current_context()
    return {
        "execution_id": ctx.execution_id,
        "node_id": ctx.node_id,
        "attempt": str(ctx.attempt),
        "type": type(ctx).__name__,
    }


def test_fields_inside_a_workflow() -> None:
    @workflow
    def wf() -> list[dict[str, str]]:
        return [describe(), describe()]

    first, second = wf()
    assert first["execution_id"].startswith("local-")
    assert second["execution_id"] == first["execution_id"]  # one call, one execution
    first.pop("execution_id")
    assert first == {
        "node_id": "describe",
        "attempt": "1",
        "type": "ExecutionContext",
    }
    assert second["node_id"] == "describe-1"


def test_fields_of_a_task_called_directly() -> None:
    info = describe()
    assert info["node_id"] == "describe"
    assert info["attempt"] == "1"


def test_context_outside_any_task_is_detached() -> None:
    ctx = current_context()
    assert isinstance(ctx, ExecutionContext)
    assert ctx.node_id == "detached" and ctx.attempt == 1
    assert "detached" in repr(ctx)


def test_node_ids_inside_a_subworkflow() -> None:
    @task
    def node_of(x: int) -> str:
        return current_context().node_id

    @workflow
    def sub(x: int) -> str:
        return node_of(x=x)

    @workflow
    def wf(xs: list[int]) -> list[str]:
        return [sub(x=1), node_of(x=1), sub(x=2)]

    @workflow
    def mapped(xs: list[int]) -> list[str]:
        return map_task(node_of)(x=xs)

    assert wf(xs=[]) == ["sub/node_of", "node_of", "sub-1/node_of"]
    assert mapped(xs=[1, 2]) == ["map-node_of", "map-node_of"]


def test_a_workflow_called_inside_a_task_runs_under_that_task() -> None:
    @task
    def node_of() -> str:
        return current_context().node_id

    @workflow
    def inner() -> str:
        return node_of()

    @task
    def calls_inner() -> list[str]:
        return [inner(), current_context().node_id]

    @workflow
    def wf() -> list[str]:
        return calls_inner()

    assert wf() == ["calls_inner/node_of", "calls_inner"]


def test_working_directory_is_a_fresh_folder_per_node_and_attempt() -> None:
    @task
    def workdir(tag: str) -> str:
        path = current_context().working_directory
        assert os.path.isdir(path) and os.listdir(path) == []
        with open(os.path.join(path, "scratch.txt"), "w") as f:
            f.write(tag)
        return path

    @workflow
    def wf() -> list[str]:
        return [workdir(tag="a"), workdir(tag="b")]

    a, b = wf()
    assert a != b
    assert a.endswith(os.path.join("workdir", "1")) and b.endswith(os.path.join("workdir-1", "1"))


def test_checkpoint_survives_retries_within_a_direct_call() -> None:
    seen: list[bytes | None] = []

    @task(retries=2)
    def resumable(n: int) -> int:
        ctx = current_context()
        previous = ctx.checkpoint.read()
        seen.append(previous)
        done = int(previous or b"0")
        ctx.checkpoint.write(str(done + 1).encode())
        if done + 1 < n:
            raise RuntimeError(f"interrupted after {done + 1}")
        return done + 1

    assert resumable(n=3) == 3
    assert seen == [None, b"1", b"2"]

    # A new direct call starts without a checkpoint.
    seen.clear()
    assert resumable(n=1) == 1
    assert seen == [None]

    @workflow
    def wf(n: int) -> int:
        return resumable(n=n)

    seen.clear()
    assert wf(n=2) == 2
    assert seen == [None, b"1"]
    seen.clear()
    assert wf(n=2) == 2  # every workflow call starts fresh too
    assert seen == [None, b"1"]


def test_checkpoints_are_per_node() -> None:
    @task
    def writes(tag: str) -> str:
        ctx = current_context()
        before = ctx.checkpoint.read()
        ctx.checkpoint.write(tag.encode())
        return repr(before)

    @workflow
    def wf() -> list[str]:
        return [writes(tag="a"), writes(tag="b")]

    assert wf() == ["None", "None"]


def test_checkpoint_write_takes_bytes() -> None:
    @task
    def bad() -> None:
        current_context().checkpoint.write("text")  # type: ignore[arg-type]

    with pytest.raises(TypeError, match="takes bytes"):
        bad()

    @task
    def views() -> bytes | None:
        ctx = current_context()
        ctx.checkpoint.write(memoryview(b"abc"))
        return ctx.checkpoint.read()

    assert views() == b"abc"


def test_log_param_and_log_metric_can_be_called_anywhere() -> None:
    @task
    def train(lr: float) -> float:
        ctx = current_context()
        ctx.log_param("lr", lr)
        for step in range(3):
            ctx.log_metric("loss", 1.0 / (step + 1), step=step)
        ctx.log_metric("final", 3)
        return lr

    @workflow
    def wf(lr: float) -> float:
        return train(lr=lr)

    assert wf(lr=0.1) == 0.1
    assert train(lr=0.2) == 0.2


def test_working_directory_of_a_nested_node() -> None:
    @task
    def workdir() -> str:
        return current_context().working_directory

    @task
    def sub_workdir() -> str:  # a name that must not collide with sub/workdir
        return current_context().working_directory

    @workflow
    def sub() -> str:
        return workdir()

    @workflow
    def wf() -> list[str]:
        return [sub(), sub_workdir()]

    nested, flat = wf()
    assert nested.endswith(os.path.join("sub", "workdir", "1"))
    assert flat.endswith(os.path.join("sub_workdir", "1"))
    assert os.path.dirname(os.path.dirname(nested)) != os.path.dirname(flat)
