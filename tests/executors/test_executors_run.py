"""run_attempt(): one attempt in this process (the part every executor shares)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tasks_for_tests as t

from rillet.engine._context import STATE
from rillet.executors._inline import InlineExecutor
from rillet.executors._run import LOG_LIMIT, FileSink, clip, run_attempt


def test_checkpoint_file_is_replaced_atomically(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "node.ckpt"
    sink = FileSink(t.job(t.inc, tmp_path, checkpoint_path=str(path)))
    assert sink.checkpoint_read("n0") is None
    sink.checkpoint_write("n0", b"one")
    sink.checkpoint_write("n0", b"two")
    assert path.read_bytes() == b"two" and sink.checkpoint_read("n0") == b"two"
    assert os.listdir(path.parent) == ["node.ckpt"]  # no temporary files left


def test_without_a_checkpoint_file_it_stays_in_memory(tmp_path: Path) -> None:
    sink = FileSink(t.job(t.inc, tmp_path, checkpoint_path=""))
    sink.checkpoint_write("n0", b"x")
    assert sink.checkpoint_read("n0") == b"x"
    assert not list(tmp_path.iterdir())


def test_context_is_restored_after_the_attempt(tmp_path: Path) -> None:
    before = STATE.sink, STATE.node_id, STATE.attempt, STATE.prefix
    STATE.prefix = "outer/"
    try:
        r = run_attempt(t.job(t.tracked, tmp_path, node="sub/nx", attempt=3, inputs={"lr": 1.0}),
                        capture="sys")
        assert STATE.prefix == "outer/"
    finally:
        STATE.prefix = before[3]
    assert r.ok and r.outputs.startswith(str(tmp_path / "work")) and r.outputs.endswith("3")
    assert "nx" in r.outputs
    assert (STATE.sink, STATE.node_id, STATE.attempt, STATE.prefix) == before


def test_fd_capture_takes_c_level_output_and_restores_descriptors(tmp_path: Path) -> None:
    fds = os.fstat(1).st_ino, os.fstat(2).st_ino
    r = run_attempt(t.job(t.noisy_shell, tmp_path, inputs={"word": "fd"}), capture="fd")
    assert r.logs.splitlines() == ["py:fd", "shell:fd"]
    assert (os.fstat(1).st_ino, os.fstat(2).st_ino) == fds


def test_inline_capture_passes_output_through(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    r = t.run_one(InlineExecutor(), t.job(t.noisy, tmp_path, inputs={"word": "tee"}))
    assert "out:tee" in r.logs
    seen = capsys.readouterr()
    assert "out:tee" in seen.out and "err:tee" in seen.err


def test_capture_mode_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="capture"):
        run_attempt(t.job(t.inc, tmp_path, inputs={"x": 1}), capture="none")


def test_long_logs_keep_head_and_tail() -> None:
    text = "a" * LOG_LIMIT + "b" * 100
    clipped = clip(text)
    assert len(clipped) < len(text) and clipped.startswith("a") and clipped.endswith("b" * 100)
    assert "characters of output left out" in clipped
