"""The server's local runner: recoveries (and, with issue 14's workers, launches)
run in threads of the server process, with the instance's executor. An API call
returns the new execution as soon as it is recorded, not when it ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from rillet.engine._runstate import new_execution_id
from rillet.errors import NotFound, RilletError
from rillet.executors import load_executor
from rillet.services import ExecutionSummary
from rillet.services._executions import summary
from rillet.store._instance import Instance


class LocalRunner:
    def __init__(self, instance: Instance, wake: Callable[[], None]) -> None:
        self.instance = instance
        self.wake = wake
        self._threads: list[threading.Thread] = []

    def recover(self, execution_id: str, from_nodes: tuple[str, ...]) -> ExecutionSummary:
        from rillet.sdk._run import recover

        new_id = new_execution_id()
        failed: list[BaseException] = []

        def work() -> None:
            # An executor of its own: executors are not shared between threads.
            executor = load_executor(self.instance.executor)
            try:
                recover(execution_id, from_nodes=from_nodes, executor=executor,
                        instance=self.instance, new_id=new_id,
                        observer=lambda *_: self.wake())
            except BaseException as exc:  # reported to the caller below, or logged
                failed.append(exc)
            finally:
                executor.shutdown()
                self.wake()

        thread = threading.Thread(target=work, name=f"rillet-recover-{new_id}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return self._started(new_id, thread, failed)

    def _started(self, new_id: str, thread: threading.Thread,
                 failed: list[BaseException]) -> ExecutionSummary:
        """The new execution once recorded; the error when it failed before that."""
        while True:
            try:
                return summary(self.instance.store.get_execution(new_id))
            except NotFound:
                pass
            if not thread.is_alive():
                if failed:
                    exc = failed[0]
                    if isinstance(exc, (RilletError, ValueError)):
                        raise exc
                    raise RilletError(f"the recovery failed: {type(exc).__name__}: {exc}")
                return summary(self.instance.store.get_execution(new_id))
            time.sleep(0.01)

    def join(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))


