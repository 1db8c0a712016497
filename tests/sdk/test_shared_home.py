"""``rillet.run`` opens a home once per process (``Home.shared``) and its records of the
code remember file hashes by size and time: both must notice what changed on disk."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import time
from pathlib import Path

import rillet
from rillet.sdk._record import load_record
from rillet.store._home import Home

FLOW = '''
from rillet import task, workflow
from helper_sh import scale

@task
def inc(x: int) -> int:
    return scale(x) + 1

@workflow
def wf(x: int = 1) -> int:
    return inc(x=x)
'''


def _flow(tmp_path: Path, factor: int) -> object:
    (tmp_path / "flow_sh.py").write_text(FLOW)
    (tmp_path / "helper_sh.py").write_text(f"def scale(x: int) -> int:\n    return x * {factor}\n")
    if str(tmp_path) not in sys.path:
        sys.path.insert(0, str(tmp_path))
    for name in ("flow_sh", "helper_sh"):
        sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return importlib.import_module("flow_sh")


def test_one_home_per_process_opened_again_when_its_files_are_replaced(tmp_path):
    home = str(tmp_path / "home")
    flow = _flow(tmp_path, 2)
    first = rillet.run(flow.wf, home=home, executor="inline", x=1)  # type: ignore[attr-defined]
    shared = Home.shared(home)
    assert Home.shared(home) is shared  # opened once
    assert rillet.run(flow.wf, home=home, executor="inline", x=2).outputs["o0"] == 5  # type: ignore[attr-defined]
    assert Home.shared(home) is shared
    shutil.rmtree(home)  # the home removed and made again at the same path
    again = rillet.run(flow.wf, home=home, executor="inline", x=3)  # type: ignore[attr-defined]
    assert Home.shared(home) is not shared
    with Home.open(home) as h:
        ids = [e.id for e in h.store.list_executions()]
    assert ids == [again.id] and first.id not in ids


def test_a_code_file_changed_between_two_runs_of_one_process_is_recorded_again(tmp_path):
    home = str(tmp_path / "home")
    flow = _flow(tmp_path, 2)
    helper = tmp_path / "helper_sh.py"
    past = time.time() - 60
    os.utime(helper, (past, past))  # an old file: its hash is remembered
    a = rillet.run(flow.wf, home=home, executor="inline", x=1)  # type: ignore[attr-defined]
    flow = _flow(tmp_path, 3)  # the same size, a new time
    b = rillet.run(flow.wf, home=home, executor="inline", x=1)  # type: ignore[attr-defined]
    # changed again within one tick of the clock: same size, same time as the last one
    then = helper.stat().st_mtime_ns
    flow = _flow(tmp_path, 4)
    os.utime(helper, ns=(then, then))
    c = rillet.run(flow.wf, home=home, executor="inline", x=1)  # type: ignore[attr-defined]
    assert [a.outputs["o0"], b.outputs["o0"], c.outputs["o0"]] == [3, 4, 5]
    with Home.open(home) as h:
        digests = [load_record(h.store, e.id).files["helper_sh.py"] for e in (a, b, c)]
    assert len(set(digests)) == 3
