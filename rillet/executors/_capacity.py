"""What this process may use: CPU cores, memory bytes and GPUs.

CPU is the affinity mask capped by the cgroup quota (v2 ``cpu.max``, v1
``cpu.cfs_quota_us``), never the host's core count; memory is the cgroup limit
capped by physical memory; GPUs come from ``CUDA_VISIBLE_DEVICES`` or
``nvidia-smi -L``. ``RILLET_CPUS``, ``RILLET_MEMORY`` and ``RILLET_GPUS``
override each. It only reads; it never reserves anything.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import TypeVar

from rillet.errors import ExecutorError
from rillet.types._quantities import parse_cpu, parse_gpu, parse_mem

_T = TypeVar("_T")

_CGROUP_ROOT = "/sys/fs/cgroup"
_NO_LIMIT = 1 << 60  # cgroup v1 writes ~2**63 for "unlimited"


def machine_capacity() -> tuple[float, int, int]:
    """(cpu cores, memory bytes, gpu count) this process may use."""
    return cpu_capacity(), memory_capacity(), gpu_capacity()


def cpu_capacity() -> float:
    override = os.environ.get("RILLET_CPUS")
    if override:
        return _override("RILLET_CPUS", override, parse_cpu)
    try:
        cores = float(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cores = float(os.cpu_count() or 1)
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cores = min(cores, quota)
    return max(cores, 0.01)


def memory_capacity() -> int:
    override = os.environ.get("RILLET_MEMORY")
    if override:
        return _override("RILLET_MEMORY", override, parse_mem)
    import psutil

    total = int(psutil.virtual_memory().total)
    limit = _cgroup_memory_limit()
    return min(total, limit) if limit is not None else total


def gpu_capacity() -> int:
    return len(gpu_ids())


def gpu_ids() -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` entries."""
    override = os.environ.get("RILLET_GPUS")
    if override:
        return [str(i) for i in range(_override("RILLET_GPUS", override, parse_gpu))]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return _parse_visible(visible)
    return [str(i) for i in range(_nvidia_smi_count())]


def _parse_visible(value: str) -> list[str]:
    # CUDA stops at the first invalid entry ("-1" is the usual way to hide all GPUs).
    ids: list[str] = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry or entry.startswith("-"):
            break
        ids.append(entry)
    return ids


@functools.lru_cache(maxsize=1)
def _nvidia_smi_count() -> int:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return 0
    try:
        out = subprocess.run(
            [exe, "-L"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def _override(name: str, text: str, parse: Callable[[str], _T | None]) -> _T:
    """``text`` of the environment variable ``name`` read as a resource quantity."""
    try:
        value = parse(text)
    except Exception as exc:
        raise ExecutorError(f"{name}={text!r}: {exc}") from None
    assert value is not None  # the parsers return None only for None
    return value


# --- cgroups -----------------------------------------------------------------


def _cgroup_cpu_quota() -> float | None:
    quotas: list[float] = []
    for folder in _cgroup_dirs("", v2=True):
        parts = (_read(os.path.join(folder, "cpu.max")) or "").split()
        if len(parts) == 2:
            quota, period = _number(parts[0]), _number(parts[1])
            if quota > 0 and period > 0:
                quotas.append(quota / period)
    for folder in _cgroup_dirs("cpu", v2=False):
        quota = _number(_read(os.path.join(folder, "cpu.cfs_quota_us")))
        period = _number(_read(os.path.join(folder, "cpu.cfs_period_us")))
        if quota > 0 and period > 0:
            quotas.append(quota / period)
    return min(quotas) if quotas else None


def _cgroup_memory_limit() -> int | None:
    limits: list[int] = []
    for folder in _cgroup_dirs("", v2=True):
        limit = _number(_read(os.path.join(folder, "memory.max")))
        if 0 < limit < _NO_LIMIT:
            limits.append(int(limit))
    for folder in _cgroup_dirs("memory", v2=False):
        limit = _number(_read(os.path.join(folder, "memory.limit_in_bytes")))
        if 0 < limit < _NO_LIMIT:
            limits.append(int(limit))
    return min(limits) if limits else None


def _cgroup_dirs(controller: str, *, v2: bool) -> list[str]:
    """The folders of this process's cgroup and its ancestors up to the mount point."""
    mount = _find_mount(controller, v2=v2)
    path = _cgroup_path(controller, v2=v2)
    if mount is None or path is None:
        return []
    mount_point, mount_root = mount
    rel = path
    if mount_root != "/" and (path == mount_root or path.startswith(mount_root + "/")):
        rel = path[len(mount_root):]
    folder = os.path.normpath(mount_point + "/" + rel.lstrip("/"))
    if not os.path.isdir(folder):
        return [mount_point]
    folders = []
    while True:
        folders.append(folder)
        if folder == mount_point or len(folder) <= len(mount_point):
            return folders
        folder = os.path.dirname(folder)


def _cgroup_path(controller: str, *, v2: bool) -> str | None:
    text = _read("/proc/self/cgroup")
    for line in (text or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if v2 and parts[0] == "0" and parts[1] == "":
            return parts[2]
        if not v2 and controller in parts[1].split(","):
            return parts[2]
    return None


def _find_mount(controller: str, *, v2: bool) -> tuple[str, str] | None:
    """(mount point, mount root) of the cgroup hierarchy holding ``controller``."""
    text = _read("/proc/self/mountinfo")
    for line in (text or "").splitlines():
        left, _, right = line.partition(" - ")
        fields, extra = left.split(), right.split()
        if len(fields) < 5 or len(extra) < 3:
            continue
        if v2 and extra[0] == "cgroup2":
            return fields[4], fields[3]
        if not v2 and extra[0] == "cgroup" and controller in extra[2].split(","):
            return fields[4], fields[3]
    if v2 and os.path.exists(os.path.join(_CGROUP_ROOT, "cgroup.controllers")):
        return _CGROUP_ROOT, "/"
    return None


def _number(text: str | None) -> float:
    """The number in ``text``; -1 for "max", empty or unreadable."""
    try:
        return float(text) if text else -1.0
    except ValueError:
        return -1.0


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except (OSError, ValueError):
        return None
