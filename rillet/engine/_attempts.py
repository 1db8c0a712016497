"""Running one task call in memory with its retries and timeout.

Used by direct calls (and by the inline executor). A task without retries or a
timeout is called as a plain function: ``attempt_runner`` hands it back unwrapped.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from rillet.engine._context import STATE
from rillet.errors import DefinitionError, TaskTimeoutError, UserCodeError


def call_with_timeout(fn: Callable[..., Any], kwargs: dict[str, Any], seconds: float) -> Any:
    """Call ``fn(**kwargs)``, raising TaskTimeoutError after ``seconds``.

    In the main thread a timer signal (SIGALRM) interrupts the call; a timer set
    before (an enclosing timeout, pytest-timeout) is restored afterwards, and one
    due sooner is left to fire. Elsewhere the call runs in a helper thread that is
    abandoned on timeout (in memory nothing can kill a thread; the process
    executor kills the attempt's process instead).
    """
    name = getattr(fn, "__qualname__", repr(fn))
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _call_with_alarm(fn, kwargs, seconds, name)
    box: dict[str, Any] = {}
    sink, node_id, attempt, prefix = STATE.sink, STATE.node_id, STATE.attempt, STATE.prefix

    def target() -> None:
        STATE.sink, STATE.node_id, STATE.attempt, STATE.prefix = sink, node_id, attempt, prefix
        try:
            box["value"] = fn(**kwargs)
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True, name=f"rillet-timeout-{name}")
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TaskTimeoutError(f"task '{name}' ran past its timeout of {seconds:g}s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


class _Expired(BaseException):
    """Raised by the timer inside the task: not an ``Exception``, so that a task's own
    ``except Exception`` does not swallow its timeout (it becomes TaskTimeoutError)."""


def _call_with_alarm(
    fn: Callable[..., Any], kwargs: dict[str, Any], seconds: float, name: str
) -> Any:
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    if outer_delay and outer_delay <= seconds:
        return fn(**kwargs)  # an enclosing deadline comes first: it governs
    started = time.monotonic()

    def on_alarm(signum: int, frame: Any) -> None:
        raise _Expired

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(**kwargs)
    except _Expired:
        raise TaskTimeoutError(f"task '{name}' ran past its timeout of {seconds:g}s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:
            left = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), outer_interval)


def attempt_runner(
    fn: Callable[..., Any], retries: int, timeout: float | None
) -> Callable[..., Any]:
    """Wrap ``fn`` so that a call makes up to ``retries + 1`` attempts (``fn`` itself
    when there is nothing to wrap: no retries and no timeout)."""
    if not retries and timeout is None:
        return fn

    def run(**kwargs: Any) -> Any:
        state = STATE
        outer = state.attempt
        attempt = 1
        try:
            while True:
                state.attempt = attempt
                try:
                    if timeout is not None:
                        return call_with_timeout(fn, kwargs, timeout)
                    return fn(**kwargs)
                except DefinitionError:
                    raise  # a type or compile error: another attempt would fail the same way
                except Exception as exc:
                    if attempt > retries or (isinstance(exc, UserCodeError) and not exc.retryable):
                        raise
                    attempt += 1
        finally:
            state.attempt = outer

    run.__qualname__ = getattr(fn, "__qualname__", "task")
    return run
