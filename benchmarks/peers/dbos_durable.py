"""chain / map on DBOS 3.4 with a SQLite system database, for ``durable.py --peers``.

DBOS is a durable-execution library: a ``@DBOS.workflow`` records its start and
result and every ``@DBOS.step`` it calls commits its output to the system
database before the workflow goes on, which is what rillet's durable home
does per node. The chain is one workflow calling ``inc`` as 200 steps; the map
enqueues one ``inc`` workflow per element on a ``Queue`` (DBOS's fan-out) and
waits for every result. The queue polls every 10 ms (DBOS's default is 1 s, which
would dominate), so the map figure is DBOS's best case.

Run with ``.bench/dbos/bin/python`` (``make bench`` creates it); the database
lives in a temporary folder removed at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from _common import main
from dbos import DBOS

logging.getLogger("dbos").setLevel(logging.ERROR)

_TMP = tempfile.mkdtemp(prefix="rillet-bench-dbos-")
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)

DBOS(
    config={
        "name": "rillet-bench",
        "system_database_url": f"sqlite:///{os.path.join(_TMP, 'dbos.sqlite')}",
        "log_level": "ERROR",
    }
)


@DBOS.step()
def inc(x: int) -> int:
    return x + 1


@DBOS.workflow()
def inc_wf(x: int) -> int:
    return inc(x)


def _chain_wf(n: int) -> Callable[[int], int]:
    @DBOS.workflow(name=f"chain_{n}")
    def chain_wf(x: int) -> int:
        for _ in range(n):
            x = inc(x)
        return x

    return chain_wf


class Dbos:
    name = "dbos"
    version = version("dbos")

    def __init__(self) -> None:
        self._chains: dict[int, Callable[[int], int]] = {}
        self._queue: Any = None

    def chain(self, n: int) -> Callable[[], Any]:
        wf = self._chains[n]
        return lambda: wf(0)

    def map(self, n: int) -> Callable[[], Any]:
        xs = list(range(n))
        queue = self._queue

        def run() -> list[int]:
            handles = [queue.enqueue(inc_wf, x) for x in xs]
            return [handle.get_result() for handle in handles]

        return run

    def define(self, n: int) -> Callable[[], Any]:
        raise NotImplementedError("DBOS has no compile step")


if __name__ == "__main__":
    adapter = Dbos()
    # workflows must be registered before DBOS.launch()
    adapter._chains[200] = _chain_wf(200)
    DBOS.launch()
    adapter._queue = DBOS.register_queue("bench", polling_interval_sec=0.01)
    try:
        main(adapter)
    finally:
        DBOS.destroy()
