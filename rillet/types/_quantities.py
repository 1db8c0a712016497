"""Parsing resource quantities: CPU cores ("500m", "2"), memory ("512Mi", "2Gi", "1G")
and GPU counts. Pure functions; errors are DefinitionErrors naming the text."""

from __future__ import annotations

import re
from typing import TypeVar

from rillet.errors import DefinitionError

_MEM_UNITS = {
    "": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
    "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40,
}
_MEM_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtKMGT]i?)?\s*$")
_CPU_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)(m?)\s*$")


_N = TypeVar("_N", int, float)


def _positive(field: str, value: object, n: _N) -> _N:
    """``n``, the quantity ``value`` gives; a DefinitionError when it is not above zero."""
    if n <= 0:
        raise DefinitionError(f"Resources({field}={value!r}): must be positive")
    return n


def parse_cpu(value: str | int | float | None) -> float | None:
    """``"500m"`` -> 0.5, ``"2"`` -> 2.0."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise DefinitionError(
            f"Resources(cpu={value!r}): give a number of cores like '2' or '500m'"
        )
    if isinstance(value, (int, float)):
        return _positive("cpu", value, float(value))
    match = _CPU_RE.match(str(value))
    if not match:
        raise DefinitionError(
            f"Resources(cpu={value!r}): not a CPU quantity; use cores like '2' or '0.5', "
            "or millicores like '500m'"
        )
    return _positive("cpu", value, float(match.group(1)) / (1000.0 if match.group(2) else 1.0))


def parse_mem(value: str | int | None, field: str = "mem") -> int | None:
    """``"512Mi"`` -> 536870912 bytes; ``"1G"`` -> 10**9."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise DefinitionError(f"Resources({field}={value!r}): give a size like '512Mi' or '2Gi'")
    if isinstance(value, int):
        return _positive(field, value, value)
    match = _MEM_RE.match(str(value))
    if not match:
        raise DefinitionError(
            f"Resources({field}={value!r}): not a memory quantity; use e.g. '512Mi', '2Gi' or '1G'"
        )
    unit = (match.group(2) or "").lower()
    return _positive(field, value, int(float(match.group(1)) * _MEM_UNITS[unit]))


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


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|[smhdw])", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """Seconds in ``text``: a number of seconds (``90``, ``1.5``), units (``30m``, ``1h``,
    ``2d``, ``1h30m``; s, m, h, d, w, ms) or ``[D day[s], ]HH:MM:SS`` (as ``str(timedelta)``
    writes it). A ValueError, naming the text, otherwise."""
    raw = text.strip()
    try:
        return float(raw)
    except ValueError:
        pass
    compact = raw.replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if parts and "".join(n + u for n, u in parts).lower() == compact.lower():
        return sum(float(n) * _DURATION_UNITS[u.lower()] for n, u in parts)
    clock = re.fullmatch(r"(?:(\d+)\s+days?,\s*)?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)", raw)
    if clock:
        days, hours, minutes, seconds = clock.groups()
        return (int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60
                + float(seconds))
    raise ValueError(f"{text!r} is not a duration; give seconds (90) or units like 30m, 1h, "
                     "2d, 1h30m")
