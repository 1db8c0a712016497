"""``rillet server`` and ``rillet ui`` as real processes: they listen, answer
health, serve the embedded home of the folder they start in (or --home), refuse
half a shared-store configuration, and stop on SIGTERM; on PostgreSQL + a folder
(--db/--artifacts) they serve the shared stores."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from clikit import rillet_env
from serverkit import wait_for

import rillet

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


def start(args: list[str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "rillet.cli", *args, "--port", "0"],
                            cwd=cwd, env=rillet_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line.startswith("rillet server on http://127.0.0.1:"), line + proc.stderr.read()
    return proc, line.split()[3]


def get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def healthy(url: str) -> bool:
    try:
        return get(f"{url}/api/v1/health") == {"status": "ok"}
    except OSError:
        return False


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.mark.parametrize("command", ["server", "ui"])
def test_the_server_serves_the_home_of_its_folder(tmp_path: Path, command: str) -> None:
    import wf_platform

    eid = rillet.run(wf_platform.quick, home=str(tmp_path / ".rillet"), executor="inline").id
    proc, url = start([command], tmp_path)
    try:
        wait_for(lambda: healthy(url))
        assert [e["execution_id"] for e in get(f"{url}/api/v1/executions")] == [eid]
        with urllib.request.urlopen(f"{url}/", timeout=30) as r:
            assert "<title>rillet</title>" in r.read().decode()  # the UI (or how to build it)
    finally:
        assert stop(proc) == 0


def test_half_a_shared_configuration_is_refused(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "rillet.cli", "server", "--db", "sqlite:///x.db"],
                       cwd=tmp_path, env=rillet_env(), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "give both --db URL and --artifacts URL" in r.stderr
    assert not (tmp_path / "x.db").exists()


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "rillet.cli", "server", "--port", str(port),
                            "--home", str(tmp_path / "h")], env=rillet_env(),
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_the_server_on_postgresql_and_an_artifact_folder(tmp_path: Path, pg_url: str) -> None:
    from rillet.engine._records import Batch, ExecutionRecord, ExecutionStatus
    from rillet.store import Instance, InstanceConfig

    cfg = InstanceConfig(metadata_url=pg_url, artifacts_url=str(tmp_path / "artifacts"))
    with Instance.open(cfg) as inst:
        inst.store.apply(Batch(executions=[ExecutionRecord(
            id="pg-shared-1", workflow="m:wf", source="m.py", spec_hash="",
            status=ExecutionStatus.QUEUED, inputs={}, created_at=1.0)]))
    proc, url = start(["server", "--db", pg_url, "--artifacts", str(tmp_path / "artifacts"),
                       "--workers", "0"], tmp_path)
    try:
        wait_for(lambda: healthy(url))
        shown = get(f"{url}/api/v1/executions/pg-shared-1")
        assert shown["status"] == "QUEUED"
        req = urllib.request.Request(f"{url}/api/v1/executions/pg-shared-1/abort",
                                     method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            assert json.loads(r.read())["status"] == "ABORTED"
    finally:
        assert stop(proc) == 0
    assert not (tmp_path / ".rillet").exists()


def test_a_launch_outlives_the_server_killed_before_any_worker_claims_it(
        tmp_path: Path) -> None:
    """The launch is one transaction (execution + queue row): once the server answered
    it, a SIGKILL of the server loses nothing, and a worker started afterwards on the
    same stores claims and runs it; a restarted server shows it SUCCEEDED."""
    from rillet import Remote

    home = tmp_path / "home"
    flows = tmp_path / "killflows.py"
    flows.write_text("from rillet import task, workflow\n\n"
                     "@task\ndef double(x: int) -> int:\n    return 2 * x\n\n"
                     "@workflow\ndef twice(x: int) -> int:\n    return double(x=double(x=x))\n")
    proc, url = start(["server", "--home", str(home), "--workers", "0"], tmp_path)
    try:
        wait_for(lambda: healthy(url))
        with Remote(url) as remote:
            remote.register(str(flows))
            launched = remote.launch("killflows.twice", x=5)
        assert launched.status.value == "QUEUED"
    finally:
        proc.kill()  # SIGKILL: no drain, no shutdown hook
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "rillet.cli", "worker", "--home",
                                   str(home)], cwd=tmp_path, env=rillet_env(), stdout=log,
                                  stderr=subprocess.STDOUT)
    proc, url = start(["server", "--home", str(home), "--workers", "0"], tmp_path)
    try:
        wait_for(lambda: healthy(url))

        def shown() -> dict[str, object] | None:
            got = get(f"{url}/api/v1/executions/{launched.id}")
            assert isinstance(got, dict)
            return got if got["status"] in ("SUCCEEDED", "FAILED", "ABORTED") else None

        detail = wait_for(shown)
        log = (tmp_path / "worker.log").read_text()
        assert detail["status"] == "SUCCEEDED", (detail, log)
        with Remote(url) as remote:
            assert remote.execution(launched.id).output("o0") == 20
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=120) == 0, (tmp_path / "worker.log").read_text()
        assert stop(proc) == 0
