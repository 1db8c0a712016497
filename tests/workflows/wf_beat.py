"""A long task that reads its own execution's heartbeat before and after sleeping."""

from __future__ import annotations

import time

from rillet import current_context, task, workflow


@task
def long_task(where: str, seconds: float) -> float:
    from rillet.store._home import Home

    eid = current_context().execution_id
    with Home.open(where) as h:
        first = h.store.get_execution(eid).heartbeat_at
        time.sleep(seconds)
        return float(h.store.get_execution(eid).heartbeat_at - first)


@workflow
def beats(where: str, seconds: float = 1.0) -> float:
    return long_task(where=where, seconds=seconds)
