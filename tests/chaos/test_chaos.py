"""Point 9 of issue 11: a chaos test kept in the suite, bounded in time.

Lanes run side by side on one home, each a loop of tries: a `rillet run` (inline or
processes executor) killed with SIGKILL at a random moment, or one of its workers (or
its whole process group) killed; the execution is then recovered, and that recovery is
itself sometimes killed and recovered again. A prune loop runs beside them and is
killed at random, and artifact bytes are tampered with. Where the test may mount one,
the artifact folder is a tmpfs of its own, now and then filled up or remounted
read-only for a moment: a run or recovery that meets it may end FAILED (exit 1, one
line, no traceback), and is then recovered once the fault is over. After every try, and
at the end, the invariants are checked: nothing recorded is lost (a node seen SUCCEEDED stays
so), no node ran twice in one execution and no RECOVERED node ran, nothing is left
RUNNING once its process is gone, recoveries end SUCCEEDED with the right output, and
``pragma integrity_check`` is ok. The tally (tries, recovered, anomalies) is printed.

CHAOS_KILLS (default 200) and CHAOS_SECONDS (default 90) bound it; CHAOS_SEED replays.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from clikit import WORKFLOWS, rillet_env

KILLS = int(os.environ.get("CHAOS_KILLS", "200"))
SECONDS = float(os.environ.get("CHAOS_SECONDS", "90"))
TARGET = f"{WORKFLOWS}/wf_chaos.py:chain"


@dataclass
class Tally:
    tries: int = 0
    kills: int = 0
    recovered: int = 0
    prunes_killed: int = 0
    tampered: int = 0
    faults: int = 0
    failed_by_faults: int = 0
    anomalies: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **counts: int) -> None:
        with self.lock:
            for k, v in counts.items():
                setattr(self, k, getattr(self, k) + v)

    def anomaly(self, what: str) -> None:
        with self.lock:
            self.anomalies.append(what)


class Home:
    def __init__(self, path: Path, marks: Path) -> None:
        self.path, self.marks = path, marks
        self.env = rillet_env(CHAOS_MARKS=str(marks))

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "rillet.cli", *args, "--home",
                                 str(self.path)], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def run(self, *args: str, timeout: float = 120) -> tuple[int, str, str]:
        proc = self.start(*args)
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        db = sqlite3.connect(f"file:{self.path}/rillet.db?mode=ro", uri=True, timeout=60)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()


class Faults:
    """Fill or remount read-only the home's artifact folder (a tmpfs of its own) for a
    moment, now and then. ``epoch`` changes when a fault begins and when it ends, so a
    try that saw ``seen(epoch at its start)`` false met none."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.epoch = 0
        self.active = False

    def seen(self, since: int) -> bool:
        return self.active or self.epoch != since

    def settle(self, deadline: float = 60) -> None:
        """Wait until no fault is on."""
        limit = time.monotonic() + deadline
        while self.active and time.monotonic() < limit:
            time.sleep(0.05)


def _mount_tmpfs(folder: Path) -> bool:
    """Put ``folder``'s contents on a 512 MiB tmpfs mounted there; False where this test
    may not mount one (then there are no file system faults)."""
    aside = folder.parent / (folder.name + "-aside")
    folder.rename(aside)
    folder.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512m", "tmpfs", str(folder)],
                          capture_output=True)
    if made.returncode != 0:
        folder.rmdir()
        aside.rename(folder)
        return False
    for entry in aside.iterdir():  # another file system: copied, not renamed
        subprocess.run(["cp", "-a", str(entry), str(folder)], check=True)
    subprocess.run(["rm", "-rf", str(aside)], check=True)
    return True


def _fault_loop(faults: Faults, rng: random.Random, tally: Tally,
                stop: threading.Event) -> None:
    folder = faults.folder
    assert folder is not None
    while not stop.wait(rng.uniform(1.0, 3.0)):
        how = rng.choice(["full", "read-only"])
        filler = folder / ".filler"  # the tamper loop leaves it alone
        if how == "read-only":
            if subprocess.run(["mount", "-o", "remount,ro", str(folder)],
                              capture_output=True).returncode != 0:
                continue  # busy (a file open for writing): no fault this time
        faults.epoch += 1
        faults.active = True
        tally.add(faults=1)
        try:
            if how == "full":
                try:
                    with open(filler, "wb") as f:
                        while True:
                            f.write(b"x" * 65536)
                            f.flush()
                except OSError:
                    pass
            stop.wait(rng.uniform(0.5, 3.0))
        finally:
            if how == "full":
                filler.unlink(missing_ok=True)
            else:
                subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
            faults.active = False
            faults.epoch += 1


def _failed_by_fault(code: int | None, err: str) -> bool:
    """A one-line failure (exit 1 or 2, no traceback), as a fault may cause."""
    return code in (1, 2) and "Traceback" not in err


