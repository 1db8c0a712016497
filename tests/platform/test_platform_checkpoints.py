"""Checkpoints live in the artifact store: a worker on another machine (another scratch
folder) that takes an interrupted execution over resumes its node from the checkpoint
the dead worker's attempt saved."""

from __future__ import annotations

import os
import signal

from platformkit import start_worker, wait_until

from rillet.artifacts import FolderArtifactStore
from rillet.engine._protocols import checkpoint_name
from rillet.engine._values import ValueStore
from rillet.platform import launch, register

CKPT = '''
import time

from rillet import current_context, task, workflow


def _mark(path: str, line: str) -> None:
    with open(path, "a") as f:
        f.write(line + "\\n")


@task
def train(x: int, marker: str) -> int:
    ctx = current_context()
    saved = ctx.checkpoint.read()
    _mark(marker, f"attempt saw {saved!r}")
    if saved is None:
        with open(marker) as f:
            if "saved" in f.read():
                raise RuntimeError("the checkpoint saved before is lost")
        ctx.checkpoint.write(str(x * 7).encode())
        _mark(marker, "saved")
        while True:  # its worker dies here
            time.sleep(0.05)
    return int(saved.decode()) + 1


@workflow
def resumable(x: int, marker: str) -> int:
    return train(x=x, marker=marker)
'''


def test_a_worker_on_another_machine_resumes_from_the_dead_workers_checkpoint(
        shared_stores, pg_url, s3_url, tmp_path):
    s = shared_stores
    code = tmp_path / "code"
    code.mkdir()
    (code / "ckpt.py").write_text(CKPT)
    register(str(code / "ckpt.py"), store=s.store, artifacts=s.artifacts)
    marker = tmp_path / "marker"
    args = ["--db", pg_url, "--artifacts", s3_url, "--lease", "2"]

    def machine(name: str) -> dict[str, str]:  # its own bundle cache and scratch folder
        return {**os.environ, "RILLET_BUNDLE_CACHE": str(tmp_path / name / "bundles")}

    first = start_worker(args, cwd=code, env=machine("m1"), log=tmp_path / "w1.log")
    execution_id = launch(s.store, "ckpt.resumable", inputs={"x": 3, "marker": str(marker)})
    try:
        wait_until(lambda: marker.exists() and "saved" in marker.read_text(),
                   what="the first worker's attempt to save its checkpoint")
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the machine dies: worker and its processes
        first.wait(timeout=60)
    name = checkpoint_name(execution_id, "train")
    assert FolderArtifactStore(s3_url).get_checkpoint(name) == b"21"
    assert not any(f for _, _, f in os.walk(tmp_path / "m1" / "scratch" / "checkpoints"))
    second = start_worker(args, cwd=code, env=machine("m2"), log=tmp_path / "w2.log")
    try:
        status = wait_until(
            lambda: s.store.get_execution(execution_id).status.value in (
                "SUCCEEDED", "FAILED") and s.store.get_execution(execution_id).status.value,
            timeout=300, what="the second worker to end the execution")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=120) == 0
    logs = (tmp_path / "w2.log").read_text()
    assert status == "SUCCEEDED", (marker.read_text(), logs)
    assert marker.read_text().splitlines() == ["attempt saw None", "saved",
                                               "attempt saw b'21'"]
    record = s.store.get_execution(execution_id)
    assert ValueStore(s.store, s.artifacts).load(record.outputs["o0"], int) == 22
    assert [(a.attempt, a.status.value, a.error_type)
            for a in s.store.attempts(execution_id, "train")] == [
        (1, "FAILED", "WorkerLost"), (2, "SUCCEEDED", None)]
