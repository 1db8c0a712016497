"""describe(tp): the JSON descriptor of every supported type."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import typing
from typing import Annotated, Any, NamedTuple, NewType, Optional, Union

import numpy as np
import numpy.typing as npt
import pandas as pd
import pydantic
import pytest

from rillet.errors import DefinitionError
from rillet.types._descriptor import classify, describe, descriptor_json
from rillet.types._files import Directory, File


class Color(enum.Enum):
    RED = "r"
    GREEN = "g"


class Planet(enum.Enum):  # values that are not JSON scalars: stored by name
    EARTH = (1.0, 6.4)
    MARS = (0.1, 3.4)


@dataclasses.dataclass
class Point:
    x: int
    y: float = 0.0


@dataclasses.dataclass
class Tree:
    label: str
    children: list[Tree]


class Pair(NamedTuple):
    a: int
    b: str


class Model(pydantic.BaseModel):
    a: int
    b: list[str] = []


class Opaque:
    pass


UserId = NewType("UserId", int)


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (int, {"kind": "int"}),
        (float, {"kind": "float"}),
        (bool, {"kind": "bool"}),
        (str, {"kind": "str"}),
        (bytes, {"kind": "bytes"}),
        (None, {"kind": "none"}),
        (type(None), {"kind": "none"}),
        (Any, {"kind": "any"}),
        (dt.datetime, {"kind": "datetime"}),
        (dt.date, {"kind": "date"}),
        (dt.timedelta, {"kind": "timedelta"}),
        (list[int], {"kind": "list", "item": {"kind": "int"}}),
        (typing.List[str], {"kind": "list", "item": {"kind": "str"}}),  # noqa: UP006
        (list, {"kind": "list", "item": {"kind": "any"}}),
        (
            dict[str, float],
            {"kind": "dict", "key": {"kind": "str"}, "value": {"kind": "float"}},
        ),
        (set[int], {"kind": "set", "item": {"kind": "int"}}),
        (frozenset[str], {"kind": "frozenset", "item": {"kind": "str"}}),
        (tuple[int, str], {"kind": "tuple", "items": [{"kind": "int"}, {"kind": "str"}]}),
        (tuple[int, ...], {"kind": "tuple", "item": {"kind": "int"}, "variadic": True}),
        (Optional[int], {"kind": "optional", "inner": {"kind": "int"}}),  # noqa: UP045
        (int | None, {"kind": "optional", "inner": {"kind": "int"}}),
        (
            Union[int, str],  # noqa: UP007
            {"kind": "union", "options": [{"kind": "int"}, {"kind": "str"}]},
        ),
        (
            int | str | None,
            {
                "kind": "optional",
                "inner": {"kind": "union", "options": [{"kind": "int"}, {"kind": "str"}]},
            },
        ),
        (Color, {"kind": "enum", "name": f"{__name__}.Color", "values": ["r", "g"]}),
        (Planet, {"kind": "enum", "name": f"{__name__}.Planet", "values": ["EARTH", "MARS"]}),
        (
            Point,
            {
                "kind": "dataclass",
                "name": f"{__name__}.Point",
                "fields": {"x": {"kind": "int"}, "y": {"kind": "float"}},
            },
        ),
        (
            Pair,
            {
                "kind": "namedtuple",
                "name": f"{__name__}.Pair",
                "fields": {"a": {"kind": "int"}, "b": {"kind": "str"}},
            },
        ),
        (pd.DataFrame, {"kind": "dataframe"}),
        (np.ndarray, {"kind": "ndarray"}),
        (npt.NDArray[np.float64], {"kind": "ndarray"}),
        (File, {"kind": "file"}),
        (Directory, {"kind": "directory"}),
        (Opaque, {"kind": "pickle", "name": f"{__name__}.Opaque"}),
        (Annotated[int, "meta"], {"kind": "int"}),
        (UserId, {"kind": "int"}),
        (typing.Literal["a", "b"], {"kind": "literal", "values": ["a", "b"]}),
    ],
)
def test_descriptor(tp: Any, expected: dict[str, Any]) -> None:
    got = describe(tp)
    assert got == expected
    assert json.loads(json.dumps(got)) == expected  # JSON-serializable as is


def test_union_descriptor_does_not_depend_on_the_order_written() -> None:
    assert describe(Union[int, str]) == describe(Union[str, int])  # noqa: UP007
    assert describe(str | int | None) == describe(Optional[Union[int, str]])  # noqa: UP007, UP045
    assert descriptor_json(int | str) == descriptor_json(str | int)


def test_recursive_dataclass_refers_to_itself_by_name() -> None:
    d = describe(Tree)
    name = f"{__name__}.Tree"
    assert d == {
        "kind": "dataclass",
        "name": name,
        "fields": {
            "label": {"kind": "str"},
            "children": {"kind": "list", "item": {"kind": "ref", "name": name}},
        },
    }


def test_pydantic_descriptor_carries_the_json_schema() -> None:
    d = describe(Model)
    assert d["kind"] == "pydantic"
    assert d["name"] == f"{__name__}.Model"
    assert d["schema"] == Model.model_json_schema()
    json.dumps(d)


def test_each_call_returns_a_fresh_copy() -> None:
    first = describe(list[Point])
    first["item"]["fields"]["x"]["kind"] = "mutated"
    assert describe(list[Point])["item"]["fields"]["x"] == {"kind": "int"}


def test_descriptor_json_is_canonical() -> None:
    # sorted keys, no spaces: the text is written out, not rebuilt the way the code builds it
    assert descriptor_json(dict[str, int]) == (
        '{"key":{"kind":"str"},"kind":"dict","value":{"kind":"int"}}'
    )
    text = descriptor_json(dict[str, Point])
    assert text == json.dumps(describe(dict[str, Point]), sort_keys=True, separators=(",", ":"))


def test_unresolvable_field_type_is_a_definition_error() -> None:
    @dataclasses.dataclass
    class Broken:
        x: NotDefinedAnywhere  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(DefinitionError, match="Broken"):
        describe(Broken)


def test_subclasses_of_dataframe_and_ndarray_are_pickled_not_mistaken() -> None:
    class MyFrame(pd.DataFrame):
        pass

    assert classify(MyFrame).kind == "pickle"
    assert classify(np.ma.MaskedArray).kind == "pickle"


def test_unhashable_annotation_still_describes() -> None:
    assert describe(Annotated[int, {"unhashable": []}]) == {"kind": "int"}
