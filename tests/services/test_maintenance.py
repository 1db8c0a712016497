"""Prune and ``cache explain`` behind the service layer: ``rillet prune --json`` and
``rillet cache explain --json`` print exactly what ``services.prune`` and
``services.cache_explain`` return, on the embedded home and on the platform's stores
(PostgreSQL + SeaweedFS S3); bad input is one line (exit 2, a ``ValueError``)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import rillet
from rillet import services
from rillet.cli._app import cli
from rillet.store import Instance, InstanceConfig

FLOW = '''
from rillet import task, workflow


@task(cache=True)
def double(x: int) -> int:
    return 2 * x


@task
def show(y: int) -> str:
    return "y=" + str(y)


@workflow
def wf(x: int = 1) -> str:
    return show(y=double(x=x))
'''


def _module(tmp_path: Path) -> tuple[Any, Path]:
    path = tmp_path / "maint_flow.py"
    path.write_text(FLOW)
    spec = importlib.util.spec_from_file_location("maint_flow", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["maint_flow"] = module
    spec.loader.exec_module(module)
    return module, path


def _cli(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cache_explain_on_the_cli_is_the_services_shape(tmp_path: Path) -> None:
    module, path = _module(tmp_path)
    home = str(tmp_path / "home")
    assert rillet.run(module.wf, home=home, executor="inline", x=3).status.value == "SUCCEEDED"
    with Instance.home(home, create=False) as inst:
        hit = services.cache_explain(inst, module.wf, {"x": 3})
        miss = services.cache_explain(inst, module.wf, {"x": 4})
    by_node = {n["node_id"]: n for n in hit["nodes"]}
    assert hit["workflow"] == module.wf.name
    assert by_node["double"]["status"] == "HIT" and by_node["double"]["source_execution"]
    assert by_node["show"]["status"] == "NOT CACHED"
    assert {n["node_id"]: n["status"] for n in miss["nodes"]}["double"] == "MISS"
    out = _cli("cache", "explain", f"{path}:wf", "--x", "3", "--json", "--home", home)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == hit
    table = _cli("cache", "explain", f"{path}:wf", "--x", "4", "--home", home)
    assert table.exit_code == 0 and "MISS" in table.output


def test_prune_on_the_cli_is_the_services_shape_and_bad_input_is_one_line(
        tmp_path: Path) -> None:
    module, _ = _module(tmp_path)
    home = str(tmp_path / "home")
    for x in (1, 2):
        rillet.run(module.wf, home=home, executor="inline", x=x)
    with Instance.home(home, create=False) as inst:
        would = services.prune(inst, older_than="0s", dry_run=True)
        assert would["dry_run"] and would["executions"] == 2
        assert would["purged_artifacts"] > 0 and would["by_kind"]["values"] > 0
        assert services.usage(inst)["executions"] == 2
        for bad, says in (({}, "nothing pruned"), ({"older_than": "soon"}, "--older-than"),
                          ({"max_size": "big"}, "--max-size"),
                          ({"older_than": -1.0}, "older_than must be >= 0")):
            with pytest.raises(ValueError, match=says):
                services.prune(inst, **bad)
    shown = _cli("prune", "--older-than", "0s", "--dry-run", "--json", "--home", home)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == would  # a dry run changes nothing: the same again
    text = _cli("prune", "--older-than", "0s", "--dry-run", "--home", home)
    assert f"would free {would['freed_bytes']} bytes" in text.output
    done = _cli("prune", "--older-than", "0s", "--json", "--home", home)
    assert done.exit_code == 0, done.output
    freed = json.loads(done.output)
    assert not freed["dry_run"]
    assert (freed["freed_bytes"], freed["purged_artifacts"]) == (
        would["freed_bytes"], would["purged_artifacts"])
    with Instance.home(home, create=False) as inst:  # nothing left to free
        assert services.prune(inst, older_than=0.0, dry_run=True)["purged_artifacts"] == 0
    bad = _cli("prune", "--older-than", "soon", "--home", home)
    assert bad.exit_code == 2 and "--older-than 'soon'" in bad.output
    assert len(bad.output.strip().splitlines()) == 1
    nothing = _cli("prune", "--home", home)
    assert nothing.exit_code == 2 and "this home holds 2 executions" in nothing.output


def test_prune_of_the_platforms_stores_through_the_service_and_the_cli(
        tmp_path: Path, pg_url: str, s3_url: str) -> None:
    module, _ = _module(tmp_path)
    cfg = InstanceConfig(metadata_url=pg_url, artifacts_url=s3_url + "/maint",
                         executor="inline", scratch=str(tmp_path / "scratch"))
    from rillet.engine._durable import Engine
    from rillet.executors._registry import load_executor

    with Instance.open(cfg) as inst:
        engine = Engine(executor=load_executor("inline"), **{
            k: v for k, v in inst.engine_parts().items() if k != "log_path"})
        record = engine.execute(module.wf, module.wf.resolve_inputs((), {"x": 5}),
                                source="maint_flow.py")
        assert record.status.value == "SUCCEEDED"
        would = services.prune(inst, older_than="0s", dry_run=True)
    assert would["executions"] >= 1 and would["purged_artifacts"] > 0
    assert "values" in would["by_kind"]
    args = ["--db", pg_url, "--artifacts", s3_url + "/maint"]
    shown = _cli("prune", "--older-than", "0s", "--dry-run", "--json", *args)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == would
