"""The examples that need the ``[data]`` extra say so, and ``make demo`` installs it
(issue 12, point 13); a file that imports pandas without it names the extra."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from newuser_kit import Rillet, write

ROOT = Path(__file__).resolve().parents[2]
DATA = {"pandas", "numpy", "pyarrow"}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_readme_says_which_examples_need_the_data_extra() -> None:
    readme = (ROOT / "README.md").read_text()
    needing = [p.name for p in sorted((ROOT / "examples").glob("*.py")) if imports(p) & DATA]
    assert needing, "no example uses pandas/numpy: this test checks nothing"
    for name in needing:
        # the paragraph that names the example also names the extra
        paragraph = next(p for p in readme.split("\n\n") if f"`{name}`" in p)
        assert "rillet[data]" in paragraph, paragraph


def test_make_demo_installs_the_data_extra() -> None:
    makefile = (ROOT / "Makefile").read_text()
    demo = re.search(r"^demo:.*?(?=^\S)", makefile, re.S | re.M)
    assert demo is not None
    assert re.search(r"pip install .*\.\[data\]", demo.group(0)), demo.group(0)


def test_a_missing_data_library_names_the_extra(rillet: Rillet) -> None:
    target = write(rillet.cwd / "uses_pandas.py", '''
        import pandas_is_not_installed_here as pandas  # stands for pandas being absent
        ''')
    r = rillet("run", f"{target}:wf")
    assert r.code == 2 and "pandas_is_not_installed_here" in r.err
    assert "rillet[data]" not in r.err  # only the data libraries get the hint
    write(target, '''
        import sys
        sys.modules["pandas"] = None  # import pandas now raises ModuleNotFoundError
        import pandas
        ''')
    r = rillet("run", f"{target}:wf")
    assert r.code == 2, str(r)
    assert "pip install 'rillet[data]'" in r.err and "Traceback" not in r.err
