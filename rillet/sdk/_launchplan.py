"""Launch plans: a workflow with default and fixed inputs, and an optional schedule.

Definitions only (validated when created); the scheduler that fires them
belongs to the server. Launch plans are immutable: the same name with
different content is a Conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from rillet.errors import Conflict, DefinitionError, TypeMismatchError
from rillet.types._compat import check_value, type_name


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """Fire on a cron expression; ``kickoff_time_input_arg`` receives the fire time."""

    schedule: str
    kickoff_time_input_arg: str | None = None

    def __post_init__(self) -> None:
        from croniter import croniter

        if not isinstance(self.schedule, str) or not croniter.is_valid(self.schedule):
            raise DefinitionError(
                f"CronSchedule(schedule={self.schedule!r}): not a valid cron expression "
                "(five fields, e.g. '0 2 * * *')"
            )

    def next_after(self, when: datetime) -> datetime:
        from croniter import croniter

        nxt: datetime = croniter(self.schedule, when).get_next(datetime)
        return nxt


@dataclass(frozen=True, slots=True)
class FixedRate:
    """Fire every ``duration``."""

    duration: timedelta
    kickoff_time_input_arg: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.duration, timedelta) or self.duration.total_seconds() <= 0:
            raise DefinitionError(
                f"FixedRate(duration={self.duration!r}): give a positive timedelta"
            )

    def next_after(self, when: datetime) -> datetime:
        return when + self.duration


EVENTS = ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")


@dataclass(frozen=True, slots=True)
class Webhook:
    """POST a signed JSON body to ``url`` when an execution of the plan ends in one of
    ``on`` (SUCCEEDED, FAILED, ABORTED, TIMED_OUT). The server signs it with the secret
    in its environment variable ``secret_env`` (the secret never enters the bundle):
    header ``X-Rillet-Signature: sha256=<HMAC-SHA256 of the body, hex>``."""

    url: str
    on: tuple[str, ...] = EVENTS
    secret_env: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.startswith(("http://", "https://")):
            raise DefinitionError(f"Webhook(url={self.url!r}): give an http:// or https:// URL")
        on = (self.on,) if isinstance(self.on, str) else tuple(self.on)
        bad = [e for e in on if e not in EVENTS]
        if bad or not on:
            raise DefinitionError(
                f"Webhook(on={self.on!r}): events are {', '.join(EVENTS)}")
        object.__setattr__(self, "on", on)
        if self.secret_env is not None and (not isinstance(self.secret_env, str)
                                            or not self.secret_env):
            raise DefinitionError(
                f"Webhook(secret_env={self.secret_env!r}): give an environment variable name")


@dataclass(frozen=True, slots=True, kw_only=True)
class LaunchPlan:
    """A named way to launch a workflow."""

    name: str
    workflow: Any
    default_inputs: dict[str, Any] = field(default_factory=dict)
    fixed_inputs: dict[str, Any] = field(default_factory=dict)
    schedule: CronSchedule | FixedRate | None = None
    notifications: tuple[Webhook, ...] = ()

    _registry: ClassVar[dict[str, LaunchPlan]] = {}

    @classmethod
    def get_or_create(
        cls,
        workflow: Any,
        name: str | None = None,
        *,
        default_inputs: dict[str, Any] | None = None,
        fixed_inputs: dict[str, Any] | None = None,
        schedule: CronSchedule | FixedRate | None = None,
        notifications: list[Webhook] | tuple[Webhook, ...] | None = None,
    ) -> LaunchPlan:
        if not hasattr(workflow, "spec"):
            raise DefinitionError(f"LaunchPlan needs a @workflow, got {type(workflow).__name__}")
        name = name or workflow.name
        plan = cls(name=name, workflow=workflow, default_inputs=dict(default_inputs or {}),
                   fixed_inputs=dict(fixed_inputs or {}), schedule=schedule,
                   notifications=tuple(notifications or ()))
        plan._validate()
        existing = cls._registry.get(name)
        if existing is not None and _file_of(existing.workflow) != _file_of(workflow):
            existing = None  # another copy of the code (a worker loading another version)
        if existing is not None:
            if (existing.workflow is not workflow or existing.default_inputs != plan.default_inputs
                    or existing.fixed_inputs != plan.fixed_inputs
                    or existing.schedule != plan.schedule
                    or existing.notifications != plan.notifications):
                raise Conflict(
                    f"launch plan '{name}' exists with different content; launch plans are "
                    "immutable, give the new one another name"
                )
            return existing
        cls._registry[name] = plan
        return plan

    def _validate(self) -> None:
        iface = self.workflow.interface
        for label, values in (("default_inputs", self.default_inputs),
                              ("fixed_inputs", self.fixed_inputs)):
            for key, value in values.items():
                if key not in iface.inputs:
                    raise DefinitionError(
                        f"launch plan '{self.name}': {label} names unknown input '{key}' "
                        f"(inputs: {', '.join(iface.inputs) or 'none'})"
                    )
                if not check_value(value, iface.inputs[key]):
                    raise TypeMismatchError(
                        f"launch plan '{self.name}': {label}['{key}'] expects "
                        f"{type_name(iface.inputs[key])}, got {type(value).__name__}"
                    )
        for hook in self.notifications:
            if not isinstance(hook, Webhook):
                raise DefinitionError(
                    f"launch plan '{self.name}': notifications take Webhook(...), got "
                    f"{type(hook).__name__}")
        arg = self.schedule.kickoff_time_input_arg if self.schedule is not None else None
        if arg is not None and arg not in iface.inputs:
            raise DefinitionError(
                f"launch plan '{self.name}': kickoff_time_input_arg '{arg}' is not an input of "
                f"workflow '{self.workflow.name}'"
            )

    def inputs_for(self, given: dict[str, Any]) -> dict[str, Any]:
        """The workflow inputs of a launch: defaults, then ``given``, then fixed inputs."""
        clash = sorted(set(given) & set(self.fixed_inputs))
        if clash:
            raise DefinitionError(
                f"launch plan '{self.name}': input(s) {', '.join(clash)} are fixed and cannot "
                "be overridden"
            )
        return {**self.default_inputs, **given, **self.fixed_inputs}

    def __call__(self, **inputs: Any) -> Any:
        return self.workflow(**self.inputs_for(inputs))


def _file_of(workflow: Any) -> str | None:
    code = getattr(workflow.fn, "__code__", None)
    return code.co_filename if code is not None else None
