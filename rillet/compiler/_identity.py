"""What is made once from objects (a task, a spec) and reused for those very objects:
keyed by their ``id``s. The objects are held with the value, so no other object can
take one of those ids meanwhile (an id is reused only once its object is gone): a key
found is those objects, with no check of identity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class ByIdentity(Generic[V]):
    def __init__(self, limit: int = 4096) -> None:
        self._made: dict[tuple[int, ...], tuple[tuple[Any, ...], V]] = {}
        self._limit = limit  # emptied past this many (objects made again and again)

    def get(self, objects: tuple[Any, ...], make: Callable[[], V]) -> V:
        """The value made for ``objects`` (the same objects), made now if none."""
        key = tuple(map(id, objects))
        hit = self._made.get(key)
        if hit is not None:
            return hit[1]
        if len(self._made) >= self._limit:
            self._made.clear()
        value = make()
        self._made[key] = (objects, value)
        return value
