"""``rillet run`` and ``rillet recover`` as a user's shell sees them: inputs,
exit codes, what goes to stdout and what to stderr, homes and resources."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

TYPED = ["--verbose", "true", "--tags", '["a", "b"]', "--weights", '{"w": 1.5, "v": 2}',
         "--point", '{"x": 1, "y": 2.5}']


# -- listing and finding workflows --------------------------------------------------------
def test_a_file_alone_lists_its_workflows(cli, wf):
    r = cli("run", wf("wf_cli"))
    assert r.code == 0, str(r)
    assert r.out.split() == ["failing", "named", "too_big", "typed"]
    assert not cli.home.exists()  # listing opens no home


def test_an_unknown_workflow_names_the_existing_ones(cli, wf):
    r = cli("run", wf("wf_cli", "nope"))
    assert r.code == 2, str(r)
    assert r.out == ""
    assert "nope" in r.err
    for name in ("failing", "named", "too_big", "typed"):
        assert name in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_a_compile_error_exits_2_with_file_and_line(cli, wf):
    r = cli("run", wf("wf_broken", "broken"))
    assert r.code == 2, str(r)
    assert r.out == ""
    assert "wf_broken.py:13" in r.err
    assert "'double'" in r.err and "'x'" in r.err
    assert "Traceback" not in r.err


def test_a_syntax_error_exits_2_with_file_and_line(cli, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from rillet import task\n\n\ndef f(:\n    pass\n")
    r = cli("run", f"{bad}:wf")
    assert r.code == 2, str(r)
    assert f"{bad}:4" in r.err and "Traceback" not in r.err


def test_a_file_that_raises_on_import_exits_2_with_file_and_line(cli, tmp_path):
    bad = tmp_path / "needs.py"
    bad.write_text("from rillet import task\n\nimport no_such_module_for_rillet\n")
    r = cli("run", f"{bad}:wf")
    assert r.code == 2, str(r)
    assert f"{bad}:3" in r.err and "no_such_module_for_rillet" in r.err
    assert "Traceback" not in r.err


@pytest.mark.parametrize("target", ["missing.py:wf", "notpython.txt:wf"])
def test_a_bad_target_is_a_usage_error(cli, target):
    r = cli("run", target)
    assert r.code == 2, str(r)
    assert target.split(":")[0] in r.err


# -- inputs --------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", [["--n-epochs", "3"], ["--n_epochs", "3"],
                                      ["--n-epochs=3"], ["--n_epochs=3"]])
def test_dashed_and_underscored_input_names_are_the_same(cli, wf, spelling):
    r = cli.ok("run", wf("wf_cli", "typed"), *spelling, *TYPED, "--json", "--executor",
               "inline")
    assert r.json["outputs"]["o0"] == (
        "n_epochs=3 verbose=True tags=['a', 'b'] weights=[('v', 2.0), ('w', 1.5)] "
        "point=(1,2.5) rate=0.5")


@pytest.mark.parametrize(("text", "value"), [("true", True), ("false", False)])
def test_booleans(cli, wf, text, value):
    args = ["--n-epochs", "1", "--verbose", text, "--tags", "[]", "--weights", "{}",
            "--point", '{"x": 0, "y": 0}', "--rate", "2"]
    r = cli.ok("run", wf("wf_cli", "typed"), *args, "--json", "--executor", "inline")
    assert f"verbose={value}" in r.json["outputs"]["o0"]
    assert "rate=2.0" in r.json["outputs"]["o0"]  # an int given for a float


@pytest.mark.parametrize(("args", "words"), [
    (["--n-epochs", "x"], ["--n-epochs", "'x'", "int"]),
    (["--n-epochs", "1", "--verbose", "maybe"], ["--verbose", "true or false"]),
    (["--n-epochs", "1", "--verbose", "true", "--tags", "[1"], ["--tags"]),
    (["--n-epochs", "1", "--verbose", "true", "--tags", "[1]"], ["--tags", "str"]),
    (["--n-epochs", "1", "--verbose", "true", "--tags", "[]", "--weights", "{}",
      "--point", '{"x": 1, "z": 2}'], ["--point", "Point"]),
    (["--n-epochs", "1", "--bogus", "2"], ["--bogus", "--n-epochs", "--verbose"]),
    (["--verbose", "true", "--tags", "[]", "--weights", "{}", "--point", '{"x":1,"y":1}'],
     ["n_epochs"]),
])
def test_bad_inputs_are_usage_errors_naming_the_input(cli, wf, args, words):
    r = cli("run", wf("wf_cli", "typed"), *args, "--json")
    assert r.code == 2, str(r)
    assert r.out == ""
    assert len(r.err.strip().splitlines()) == 1, r.err
    for word in words:
        assert word in r.err
    assert not cli.home.exists()  # nothing was started


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_models_enums_datetimes_and_optionals(cli, wf, executor):
    args = ["--cfg", '{"name": "a"}', "--color", "RED", "--when", "2024-01-02T03:04:05",
            "--d", "90"]
    r = cli.ok("run", wf("wf_kinds", "kinds"), *args, "--json", "--executor", executor)
    assert r.json["outputs"] == {"o0": {"name": "a-red-2024-01-02T03:04:05-None-90.0",
                                        "depth": 3}}
    r = cli.ok("run", wf("wf_kinds", "kinds"), *args[:2], "--color", "blue", *args[4:],
               "--maybe", "7", "--json", "--executor", executor)
    assert r.json["outputs"]["o0"]["name"] == "a-blue-2024-01-02T03:04:05-7-90.0"
    bad = cli("run", wf("wf_kinds", "kinds"), "--cfg", '{"nam": "a"}', *args[2:], "--json")
    assert bad.code == 2, str(bad)
    assert len(bad.err.strip().splitlines()) == 1 and "--cfg" in bad.err and "name" in bad.err
    bad = cli("run", wf("wf_kinds", "kinds"), *args[:2], "--color", "GREEN", *args[4:])
    assert bad.code == 2 and "RED" in bad.err and "BLUE" in bad.err


# -- --json and exit codes -------------------------------------------------------------
@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_json_is_one_object_with_o0(cli, wf, executor):
    r = cli.ok("run", wf("wf_cli", "named"), "--xs", "[1, 2, 3]", "--json",
               "--executor", executor)
    assert r.json == {"execution_id": r.json["execution_id"], "status": "SUCCEEDED",
                      "outputs": {"total": 6, "label": "3 items"}}
    one = cli.ok("run", wf("wf_cli", "typed"), "--n-epochs", "2", *TYPED, "--json").json
    assert list(one["outputs"]) == ["o0"]


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_what_tasks_print_never_reaches_stdout(cli, wf, executor, tmp_path):
    r = cli.ok("run", wf("wf_runs", "talk"), "--json", "--executor", executor)
    assert json.loads(r.out)["outputs"] == {"o0": 2}  # the whole of stdout is the object
    shell = cli.ok("run", wf("wf_runs", "shell_out"), "--json", "--executor", executor)
    assert json.loads(shell.out)["outputs"] == {"o0": 7}
    guarded = cli("run", wf("wf_runs", "guarded"), "--marker", str(tmp_path / "m"), "--json",
                  "--executor", executor)
    assert guarded.code == 1
    assert json.loads(guarded.out)["status"] == "FAILED"


def test_outputs_with_no_json_form_are_references(cli, wf):
    import numpy as np
    import pandas as pd

    for name, kind in (("dataframe", "dataframe"), ("array", "ndarray")):
        body = cli.ok("run", wf("wf_frames", name), "--n", "4", "--json").json
        out = body["outputs"]["o0"]
        assert set(out) == {"type", "uri", "hash"}
        assert out["type"] == kind
        assert len(out["hash"]) == 64
        assert out["uri"].startswith("file://")
        path = urlparse(out["uri"]).path
        assert os.path.isfile(path)
        assert Path(path).resolve().is_relative_to(cli.home.resolve())
        assert path.endswith(f"{out['hash'][:2]}/{out['hash'][2:]}")  # content-addressed
        if kind == "dataframe":
            assert pd.read_parquet(path)["sq"].tolist() == [0, 1, 4, 9]
        else:
            assert np.load(path).tolist() == [0, 1, 4, 9]


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_file_and_directory_inputs_and_a_nested_file_output(cli, wf, tmp_path, executor):
    (tmp_path / "in.txt").write_text("hello\n")
    (tmp_path / "dd").mkdir()
    for name in ("a", "b", "c"):
        (tmp_path / "dd" / name).write_text(name)
    body = cli.ok("run", wf("wf_files", "files"), "--f", "in.txt", "--d", "dd", "--json",
                  "--executor", executor).json
    stored, count = body["outputs"]["o0"], body["outputs"]["o1"]  # a tuple gives o0, o1
    assert count == 3
    assert stored["type"] == "file" and len(stored["hash"]) == 64
    assert Path(urlparse(stored["uri"]).path).read_text() == "HELLO\n"
    missing = cli("run", wf("wf_files", "files"), "--f", "nope.txt", "--d", "dd")
    assert missing.code == 2 and "--f" in missing.err and "nope.txt" in missing.err


def test_a_dataframe_input_from_csv_or_parquet(cli, wf, tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"x": [1.5, 2.5, 3.0]})
    frame.to_csv(tmp_path / "f.csv", index=False)
    frame.to_parquet(tmp_path / "f.parquet")
    for name in ("f.csv", "f.parquet"):
        body = cli.ok("run", wf("wf_frames", "column_sum"), "--df", name, "--json").json
        assert body["outputs"] == {"o0": 7.0}
    bad = cli("run", wf("wf_frames", "column_sum"), "--df", "f.txt")
    assert bad.code == 2 and ".parquet or .csv" in bad.err


def test_a_failed_execution_exits_1(cli, wf):
    r = cli("run", wf("wf_cli", "failing"), "--x", "5", "--json")
    assert r.code == 1, str(r)
    body = r.json
    assert body["status"] == "FAILED" and body["outputs"] == {}
    assert {"execution_id", "status", "outputs"} <= set(body)
    human = cli("run", wf("wf_cli", "failing"), "--x", "5")
    assert human.code == 1
    assert "FAILED" in human.out and "bad x 5" in human.err


def test_human_output_names_the_execution_and_outputs(cli, wf):
    r = cli.ok("run", wf("wf_cli", "named"), "--xs", "[4]")
    first, *rest = r.out.splitlines()
    words = first.split()
    assert words[0] == "execution" and words[2] == "SUCCEEDED"
    listed = cli.ok("executions", "list", "--json").json
    assert listed[0]["execution_id"] == words[1]
    assert rest == ["total = 4", "label = 1 items"]


# -- homes -----------------------------------------------------------------------------
def test_home_before_or_after_the_subcommand(cli, wf, tmp_path):
    home = str(tmp_path / "h")
    before = cli.raw("--home", home, "run", wf("wf_cli", "named"), "--xs", "[1]", "--json")
    after = cli.raw("run", wf("wf_cli", "named"), "--xs", "[2]", "--json", "--home", home)
    assert before.code == after.code == 0, (str(before), str(after))
    for args in (["--home", home, "executions", "list", "--json"],
                 ["executions", "list", "--json", "--home", home]):
        listed = cli.raw(*args)
        assert listed.code == 0, str(listed)
        assert {e["execution_id"] for e in listed.json} == {
            before.json["execution_id"], after.json["execution_id"]}


def test_rillet_home_variable_and_the_default_home(cli, wf, tmp_path):
    r = cli.raw("run", wf("wf_cli", "named"), "--xs", "[1]",
                env={"RILLET_HOME": str(tmp_path / "envhome")})
    assert r.code == 0, str(r)
    assert (tmp_path / "envhome" / "home.json").is_file()
    r = cli.raw("run", wf("wf_cli", "named"), "--xs", "[1]")
    assert r.code == 0, str(r)
    assert (tmp_path / ".rillet" / "home.json").is_file()  # ./.rillet of the working folder
    listed = cli.raw("executions", "list", "--json")
    assert len(listed.json) == 1


def test_a_foreign_folder_is_refused_and_left_untouched(cli, wf, tmp_path):
    foreign = tmp_path / "mine"
    (foreign / "sub").mkdir(parents=True)
    (foreign / "notes.txt").write_text("keep me")
    (foreign / "sub" / "data.csv").write_text("a,b\n1,2\n")

    def snapshot():
        return sorted((str(p.relative_to(foreign)), p.read_text() if p.is_file() else None)
                      for p in foreign.rglob("*"))

    before = snapshot()
    for args in (["run", wf("wf_cli", "named"), "--xs", "[1]", "--json"],
                 ["executions", "list"], ["cache", "list"]):
        r = cli.raw(*args, "--home", str(foreign))
        assert r.code == 2, str(r)
        assert r.out == ""
        assert str(foreign) in r.err and "not a rillet home" in r.err
    assert snapshot() == before


def test_a_missing_home_is_created_and_an_empty_folder_adopted(cli, wf, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = cli.raw("run", wf("wf_cli", "named"), "--xs", "[1]", "--home", str(empty))
    assert r.code == 0, str(r)
    assert (empty / "home.json").is_file()
    r = cli.raw("run", wf("wf_cli", "named"), "--xs", "[1]", "--home", str(tmp_path / "a" / "b"))
    assert r.code == 0, str(r)


def test_inspecting_a_home_that_does_not_exist_is_a_usage_error(cli, tmp_path):
    r = cli("executions", "list")
    assert r.code == 2, str(r)
    assert str(cli.home.name) in r.err
    assert not cli.home.exists()


# -- resources ---------------------------------------------------------------------------
def test_a_task_asking_for_more_cpu_than_the_machine_is_refused_before_starting(cli, wf):
    r = cli("run", wf("wf_cli", "too_big"), "--json")
    assert r.code == 2, str(r)
    assert r.out == ""
    assert "greedy" in r.err and "cpu=64" in r.err
    assert "capacity" in r.err and f"cpu={len(os.sched_getaffinity(0))}" in r.err
    assert not cli.home.exists()  # no execution was started


def test_max_parallel_must_be_positive(cli, wf):
    r = cli("run", wf("wf_cli", "named"), "--xs", "[1]", "--max-parallel", "0")
    assert r.code == 2, str(r)
    assert "--max-parallel" in r.err and "Traceback" not in r.err
    ok = cli.ok("run", wf("wf_cli", "named"), "--xs", "[1]", "--max-parallel", "1", "--json")
    assert ok.json["status"] == "SUCCEEDED"


# -- recover ----------------------------------------------------------------------------
def test_recover_prints_the_same_json_shape(cli, wf):
    failed = cli("run", wf("wf_cli", "failing"), "--json")
    assert failed.code == 1
    again = cli("recover", failed.json["execution_id"], "--json")
    assert again.code == 1, str(again)
    assert again.json["status"] == "FAILED"
    assert {"execution_id", "status", "outputs"} <= set(again.json)
    ok = cli.ok("run", wf("wf_cli", "named"), "--xs", "[2, 3]", "--json").json
    rec = cli.ok("recover", ok["execution_id"], "--json").json
    assert set(rec) == {"execution_id", "status", "outputs"}
    assert rec["status"] == "SUCCEEDED" and rec["outputs"] == ok["outputs"]
