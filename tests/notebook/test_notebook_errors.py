"""Mistakes in a notebook are one-line compile errors naming the notebook and the cell
(issue 20); nothing runs before them."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from nbkit import Cells, write_notebook

import rillet.notebook
from rillet import CompileError
from rillet.notebook import NotebookWarning


def error_of(tmp_path: Path, cells: Cells) -> str:
    path = write_notebook(tmp_path / "bad.ipynb", cells)
    with pytest.raises(CompileError) as info:
        rillet.notebook.load(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path)) or "bad.ipynb" in message
    return message


def test_a_variable_used_before_any_step_assigns_it(tmp_path: Path) -> None:
    message = error_of(tmp_path, [
        ("x = 1", ["step:a"]),
        ("y = x + z", ["step:b"]),
    ])
    assert message.endswith("cell 2 (step 'b'): variable 'z' is used before any step assigns it")


def test_a_variable_assigned_by_a_later_step_is_not_there_yet(tmp_path: Path) -> None:
    message = error_of(tmp_path, [
        ("y = x + 1", ["step:a"]),
        ("x = 1", ["step:b"]),
    ])
    assert "cell 1 (step 'a'): variable 'x' is used before any step assigns it" in message


def test_a_cycle_through_after(tmp_path: Path) -> None:
    message = error_of(tmp_path, [
        ("x = 1", ["step:a", "after:c"]),
        ("y = x + 1", ["step:b"]),
        ("z = y + 1", ["step:c"]),
    ])
    assert "cell 1 (step 'a'): a cycle through after: tags (a -> c -> b -> a" in message


def test_a_parameters_cell_with_no_literal_default(tmp_path: Path) -> None:
    message = error_of(tmp_path, [
        ("import os", ["imports"]),
        ("n = int(os.environ.get('N', '3'))", ["parameters"]),
        ("m = n * 2", ["step:a"]),
    ])
    assert "cell 2 (parameters): parameter 'n' has no literal default" in message


def test_a_parameter_declared_without_a_value(tmp_path: Path) -> None:
    message = error_of(tmp_path, [("n: int", ["parameters"]), ("m = n", ["step:a"])])
    assert "cell 1 (parameters): parameter 'n' has no literal default (no value)" in message


def test_a_variable_assigned_only_under_a_condition_and_used_later(tmp_path: Path) -> None:
    message = error_of(tmp_path, [
        ("flag = True", ["parameters"]),
        ("if flag:\n    model = 'big'\nfor i in range(3):\n    last = i", ["step:a"]),
        ("print(model)", ["step:b"]),
    ])
    assert message.endswith(
        "cell 2 (step 'a'): variable 'model' is assigned only under a condition (if, loop "
        "or try) and step 'b' (cell 3) uses it; assign it on every path")


def test_paths_that_always_assign_or_raise_are_not_conditional(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "ok.ipynb", [
        ("flag = True", ["parameters"]),
        ("if flag:\n    model = 'big'\nelse:\n    model = 'small'\n"
         "try:\n    size = len(model)\nexcept TypeError:\n    raise\n"
         "with open(__file__ if False else 'x', 'w') if False else __import__('contextlib')"
         ".nullcontext() as _ctx:\n    kind = 'k'\n", ["step:a"]),
        ("out = (model, size, kind)", ["step:b"]),
    ])
    wf = rillet.notebook.load(path)
    assert wf().out == ("big", 3, "k")
    assert wf(flag=False).out == ("small", 5, "k")


def test_a_variable_kept_from_an_earlier_step_when_the_condition_fails(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "keep.ipynb", [
        ("flag = False", ["parameters"]),
        ("x = 1", ["step:a"]),
        ("if flag:\n    x = 2", ["step:b"]),
        ("y = x * 10", ["step:c"]),
    ])
    wf = rillet.notebook.load(path)
    steps = {s.name: s for s in wf.plan.steps}
    assert steps["b"].inputs == {"flag": None, "x": "a"} and steps["c"].inputs == {"x": "b"}
    assert wf().y == 10 and wf(flag=True).y == 20


def test_a_module_imported_in_a_step_and_used_by_another(tmp_path: Path) -> None:
    message = error_of(tmp_path, [("import json\nx = 1", ["step:a"]),
                                  ("y = json.dumps(x)", ["step:b"])])
    assert "cell 1 (step 'a'): 'json' is imported or defined there and step 'b' (cell 2) " \
           "uses it; move it to an imports or functions cell" in message


@pytest.mark.parametrize(("cells", "expected"), [
    ([("x = 1", ["step:a", "imports"])], "cell 1: tags step:a, imports give it several roles"),
    ([("x = 1", ["step:a-b"])], "cell 1: step name 'a-b'"),
    ([("x = 1", ["step:a", "after:zzz"])], "cell 1 (step 'a'): after:zzz names no other step"),
    ([("x = compute()", [])], "cell 1: code before the first step's cell"),
    ([("x = (", ["step:a"])], "cell 1 (step 'a'), line 1:"),
    ([("n = 1", ["parameters"]), ("m = 2", ["parameters"])], "cell 2: a second parameters"),
    ([("x = 1", ["step:a"]), ("y = 1", ["step:b"]), ("z = 1", ["step:a"])],
     "cell 3: step 'a' already has cells before another step"),
    ([("import os", ["imports"]), ("x = 1", ["step:os"])], "cell 2: step name 'os' is also"),
    ([("%%bash\necho hi", ["step:a"]), ("x = 1", ["step:a", "after:"])],
     "cell 2: tag 'after:' names no step"),
    ([("x = 1\nif x:\n    return x", ["step:a"])],
     "cell 1 (step 'a'), line 3: 'return' outside a function cannot be part of a step"),
    ([("global x\nx = 1", ["step:a"])],
     "cell 1 (step 'a'), line 1: a 'global' statement cannot be part of a step"),
    ([("def f():\n    return 1\nx = [(yield) for _ in ()] if False else f()", ["step:a"])],
     "cell 1 (step 'a'), line 3: 'yield' outside a function"),
    ([("return 1", ["functions"]), ("x = 1", ["step:a"])],
     "cell 1: loading the notebook raised SyntaxError"),
])
def test_other_mistakes(tmp_path: Path, cells: Cells, expected: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotebookWarning)
        assert expected in error_of(tmp_path, cells)


def test_a_private_variable_used_by_another_step(tmp_path: Path) -> None:
    message = error_of(tmp_path, [("_seed = 3", ["step:a"]), ("x = _seed", ["step:b"])])
    assert message.endswith("cell 2 (step 'b'): variable '_seed' comes from step 'a' (cell 1), "
                            "but a name starting with '_' stays inside its step; rename it")


def test_a_notebook_whose_name_is_not_an_identifier(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "1-first analysis.ipynb", [("x = 1", ["step:a"])])
    wf = rillet.notebook.load(path)
    assert wf.name == "rillet_user_1_first_analysis_ipynb:rillet_user_1_first_analysis"
    assert wf().x == 1


def test_an_exception_while_loading_the_imports_names_the_cell(tmp_path: Path) -> None:
    message = error_of(tmp_path, [
        ("import os", ["imports"]),
        ("LIMIT = int(os.environ['NO_SUCH_VARIABLE_HERE'])", ["functions"]),
        ("x = LIMIT", ["step:a"]),
    ])
    assert "cell 2: loading the notebook raised KeyError" in message


def test_not_a_notebook(tmp_path: Path) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_text("{not json")
    with pytest.raises(CompileError, match="bad.ipynb: not a Jupyter notebook"):
        rillet.notebook.load(path)


def test_without_nbformat_the_error_names_the_extra(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_notebook(tmp_path / "x.ipynb", [("x = 1", ["step:a"])])
    monkeypatch.setitem(__import__("sys").modules, "nbformat", None)  # as if not installed
    with pytest.raises(CompileError, match=r"x.ipynb: reading notebooks needs nbformat: pip "
                                           r"install 'rillet\[notebook\]'"):
        rillet.notebook.load(path)
