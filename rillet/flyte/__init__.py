"""flytekit's import paths over rillet, so ``sed 's/\\bflytekit\\b/rillet.flyte/g'`` ports a file.

Each name maps onto rillet's own API (``rillet.task``, ``rillet.File``...); flytekit
options that mean something here are used, those that name a cluster feature (an
image, a pod template, an interruptible node) are accepted and recorded on the task.
This package adds no behaviour of its own beyond that mapping.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Callable
from typing import Any

from rillet.compiler._builder import ACTIVE
from rillet.compiler._promise import NodeRef
from rillet.engine._context import ExecutionContext
from rillet.engine._context import current_context as _current_context
from rillet.errors import DefinitionError
from rillet.sdk._conditional import conditional
from rillet.sdk._eager import eager
from rillet.sdk._environment import Environment, ImageSpec
from rillet.sdk._imperative import create_node
from rillet.sdk._launchplan import CronSchedule, FixedRate
from rillet.sdk._launchplan import LaunchPlan as _LaunchPlan
from rillet.sdk._map import map_task
from rillet.sdk._resources import Cache, Resources
from rillet.sdk._task import Task
from rillet.sdk._task import dynamic as _dynamic
from rillet.sdk._task import task as _task
from rillet.sdk._workflow import Workflow, WorkflowFailurePolicy, workflow
from rillet.types._files import Directory, File

__all__ = [
    "Cache", "CronSchedule", "Deck", "Environment", "FixedRate", "FlyteContext",
    "FlyteContextManager", "HashMethod", "ImageSpec", "LaunchPlan", "Resources", "Secret",
    "Workflow", "WorkflowFailurePolicy", "conditional", "create_node", "current_context", "dynamic",
    "eager", "kwtypes", "map_task", "task", "workflow",
]

# flytekit options with no meaning on one machine: accepted and kept on ``task.flyte_options``.
_RECORDED = frozenset({
    "secret_requests", "enable_deck", "deck_fields", "interruptible", "pod_template",
    "pod_template_name", "task_config", "accelerator", "docs", "node_dependency_hints",
    "execution_mode", "task_resolver", "disable_deck", "shared_memory", "labels",
    "annotations",
})


def _cache_args(name: str, kw: dict[str, Any]) -> dict[str, Any]:
    cache = kw.pop("cache", False)
    version = kw.pop("cache_version", None) or None
    serialize = bool(kw.pop("cache_serialize", False))
    ignored = tuple(kw.pop("cache_ignore_input_vars", ()) or ())
    if isinstance(cache, Cache) or not cache:
        return {"cache": cache}
    return {"cache": Cache(version=version, serialize=serialize, ignored_inputs=ignored)}


def _split(name: str, kw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """rillet's task arguments, and the flytekit options recorded as they are."""
    args = _cache_args(name, kw)
    recorded: dict[str, Any] = {}
    env_vars = kw.pop("environment", None)
    if isinstance(env_vars, dict):
        recorded["environment_variables"] = env_vars
    elif env_vars is not None:
        args["environment"] = env_vars
    for key in ("retries", "timeout", "requests", "limits", "container_image"):
        if key in kw:
            args[key] = kw.pop(key)
    if args.get("timeout") is None:
        args.pop("timeout", None)
    unknown = [k for k in kw if k not in _RECORDED]
    if unknown:
        raise DefinitionError(
            f"@task({', '.join(unknown)}=...): not a flytekit option rillet.flyte knows"
        )
    recorded.update(kw)
    return args, recorded


def _declare(
    make: Callable[..., Task[..., Any]], fn: Callable[..., Any] | None, kw: dict[str, Any]
) -> Any:
    def wrap(f: Callable[..., Any]) -> Task[..., Any]:
        args, recorded = _split(getattr(f, "__qualname__", "?"), dict(kw))
        t: Task[..., Any] = make(**args)(f)
        t.flyte_options = recorded  # type: ignore[attr-defined]
        env_vars = recorded.get("environment_variables")
        if env_vars:
            os.environ.update({k: str(v) for k, v in env_vars.items() if k not in os.environ})
        return t

    return wrap(fn) if fn is not None else wrap


def task(_task_function: Callable[..., Any] | None = None, /, **kwargs: Any) -> Any:
    """flytekit's ``@task``: cache/cache_version/cache_serialize, retries, timeout,
    requests/limits, container_image (an ImageSpec is a per-task environment)."""
    return _declare(_task, _task_function, kwargs)


def dynamic(_task_function: Callable[..., Any] | None = None, /, **kwargs: Any) -> Any:
    """flytekit's ``@dynamic``. A dynamic's sub-DAG is compiled at run time; its tasks
    cache on their own, so ``cache=`` on the dynamic itself is recorded, not used."""
    recorded = {k: kwargs.pop(k) for k in ("cache", "cache_version", "cache_serialize")
                if k in kwargs}

    def make(**args: Any) -> Any:
        args.pop("cache", None)
        return _dynamic(**args)

    declared = _declare(make, None, kwargs)

    def wrap(f: Callable[..., Any]) -> Any:
        t = declared(f)
        t.flyte_options.update(recorded)
        return t

    return wrap(_task_function) if _task_function is not None else wrap


