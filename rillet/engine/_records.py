"""Runtime records users see: FailureInfo (given to a failure handler).

Plain frozen data; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class FailureInfo:
    """What a workflow's ``on_failure`` handler learns about the failure."""

    node_id: str
    error_type: str
    message: str
