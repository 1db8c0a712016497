"""``@task`` and ``@dynamic``: typed units of work.

A Task keeps the user's function and its declarations. Called inside a workflow
body it adds a node (through the compiler's active builder); called anywhere
else it runs the function. It never touches a store.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Generic, ParamSpec, TypeVar, overload

from rillet.compiler._builder import ACTIVE, compile_body
from rillet.compiler._interface import (
    Interface,
    UnresolvedAnnotations,
    input_names,
    pack_outputs,
    read_interface,
    where,
)
from rillet.compiler._spec import WorkflowSpec
from rillet.engine._attempts import attempt_runner
from rillet.engine._direct import OutputCheck, run_detached, run_direct, task_callable
from rillet.engine._loading import reduce_entity
from rillet.errors import DefinitionError
from rillet.sdk._environment import Environment, ImageSpec, environment_of
from rillet.sdk._resources import Cache, Resources
from rillet.types._files import set_url_fetcher

P = ParamSpec("P")
R = TypeVar("R")


def _fetch_url(url: str, target: str, recursive: bool) -> None:
    from rillet.artifacts import fetch_url

    fetch_url(url, target, recursive)


set_url_fetcher(_fetch_url)  # a File/Directory given as a URL is fetched through fsspec


def _timeout_seconds(timeout: timedelta | float | int | None, name: str) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        seconds = float(timeout)
    else:
        raise DefinitionError(
            f"task '{name}': timeout must be a timedelta or a number of seconds, got {timeout!r}"
        )
    if not seconds > 0:
        raise DefinitionError(f"task '{name}': timeout must be positive, got {timeout!r}")
    return seconds


def _cache_of(cache: bool | Cache | None, version: str | None, serialize: bool) -> Cache | None:
    if isinstance(cache, Cache):
        if version is not None or serialize:
            raise DefinitionError(
                "@task(cache=Cache(...)) takes the version and serialize inside Cache(...), "
                "not as cache_version= or cache_serialize="
            )
        return cache
    if cache is True:
        return Cache(version=version, serialize=serialize)
    if cache is False or cache is None:
        if version is not None or serialize:
            raise DefinitionError(
                "@task(cache_version=...) or cache_serialize=True needs cache=True"
            )
        return None
    raise DefinitionError(f"@task(cache=...) takes True, False or Cache(...), got {cache!r}")


def _check_ignored_inputs(
    fn: Callable[..., Any], name: str, cache: Cache, inputs: tuple[str, ...]
) -> None:
    unknown = [i for i in cache.ignored_inputs if i not in inputs]
    if unknown:
        raise DefinitionError(
            f"{where(fn)}: task '{name}': Cache(ignored_inputs=...) names unknown "
            f"input(s) {', '.join(unknown)} (its inputs: {', '.join(inputs) or 'none'})"
        )


def _check_types(iface: Interface, fn: Callable[..., Any], name: str) -> None:
    """Warn now for a pickled type; fail now for a type whose library is missing."""
    from rillet.types._checks import check_declared

    for label, tp in (*iface.inputs.items(), *(("output " + k, t)
                                                 for k, t in iface.outputs.items())):
        check_declared(tp, f"{where(fn)}: task '{name}' {label}")


class Task(Generic[P, R]):
    """A typed function that becomes a node when called inside a workflow."""

    node_kind = "task"

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        cache: Cache | None = None,
        retries: int = 0,
        timeout: timedelta | float | int | None = None,
        requests: Resources | None = None,
        limits: Resources | None = None,
        environment: Environment | ImageSpec | None = None,
        container_image: ImageSpec | Environment | str | None = None,
    ) -> None:
        if not callable(fn):
            raise DefinitionError(f"@task needs a function, got {type(fn).__name__}")
        self.fn = fn
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]
        self.name = f"{fn.__module__}:{fn.__qualname__}"
        self.short_name = fn.__name__
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise DefinitionError(
                f"task '{self.name}': retries must be an int >= 0, got {retries!r}"
            )
        names = input_names(fn, self.node_kind)
        if cache is not None and names is not None:
            _check_ignored_inputs(fn, self.name, cache, names)
        for label, res in (("requests", requests), ("limits", limits)):
            if res is not None and not isinstance(res, Resources):
                raise DefinitionError(
                    f"task '{self.name}': {label} must be Resources(...), got {type(res).__name__}"
                )
        self.cache = cache
        self.retries = retries
        self.timeout_seconds = _timeout_seconds(timeout, self.name)
        self.requests = requests
        self.limits = limits
        if environment is not None and container_image is not None:
            raise DefinitionError(
                f"task '{self.name}': give environment= or container_image=, not both"
            )
        self.container_image = container_image  # recorded as given (an image name too)
        self.environment = environment_of(
            environment if environment is not None else container_image, self.name
        )
        self._interface: Interface | None = None
        self._call: Callable[..., Any] | None = None
        self._check: OutputCheck
        if names is not None:
            try:  # read now, so that a wrong default or annotation fails at decoration
                self._interface = read_interface(fn, self.node_kind)
            except UnresolvedAnnotations:
                pass  # it names a class defined later in the module: read on first use
            else:
                _check_types(self._interface, fn, self.name)

    @property
    def interface(self) -> Interface:
        iface = self._interface
        if iface is None:
            iface = read_interface(self.fn, self.node_kind)
            if self.cache is not None:
                _check_ignored_inputs(self.fn, self.name, self.cache, tuple(iface.inputs))
            self._interface = iface
        return iface

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        builder = ACTIVE.builder
        if builder is not None:
            return builder.call(self, args, kwargs)  # type: ignore[no-any-return]
        call = self._call
        if call is None:
            call = self._call = self._direct_callable()
            self._check = OutputCheck(self, self.interface.outputs)
        if args:
            kwargs = self._by_name(args, kwargs)  # type: ignore[assignment]
        result = run_detached(self.short_name, call, **kwargs)
        check = self._check
        if type(result) is not check.exact and check.outputs:
            check(result)
        return result  # type: ignore[no-any-return]

    # flytekit options of with_overrides() that name a cluster feature: accepted, recorded
    _RECORDED_OVERRIDES = frozenset({"interruptible", "name", "node_name", "accelerator",
                                     "cache", "cache_version", "cache_serialize",
                                     "container_image", "task_config", "pod_template"})

    def overridden(self, overrides: dict[str, Any]) -> Task[P, R]:
        """A copy of this task for one node, with ``requests``/``limits``/``retries``/
        ``timeout`` changed (``node.with_overrides(...)`` in a workflow body)."""
        clone = object.__new__(type(self))  # not copy.copy: __reduce__ loads by name
        clone.__dict__.update(self.__dict__)
        recorded = dict(getattr(self, "flyte_options", {}) or {})
        for key, value in overrides.items():
            if key in ("requests", "limits"):
                if value is not None and not isinstance(value, Resources):
                    raise DefinitionError(f"with_overrides({key}=...): give Resources(...)")
                setattr(clone, key, value)
            elif key == "retries":
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise DefinitionError(f"with_overrides(retries={value!r}): an int >= 0")
                clone.retries = value
            elif key == "timeout":
                clone.timeout_seconds = _timeout_seconds(value, self.name)
            elif key in self._RECORDED_OVERRIDES:
                recorded[key] = value
            else:
                raise DefinitionError(
                    f"task '{self.name}': with_overrides({key}=...) is not an override rillet "
                    "knows (requests, limits, retries, timeout)"
                )
        clone.flyte_options = recorded  # type: ignore[attr-defined]
        clone._call = None
        return clone

    def _by_name(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        positional = self.interface.positional
        if len(args) > len(positional):
            raise TypeError(
                f"{self.node_kind} '{self.name}' takes {len(positional)} positional inputs "
                f"but {len(args)} were given"
            )
        given = dict(zip(positional, args, strict=False))
        for key in kwargs:
            if key in given:
                raise TypeError(f"{self.node_kind} '{self.name}' got input '{key}' twice")
        given.update(kwargs)
        return given

    def _direct_callable(self) -> Callable[..., Any]:
        return task_callable(self)

    def __reduce__(self) -> Any:
        return reduce_entity(self)

    def __repr__(self) -> str:
        return f"Task({self.name})"


class Dynamic(Task[P, R]):
    """A task whose body runs at execution time and returns promises of a sub-DAG."""

    node_kind = "dynamic"

    def compile_with(self, inputs: dict[str, Any]) -> WorkflowSpec:
        """Run the body with real input values, compiling the sub-DAG it builds."""
        return compile_body(self.name, self.fn, self.interface, inputs=inputs)

    def _direct_callable(self) -> Callable[..., Any]:
        def run(**kwargs: Any) -> Any:
            iface = self.interface
            values = {**iface.defaults, **kwargs}
            outputs = run_direct(self.compile_with(values), {})
            return _pack(iface, outputs)

        run.__qualname__ = self.fn.__qualname__
        return attempt_runner(run, self.retries, self.timeout_seconds)


def _pack(iface: Interface, outputs: dict[str, Any]) -> Any:
    if not iface.outputs:
        return None
    if iface.output_tuple is not None:
        return pack_outputs(iface.output_tuple, [outputs[k] for k in iface.outputs])
    return outputs[next(iter(iface.outputs))]


@overload
def task(fn: Callable[P, R], /) -> Task[P, R]: ...


@overload
def task(
    *,
    cache: bool | Cache = False,
    cache_version: str | None = None,
    cache_serialize: bool = False,
    retries: int = 0,
    timeout: timedelta | float | int | None = None,
    requests: Resources | None = None,
    limits: Resources | None = None,
    environment: Environment | ImageSpec | None = None,
    container_image: ImageSpec | Environment | str | None = None,
) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(
    fn: Callable[P, R] | None = None,
    /,
    *,
    cache: bool | Cache = False,
    cache_version: str | None = None,
    cache_serialize: bool = False,
    retries: int = 0,
    timeout: timedelta | float | int | None = None,
    requests: Resources | None = None,
    limits: Resources | None = None,
    environment: Environment | ImageSpec | None = None,
    container_image: ImageSpec | Environment | str | None = None,
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Declare a task: ``@task`` or ``@task(cache=True, retries=2, ...)``."""

    def wrap(f: Callable[P, R]) -> Task[P, R]:
        return Task(
            f,
            cache=_cache_of(cache, cache_version, cache_serialize),
            retries=retries,
            timeout=timeout,
            requests=requests,
            limits=limits,
            environment=environment,
            container_image=container_image,
        )

    return wrap(fn) if fn is not None else wrap


@overload
def dynamic(fn: Callable[P, R], /) -> Dynamic[P, R]: ...


@overload
def dynamic(
    *, retries: int = 0, timeout: timedelta | float | int | None = None,
    requests: Resources | None = None, limits: Resources | None = None,
) -> Callable[[Callable[P, R]], Dynamic[P, R]]: ...


def dynamic(
    fn: Callable[P, R] | None = None,
    /,
    *,
    retries: int = 0,
    timeout: timedelta | float | int | None = None,
    requests: Resources | None = None,
    limits: Resources | None = None,
) -> Dynamic[P, R] | Callable[[Callable[P, R]], Dynamic[P, R]]:
    """Declare a dynamic workflow: its body runs at execution time with real inputs."""

    def wrap(f: Callable[P, R]) -> Dynamic[P, R]:
        return Dynamic(f, retries=retries, timeout=timeout, requests=requests, limits=limits)

    return wrap(fn) if fn is not None else wrap
