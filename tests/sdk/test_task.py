"""``@task``: declaration, validation at decoration, and direct calls."""

from datetime import timedelta
from typing import NamedTuple

import pytest

from rillet import Cache, Resources, Task, task, workflow
from rillet.errors import DefinitionError


def test_bare_task_is_a_task_and_called_directly_returns_a_plain_value() -> None:
    @task
    def inc(x: int) -> int:
        return x + 1

    assert isinstance(inc, Task)
    assert inc(x=1) == 2
    assert inc(41) == 42  # positional works too
    assert inc.name == f"{__name__}:{inc.fn.__qualname__}"  # module:qualname
    assert inc.name.endswith("<locals>.inc")
    assert inc.short_name == "inc"
    assert inc.__name__ == "inc" and inc.__doc__ is None  # functools.wraps
    assert inc.cache is None and inc.retries == 0 and inc.timeout_seconds is None
    assert inc.requests is None and inc.limits is None


def test_task_with_options() -> None:
    @task(
        cache=True,
        cache_version="1",
        retries=2,
        timeout=timedelta(minutes=5),
        requests=Resources(cpu="1", mem="512Mi"),
        limits=Resources(gpu="1"),
    )
    def train(data: list[float], lr: float = 0.1) -> float:
        """Docstring kept."""
        return sum(data) * lr

    assert train(data=[1.0, 2.0]) == pytest.approx(0.3)
    assert train([1.0], lr=2.0) == 2.0
    assert train.__doc__ == "Docstring kept."
    assert train.cache == Cache(version="1", serialize=False, ignored_inputs=())
    assert train.retries == 2
    assert train.timeout_seconds == 300.0
    assert train.requests is not None and train.requests.cpu_cores == 1.0
    assert train.requests.mem_bytes == 512 * 2**20
    assert train.limits is not None and train.limits.gpu_count == 1
    assert train.interface.inputs == {"data": list[float], "lr": float}
    assert train.interface.defaults == {"lr": 0.1}
    assert train.interface.outputs == {"o0": float}


def test_timeout_as_seconds() -> None:
    @task(timeout=1.5)
    def f() -> None:
        pass

    assert f.timeout_seconds == 1.5


@pytest.mark.parametrize("timeout", [0, -1, timedelta(0), "5m", True, [1]])
def test_bad_timeout_is_rejected_at_decoration(timeout: object) -> None:
    with pytest.raises(DefinitionError, match="timeout"):

        @task(timeout=timeout)  # type: ignore[arg-type]
        def f() -> None:
            pass


@pytest.mark.parametrize("retries", [-1, 1.5, "2", True])
def test_bad_retries_are_rejected_at_decoration(retries: object) -> None:
    with pytest.raises(DefinitionError, match="retries must be an int >= 0"):

        @task(retries=retries)  # type: ignore[arg-type]
        def f() -> None:
            pass


def test_resources_must_be_resources() -> None:
    with pytest.raises(DefinitionError, match="requests must be Resources"):

        @task(requests={"cpu": "1"})  # type: ignore[arg-type]
        def f() -> None:
            pass


def test_missing_annotation_is_rejected_at_decoration() -> None:
    with pytest.raises(DefinitionError, match="input 'x' has no type annotation") as info:

        @task
        def f(x) -> int:  # type: ignore[no-untyped-def]
            return 1

    assert __file__ in str(info.value)


def test_star_args_are_rejected_at_decoration() -> None:
    with pytest.raises(DefinitionError, match=r"takes \*rest"):

        @task
        def f(x: int, *rest: int) -> int:
            return x


@task
def make_later(n: int) -> "LaterPair":  # decorated before LaterPair exists
    return LaterPair(a=n, b=-n)


class LaterPair(NamedTuple):
    a: int
    b: int


def test_annotations_may_name_a_class_defined_later() -> None:
    assert make_later(n=2) == LaterPair(2, -2)
    assert list(make_later.interface.outputs) == ["a", "b"]


def test_not_a_function() -> None:
    with pytest.raises(DefinitionError, match="@task needs a function"):
        task(3)  # type: ignore[call-overload]


# -- cache ----------------------------------------------------------------------


def test_cache_true_with_a_version() -> None:
    @task(cache=True, cache_version="7", cache_serialize=True)
    def f(x: int) -> int:
        return x

    assert f.cache == Cache(version="7", serialize=True)


