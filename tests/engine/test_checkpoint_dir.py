"""A node's checkpoint folder survives its retries, in both executors and in memory."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import rillet

FLOW = Path(__file__).parent.parent / "workflows_ckpt" / "ckpt_dir_flow.py"


def load():
    spec = importlib.util.spec_from_file_location("ckpt_dir_flow", FLOW)
    module = importlib.util.module_from_spec(spec)
    sys.modules["ckpt_dir_flow"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_retry_resumes_from_the_checkpoint_folder(tmp_path, executor):
    flow = load()
    marker = tmp_path / "marker.txt"
    execution = rillet.run(flow.counting, home=str(tmp_path / "home"), executor=executor,
                           n=10, marker=str(marker))
    assert execution.status == "SUCCEEDED"
    assert execution.outputs == {"o0": 10}
    assert marker.read_text().splitlines() == [
        "attempt 1 starts at 0", "attempt 2 starts at 6"]
    assert execution.node("count").attempts == 2


def test_direct_call_keeps_the_folder_across_attempts(tmp_path):
    flow = load()
    marker = tmp_path / "marker.txt"
    assert flow.counting(n=4, marker=str(marker)) == 4
    assert marker.read_text().splitlines() == ["attempt 1 starts at 0", "attempt 2 starts at 3"]
