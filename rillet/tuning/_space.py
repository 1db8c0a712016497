"""The search space of a study: ``Float``, ``Int`` and ``Choice``, their JSON form
(stored with the study, compared on resume) and Optuna's distributions.

Optuna is imported only inside the functions that need it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from rillet.errors import DefinitionError


@dataclass(frozen=True, slots=True)
class Float:
    """A float in ``[lo, hi]``; ``log=True`` samples on a log scale, ``step`` on a grid."""

    lo: float
    hi: float
    log: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        if not self.lo < self.hi:
            raise DefinitionError(f"Float({self.lo}, {self.hi}): lo must be below hi")
        if self.log and self.lo <= 0:
            raise DefinitionError(f"Float({self.lo}, {self.hi}, log=True): lo must be > 0")
        if self.log and self.step is not None:
            raise DefinitionError("Float(..., log=True, step=...): choose log or step, not both")
        if self.step is not None and self.step <= 0:
            raise DefinitionError(f"Float(..., step={self.step}): step must be > 0")

    def describe(self) -> dict[str, Any]:
        return {"type": "float", "lo": self.lo, "hi": self.hi, "log": self.log,
                "step": self.step}

    def grid(self, name: str) -> list[Any]:
        if self.step is None:
            raise DefinitionError(
                f"algorithm='grid' needs a finite grid: give Float '{name}' a step "
                f"(Float({self.lo}, {self.hi}, step=...)) or use Choice([...])")
        count = math.floor((self.hi - self.lo) / self.step + 1e-9) + 1
        return [round(self.lo + i * self.step, 12) for i in range(count)]


@dataclass(frozen=True, slots=True)
class Int:
    """An integer in ``[lo, hi]`` (both included), every ``step``; ``log=True`` on a log scale."""

    lo: int
    hi: int
    log: bool = False
    step: int = 1

    def __post_init__(self) -> None:
        if not self.lo <= self.hi:
            raise DefinitionError(f"Int({self.lo}, {self.hi}): lo must not be above hi")
        if self.log and self.lo <= 0:
            raise DefinitionError(f"Int({self.lo}, {self.hi}, log=True): lo must be > 0")
        if self.step < 1:
            raise DefinitionError(f"Int(..., step={self.step}): step must be >= 1")
        if self.log and self.step != 1:
            raise DefinitionError("Int(..., log=True) takes no step")

    def describe(self) -> dict[str, Any]:
        return {"type": "int", "lo": self.lo, "hi": self.hi, "log": self.log, "step": self.step}

    def grid(self, name: str) -> list[Any]:
        return list(range(self.lo, self.hi + 1, self.step))


@dataclass(frozen=True, slots=True)
class Choice:
    """One of ``values`` (str, int, float, bool or None)."""

    values: tuple[Any, ...]

    def __init__(self, values: Any) -> None:
        values = tuple(values)
        if not values:
            raise DefinitionError("Choice([]) needs at least one value")
        for v in values:
            if v is not None and not isinstance(v, (str, int, float, bool)):
                raise DefinitionError(
                    f"Choice values are str, int, float, bool or None; got {type(v).__name__}"
                    f" ({v!r})")
        object.__setattr__(self, "values", values)

    def describe(self) -> dict[str, Any]:
        return {"type": "choice", "values": list(self.values)}

    def grid(self, name: str) -> list[Any]:
        return list(self.values)


Dimension = Float | Int | Choice


def check_space(space: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Dimension]:
    """Check that each dimension names an input of the workflow; return the space."""
    if not space:
        raise DefinitionError("tune(space={}) is empty: give at least one Float, Int or Choice")
    for name, dim in space.items():
        if not isinstance(dim, (Float, Int, Choice)):
            raise DefinitionError(
                f"space[{name!r}] is {type(dim).__name__}; use Float(lo, hi), Int(lo, hi) "
                "or Choice([...])")
        if name not in inputs:
            raise DefinitionError(
                f"space[{name!r}] is not an input of the workflow (its inputs: "
                f"{', '.join(inputs) or 'none'})")
    return dict(space)


def describe_space(space: dict[str, Dimension]) -> dict[str, Any]:
    return {name: dim.describe() for name, dim in space.items()}


def parse_space(text: str) -> dict[str, Dimension]:
    """A space from JSON (the CLI's ``--space``): ``{"lr": {"type": "float", "lo": 1e-4,
    "hi": 0.1, "log": true}, "depth": {"type": "int", "lo": 2, "hi": 8}, "kind":
    {"type": "choice", "values": ["a", "b"]}}``; also the short forms ``["float", lo, hi]``,
    ``["int", lo, hi]`` and a plain list for a choice."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"--space is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise DefinitionError("--space must be a JSON object: {\"name\": {...}, ...}")
    return {name: dimension_from(name, d) for name, d in raw.items()}


def dimension_from(name: str, d: Any) -> Dimension:
    """A dimension from its described (JSON) form."""
    try:
        if isinstance(d, list) and d and d[0] in ("float", "int"):
            cls = Float if d[0] == "float" else Int
            return cls(*d[1:])
        if isinstance(d, list):
            return Choice(d)
        kind = d.get("type") if isinstance(d, dict) else None
        if kind == "float":
            return Float(float(d["lo"]), float(d["hi"]), bool(d.get("log", False)),
                         None if d.get("step") is None else float(d["step"]))
        if kind == "int":
            return Int(int(d["lo"]), int(d["hi"]), bool(d.get("log", False)),
                       int(d.get("step") or 1))
        if kind == "choice":
            return Choice(d["values"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DefinitionError(f"space[{name!r}] = {d!r}: {type(exc).__name__}: {exc}") from None
    raise DefinitionError(
        f"space[{name!r}] = {d!r}: expected {{\"type\": \"float\"|\"int\"|\"choice\", ...}}")


def distributions(space: dict[str, Dimension]) -> dict[str, Any]:
    """Optuna's distribution of each dimension."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for name, dim in space.items():
        if isinstance(dim, Float):
            out[name] = FloatDistribution(dim.lo, dim.hi, log=dim.log, step=dim.step)
        elif isinstance(dim, Int):
            out[name] = IntDistribution(dim.lo, dim.hi, log=dim.log, step=dim.step)
        else:
            out[name] = CategoricalDistribution(dim.values)
    return out
