"""Every run records its code and environment: ``rillet diff`` and ``rillet reproduce``."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import rillet
from rillet.sdk._record import environment_hash, load_record, record_store
from rillet.store._home import Home

FLOW = '''
import random
from rillet import task, workflow
from helper import scale

@task(cache=True)
def inc(x: int) -> int:
    return scale(x) + 1

@task
def noisy(x: int) -> float:
    return random.random() + x

@workflow
def wf(x: int = 1, noise: bool = False) -> int:
    return inc(x=inc(x=x))

@workflow
def rand(x: int = 1) -> float:
    return noisy(x=inc(x=x))
'''


def _write(tmp_path: Path, factor: int) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    (tmp_path / "helper.py").write_text(f"def scale(x: int) -> int:\n    return x * {factor}\n")


def _run(cli, *args: str) -> str:  # type: ignore[no-untyped-def]
    return str(cli.ok("run", *args, "--json").json["execution_id"])


def test_diff_shows_inputs_code_packages_and_nodes_in_order(cli, tmp_path) -> None:
    _write(tmp_path, 2)
    a = _run(cli, "flow.py:wf", "--x", "1")
    _write(tmp_path, 3)
    b = _run(cli, "flow.py:wf", "--x", "2")
    text = cli.ok("diff", a, b).out
    order = [text.index(k) for k in ("inputs: 1 differ", "code: 1 file(s) differ",
                                     "packages: 0 differ", "nodes: 2 with different outputs")]
    assert order == sorted(order)
    assert "-    return x * 2\n+    return x * 3" in text
    assert "--- a/helper.py" in text
    d = cli.ok("diff", a, b, "--json").json
    assert [i["name"] for i in d["inputs"]] == ["x"]
    assert [c["path"] for c in d["code"]] == ["helper.py"]
    assert {n["node"] for n in d["nodes"]} == {"inc", "inc-1"}
    same = cli.ok("diff", a, a, "--json").json
    assert same["inputs"] == same["code"] == same["packages"] == same["nodes"] == []


def test_unchanged_files_are_stored_once_and_the_record_names_them(cli, tmp_path) -> None:
    _write(tmp_path, 2)
    a = _run(cli, "flow.py:wf", "--x", "1")
    b = _run(cli, "flow.py:wf", "--x", "1")
    with Home.open(str(cli.home)) as h:
        ra, rb = load_record(h.store, a), load_record(h.store, b)
        assert ra.files == rb.files and set(ra.files) == {"flow.py", "helper.py"}
        assert ra.environment == rb.environment
        env = json.loads(record_store(h).get(f"{ra.environment[:2]}/{ra.environment[2:]}"))
        assert not (cli.home / "artifacts" / ra.files["flow.py"][:2]).exists()  # not prune's
        assert env["python"] == ".".join(map(str, sys.version_info[:3]))
        assert env["distributions"]["rillet"] == rillet.__version__


def test_packages_that_differ_are_listed(cli, tmp_path) -> None:
    _write(tmp_path, 2)
    a = _run(cli, "flow.py:wf")
    b = _run(cli, "flow.py:wf")
    with Home.open(str(cli.home)) as h:  # b ran with another version of one package
        env = json.loads(record_store(h).get(f"{load_record(h.store, b).environment[:2]}/"
                                             f"{load_record(h.store, b).environment[2:]}"))
        env["distributions"]["click"] = "0.0.1"
        data = json.dumps(env, sort_keys=True).encode()
        import hashlib

        digest = hashlib.sha256(data).hexdigest()
        record_store(h).put(digest, data)
    db = sqlite3.connect(cli.home / "rillet.db")
    db.execute("UPDATE run_records SET environment = ? WHERE execution_id = ?", (digest, b))
    db.commit()
    db.close()
    d = cli.ok("diff", a, b, "--json").json
    assert [p["name"] for p in d["packages"]] == ["click"]
    assert d["packages"][0]["b"] == "0.0.1"


def test_reproduce_reruns_the_recorded_code_with_the_cache_off(cli, tmp_path) -> None:
    _write(tmp_path, 2)
    a = _run(cli, "flow.py:wf", "--x", "1")
    _write(tmp_path, 5)  # the file on disk changed since: the record is what runs
    r = cli.ok("reproduce", a, "--json").json
    assert r["match"] is True and r["status"] == "SUCCEEDED"
    assert {n["node"] for n in r["nodes"]} == {"inc", "inc-1"}
    shown = cli.ok("executions", "show", r["reproduction"], "--json").json
    assert {n["status"] for n in shown["nodes"]} == {"SUCCEEDED"}  # computed, not CACHED
    text = cli.ok("reproduce", a).out
    assert "all node outputs match" in text


def test_reproduce_reports_a_nondeterministic_node_and_exits_1(cli, tmp_path) -> None:
    _write(tmp_path, 2)
    a = _run(cli, "flow.py:rand")
    r = cli("reproduce", a, "--json")
    assert r.code == 1, str(r)
    by_node = {n["node"]: n["match"] for n in r.json["nodes"]}
    assert by_node == {"inc": True, "noisy": False}


def test_diff_of_an_unknown_execution_is_a_one_line_error(cli, tmp_path) -> None:
    _write(tmp_path, 2)
    a = _run(cli, "flow.py:wf")
    r = cli("diff", a, "nope")
    assert r.code == 2 and r.err.strip().count("\n") == 0 and "nope" in r.err


def test_the_environment_is_read_once_per_site_state(tmp_path) -> None:
    with Home.open(str(tmp_path / "home")) as h:
        first = environment_hash(h.path, record_store(h))
        cache = json.loads((tmp_path / "home" / "environment-cache.json").read_text())
        assert list(cache.values()) == [first]
        assert environment_hash(h.path, record_store(h)) == first


def test_a_recovery_is_recorded_too(cli, tmp_path) -> None:
    _write(tmp_path, 2)
    a = _run(cli, "flow.py:wf", "--x", "1")
    r = cli.ok("recover", a, "--json").json["execution_id"]
    d = cli.ok("diff", a, r, "--json").json
    assert d["inputs"] == d["code"] == d["packages"] == d["nodes"] == []


def test_a_recovery_on_shared_stores_records_its_code_beside_the_artifacts(
        tmp_path: Path, capsys) -> None:
    """An instance on shared stores (what a server or worker opens) has no home folder:
    the record goes under ``records/`` of its artifacts' root, and diff reads it."""
    from rillet.sdk import _run
    from rillet.store import Instance, InstanceConfig

    _write(tmp_path, 2)
    sys.path.insert(0, str(tmp_path))
    try:
        import flow  # type: ignore[import-not-found]

        cfg = InstanceConfig(metadata_url=str(tmp_path / "meta.db"),
                             artifacts_url=str(tmp_path / "bucket"),
                             scratch=str(tmp_path / "scratch"))
        with Instance.open(cfg) as inst:
            engine = _run._engine(inst, "inline", None, None)
            first = engine.execute(flow.wf, flow.wf.resolve_inputs((), {"x": 3}),
                                   source=str(tmp_path / "flow.py"))
            again = _run.recover(first.id, executor="inline", instance=inst,
                                 workflow=flow.wf)
            assert again.outputs["o0"] == 15
            assert "could not record" not in capsys.readouterr().err
            record = load_record(inst.store, again.id)
            assert set(record.files) == {"flow.py", "helper.py"}
            assert (tmp_path / "bucket" / "records").is_dir()
            assert not (tmp_path / ".rillet").exists()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("flow", None)
        sys.modules.pop("helper", None)
