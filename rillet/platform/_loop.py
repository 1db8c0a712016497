"""A background loop of ``rillet server`` (the scheduler, the notifier): a thread that
looks, then sleeps until its event wakes it or the next look is due; ``stop`` wakes it
and joins it. It knows nothing of what a look does (subclasses say), and a failing look
never ends it.
"""

from __future__ import annotations

import sys
import threading
from typing import TypeVar

_L = TypeVar("_L", bound="Loop")


class Loop:
    """Runs :meth:`look` in a thread named ``rillet-<label>``, at least every ``tick``
    seconds and whenever ``wake`` is set."""

    label = "loop"

    def __init__(self, wake: threading.Event, tick: float) -> None:
        self.tick = tick
        self._wake = wake
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def look(self) -> float:
        """Do one round; the seconds until the next one is due (at most ``tick`` are
        waited)."""
        raise NotImplementedError

    def start(self: _L) -> _L:
        self.thread = threading.Thread(target=self.run, daemon=True,
                                       name=f"rillet-{self.label}")
        self.thread.start()
        return self

    def run(self) -> None:
        from rillet.errors import RilletError

        while not self._stop.is_set():
            self._wake.clear()
            wait = self.tick
            try:
                wait = min(wait, self.look())
            except RilletError:
                pass  # the store is busy or away: look again at the next tick
            except Exception as exc:  # never let one bad round stop the loop
                sys.stderr.write(f"rillet {self.label}: {type(exc).__name__}: {exc}\n")
            if wait > 0:
                self._wake.wait(wait)

    def stop(self, timeout: float | None = 30) -> None:
        self._stop.set()
        self._wake.set()
        if self.thread is not None:
            self.thread.join(timeout)