def _kill_at_random(proc: subprocess.Popen[str], rng: random.Random, tally: Tally,
                    after: Callable[[], bool] | None = None) -> str:
    """Kill the run, one of its workers or its whole process group, at a random moment;
    return what was killed ('' when it ended first). With `after`, the moment is counted
    from when `after()` first holds (polled while the process lives), so that on a loaded
    machine, where starting Python alone can take longer than the whole window, kills
    still land after the run has recorded something."""
    import psutil

    if after is not None:
        limit = time.monotonic() + 60
        while proc.poll() is None and not after() and time.monotonic() < limit:
            time.sleep(0.02)
    time.sleep(rng.uniform(0.05, 1.2))
    if proc.poll() is not None:
        return ""
    how = rng.choice(["run", "run", "group", "worker", "term"])
    try:
        if how == "worker":
            children = psutil.Process(proc.pid).children(recursive=True)
            if children:
                rng.choice(children).kill()
                proc.wait(timeout=120)
                tally.add(kills=1)
                return "worker"
            how = "run"
        if how == "group":
            os.killpg(proc.pid, signal.SIGKILL)
        elif how == "term":
            proc.send_signal(signal.SIGTERM)
        else:
            proc.kill()
    except (ProcessLookupError, psutil.NoSuchProcess):
        return ""
    proc.wait(timeout=120)
    tally.add(kills=1)
    return how


def _execution_of(home: Home, start: int) -> str | None:
    """The execution a `rillet run --start START` recorded (starts are unique)."""
    rows = home.query(
        "SELECT e.id FROM executions e JOIN artifacts a ON a.hash = "
        "json_extract(e.inputs, '$.start') WHERE a.inline = ? AND e.parent_id IS NULL",
        (str(start),))
    return rows[0][0] if rows else None


def _child_of(home: Home, parent: str) -> str | None:
    rows = home.query("SELECT id FROM executions WHERE parent_id = ? ORDER BY created_at "
                      "DESC LIMIT 1", (parent,))
    return rows[0][0] if rows else None


_STARTS = itertools.count(1)


def _lane(home: Home, rng: random.Random, tally: Tally, deadline: float,
          executor: str, seen: dict[tuple[str, str], str], faults: Faults) -> None:
    while time.monotonic() < deadline and tally.kills < KILLS:
        start = next(_STARTS)
        epoch = faults.epoch
        proc = home.start("run", TARGET, "--start", str(start), "--executor", executor,
                          "--json")
        def recorded(start: int = start) -> bool:
            return _execution_of(home, start) is not None

        killed = _kill_at_random(proc, rng, tally,
                                 after=recorded if rng.random() < 0.75 else None)
        out, err = proc.communicate()
        tally.add(tries=1)
        if not killed:  # it ended first: it succeeded, with the right output
            if faults.seen(epoch) and _failed_by_fault(proc.returncode, err):
                tally.add(failed_by_faults=1)  # recovered below, once the fault is over
            elif proc.returncode != 0 or json.loads(out)["outputs"]["o0"] != _expected(start):
                tally.anomaly(f"run --start {start} exited {proc.returncode}: {out} "
                              f"{err.strip()[-300:]}")
        exec_id = _execution_of(home, start)
        if exec_id is None:
            continue  # killed before it recorded anything: nothing to recover
        target = exec_id
        for _ in range(8):  # recover; the recovery itself may be killed or meet a fault
            faults.settle()
            epoch = faults.epoch
            code, out, err = _recover(home, target, rng, tally)
            if code == "killed":
                target = _child_of(home, target) or target
                continue
            if code != 0 and faults.seen(epoch) and _failed_by_fault(code, err):
                tally.add(failed_by_faults=1)
                target = _child_of(home, target) or target
                continue
            if code != 0:
                if "still RUNNING" in err:
                    time.sleep(0.2)
                    continue
                tally.anomaly(f"recover {target} exited {code}: {err.strip()[-300:]} "
                              f"{out.strip()[-300:]}")
                break
            body = json.loads(out)
            if body.get("status") != "SUCCEEDED":
                tally.anomaly(f"recovery of {target} ended {body.get('status')}: {body}")
            else:
                tally.add(recovered=1)
                if body["outputs"]["o0"] != _expected(start):
                    tally.anomaly(f"recovery of {target} gave {body['outputs']} for {start}")
            break
        _remember_succeeded(home, seen)


def _recover(home: Home, target: str, rng: random.Random, tally: Tally):
    proc = home.start("recover", target, "--json")
    if rng.random() < 0.25:
        if _kill_at_random(proc, rng, tally):
            proc.communicate()
            return "killed", "", ""
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def _expected(start: int) -> int:
    x = (start + 8) // 10
    return sum(x * 1000 + i for i in range(2000))


def _remember_succeeded(home: Home, seen: dict[tuple[str, str], str]) -> None:
    for e, n, outs in home.query(
            "SELECT execution_id, node_id, outputs FROM node_executions WHERE status = "
            "'SUCCEEDED'"):
        seen.setdefault((e, n), outs)


