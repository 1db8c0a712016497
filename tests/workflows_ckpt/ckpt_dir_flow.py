"""A task that keeps progress in its checkpoint folder, failing once midway."""

import os

from rillet import current_context, task, workflow


@task(retries=1)
def count(n: int, marker: str) -> int:
    folder = current_context().checkpoint.directory
    done_file = os.path.join(folder, "done")
    start = 0
    if os.path.exists(done_file):
        with open(done_file) as f:
            start = int(f.read())
    with open(marker, "a") as f:
        f.write(f"attempt {current_context().attempt} starts at {start}\n")
    for i in range(start, n):
        with open(done_file, "w") as f:
            f.write(str(i + 1))
        if i == n // 2 and current_context().attempt == 1:
            raise RuntimeError("interrupted halfway")
    return n


@workflow
def counting(n: int = 10, marker: str = "") -> int:
    return count(n=n, marker=marker)
