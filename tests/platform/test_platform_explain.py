"""``cache explain`` of a registered version (issue 14, point 7): predicted from the
version's own bundle, loaded in a process of its own (never in the caller's), in the
cache scope of a launch; on the embedded home and on PostgreSQL + SeaweedFS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rillet import services
from rillet.errors import DefinitionError, NotFound
from rillet.platform import InputRejected, Worker, launch, register
from rillet.platform._teams import create_project
from rillet.store import Instance, InstanceConfig

FLOW = '''
import os

from rillet import LaunchPlan, task, workflow

with open({marker!r}, "a") as _f:  # who imported this module
    _f.write(str(os.getpid()) + "\\n")


@task(cache=True)
def double(x: int) -> int:
    return 2 * x


@task
def show(y: int) -> str:
    return "y=" + str(y)


@workflow
def wf(x: int = 1) -> str:
    return show(y=double(x=x))


LaunchPlan.get_or_create(wf, name="fixed_seven", fixed_inputs={{"x": 7}})
'''


@pytest.fixture(params=["home", "postgres"])
def inst(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Instance]:
    if request.param == "home":
        opened = Instance.home(str(tmp_path / "home"), executor="inline")
    else:
        opened = Instance.open(InstanceConfig(
            metadata_url=request.getfixturevalue("pg_url"),
            artifacts_url=request.getfixturevalue("s3_url"), executor="inline"))
    with opened:
        yield opened


def _registered(inst: Instance, tmp_path: Path) -> Path:
    marker = tmp_path / "imported.txt"
    code = tmp_path / "code"
    code.mkdir()
    (code / "explainflow.py").write_text(FLOW.format(marker=str(marker)))
    register(str(code / "explainflow.py"), store=inst.store, artifacts=inst.artifacts)
    create_project(inst.store, "p2")
    register(str(code / "explainflow.py"), store=inst.store, artifacts=inst.artifacts,
             project="p2")
    return marker


def _run(inst: Instance, name: str, project: str = "default", **inputs: int) -> str:
    eid = launch(inst.store, name, project=project, inputs=inputs)
    assert Worker(inst.store, inst.artifacts, executor="inline").run(max_executions=1) == 1
    assert inst.store.get_execution(eid).status.value == "SUCCEEDED"
    return eid


def _status(shape: services.CacheExplainShape) -> dict[str, str]:
    return {n["node_id"]: n["status"] for n in shape["nodes"]}


def test_a_registered_version_is_explained_from_its_bundle_in_a_child_process(
        inst: Instance, tmp_path: Path) -> None:
    marker = _registered(inst, tmp_path)
    imported = len(marker.read_text().splitlines()) if marker.exists() else 0

    before = services.cache_explain_registered(inst, "explainflow.wf", inputs={"x": 3})
    assert before["workflow"] == "explainflow:wf"
    assert _status(before) == {"double": "MISS", "show": "NOT CACHED"}
    assert "no cache entry for this task yet" in before["nodes"][0]["reason"]
    pids = marker.read_text().split()[imported:]  # no worker has run it here yet
    assert len(pids) == 1 and pids[0] != str(os.getpid()), pids

    eid = _run(inst, "explainflow.wf", x=3)
    hit = services.cache_explain_registered(inst, "explainflow.wf", inputs={"x": 3})
    assert _status(hit) == {"double": "HIT", "show": "NOT CACHED"}
    assert hit["nodes"][0]["source_execution"] == eid
    other = services.cache_explain_registered(inst, "explainflow.wf", inputs={"x": 4})
    assert _status(other)["double"] == "MISS"
    assert "input(s) x differ" in other["nodes"][0]["reason"]
    # a registered default is filled in as a launch fills it: x=1 ran nowhere yet
    assert _status(services.cache_explain_registered(inst, "explainflow.wf"))["double"] == "MISS"

    # another project's launch runs in its own cache scope: the same inputs miss there
    scoped = services.cache_explain_registered(inst, "explainflow.wf", project="p2",
                                               inputs={"x": 3})
    assert _status(scoped)["double"] == "MISS"
    assert "another project/domain" in scoped["nodes"][0]["reason"]
    _run(inst, "explainflow.wf", project="p2", x=3)
    assert _status(services.cache_explain_registered(
        inst, "explainflow.wf", project="p2", inputs={"x": 3}))["double"] == "HIT"

    # a launch plan's fixed input is used as a launch uses it
    plan = services.cache_explain_registered(inst, "fixed_seven")
    assert _status(plan)["double"] == "MISS"
    _run(inst, "fixed_seven")
    assert _status(services.cache_explain_registered(inst, "fixed_seven"))["double"] == "HIT"

    # each explain imported the bundle in a process of its own (the inline worker of
    # this process imported it here too: it runs the code)
    pids = marker.read_text().split()[imported:]
    assert len([p for p in pids if p != str(os.getpid())]) == 8, pids


def test_bad_requests_are_one_line_errors(inst: Instance, tmp_path: Path) -> None:
    _registered(inst, tmp_path)
    with pytest.raises(InputRejected) as bad:
        services.cache_explain_registered(inst, "explainflow.wf", inputs={"x": "three"})
    assert bad.value.input == "x" and "expects int" in str(bad.value)
    with pytest.raises(InputRejected, match="has no input 'nope'"):
        services.cache_explain_registered(inst, "explainflow.wf", inputs={"nope": 1})
    with pytest.raises(NotFound):
        services.cache_explain_registered(inst, "explainflow.missing")
    with pytest.raises(DefinitionError, match="is a task"):
        services.cache_explain_registered(inst, "explainflow.double", inputs={"x": 1})
    with pytest.raises(DefinitionError, match="unknown domain"):
        services.cache_explain_registered(inst, "explainflow.wf", domain="nope")
