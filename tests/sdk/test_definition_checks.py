"""Checks made when a task is defined: pickled types warn there (once per type), a type
whose library is missing fails there naming the pip extra, and flytekit's spellings of
a tuple return (``-> (int, str)``) and of per-node overrides work."""


import sys
import typing
from typing import Optional

import pandas as pd
import pytest

from rillet import FailureInfo, Resources, task, workflow
from rillet.errors import DefinitionError
from rillet.types import _checks
from rillet.types._codecs import PickleFallbackWarning


class Opaque:  # no dedicated format: the pickle fallback
    pass


def test_a_pickled_type_warns_when_the_task_is_defined_once_per_type() -> None:
    with pytest.warns(PickleFallbackWarning, match="Opaque") as caught:

        @task
        def make() -> Opaque:
            return Opaque()

        @task
        def use(x: Opaque) -> int:
            return 1

    assert len([w for w in caught if "Opaque" in str(w.message)]) == 1
    assert caught[0].filename == __file__  # it names the user's file


def test_a_missing_storage_library_fails_at_definition_with_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    monkeypatch.setattr(_checks, "_checked", {})
    with pytest.raises(DefinitionError) as info:

        @task
        def frame(n: int) -> pd.DataFrame:
            return pd.DataFrame({"n": [n]})

    message = str(info.value)
    assert "pip install 'rillet[data]'" in message and "pyarrow" in message
    assert "\n" not in message and "frame" in message


def test_a_tuple_of_types_as_return_annotation_is_a_fixed_tuple() -> None:
    @task
    def pair(x: int) -> (int, str):  # type: ignore[syntax]  # flytekit accepts it
        return x, str(x)

    assert list(pair.interface.outputs) == ["o0", "o1"]

    @workflow
    def wf(x: int) -> (str, int):  # type: ignore[syntax]
        a, b = pair(x=x)
        return b, a

    assert wf(x=2) == ("2", 2)


def test_with_overrides_changes_one_node_only() -> None:
    @task(retries=1, requests=Resources(cpu="1"))
    def inc(x: int) -> int:
        return x + 1

    @workflow
    def wf(x: int) -> int:
        a = inc(x=x)
        return inc(x=a).with_overrides(limits=Resources(cpu="2", mem="500Mi"), retries=3)

    first, second = wf.spec.nodes
    assert first.entity is inc and first.entity.limits is None
    assert second.entity.limits == Resources(cpu="2", mem="500Mi")
    assert second.entity.retries == 3 and second.entity.name == inc.name
    assert inc.retries == 1  # the task itself is unchanged
    assert wf(x=1) == 3
    with pytest.raises(DefinitionError, match="with_overrides\\(colour=...\\)"):

        @workflow
        def bad(x: int) -> int:
            return inc(x=x).with_overrides(colour="red")


SEEN: list[str] = []


def test_a_failure_handler_input_typed_failure_info_gets_the_error() -> None:
    @task
    def cleanup(name: str, err: Optional[FailureInfo] = None) -> None:  # noqa: UP045
        SEEN.append(f"{name}:{err.error_type if err else None}")

    @task
    def fails() -> None:
        raise ValueError("no")

    @workflow(on_failure=cleanup)
    def wf(name: str = "c") -> None:
        fails()

    with pytest.raises(Exception, match="no"):
        wf()
    assert SEEN == ["c:ValueError"]


class Split(typing.NamedTuple):
    train: list[int]
    test: list[int]


@task
def split(n: int) -> Split:
    return Split(train=list(range(n)), test=[n])


@task
def sizes(parts: Split) -> str:
    return f"{len(parts.train)}/{len(parts.test)}"


@workflow
def whole(n: int = 3) -> str:
    return sizes(parts=split(n=n))  # the NamedTuple of promises binds as one value


def test_named_outputs_passed_whole_bind_as_one_value(tmp_path: typing.Any) -> None:
    import rillet

    assert whole(n=3) == "3/1"
    ex = rillet.run(whole, home=str(tmp_path / "home"), executor="inline", n=4)
    assert ex.status == "SUCCEEDED" and ex.outputs["o0"] == "4/1"
