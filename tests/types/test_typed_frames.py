"""Typed DataFrames (issue 18, 6): a pandera schema on a task's input or output is
validated when the value crosses the boundary, in direct calls and durable runs; a
violation is one line per failing check, never retried, the first rows kept."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from clikit import WORKFLOWS

import rillet
from rillet import UserCodeError
from rillet.engine._cachekey import task_version
from rillet.engine._loading import load_file
from rillet.store._home import Home
from rillet.types._descriptor import describe
from rillet.types._frames import FrameValidationError


@pytest.fixture(scope="module")
def wf() -> Any:
    return load_file(str(WORKFLOWS / "wf_typed_frames.py"))


GOOD = pd.DataFrame({"age": [10, 20, 30], "name": ["a", "b", "c"]})
BAD_INPUT = pd.DataFrame({"age": [10, -1, -5, 40], "name": ["a", "", "c", "d"]})
BAD_OUTPUT = pd.DataFrame({"age": [10, 150, 300], "name": ["a", "b", "c"]})


def _calls(path: Path) -> int:
    return len(path.read_text().split()) if path.exists() else 0


def test_a_valid_frame_passes_in_a_direct_call(wf: Any, tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    assert wf.scoring(people=GOOD, calls=str(calls)) == pytest.approx(0.2)
    assert _calls(calls) == 1


def test_a_bad_input_fails_with_a_line_per_check_and_is_not_retried(wf: Any,
                                                                    tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    with pytest.raises(UserCodeError) as info:
        wf.score(people=BAD_INPUT, calls=str(calls))
    error = info.value if isinstance(info.value, FrameValidationError) else info.value.__cause__
    assert isinstance(error, FrameValidationError) and not error.retryable
    lines = str(error).splitlines()
    assert lines == [
        "task 'score' input 'people': column 'age' fails greater_than_or_equal_to(0) (People)"
        " for 2 value(s): -1, -5",
        "task 'score' input 'people': column 'name' fails str_length(1, None) (People)"
        " for 1 value(s): ''",
    ]
    assert "-1" in error.head and "age" in error.head  # the first rows, for inspection
    assert _calls(calls) == 0  # the task never ran, and retries=2 was not used


def test_a_bad_output_fails_naming_the_output(wf: Any, tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    with pytest.raises(UserCodeError, match=r"task 'score' output 'o0': column 'score' fails "
                                            r"in_range\(0.0, 1.0\) \(Scored\) for 2 value"):
        wf.scoring(people=BAD_OUTPUT, calls=str(calls))
    assert _calls(calls) == 1  # ran once: a validation failure is never retried


@pytest.mark.parametrize("executor", ["processes", "inline"])
def test_durable_runs_validate_and_keep_the_first_rows(wf: Any, tmp_path: Path,
                                                       executor: str) -> None:
    home, calls = str(tmp_path / "h"), tmp_path / "calls"
    ok = rillet.run(wf.scoring, home=home, executor=executor, people=GOOD, calls=str(calls))
    assert ok.status.value == "SUCCEEDED" and ok.output("o0") == pytest.approx(0.2)
    bad = rillet.run(wf.scoring, home=home, executor=executor, people=BAD_INPUT,
                     calls=str(calls))
    assert bad.status.value == "FAILED"
    h = Home.open(home)
    try:
        (attempt,) = h.store.attempts(bad.id, "score")  # one attempt: never retried
    finally:
        h.close()
    assert attempt.error_type == "FrameValidationError"
    assert attempt.error_message.splitlines()[0] == (
        "task 'score' input 'people': column 'age' fails greater_than_or_equal_to(0) (People)"
        " for 2 value(s): -1, -5")
    assert len(attempt.error_message.splitlines()) == 2
    assert "first 5 rows of the failing frame" in attempt.traceback
    assert "-5" in attempt.traceback.split("first 5 rows")[1]
    assert _calls(calls) == 1  # only the good run called the task
    out = rillet.run(wf.scoring, home=home, executor=executor, people=BAD_OUTPUT,
                     calls=str(calls))
    assert out.status.value == "FAILED" and "output 'o0'" in (out.error or "")


def test_the_schema_is_in_the_type_descriptor(wf: Any) -> None:
    d = describe(wf.score.interface.inputs["people"])
    assert d["kind"] == "dataframe"
    schema = d["schema"]
    assert schema["name"].endswith("wf_typed_frames.People")
    assert schema["columns"]["age"]["checks"] == ["greater_than_or_equal_to(0)"]
    assert schema["columns"]["name"]["checks"] == ["str_length(1, None)"]
    assert describe(pd.DataFrame) == {"kind": "dataframe"}


SOURCE = '''
import pandera.pandas as pa
from pandera.typing import DataFrame, Series
from rillet import task

class S(pa.DataFrameModel):
    x: Series[int] = pa.Field(ge={ge})

@task(cache=True{version})
def t(df: DataFrame[S]) -> int:
    return len(df)
'''


def _task(tmp_path: Path, name: str, ge: int, version: str = "") -> Any:
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / f"{name}.py"
    path.write_text(SOURCE.replace("{ge}", str(ge)).replace("{version}", version))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.t


@pytest.mark.parametrize("version", ["", ', cache_version="1"'])
def test_the_schema_is_part_of_the_cache_key(tmp_path: Path, version: str) -> None:
    tag = "v" if version else "c"
    a = task_version(_task(tmp_path, f"frames_{tag}", 0, version))[0]
    same = task_version(_task(tmp_path / "again", f"frames_{tag}", 0, version))[0]
    other = task_version(_task(tmp_path / "changed", f"frames_{tag}", 1, version))[0]
    assert a == same and a != other  # the same schema, and one with a changed check
    if version:
        assert a.startswith("1+schemas:")
