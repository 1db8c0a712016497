"""FailureInfo: what a workflow's failure handler is told. Kept apart from the
durable records so that a direct call loads only this one small class."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class FailureInfo:
    """What a workflow's ``on_failure`` handler learns about the failure."""

    node_id: str
    error_type: str
    message: str
