"""``out.field``, ``out[0]``, ``out["k"]`` on promises in a workflow body: typed at
compile time, applied to the value in direct and durable runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest

import rillet
from rillet import task, workflow
from rillet.compiler._serialize import spec_json
from rillet.errors import DefinitionError

HERE = Path(__file__)


@dataclass
class Fruit:
    name: str
    weight: int


class Pair(NamedTuple):
    left: int
    right: str


@task
def fruits() -> dict[str, list[Fruit]]:
    return {"red": [Fruit("apple", 3), Fruit("cherry", 1)], "yellow": [Fruit("banana", 2)]}


@task
def one_fruit() -> Fruit:
    return Fruit("plum", 4)


@task
def words() -> list[str]:
    return ["a", "bb", "ccc"]


@task
def pairs() -> dict[str, tuple[int, str]]:
    return {"p": (7, "seven")}


@task
def named() -> Pair:
    return Pair(1, "one")


@task
def shout(s: str) -> str:
    return s.upper()


@task
def half(x: float) -> float:
    return x / 2


@workflow
def reach() -> tuple[str, str, float, str, int]:
    f = fruits()
    first_red = f["red"][0]
    return (shout(s=first_red.name), shout(s=words()[-1]), half(x=one_fruit().weight),
            f["yellow"][0].name, named().left)


def test_a_path_into_an_output_is_typed_and_runs_directly() -> None:
    assert reach() == ("APPLE", "CCC", 2.0, "banana", 1)


def test_a_path_into_an_output_runs_durably_and_is_part_of_the_spec(tmp_path: Path) -> None:
    ex = rillet.run(reach, home=str(tmp_path / "home"), executor="inline")
    assert ex.status == "SUCCEEDED", ex
    assert [ex.output(k) for k in ("o0", "o1", "o2", "o3", "o4")] == [
        "APPLE", "CCC", 2.0, "banana", 1]
    text = json.dumps(spec_json(reach.spec))
    assert '"path": [{"key": "red"}, {"key": 0}, {"attr": "name"}]' in text


def test_tuple_index_and_a_condition_on_a_field() -> None:
    @workflow
    def wf() -> str:
        p = pairs()["p"]
        return (rillet.conditional("big").if_(p[0] > 5).then(shout(s=p[1]))
                .else_().then(shout(s="small")))

    assert wf() == "SEVEN"


def _error(body: object) -> str:
    with pytest.raises(DefinitionError) as info:
        workflow(body)  # type: ignore[call-overload]
    return str(info.value)


def test_a_missing_attribute_is_a_compile_error_naming_file_and_line() -> None:
    def wf() -> str:
        return shout(s=one_fruit().colour)  # the line the error names

    message = _error(wf)
    line = wf.__code__.co_firstlineno + 1
    assert f"{HERE}:{line}: output 'o0' of node 'one_fruit' has no attribute 'colour'" in message
    assert "name, weight" in message


def test_indexing_a_list_with_a_string_or_a_dataclass_at_all_is_a_compile_error() -> None:
    def by_key() -> str:
        return shout(s=words()["x"])

    assert "index it with an int" in _error(by_key)

    def by_index() -> str:
        return shout(s=one_fruit()[0])

    assert "cannot be indexed" in _error(by_index)

    def out_of_range() -> str:
        return shout(s=pairs()["p"][2])

    assert "no index 2" in _error(out_of_range)

    def wrong_key_type() -> str:
        return shout(s=fruits()[1])

    assert "its keys are str" in _error(wrong_key_type)


def test_a_path_of_the_wrong_type_for_the_input_is_a_compile_error() -> None:
    def wf() -> str:
        return shout(s=one_fruit().weight)

    assert "expects str" in _error(wf)


def test_a_missing_key_fails_the_node_that_reads_it(tmp_path: Path) -> None:
    @workflow
    def wf() -> str:
        return shout(s=fruits()["green"][0].name)

    with pytest.raises(rillet.errors.RilletError, match=r"\['green'\] failed: KeyError"):
        wf()
    ex = rillet.run(wf, home=str(tmp_path / "home"), executor="inline")
    assert ex.status == "FAILED"
    node = ex.node("shout")
    assert node.status == "FAILED" and "['green'] failed: KeyError" in (node.error or "")
