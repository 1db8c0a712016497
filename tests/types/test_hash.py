"""content_hash: equal to encode's hash, canonical, stable across processes, fast."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Annotated, Any, Optional, Union

import numpy as np
import pandas as pd
import pytest

from rillet.types._files import Directory, File
from rillet.types._literal import content_hash, encode

ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class Point:
    x: int
    y: float


# One script, run in fresh interpreters with different hash seeds: every line of its
# output must be the same, and equal to the hashes computed in this process.
SCRIPT = r"""
import json, sys
import numpy as np, pandas as pd
from typing import Any
from rillet.types._literal import content_hash
names = ["k%d" % i for i in range(50)]
values = [
    ({n: i for i, n in enumerate(names)}, dict[str, int]),
    (set(names), set[str]),
    (frozenset(names), frozenset[str]),
    ({n: {n} for n in names}, dict[str, set[str]]),
    ({(i, n): i for i, n in enumerate(names)}, dict[tuple[int, str], int]),
    (0.1 + 0.2, float),
    (float("nan"), float),
    ({"z": set(names), "a": [1, 2.5, None]}, Any),
    (pd.DataFrame({"s": names, "i": range(50), "f": [i / 7 for i in range(50)]}), pd.DataFrame),
    (np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 3, np.ndarray),
]
print(json.dumps([content_hash(v, tp) for v, tp in values]))
"""


def _run_script(seed: str) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    hashes: list[str] = json.loads(out.stdout)
    return hashes


def test_hashes_are_the_same_in_other_processes_and_hash_seeds() -> None:
    runs = [_run_script(seed) for seed in ("0", "1", "12345")]
    assert runs[0] == runs[1] == runs[2]
    namespace: dict[str, Any] = {}
    exec(SCRIPT.replace("print(", "result = ("), namespace)
    assert json.loads(namespace["result"]) == runs[0]
    assert len(set(runs[0])) == len(runs[0])  # and the values do not collide


@pytest.mark.parametrize(
    ("value", "tp"),
    [
        (1, int),
        ("s", str),
        (True, bool),
        (1.5, float),
        (None, None),
        ([1, 2], list[int]),
        ({"a": Point(1, 2.0)}, dict[str, Point]),
        (5, Optional[int]),  # noqa: UP045
        ("a", Union[int, str]),  # noqa: UP007
        ({"x": [1, 2]}, Any),
        (dt.datetime(2020, 1, 1), dt.datetime),
        (list(range(3000)), list[int]),  # a JSON blob
        (pd.DataFrame({"a": [1, 2]}), pd.DataFrame),
        (np.arange(5), np.ndarray),
    ],
    ids=lambda x: repr(x)[:30],
)
def test_content_hash_is_the_hash_encode_gives(value: Any, tp: Any) -> None:
    digest = content_hash(value, tp)
    assert digest == encode(value, tp).hash
    assert len(digest) == 64 and int(digest, 16) >= 0


def test_dict_insertion_order_does_not_change_the_hash() -> None:
    a = {"x": 1, "y": 2, "z": 3}
    b = {"z": 3, "x": 1, "y": 2}
    assert content_hash(a, dict[str, int]) == content_hash(b, dict[str, int])
    assert content_hash({2: "b", 1: "a"}, dict[int, str]) == content_hash(
        {1: "a", 2: "b"}, dict[int, str]
    )
    assert content_hash(a, Any) == content_hash(b, Any)
    assert content_hash(a, dict[str, int]) != content_hash({"x": 1, "y": 2}, dict[str, int])


def test_values_of_different_types_hash_differently() -> None:
    hashes = {
        content_hash(1, int),
        content_hash(1.0, float),
        content_hash(True, bool),
        content_hash("1", str),
        content_hash(1, Any),
        content_hash(1.0, Any),
        content_hash(True, Any),
    }
    assert len(hashes) == 7
    # the same JSON text, told apart by the type tag
    assert content_hash("YWJj", str) != content_hash(b"abc", bytes)
    assert content_hash([1, 2], list[int]) != content_hash((1, 2), tuple[int, ...])


def test_int_fed_to_a_float_hashes_as_the_float() -> None:
    assert content_hash(2, float) == content_hash(2.0, float)
    assert content_hash([2], list[float]) == content_hash([2.0], list[float])


def test_the_fast_path_for_scalars_agrees_with_the_general_one() -> None:
    for value, tp in (
        (5, int),
        (-(10**30), int),
        ("ü\n", str),
        (True, bool),
        (False, bool),
        (0.1, float),
        (1e300, float),
        (5e-324, float),
    ):
        assert content_hash(value, tp) == content_hash(value, Annotated[tp, "x"])


def test_optional_hashes_as_its_inner_type() -> None:
    assert content_hash(3, Optional[int]) == content_hash(3, int)  # noqa: UP045
    assert content_hash(None, Optional[int]) == content_hash(None, None)  # noqa: UP045


def test_minus_zero_and_nan_are_values_of_their_own() -> None:
    assert content_hash(-0.0, float) != content_hash(0.0, float)
    assert content_hash(float("nan"), float) == content_hash(float("-nan"), float)


# -- DataFrames -----------------------------------------------------------------------------


def _base() -> pd.DataFrame:
    return pd.DataFrame({"x": [1, 2, 3], "s": ["a", "b", "c"], "f": [0.5, 1.5, np.nan]})


def test_equal_frames_built_differently_hash_equal() -> None:
    base = _base()
    variants = [
        pd.DataFrame(
            [
                {"x": 1, "s": "a", "f": 0.5},
                {"x": 2, "s": "b", "f": 1.5},
                {"x": 3, "s": "c", "f": np.nan},
            ]
        ),
        pd.concat([base.iloc[:1], base.iloc[1:]]),  # several chunks per column
        pd.DataFrame({"f": [0.5, 1.5, np.nan], "s": ["a", "b", "c"], "x": [1, 2, 3]})[
            ["x", "s", "f"]
        ],
        base.set_axis(pd.Index([0, 1, 2]), axis=0),  # an int index equal to 0..n-1
        base.sort_values("x", ascending=False).sort_values("x"),
        base.copy(deep=True),
    ]
    for df in variants:
        assert df.equals(base)
        assert content_hash(df, pd.DataFrame) == content_hash(base, pd.DataFrame)


def test_different_frames_hash_differently() -> None:
    base = _base()
    changed = base.copy()
    changed.loc[1, "x"] = 20
    others = [
        changed,
        base.rename(columns={"x": "y"}),
        base.astype({"x": "int32"}),
        base[["s", "x", "f"]],
        base.iloc[::-1],
        base.iloc[:2],
        base.set_index("s"),
        base.set_axis(pd.Index([5, 6, 7]), axis=0),
    ]
    hashes = {content_hash(df, pd.DataFrame) for df in [base, *others]}
    assert len(hashes) == len(others) + 1


# -- ndarrays -------------------------------------------------------------------------------


def test_arrays_hash_by_dtype_shape_and_values() -> None:
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    h = content_hash(a, np.ndarray)
    assert content_hash(np.asfortranarray(a), np.ndarray) == h  # memory layout is no value
    assert content_hash(a.copy(), np.ndarray) == h
    assert content_hash(a.astype(np.int32), np.ndarray) != h
    assert content_hash(a.reshape(3, 2), np.ndarray) != h
    b = a.copy()
    b[1, 2] = 99
    assert content_hash(b, np.ndarray) != h


# -- File and Directory ---------------------------------------------------------------------


def test_file_hash_follows_name_and_content(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.csv").write_text("1,2\n")
    (tmp_path / "b" / "x.csv").write_text("1,2\n")
    (tmp_path / "b" / "y.csv").write_text("1,2\n")
    h = content_hash(File(tmp_path / "a" / "x.csv"), File)
    assert content_hash(File(tmp_path / "b" / "x.csv"), File) == h  # where it lies is no value
    assert content_hash(File(tmp_path / "b" / "y.csv"), File) != h
    (tmp_path / "b" / "x.csv").write_text("1,3\n")
    assert content_hash(File(tmp_path / "b" / "x.csv"), File) != h


def test_directory_hash_ignores_times_and_creation_order(tmp_path: Path) -> None:
    first, second = tmp_path / "one" / "data", tmp_path / "two" / "data"
    for root, order in ((first, ["a", "b/c", "b/d"]), (second, ["b/d", "a", "b/c"])):
        for rel in order:
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rel)
        time.sleep(0.01)
    os.utime(second / "a", (1, 1))
    assert content_hash(Directory(first), Directory) == content_hash(Directory(second), Directory)
    assert encode(Directory(first), Directory).blob == encode(Directory(second), Directory).blob
    (second / "b" / "c").write_text("changed")
    assert content_hash(Directory(first), Directory) != content_hash(Directory(second), Directory)


# -- speed ----------------------------------------------------------------------------------
