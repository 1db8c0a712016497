"""The IR's JSON form is deterministic and its hash follows graph, interface and source."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from rillet.compiler._serialize import spec_hash, spec_json

BASE = '''
from typing import NamedTuple
from rillet import task, workflow, map_task, conditional

class Pair(NamedTuple):
    a: int
    b: int

def helper(x):
    return x + 1

@task
def inc(x: int) -> int:
    return helper(x)

@task
def pair(x: int) -> Pair:
    return Pair(x, x)

@task
def show(x: int, label: str = "v") -> str:
    return f"{label}{x}"

@workflow
def wf(n: int = 3, flag: bool = False) -> str:
    p = pair(x=inc(x=n))
    xs = map_task(inc)(x=[1, 2, 3])
    return conditional("c").if_(flag == True).then(show(x=p.a)).else_().then(show(x=p.b, label="w"))
'''

_counter = [0]


def load(tmp_path: Path, source: str):
    _counter[0] += 1
    folder = tmp_path / str(_counter[0])
    folder.mkdir()
    path = folder / "spec_mod.py"  # one module name, as a user's file keeps its name
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module.wf.spec


def canonical(spec) -> str:
    text = json.dumps(spec_json(spec), sort_keys=True)
    return text


def test_json_is_deterministic_and_complete(tmp_path):
    a, b = load(tmp_path, BASE), load(tmp_path, BASE)
    assert canonical(a) == canonical(b)
    data = spec_json(a)
    assert [n["kind"] for n in data["nodes"]] == ["task", "task", "map", "branch"]
    assert data["nodes"][1]["inputs"]["x"] == {"kind": "node", "ref": "inc", "output": "o0"}
    assert data["defaults"]["n"]["value"] == 3 and data["defaults"]["flag"]["value"] is False
    assert data["nodes"][3]["cases"][1]["condition"] is None
    assert json.loads(json.dumps(data)) == data


def test_json_is_the_same_in_another_process(tmp_path):
    path = tmp_path / "spec_proc.py"
    path.write_text(textwrap.dedent(BASE))
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('spec_proc', {str(path)!r})\n"
        "m = importlib.util.module_from_spec(spec); sys.modules['spec_proc'] = m\n"
        "spec.loader.exec_module(m)\n"
        "from rillet.compiler._serialize import spec_json, spec_hash\n"
        "print(spec_hash(m.wf.spec))\n"
    )
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=True, env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin"}).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1


def test_hash_ignores_comments_and_unrelated_code(tmp_path):
    base = spec_hash(load(tmp_path, BASE))
    commented = BASE.replace("def helper(x):", "# a comment\ndef helper(x):  # more")
    unrelated = BASE + "\ndef unused():\n    return 42\n"
    assert spec_hash(load(tmp_path, commented)) == base
    assert spec_hash(load(tmp_path, unrelated)) == base


def test_hash_changes_with_graph_interface_and_source(tmp_path):
    base = spec_hash(load(tmp_path, BASE))
    graph = BASE.replace("xs = map_task(inc)(x=[1, 2, 3])", "xs = map_task(inc)(x=[1, 2])")
    interface = BASE.replace("def show(x: int, label: str = \"v\") -> str:",
                             "def show(x: int, label: str = \"v\", extra: int = 0) -> str:")
    source = BASE.replace("return x + 1", "return x + 2")
    task_body = BASE.replace('return f"{label}{x}"', 'return f"{label}:{x}"')
    hashes = [spec_hash(load(tmp_path, text)) for text in (graph, interface, source, task_body)]
    assert base not in hashes
    assert len(set(hashes)) == len(hashes)