def test_cache_true_without_a_version_uses_the_code_hash() -> None:
    @task(cache=True)
    def f(x: int) -> int:
        return x

    assert f.cache == Cache(version=None, serialize=False, ignored_inputs=())


def test_cache_object() -> None:
    @task(cache=Cache(version="2", serialize=True, ignored_inputs=("verbose",)))
    def featurize(xs: list[int], verbose: bool = False) -> list[int]:
        return xs

    assert featurize.cache is not None
    assert featurize.cache.version == "2"
    assert featurize.cache.serialize is True
    assert featurize.cache.ignored_inputs == ("verbose",)
    assert featurize(xs=[1]) == [1]


def test_cache_positional_and_ignored_inputs_normalized() -> None:
    assert Cache("2", True, ["a", "b"]).ignored_inputs == ("a", "b")  # type: ignore[arg-type]
    assert Cache(ignored_inputs="a").ignored_inputs == ("a",)  # type: ignore[arg-type]
    assert Cache().version is None


def test_unknown_ignored_input_is_rejected_at_decoration() -> None:
    with pytest.raises(DefinitionError, match="ignored_inputs=.*unknown input.*verbos") as info:

        @task(cache=Cache(version="1", ignored_inputs=("verbos",)))
        def f(xs: list[int], verbose: bool = False) -> int:
            return 1

    assert "its inputs: xs, verbose" in str(info.value)


def test_cache_version_must_be_a_string() -> None:
    with pytest.raises(DefinitionError, match="must be a str"):
        Cache(version=2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"cache_version": "1"},
        {"cache": False, "cache_serialize": True},
        {"cache": Cache(version="1"), "cache_version": "2"},
        {"cache": "yes"},
    ],
)
def test_contradictory_cache_options_are_rejected(options: dict) -> None:
    with pytest.raises(DefinitionError, match="cache"):

        @task(**options)
        def f(x: int) -> int:
            return x


# -- direct calls -----------------------------------------------------------------


def test_a_task_called_directly_raises_the_users_own_exception() -> None:
    class Boom(Exception):
        pass

    @task
    def explode(x: int) -> int:
        raise Boom(f"x={x}")

    with pytest.raises(Boom, match="x=3"):
        explode(x=3)


def test_a_task_called_directly_with_bad_arguments() -> None:
    @task
    def add(x: int, y: int = 1) -> int:
        return x + y

    with pytest.raises(TypeError, match="takes 2 positional inputs but 3 were given"):
        add(1, 2, 3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="input 'x' twice"):
        add(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError):
        add(z=1)  # type: ignore[call-arg]
    assert add(1) == 2 and add(1, y=5) == 6


def test_named_tuple_outputs_called_directly() -> None:
    class Split(NamedTuple):
        train: list[int]
        test: list[int]

    @task
    def split(xs: list[int]) -> Split:
        k = len(xs) // 2
        return Split(train=xs[:k], test=xs[k:])

    parts = split(xs=[1, 2, 3, 4])
    assert parts.train == [1, 2] and parts.test == [3, 4]
    assert split.interface.outputs == {"train": list[int], "test": list[int]}


def test_a_task_is_usable_after_being_used_in_a_workflow() -> None:
    @task
    def double(x: int) -> int:
        return 2 * x

    @workflow
    def wf(x: int) -> int:
        return double(x=double(x=x))

    assert wf(x=3) == 12
    assert double(x=3) == 6


def test_async_and_generator_functions_are_refused() -> None:
    with pytest.raises(DefinitionError, match="async or generator function"):

        @task
        async def fetch(x: int) -> int:
            return x

    with pytest.raises(DefinitionError, match=r"is a generator: declare what it yields.*Iterator"):

        @task
        def gen(x: int) -> int:  # type: ignore[misc]
            yield x

    with pytest.raises(DefinitionError, match="async or generator function"):

        @workflow
        async def wf(x: int) -> int:
            return x


def test_positional_only_inputs_are_refused() -> None:
    with pytest.raises(DefinitionError, match="positional-only inputs"):

        @task
        def f(x: int, /) -> int:
            return x


def test_ignored_inputs_must_be_names() -> None:
    with pytest.raises(DefinitionError, match="give input names"):
        Cache(ignored_inputs=(1,))  # type: ignore[arg-type]
