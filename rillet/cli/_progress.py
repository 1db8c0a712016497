"""A live line of node states while an execution runs (only on a terminal)."""

from __future__ import annotations

import sys
from typing import Any

from rillet.engine._records import NodeStatus


class Progress:
    """Counts node states and redraws one status line on stderr."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.states: dict[str, NodeStatus] = {}
        self._live: Any = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._render(), console=Console(stderr=True),
                              refresh_per_second=8, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def __call__(self, node_id: str, status: NodeStatus) -> None:
        self.states[node_id] = status
        if self._live is not None:
            self._live.update(self._render())

    def _render(self) -> Any:
        from rich.text import Text

        counts: dict[str, int] = {}
        running: list[str] = []
        for node_id, status in self.states.items():
            counts[status.value] = counts.get(status.value, 0) + 1
            if status is NodeStatus.RUNNING:
                running.append(node_id)
        done = sum(counts.get(s, 0) for s in ("SUCCEEDED", "CACHED", "RECOVERED"))
        text = Text()
        text.append(f"{done}/{len(self.states)} done", style="bold green")
        for label, style in (("CACHED", "cyan"), ("RECOVERED", "cyan"), ("FAILED", "red"),
                             ("SKIPPED", "dim")):
            if counts.get(label):
                text.append(f"  {counts[label]} {label.lower()}", style=style)
        if running:
            shown = ", ".join(running[:4]) + (" …" if len(running) > 4 else "")
            text.append(f"  running: {shown}", style="yellow")
        return text
