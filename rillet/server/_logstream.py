"""A running attempt's output as server-sent events: read from the execution's log
file (where the engine writes each line as the task prints it), from a byte offset on,
until the attempt ends. Each event's id is the offset after its lines, so a client
resumes with ``Last-Event-ID`` (or ``?offset=``) and gets no line twice.

Knowing when the attempt ends comes from the server's event broadcaster (a node or
execution event of this execution wakes a look at the attempt's record), never from
reading the tables in a loop; the file is looked at every ``FILE_POLL`` seconds. The
attempt's recorded logs stay the reference once it ended: the stream's ``end`` event
says so, and the UI then shows those.

A worker on another machine (``rillet worker``) writes its log file there and ships it
to the artifact store in chunks (``rillet.platform._livelogs``): when this machine has
no log file for the execution, the stream reads those chunks, with the same offsets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool

from rillet.engine._records import Event
from rillet.platform._livelogs import READ_MAX, read_output
from rillet.server._broadcast import Broadcaster, queue_listener
from rillet.store._instance import Instance

FILE_POLL = 0.2  # seconds between looks at the log file
RECHECK = 5.0  # seconds between looks at the attempt's record with no event at all
LIVE = frozenset({"RUNNING", "QUEUED"})


def attempt_status(inst: Instance, execution_id: str, node_id: str, attempt: int) -> str:
    """The attempt's recorded status ('' when it is gone), or the execution's ended
    status when the execution ended with the attempt still marked running."""
    store = inst.store
    record = store.get_execution(execution_id)
    chosen = next((a for a in store.attempts(execution_id, node_id) if a.attempt == attempt),
                  None)
    status = chosen.status.value if chosen is not None else ""
    if status in LIVE and record.ended_at is not None:
        return record.status.value
    return status


async def follow_log(inst: Instance, broadcaster: Broadcaster, execution_id: str,
                     node_id: str, attempt: int, offset: int
                     ) -> AsyncIterator[dict[str, Any]]:
    """``log`` events (``{"text", "offset"}``) while the attempt runs, then one ``end``
    event (``{"status", "offset"}``)."""
    path = inst.log_path(execution_id)
    queue: asyncio.Queue[Event] = asyncio.Queue()
    token = broadcaster.subscribe(execution_id, queue_listener(asyncio.get_running_loop(),
                                                               queue))
    try:
        status = await run_in_threadpool(attempt_status, inst, execution_id, node_id, attempt)
        waited = 0.0
        while True:
            ended = status not in LIVE
            before = offset
            text, offset = await run_in_threadpool(read_output, path, inst.artifacts,
                                                   execution_id, node_id, attempt, offset)
            if text:  # one event per read: its id resumes after all of it
                yield {"id": str(offset), "event": "log",
                       "data": json.dumps({"text": text, "offset": offset})}
            if offset - before >= READ_MAX // 2:
                continue  # a backlog (a resume after a burst): read on, an event a MiB
            if ended:
                yield {"id": str(offset), "event": "end",
                       "data": json.dumps({"status": status, "offset": offset})}
                return
            if await _touched(queue, node_id) or waited >= RECHECK:
                waited = 0.0
                status = await run_in_threadpool(attempt_status, inst, execution_id,
                                                 node_id, attempt)
            else:
                waited += FILE_POLL
    finally:
        broadcaster.unsubscribe(token)


async def _touched(queue: asyncio.Queue[Event], node_id: str) -> bool:
    """Wait up to ``FILE_POLL`` seconds; whether an event that may end the attempt came
    (one of its node, or of the execution itself)."""
    touched = False
    try:
        event = await asyncio.wait_for(queue.get(), FILE_POLL)
        while True:
            touched = touched or event.node_id in (node_id, "")
            event = queue.get_nowait()
    except (asyncio.TimeoutError, asyncio.QueueEmpty):  # asyncio's is not the builtin on 3.10
        return touched
