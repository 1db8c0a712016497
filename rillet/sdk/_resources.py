"""Declarations a task carries: Resources (cpu/mem/gpu) and Cache settings.

Values are parsed and validated when constructed (at decoration), so a typo like
``mem="512MB"`` fails where it is written. Nothing here schedules anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rillet.errors import DefinitionError
from rillet.types._quantities import parse_cpu, parse_gpu, parse_mem


@dataclass(frozen=True, slots=True)
class Resources:
    """CPU, memory and GPU a task requests or is limited to."""

    cpu: str | int | float | None = None
    mem: str | int | None = None
    gpu: str | int | None = None
    ephemeral_storage: str | int | None = None  # local disk, as flytekit names it
    # Ray custom resources (executor="ray"): {"name": amount}, kept as sorted pairs
    custom: Any = None
    cpu_cores: float | None = field(init=False, default=None, compare=False)
    mem_bytes: int | None = field(init=False, default=None, compare=False)
    gpu_count: int | None = field(init=False, default=None, compare=False)
    storage_bytes: int | None = field(init=False, default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cpu_cores", parse_cpu(self.cpu))
        object.__setattr__(self, "mem_bytes", parse_mem(self.mem))
        object.__setattr__(self, "gpu_count", parse_gpu(self.gpu))
        storage = parse_mem(self.ephemeral_storage, "ephemeral_storage")
        object.__setattr__(self, "storage_bytes", storage)
        if self.custom is not None:
            object.__setattr__(self, "custom", _custom(self.custom))

    def to_json(self) -> dict[str, Any]:
        return {"cpu": self.cpu_cores, "mem": self.mem_bytes, "gpu": self.gpu_count}


def _custom(value: Any) -> tuple[tuple[str, float], ...]:
    try:
        pairs = sorted(dict(value).items())
    except (TypeError, ValueError):
        raise DefinitionError(
            f"Resources(custom={value!r}): give a dict of resource name -> amount") from None
    for name, amount in pairs:
        if not isinstance(name, str) or isinstance(amount, bool) or not isinstance(
                amount, (int, float)) or amount < 0:
            raise DefinitionError(
                f"Resources(custom={value!r}): {name!r} needs a number >= 0 as its amount")
    return tuple((name, float(amount)) for name, amount in pairs)


@dataclass(frozen=True, slots=True)
class Cache:
    """How a task's outputs are cached.

    ``version`` replaces the code hash in the cache key; ``serialize`` makes
    concurrent identical attempts compute once; ``ignored_inputs`` are left out
    of the key.
    """

    version: str | None = None
    serialize: bool = False
    ignored_inputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.ignored_inputs, str):
            object.__setattr__(self, "ignored_inputs", (self.ignored_inputs,))
        else:
            object.__setattr__(self, "ignored_inputs", tuple(self.ignored_inputs))
        for item in self.ignored_inputs:
            if not isinstance(item, str):
                raise DefinitionError(
                    f"Cache(ignored_inputs={self.ignored_inputs!r}): give input names (str)"
                )
        if self.version is not None and not isinstance(self.version, str):
            raise DefinitionError(f"Cache(version={self.version!r}): the version must be a str")