class _ExecutionId(str):
    """An execution id that also answers flytekit's ``.name``/``.project``/``.domain``."""

    @property
    def name(self) -> str:
        return str(self)

    @property
    def project(self) -> str:
        return "default"

    @property
    def domain(self) -> str:
        return "development"


class _Secrets:
    """flytekit's local secrets: ``_FSEC_<GROUP>_<KEY>`` environment variables, then files
    under ``/etc/secrets/<group>/<key>``."""

    def get(self, group: str | None = None, key: str | None = None, **_: Any) -> str:
        parts = [p.upper() for p in (group, key) if p]
        env = "_FSEC_" + "_".join(parts)
        if env in os.environ:
            return os.environ[env]
        path = os.path.join("/etc/secrets", *(p.lower() for p in (group, key) if p))
        try:
            with open(path) as fh:
                return fh.read().strip()
        except OSError:
            raise ValueError(
                f"secret {group}/{key} not found: set {env} or write {path}"
            ) from None

    def get_secrets_file(self, group: str | None = None, key: str | None = None) -> str:
        """Where the secret's file would be (flytekit mounts secrets under /etc/secrets)."""
        return os.path.join("/etc/secrets", *(p.lower() for p in (group, key) if p))

    def get_secrets_env_var(self, group: str | None = None, key: str | None = None) -> str:
        return "_FSEC_" + "_".join(p.upper() for p in (group, key) if p)


class _FlyteParams:
    """What flytekit's ``current_context()`` gives a task, over rillet's context."""

    def __init__(self, ctx: ExecutionContext) -> None:
        self._ctx = ctx
        self.execution_id = _ExecutionId(ctx.execution_id)
        self.secrets = _Secrets()
        self.checkpoint = ctx.checkpoint

    @property
    def working_directory(self) -> str:
        return self._ctx.working_directory

    @property
    def execution_date(self) -> Any:
        import datetime

        return datetime.datetime.now(datetime.timezone.utc)

    @property
    def logging(self) -> Any:
        import logging

        return logging.getLogger("rillet.flyte")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


def current_context() -> Any:
    return _FlyteParams(_current_context())


class _CompilationState:
    def __init__(self) -> None:
        builder = ACTIVE.builder
        assert builder is not None
        self.nodes = [NodeRef(n.id, {}) for n in builder.nodes]


class FlyteContext:
    """flytekit's context: only ``compilation_state`` (the body's nodes so far) maps."""

    @property
    def compilation_state(self) -> _CompilationState | None:
        return _CompilationState() if ACTIVE.builder is not None else None


class FlyteContextManager:
    @staticmethod
    def current_context() -> FlyteContext:
        return FlyteContext()


class Secret:
    """flytekit's ``Secret(group, key)``: a request, read in the task with
    ``current_context().secrets.get(group, key)``."""

    def __init__(self, group: str | None = None, key: str | None = None,
                 group_version: str | None = None, mount_requirement: Any = None,
                 env_var: str | None = None) -> None:
        self.group, self.key, self.group_version = group, key, group_version
        self.mount_requirement, self.env_var = mount_requirement, env_var

    class MountType:
        ANY = "ANY"
        ENV_VAR = "ENV_VAR"
        FILE = "FILE"

    def __repr__(self) -> str:
        return f"Secret(group={self.group!r}, key={self.key!r})"


class Deck:
    """flytekit's ``Deck`` (an HTML report in Flyte's UI): the HTML is kept on the object."""

    def __init__(self, name: str, html: str = "") -> None:
        self.name, self.html = name, html

    def append(self, html: str) -> Deck:
        self.html += html
        return self


class LaunchPlan(_LaunchPlan):
    """rillet's LaunchPlan with flytekit's ``create`` and ``get_default_launch_plan``."""

    @classmethod
    def create(cls, name: str, workflow: Any, **kwargs: Any) -> Any:
        return cls.get_or_create(workflow, name, **kwargs)

    @classmethod
    def get_default_launch_plan(cls, ctx: Any, workflow: Any) -> Any:
        return cls.get_or_create(workflow)


class HashMethod:
    """flytekit's ``Annotated[T, HashMethod(fn)]``: accepted; rillet hashes every value
    by its content already, so the function is kept, not called."""

    def __init__(self, function: Callable[[Any], str]) -> None:
        self.function = function


def kwtypes(**kwargs: Any) -> dict[str, Any]:
    """flytekit's ``kwtypes(a=int)``: an ordered name -> type mapping."""
    return dict(kwargs)


FlyteFile = File
FlyteDirectory = Directory
Annotated = typing.Annotated


def __getattr__(name: str) -> Any:
    """``StructuredDatasetType`` on first use (its module imports pandas)."""
    if name == "StructuredDatasetType":
        from rillet.flyte.types.structured.structured_dataset import StructuredDatasetType

        return StructuredDatasetType
    raise AttributeError(f"module 'rillet.flyte' has no attribute {name!r}")
