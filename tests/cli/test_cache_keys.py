"""Keys that follow the code (issue 8): a task with ``cache=True`` and no
``cache_version`` re-runs when a helper it uses changes, and only then.

Every run is a new ``rillet`` process on the file as it is now."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures_issue8"))
from issue8_kit import Rillet, edit, make_dist, write  # noqa: E402

FLOW = '''
from rillet import task, workflow

import helpers

FACTOR = 3


def scale(x: int) -> int:
    return x * FACTOR


def unrelated(x: int) -> int:
    return x - 1


@task(cache=True)
def scaled(x: int) -> int:
    return scale(x)


@task(cache=True)
def shifted(x: int) -> int:
    return helpers.shift(x)


@task(cache=True)
def plain(x: int) -> int:
    return x + 100


@task(cache=True)
def add(a: int, b: int) -> int:
    return a + b


@workflow
def flow(x: int = 2) -> int:
    return add(a=add(a=scaled(x=x), b=shifted(x=x)), b=plain(x=x))
'''

HELPERS = '''
def offset() -> int:
    return 10


def shift(x: int) -> int:
    return x + offset()


def unused(x: int) -> int:
    return x
'''


@pytest.fixture
def rillet(tmp_path: Path) -> Rillet:
    write(tmp_path / "flow.py", FLOW)
    write(tmp_path / "helpers.py", HELPERS)
    return Rillet(tmp_path / "home", tmp_path)


def target(r: Rillet) -> str:
    return str(r.cwd / "flow.py") + ":flow"


def run(r: Rillet) -> tuple[int, dict[str, dict[str, object]]]:
    body = r.run_json(target(r))
    assert body["status"] == "SUCCEEDED", body
    nodes = {n["node_id"]: n for n in r.show(body["execution_id"])["nodes"]}
    return body["outputs"]["o0"], nodes


def status(nodes: dict[str, dict[str, object]]) -> dict[str, object]:
    return {k: n["status"] for k, n in nodes.items()}


ALL_CACHED = {"scaled": "CACHED", "shifted": "CACHED", "plain": "CACHED",
              "add": "CACHED", "add-1": "CACHED"}


def first_run(r: Rillet) -> dict[str, dict[str, object]]:
    out, nodes = run(r)
    assert out == 2 * 3 + 12 + 102
    assert set(status(nodes).values()) == {"SUCCEEDED"}, nodes
    assert set(nodes) == set(ALL_CACHED)
    out, nodes = run(r)
    assert status(nodes) == ALL_CACHED
    return nodes


def test_editing_a_helper_in_the_same_file_reruns_the_task(rillet: Rillet) -> None:
    first_run(rillet)
    edit(rillet.cwd / "flow.py", "return x * FACTOR", "return x * FACTOR * 2")
    out, nodes = run(rillet)
    assert out == 2 * 6 + 12 + 102  # the new code ran
    st = status(nodes)
    assert st["scaled"] == "SUCCEEDED" and nodes["scaled"]["attempts"] == 1
    assert st["shifted"] == "CACHED" and st["plain"] == "CACHED"
    assert st["add"] == "SUCCEEDED" and st["add-1"] == "SUCCEEDED"  # their inputs changed
    out, nodes = run(rillet)
    assert status(nodes) == ALL_CACHED  # and the new entries are used next time


def test_editing_a_module_level_value_a_helper_reads_reruns_the_task(rillet: Rillet) -> None:
    first_run(rillet)
    edit(rillet.cwd / "flow.py", "FACTOR = 3", "FACTOR = 4")
    out, nodes = run(rillet)
    assert out == 2 * 4 + 12 + 102
    assert status(nodes)["scaled"] == "SUCCEEDED"
    assert status(nodes)["shifted"] == "CACHED"


def test_editing_a_helper_of_a_helper_in_another_module_reruns_the_task(
        rillet: Rillet) -> None:
    first_run(rillet)
    edit(rillet.cwd / "helpers.py", "return 10", "return 20")
    out, nodes = run(rillet)
    assert out == 2 * 3 + 22 + 102
    st = status(nodes)
    assert st["shifted"] == "SUCCEEDED" and nodes["shifted"]["attempts"] == 1
    assert st["scaled"] == "CACHED" and st["plain"] == "CACHED"


def test_editing_unrelated_functions_keeps_every_entry(rillet: Rillet) -> None:
    first_run(rillet)
    edit(rillet.cwd / "flow.py", "return x - 1", "return x - 2")
    edit(rillet.cwd / "helpers.py", "def unused(x: int) -> int:\n    return x",
         "def unused(x: int) -> int:\n    return -x")
    write(rillet.cwd / "flow.py", (rillet.cwd / "flow.py").read_text() +
          "\n\ndef added_later() -> None:\n    pass\n")
    _, nodes = run(rillet)
    assert status(nodes) == ALL_CACHED


def test_comments_formatting_and_docstrings_keep_every_entry(rillet: Rillet) -> None:
    first_run(rillet)
    edit(rillet.cwd / "flow.py", "def scale(x: int) -> int:\n    return x * FACTOR",
         "def scale(x: int) -> int:  # a comment\n"
         '    """Multiply by the factor."""\n\n'
         "    # another comment\n"
         "    return (x *\n"
         "            FACTOR)   \n")
    edit(rillet.cwd / "helpers.py", "def shift(x: int) -> int:",
         "# what shift does\ndef shift(\n    x: int,\n) -> int:")
    _, nodes = run(rillet)
    assert status(nodes) == ALL_CACHED


TINY_FLOW = '''
from rillet import task, workflow

import tinydep


@task(cache=True)
def uses_dep(x: int) -> int:
    return tinydep.value(x)


@task(cache=True)
def no_dep(x: int) -> int:
    return x + 1


@workflow
def flow(x: int = 2) -> list[int]:
    return [uses_dep(x=x), no_dep(x=x)]
'''

TINY_SOURCE = "def value(x):\n    return x * 7\n"


def dist_version_test(tmp_path: Path, site: Path, record: bool = True) -> None:
    write(tmp_path / "flow.py", TINY_FLOW)
    r = Rillet(tmp_path / "home", tmp_path)
    r.pythonpath = [site]
    make_dist(site, "tinydep", "1.0", TINY_SOURCE, record)
    body = r.run_json(target(r))
    assert body["outputs"]["o0"] == [14, 3], body
    assert set(r.statuses(body["execution_id"]).values()) == {"SUCCEEDED"}
    body = r.run_json(target(r))
    assert r.statuses(body["execution_id"]) == {"uses_dep": "CACHED", "no_dep": "CACHED"}
    make_dist(site, "tinydep", "1.1", TINY_SOURCE, record)  # the same source, a new version
    explained = r.explain(target(r))
    assert explained["uses_dep"]["status"] == "MISS"
    assert "dist:tinydep (1.0 -> 1.1)" in explained["uses_dep"]["reason"]
    assert explained["no_dep"]["status"] == "HIT"
    body = r.run_json(target(r))
    nodes = {n["node_id"]: n for n in r.show(body["execution_id"])["nodes"]}
    assert nodes["uses_dep"]["status"] == "SUCCEEDED" and nodes["uses_dep"]["attempts"] == 1
    assert nodes["no_dep"]["status"] == "CACHED"
    explained = r.explain(target(r))
    assert explained["uses_dep"]["status"] == "HIT"


def test_a_new_version_of_a_third_party_distribution_reruns_the_task(tmp_path: Path) -> None:
    """Installed in a ``site-packages`` folder (a virtual environment's layout)."""
    dist_version_test(tmp_path, tmp_path / "env" / "lib" / "site-packages")


def test_a_new_version_of_a_distribution_on_pythonpath_reruns_the_task(tmp_path: Path) -> None:
    """Installed with ``pip install --target vendor`` and put on ``PYTHONPATH``."""
    dist_version_test(tmp_path, tmp_path / "vendor")


def test_a_new_version_of_a_distribution_with_metadata_only_reruns_the_task(
        tmp_path: Path) -> None:
    """A hand-made ``dist-info`` (METADATA alone), beside the package on ``PYTHONPATH``."""
    dist_version_test(tmp_path, tmp_path / "vendor", record=False)
