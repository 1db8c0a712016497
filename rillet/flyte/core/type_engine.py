"""``flytekit.core.type_engine``: ``BatchSize`` (how many pickled items flytekit stores
per file) is accepted in ``Annotated[...]`` and has no effect: rillet stores a value as one."""

from __future__ import annotations


class BatchSize:
    def __init__(self, val: int) -> None:
        self.val = val


__all__ = ["BatchSize"]
