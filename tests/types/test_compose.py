"""``types._compose``: containers of stored values built without decoding them hash as
the decoded container does, and a stored list splits into its elements' plain forms."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import pytest

from rillet.types._compose import Stored, compose, decode_element, extract, stored_elements
from rillet.types._literal import encode


@dataclasses.dataclass
class Point:
    x: int
    y: float


def _stored(value: Any, tp: Any) -> Stored:
    lit = encode(value, tp)
    blob = lit.blob
    return Stored(lit.format, lit.tag, lit.inline, (lambda: blob) if blob is not None else None)


@pytest.mark.parametrize("tp, keys, items, item_tp", [
    (list[int], None, [1, 2, 3], int),
    (list[str], None, ["a", "b" * 5000], str),
    (list[Point], None, [Point(1, 2.5), Point(3, 4.0)], Point),
    (list[int | None], None, [1, None, 3], int | None),
    (list[bytes], None, [b"\x00\x01", b"x" * 6000], bytes),
    (tuple[int, ...], None, (4, 5), int),
    (dict[str, list[int]], ["a", "b"], [[1], [2, 3]], list[int]),
])
def test_a_composed_container_hashes_as_the_decoded_one(tp, keys, items, item_tp):
    whole = dict(zip(keys, items, strict=True)) if keys else items
    expected = encode(whole, tp)
    stored = [_stored(x, item_tp) if x is not None else _stored(None, item_tp) for x in items]
    for parts in (stored, [stored[0], *items[1:]]):  # all stored, or mixed with objects
        lit = compose(tp, keys, parts)
        assert lit is not None
        assert lit.hash == expected.hash
        assert (lit.inline, lit.blob) == (expected.inline, expected.blob)


class Named(NamedTuple):
    a: Point
    b: bytes


def test_a_namedtuple_of_stored_fields_hashes_as_the_decoded_one():
    """A task's named outputs passed whole (``f(p=pair())``): its fields in order."""
    value = Named(Point(1, 2.5), b"y" * 6000)
    expected = encode(value, Named)
    for parts in ([_stored(value.a, Point), _stored(value.b, bytes)],
                  [value.a, _stored(value.b, bytes)]):
        lit = compose(Named, None, parts)
        assert lit is not None
        assert (lit.hash, lit.inline, lit.blob) == (expected.hash, expected.inline,
                                                    expected.blob)
    assert compose(Named, None, [_stored(value.a, Point)]) is None  # a field short


def test_a_shape_it_cannot_build_is_left_to_the_caller():
    assert compose(set[int], None, [_stored(1, int)]) is None
    assert compose(list[Any], None, [_stored(1, int)]) is None  # the item's tag differs
    assert compose(list[int], None, [Stored("json", None, 1, None)]) is None  # no tag


def test_a_stored_list_splits_into_its_elements():
    assert stored_elements(_stored([1, 2], list[int]), list[int]) == ([1, 2], False)
    plains, refs = stored_elements(_stored([Point(1, 2.0)], list[Point]), list[Point])
    assert refs and [decode_element(p, list[Point]) for p in plains] == [Point(1, 2.0)]
    assert stored_elements(_stored([1, 2], list[int]), list[str]) is None
    assert stored_elements(_stored(3, int), int) is None


@dataclasses.dataclass
class Box:
    points: list[Point]
    blob: bytes
    name: str
    maybe: int | None = None


@pytest.mark.parametrize("path, tp", [
    ([(True, "points")], list[Point]),
    ([(True, "points"), (False, 1)], Point),
    ([(True, "points"), (False, -1), (True, "y")], float),
    ([(True, "blob")], bytes),
    ([(True, "name")], str),
    ([(True, "maybe")], int | None),
])
def test_a_part_read_from_the_stored_form_hashes_as_the_decoded_part(path, tp):
    box = Box([Point(1, 2.5), Point(3, 4.0)], b"\x00" * 10, "b")
    value: Any = box
    for attr, step in path:
        value = getattr(value, step) if attr else value[step]
    lit = extract(_stored(box, Box), Box, path, tp)
    assert lit is not None
    assert lit.hash == encode(value, tp).hash


def test_a_part_it_cannot_follow_is_left_to_the_caller():
    box = Box([Point(1, 2.5)], b"", "b")
    assert extract(_stored(box, Box), Box, [(True, "nothing")], int) is None
    assert extract(_stored(box, Box), Box, [(True, "points"), (False, 5)], Point) is None
    assert extract(_stored(box, Box), Box, [(True, "name")], int) is None  # another type
