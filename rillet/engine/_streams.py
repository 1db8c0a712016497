"""Task output while attempts run: written, line by line, to the execution's log file
as it comes (so an interrupted, killed or running attempt's output is on disk), and
echoed live to the console prefixed by its node when asked.

The log file holds lines ``NODE#ATTEMPT| TEXT`` and is created on the first output, so
executions whose tasks print nothing cost nothing. The attempt's complete output is
still recorded with its attempt when it ends (``rillet logs``); this file is what there
is of it before then. No scheduling here, and no store access.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO

Echo = Callable[[str, str], None]  # (node id, one line of its output)
Poll = Callable[[], list[tuple[str, int, str]]]  # new output: (node id, attempt, text) each
LOG_KEEP = 1 << 20  # characters of an attempt's output kept in memory (for an abort)


def log_line_prefix(node_id: str, attempt: int) -> str:
    return f"{node_id}#{attempt}| "


class OutputStreams:
    """Output of the running attempts of one execution."""

    def __init__(self, path: str, poll: Poll, echo: Echo | None = None) -> None:
        self.path = path
        self._poll = poll
        self.echo = echo
        self._file: IO[str] | None = None
        self._partial: dict[tuple[str, int], str] = {}
        self.seen: dict[tuple[str, int], str] = {}  # what each attempt printed so far

    def poll(self) -> None:
        """Take what the attempts printed since the last poll."""
        self.feed(self._poll())

    def feed(self, chunks: list[tuple[str, int, str]]) -> None:
        """Take new output: (node id, attempt, text) each."""
        if not chunks:
            return
        lines: list[str] = []
        for node_id, attempt, text in chunks:
            key = (node_id, attempt)
            kept = self.seen.get(key, "")
            if len(kept) < LOG_KEEP:
                self.seen[key] = kept + text[:LOG_KEEP - len(kept)]
            pending = self._partial.pop(key, "") + text
            *whole, rest = pending.split("\n")
            if rest:
                self._partial[key] = rest
            prefix = log_line_prefix(node_id, attempt)
            for line in whole:
                lines.append(prefix + line + "\n")
                if self.echo is not None:
                    self.echo(node_id, line)
        self._write(lines)

    def end(self, node_id: str, attempt: int) -> None:
        """The attempt ended: write its last, unterminated line."""
        rest = self._partial.pop((node_id, attempt), "")
        self.seen.pop((node_id, attempt), None)
        if rest:
            self._write([log_line_prefix(node_id, attempt) + rest + "\n"])
            if self.echo is not None:
                self.echo(node_id, rest)

    def _write(self, lines: list[str]) -> None:
        if not lines:
            return
        if self._file is None:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._file.write("".join(lines))
        self._file.flush()

    def close(self) -> None:
        for node_id, attempt in list(self._partial):
            self.end(node_id, attempt)
        if self._file is not None:
            self._file.close()
            self._file = None


def read_attempt_lines(path: str, node_id: str, attempt: int, offset: int = 0,
                       limit: int = -1) -> tuple[str, int]:
    """The output of one attempt in an execution's log file, from byte ``offset`` on:
    (its text, the offset to read from next). Only whole lines are taken, of at most
    ``limit`` bytes of the file when given (a line longer than that: the rest at once)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(limit)
            if 0 < limit <= len(data) and b"\n" not in data:
                data += f.read()
    except FileNotFoundError:
        return "", offset
    end = data.rfind(b"\n") + 1
    return attempt_text(data[:end], node_id, attempt), offset + end


def attempt_text(data: bytes, node_id: str, attempt: int) -> str:
    """The output of one attempt in whole lines of an execution's log (``data``)."""
    prefix = log_line_prefix(node_id, attempt).encode()
    return "".join(line[len(prefix):].decode("utf-8", "replace")
                   for line in data.splitlines(keepends=True) if line.startswith(prefix))
