"""A URL given as a home is refused in one line (issue 12, point 3); Ctrl-C prints the
execution id and the command that recovers it (point 8)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from newuser_kit import Rillet, write

import rillet as rillet_api
from rillet import RilletError

SLOW = '''
import os
import time

from rillet import task, workflow

HERE = os.path.dirname(os.path.abspath(__file__))


@task
def first(x: int) -> int:
    return x + 1


@task
def slow(x: int) -> int:
    open(os.path.join(HERE, "started"), "w").close()
    time.sleep(60)
    return x


@workflow
def wf(x: int = 1) -> int:
    return slow(x=first(x=x))
'''

URLS = ["s3://bucket/rillet", "postgresql://user@db.example/rillet", "file:///tmp/x"]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("place", ["option", "env"])
def test_a_url_home_is_refused_in_one_line(rillet: Rillet, url: str, place: str) -> None:
    hello = str(write(rillet.cwd / "hello.py", '''
        from rillet import task, workflow

        @task
        def hi(x: int) -> int:
            return x

        @workflow
        def wf(x: int = 1) -> int:
            return hi(x=x)
        '''))
    args = ["run", f"{hello}:wf", "--executor", "inline"]
    r = rillet.raw(*args, "--home", url) if place == "option" else rillet.raw(
        *args, env={"RILLET_HOME": url})
    assert r.code == 2, str(r)
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert url in r.err and "local folder" in r.err
    assert sorted(os.listdir(rillet.cwd)) == ["hello.py"]  # no folder made
    for command in (["executions", "list"], ["prune", "--older-than", "1d"]):
        other = rillet.raw(*command, "--home", url)
        assert other.code == 2 and "local folder" in other.err, str(other)
    assert sorted(os.listdir(rillet.cwd)) == ["hello.py"]


def test_a_url_home_is_refused_from_python(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RilletError, match="local folder"):
        rillet_api.recover("abc", home="s3://bucket/home")
    assert os.listdir(tmp_path) == []


def test_ctrl_c_prints_the_execution_and_how_to_recover_it(rillet: Rillet) -> None:
    target = str(write(rillet.cwd / "slow.py", SLOW)) + ":wf"
    proc = rillet.start("run", target, "--executor", "processes", ctrl_c=True)
    try:
        deadline = time.time() + 60
        while not (rillet.cwd / "started").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, "the slow task never started"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err
    (listed,) = rillet.executions()
    eid = listed["execution_id"]
    assert listed["status"] == "ABORTED"
    assert f"execution {eid} ABORTED" in err
    assert f"rillet recover {eid} --home {rillet.home}" in err
    assert "Traceback" not in err
