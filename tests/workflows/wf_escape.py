"""Tasks that leave processes behind outside their process group: one started with
``setsid``, one double-forked (orphaned at once), their pids written to $ESCAPE_PIDS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

from rillet import task, workflow

_SLEEP = [sys.executable, "-c", "import time; time.sleep(300)"]
_DOUBLE_FORK = ("import subprocess, sys; "
                "p = subprocess.Popen(sys.argv[1:], start_new_session=True, "
                "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(p.pid, flush=True)")


def _escape() -> None:
    setsid = subprocess.Popen(_SLEEP, start_new_session=True)
    orphan = subprocess.run([sys.executable, "-c", _DOUBLE_FORK, *_SLEEP], check=True,
                            capture_output=True, text=True).stdout.strip()
    with open(os.environ["ESCAPE_PIDS"], "a") as f:
        f.write(f"{setsid.pid}\n{orphan}\n")


@task
def leave() -> int:
    _escape()
    return 1


@task(timeout=timedelta(seconds=1))
def leave_and_hang() -> int:
    _escape()
    time.sleep(300)
    return 1


@workflow
def leaves() -> int:
    return leave()


@workflow
def hangs() -> int:
    return leave_and_hang()