def _prune_loop(home: Home, rng: random.Random, tally: Tally, stop: threading.Event,
                faults: Faults) -> None:
    while not stop.is_set():
        epoch = faults.epoch
        proc = home.start("prune", "--older-than", "30d", "--max-size", "1G")
        if rng.random() < 0.5 and _kill_at_random(proc, rng, tally):
            tally.add(prunes_killed=1)
        out, err = proc.communicate(timeout=300)
        if faults.seen(epoch) and _failed_by_fault(proc.returncode, err):
            pass  # what it left is reclaimed by a later prune
        elif proc.returncode not in (0, -9, -15) or "Traceback" in err:
            tally.anomaly(f"prune exited {proc.returncode}: {err.strip()[-300:]}")
        stop.wait(rng.uniform(0.2, 1.0))


def _tamper_loop(home: Home, rng: random.Random, tally: Tally, stop: threading.Event) -> None:
    while not stop.wait(rng.uniform(1.0, 3.0)):
        files = [p for p in (home.path / "artifacts").rglob("*")
                 if p.is_file() and p.name != ".filler"]
        if not files:
            continue
        victim = rng.choice(files)
        try:
            data = bytearray(victim.read_bytes())
            if data:
                data[rng.randrange(len(data))] ^= 0x20
                victim.write_bytes(bytes(data))
                tally.add(tampered=1)
        except OSError:
            pass


def _check_final(home: Home, seen: dict[tuple[str, str], str], tally: Tally) -> None:
    # whoever looks next reaps what a killed process left RUNNING
    code, out, err = home.run("executions", "list", "--limit", "100000", "--json")
    assert code == 0, err
    running = [e for e in json.loads(out) if e["status"] in ("RUNNING", "QUEUED")]
    for e in running:
        tally.anomaly(f"execution {e['execution_id']} left {e['status']}")
    ((check,),) = home.query("PRAGMA integrity_check")
    if check != "ok":
        tally.anomaly(f"integrity_check: {check}")
    now = {(e, n): (s, o) for e, n, s, o in home.query(
        "SELECT execution_id, node_id, status, outputs FROM node_executions")}
    for key, outs in seen.items():
        if key not in now or now[key][0] != "SUCCEEDED" or now[key][1] != outs:
            tally.anomaly(f"node {key} was SUCCEEDED and is now {now.get(key)}")
    ran = Counter(tuple(line.split()) for line in home.marks.read_text().splitlines()
                  if line.strip()) if home.marks.exists() else Counter()
    for key, count in ran.items():
        if count > 1:
            tally.anomaly(f"node {key} ran {count} times in one execution")
    for e, n in home.query("SELECT execution_id, node_id FROM node_executions WHERE status "
                           "= 'RECOVERED'"):
        if ran.get((e, n)):
            tally.anomaly(f"RECOVERED node {e}:{n} ran")


@pytest.mark.slow
def test_chaos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = Home(tmp_path / "home", tmp_path / "marks.txt")
    code, out, err = home.run("run", TARGET, "--executor", "inline")  # creates the home
    assert code == 0, err
    seed = int(os.environ.get("CHAOS_SEED", str(random.randrange(1 << 30))))
    tally = Tally()
    seen: dict[tuple[str, str], str] = {}
    artifacts = home.path / "artifacts"
    faults = Faults(artifacts if _mount_tmpfs(artifacts) else None)
    stop = threading.Event()
    helpers = [threading.Thread(target=_prune_loop, args=(home, random.Random(seed + 1),
                                                          tally, stop, faults)),
               threading.Thread(target=_tamper_loop, args=(home, random.Random(seed + 2),
                                                           tally, stop))]
    if faults.folder is not None:
        helpers.append(threading.Thread(target=_fault_loop, args=(
            faults, random.Random(seed + 3), tally, stop)))
    deadline = time.monotonic() + SECONDS
    lanes = [threading.Thread(target=_lane, args=(home, random.Random(seed + 10 + i), tally,
                                                  deadline, executor, seen, faults))
             for i, executor in enumerate(["inline", "processes", "inline"])]
    try:
        for t in helpers + lanes:
            t.start()
        for t in lanes:
            t.join()
        stop.set()
        for t in helpers:
            t.join()
        _check_final(home, seen, tally)
    finally:
        stop.set()
        if faults.folder is not None:
            subprocess.run(["umount", "-l", str(artifacts)], check=False)
    with capsys.disabled():
        sys.stderr.write(
            f"\nchaos (seed {seed}): tries {tally.tries}, kills {tally.kills} (prunes killed "
            f"{tally.prunes_killed}), recovered {tally.recovered}, tampered "
            f"{tally.tampered}, file system faults "
            f"{tally.faults if faults.folder is not None else 'none (no tmpfs here)'} "
            f"(runs/recoveries failed by them {tally.failed_by_faults}), anomalies "
            f"{len(tally.anomalies)}\n")
        for a in tally.anomalies[:20]:
            sys.stderr.write(f"  anomaly: {a}\n")
    assert not tally.anomalies
    assert tally.kills >= 20 and tally.recovered >= 10 and tally.tampered >= 1
