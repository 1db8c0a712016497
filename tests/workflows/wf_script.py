"""A user's script: tasks and a workflow defined in ``__main__`` and run with
``python wf_script.py HOME FLAG``, on worker processes; it fails while FLAG exists."""

from __future__ import annotations

import json
import os
import sys

import rillet
from rillet import task, workflow


@task
def inc(x: int) -> int:
    return x + 1


@task
def check(x: int, flag: str) -> int:
    if os.path.exists(flag):
        raise RuntimeError("flag is up")
    return x * 2


@workflow
def script_flow(flag: str, x: int = 1) -> int:
    return check(x=inc(x=x), flag=flag)


if __name__ == "__main__":
    home, flag = sys.argv[1], sys.argv[2]
    execution = rillet.run(script_flow, home=home, executor="processes", flag=flag)
    print(json.dumps({"execution_id": execution.id, "status": execution.status}))
