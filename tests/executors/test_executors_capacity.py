"""machine_capacity(): what this process may use, and the overrides tests rely on."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil
import pytest

from rillet.errors import ExecutorError
from rillet.executors import _capacity
from rillet.executors._capacity import machine_capacity


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RILLET_CPUS", "RILLET_MEMORY", "RILLET_GPUS"):
        monkeypatch.delenv(name, raising=False)


def test_cpu_is_at_most_the_affinity_mask() -> None:
    cpu, mem, gpu = machine_capacity()
    assert 0 < cpu <= len(os.sched_getaffinity(0))
    assert 0 < mem <= psutil.virtual_memory().total
    assert gpu >= 0


def test_cpu_follows_a_narrower_affinity_mask() -> None:
    code = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
        "from rillet.executors._capacity import cpu_capacity; print(cpu_capacity())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) <= 1.0


def test_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RILLET_CPUS", "3.5")
    monkeypatch.setenv("RILLET_MEMORY", "1Gi")
    monkeypatch.setenv("RILLET_GPUS", "2")
    assert machine_capacity() == (3.5, 2**30, 2)
    monkeypatch.setenv("RILLET_MEMORY", "1000")
    assert machine_capacity()[1] == 1000


@pytest.mark.parametrize("name,value", [("RILLET_CPUS", "lots"), ("RILLET_CPUS", "0"),
                                        ("RILLET_MEMORY", "12XB"), ("RILLET_GPUS", "one")])
def test_bad_overrides_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ExecutorError, match=name):
        machine_capacity()


@pytest.mark.parametrize("visible,count", [
    ("0,1", 2), ("", 0), ("-1", 0), ("0,-1,2", 1), ("GPU-5e3f,GPU-77aa", 2), ("3", 1),
])
def test_gpus_from_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch, visible: str,
                                        count: int) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert machine_capacity()[2] == count


def test_gpus_without_cuda_visible_devices_ask_nvidia_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    expected = 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout
        expected = sum(line.startswith("GPU ") for line in out.splitlines())
    except FileNotFoundError:
        pass
    assert machine_capacity()[2] == expected
    asked = _capacity._nvidia_smi_count.cache_info().misses
    assert machine_capacity()[2] == expected
    assert _capacity._nvidia_smi_count.cache_info().currsize == 1
    assert _capacity._nvidia_smi_count.cache_info().misses == asked  # asked once, then cached
