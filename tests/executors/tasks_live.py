"""A task that logs a metric per step and starts a child process (for live metrics and
``Executor.stop``)."""

from __future__ import annotations

import subprocess
import sys
import time

from rillet import current_context, task


@task
def stepper(steps: int, pause: float, child_pid_file: str) -> int:
    if child_pid_file:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        with open(child_pid_file, "w") as f:
            f.write(str(child.pid))
    for step in range(steps):
        current_context().log_metric("loss", 10.0 - step, step=step)
        time.sleep(pause)
    return steps
