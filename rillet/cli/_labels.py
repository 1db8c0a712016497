"""Labels of an execution on the command line: ``--name N`` and ``--tag K=V`` (given
to ``rillet run``, filtered on by ``rillet executions list``), and ``--since``.

A workflow input called ``name`` or ``tag`` keeps its ``--name``/``--tag``: the
labels are taken only from options that name no input of the workflow.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from rillet.cli._inputs import InputError


def parse_tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise InputError(f"--tag {text!r}: give a tag as KEY=VALUE (e.g. --tag team=ml)")
    return key.strip(), value


def take_labels(raw: dict[str, list[str | None]], inputs: dict[str, Any]
                ) -> tuple[str | None, dict[str, str]]:
    """Take ``--name`` and every ``--tag`` out of ``raw`` (unless they are inputs)."""
    name: str | None = None
    tags: dict[str, str] = {}
    if "name" in raw and "name" not in inputs:
        given = raw.pop("name")
        if len(given) > 1 or given[0] is None or not given[0].strip():
            raise InputError("--name: give the execution one name (--name NAME)")
        name = given[0]
    if "tag" in raw and "tag" not in inputs:
        for text in raw.pop("tag"):
            if text is None:
                raise InputError("--tag: give a tag as KEY=VALUE (e.g. --tag team=ml)")
            key, value = parse_tag(text)
            tags[key] = value
    return name, tags


def parse_since(text: str, now: float | None = None) -> float:
    """``--since``: a duration back from now (``1h``, ``2d``, ``90``) or an ISO date or
    date-time (local time when it names no zone); the POSIX time it stands for."""
    from rillet.types._quantities import parse_duration

    now = time.time() if now is None else now
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--since {text!r}: give a duration back from now (30m, 1h, 2d) "
                         "or a date (2026-12-01, 2026-12-01T09:30)") from None
    return moment.timestamp()
