"""``ByIdentity``: one value per set of objects, never another object's value."""

from __future__ import annotations

from rillet.compiler._identity import ByIdentity


class Thing:
    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:  # equal things are still other objects
        return isinstance(other, Thing) and other.name == self.name

    __hash__ = object.__hash__


def test_a_value_is_made_once_for_the_same_objects_and_anew_for_others() -> None:
    cache: ByIdentity[str] = ByIdentity()
    made: list[str] = []

    def make(t: Thing, u: Thing) -> str:
        made.append(t.name + u.name)
        return made[-1] + str(len(made))

    a, b = Thing("a"), Thing("b")
    first = cache.get((a, b), lambda: make(a, b))
    assert cache.get((a, b), lambda: make(a, b)) == first == "ab1"
    a2 = Thing("a")  # equal to a, another object
    assert cache.get((a2, b), lambda: make(a2, b)) == "ab2"
    assert cache.get((b, a), lambda: make(b, a)) == "ba3"  # the order counts
    assert len(made) == 3


def test_an_object_gone_cannot_lend_its_id_to_a_new_one_while_cached() -> None:
    cache: ByIdentity[int] = ByIdentity()
    seen: dict[int, int] = {}
    for i in range(200):  # objects made and dropped: ids get reused by Python
        t = Thing(str(i))
        value = cache.get((t,), lambda i=i: i)  # type: ignore[misc]
        assert value == i, "a new object was given the value of one gone"
        seen[id(t)] = i
        del t
    assert len(seen) == 200  # the cache held them: no id was reused


def test_past_its_limit_it_is_emptied() -> None:
    cache: ByIdentity[int] = ByIdentity(limit=3)
    things = [Thing(str(i)) for i in range(5)]
    for i, t in enumerate(things):
        cache.get((t,), lambda i=i: i)  # type: ignore[misc]
    made = []
    cache.get((things[0],), lambda: made.append(1) or 0)  # type: ignore[func-returns-value]
    assert made == [1]  # made again after the emptying
