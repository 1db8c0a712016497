"""One reader of the store's event log for the whole server, fanning events out to
every live stream (SSE client, ``launch --wait``). Clients never read the database
in a loop: they read their backlog once when they connect, then get what this one
reader finds. The reader waits on a signal that the server's own writers (local
workers, abort) raise. Events written by other processes (a ``rillet run``, remote
workers): on PostgreSQL every insert into the event log NOTIFYs ``rillet_events`` (a
trigger, schema revision 0017) and a LISTEN connection of the reader's wakes it, with a
look every ``listen_poll`` seconds only as a fallback; on SQLite it looks every ``poll``
seconds."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from rillet.engine._protocols import RunStore
from rillet.engine._records import Event

Listener = Callable[[Event], None]


EVENTS_CHANNEL = "rillet_events"  # NOTIFYed by the event log's trigger on PostgreSQL
RECONNECT = 1.0  # seconds between tries to LISTEN again after the connection failed


class Broadcaster:
    def __init__(self, store: RunStore, poll: float = 0.05, listen_poll: float = 1.0) -> None:
        self.store = store
        self.poll = poll
        self.listen_poll = listen_poll
        self.listening = threading.Event()  # set while a LISTEN connection is up
        self.notified = 0  # notifications received (a test counts them)
        self._listen_url = _postgres_url(store)
        self.cursor = 0
        self._lock = threading.Lock()
        self._listeners: dict[int, tuple[str | None, Listener]] = {}
        self._next = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reads = 0  # queries of the event log (a test counts them)

    def start(self) -> None:
        self.cursor = self.store.last_event()
        self._thread = threading.Thread(target=self._run, name="rillet-events", daemon=True)
        self._thread.start()
        if self._listen_url is not None:
            self._listener = threading.Thread(target=self._listen, name="rillet-events-listen",
                                              daemon=True)
            self._listener.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in (self._thread, getattr(self, "_listener", None)):
            if thread is not None:
                thread.join(timeout=10)

    def _listen(self) -> None:
        """LISTEN for the event log's NOTIFY and wake the reader for each; reconnect
        after a failure (the reader polls meanwhile)."""
        import psycopg

        assert self._listen_url is not None
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._listen_url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {EVENTS_CHANNEL}")
                    self.listening.set()
                    self._wake.set()  # events written before LISTEN: read them now
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self.notified += 1
                            self._wake.set()
            except Exception:  # the database went away: poll until it is back
                pass
            finally:
                self.listening.clear()
            self._stop.wait(RECONNECT)

    def wake(self) -> None:
        """Something was written: read the log now."""
        self._wake.set()

    def subscribe(self, execution_id: str | None, listener: Listener) -> int:
        with self._lock:
            self._next += 1
            self._listeners[self._next] = (execution_id, listener)
            return self._next

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._listeners.pop(token, None)

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.listen_poll if self.listening.is_set() else self.poll)
            self._wake.clear()
            if not self._listeners:
                try:  # nobody listens: only keep the cursor current
                    self.cursor = self.store.last_event()
                except Exception:
                    pass
                continue
            try:
                self.reads += 1
                batch = self.store.events(None, after=self.cursor, limit=5000)
            except Exception:  # a busy store: next round
                continue
            if batch:
                self.cursor = batch[-1].seq
                self._deliver(batch)
                if len(batch) == 5000:
                    self._wake.set()

    def _deliver(self, batch: list[Event]) -> None:
        with self._lock:
            listeners = list(self._listeners.values())
        for event in batch:
            for wanted, listener in listeners:
                if wanted is None or wanted == event.execution_id:
                    listener(event)


def queue_listener(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any]) -> Listener:
    """A listener that hands events to an asyncio queue from the reader's thread."""

    def put(event: Event) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    return put


def _postgres_url(store: Any) -> str | None:
    """The libpq URL of a PostgreSQL store (its LISTEN connection), else None."""
    url = str(getattr(getattr(store, "database", None), "url", "") or "")
    if not url.startswith("postgresql"):
        return None
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
