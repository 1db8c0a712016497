"""Declarations a task carries: Resources (cpu/mem/gpu) and Cache settings.

Values are parsed and validated when constructed (at decoration), so a typo like
``mem="512MB"`` fails where it is written. Nothing here schedules anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rillet.errors import DefinitionError

_MEM_UNITS = {
    "": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
    "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40,
}
_MEM_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtKMGT]i?)?\s*$")
_CPU_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)(m?)\s*$")


def parse_cpu(value: str | int | float | None) -> float | None:
    """``"500m"`` -> 0.5, ``"2"`` -> 2.0."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise DefinitionError(
            f"Resources(cpu={value!r}): give a number of cores like '2' or '500m'"
        )
    if isinstance(value, (int, float)):
        if value <= 0:
            raise DefinitionError(f"Resources(cpu={value!r}): must be positive")
        return float(value)
    match = _CPU_RE.match(str(value))
    if not match:
        raise DefinitionError(
            f"Resources(cpu={value!r}): not a CPU quantity; use cores like '2' or '0.5', "
            "or millicores like '500m'"
        )
    cores = float(match.group(1)) / (1000.0 if match.group(2) else 1.0)
    if cores <= 0:
        raise DefinitionError(f"Resources(cpu={value!r}): must be positive")
    return cores


def parse_mem(value: str | int | None) -> int | None:
    """``"512Mi"`` -> 536870912 bytes; ``"1G"`` -> 10**9."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise DefinitionError(f"Resources(mem={value!r}): give a size like '512Mi' or '2Gi'")
    if isinstance(value, int):
        if value <= 0:
            raise DefinitionError(f"Resources(mem={value!r}): must be positive")
        return value
    match = _MEM_RE.match(str(value))
    if not match:
        raise DefinitionError(
            f"Resources(mem={value!r}): not a memory quantity; use e.g. '512Mi', '2Gi' or '1G'"
        )
    unit = (match.group(2) or "").lower()
    size = int(float(match.group(1)) * _MEM_UNITS[unit])
    if size <= 0:
        raise DefinitionError(f"Resources(mem={value!r}): must be positive")
    return size


def parse_gpu(value: str | int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise DefinitionError(f"Resources(gpu={value!r}): give a whole number of GPUs")
    try:
        count = int(str(value).strip())
    except ValueError:
        raise DefinitionError(
            f"Resources(gpu={value!r}): not a GPU count; use a whole number like '1'"
        ) from None
    if count < 0:
        raise DefinitionError(f"Resources(gpu={value!r}): must not be negative")
    return count


@dataclass(frozen=True, slots=True)
class Resources:
    """CPU, memory and GPU a task requests or is limited to."""

    cpu: str | int | float | None = None
    mem: str | int | None = None
    gpu: str | int | None = None
    cpu_cores: float | None = field(init=False, default=None, compare=False)
    mem_bytes: int | None = field(init=False, default=None, compare=False)
    gpu_count: int | None = field(init=False, default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cpu_cores", parse_cpu(self.cpu))
        object.__setattr__(self, "mem_bytes", parse_mem(self.mem))
        object.__setattr__(self, "gpu_count", parse_gpu(self.gpu))

    def to_json(self) -> dict[str, Any]:
        return {"cpu": self.cpu_cores, "mem": self.mem_bytes, "gpu": self.gpu_count}


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
