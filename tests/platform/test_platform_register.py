"""Registration: every task, workflow and launch plan of a bundle, with its interface,
IR, code hash and bundle hash; immutable versions."""

from __future__ import annotations

import json
import sys

import pytest
from clikit import run

from rillet.errors import Conflict, DefinitionError, NotFound
from rillet.platform import find, register, versions
from rillet.platform._teams import create_project


def test_register_describes_every_entity(project, home_stores, monkeypatch):
    s = home_stores
    monkeypatch.delitem(sys.modules, "pipe", raising=False)  # another test's worker loaded it
    got = register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts)
    by_name = {e.name: e for e in got}
    assert {n: e.kind for n, e in by_name.items()} == {
        "pipe.inc": "task", "pipe.slow": "task", "pipe.last": "task", "pipe.boom": "task",
        "pipe.chain": "workflow", "pipe.one": "workflow", "pipe.fails": "workflow",
        "pipe.typed": "workflow", "nightly": "launch_plan"}
    bundle = got[0].bundle_hash
    assert {e.bundle_hash for e in got} == {bundle}
    assert {e.version for e in got} == {bundle[:12]}
    typed = by_name["pipe.typed"]
    assert typed.identity == "pipe:typed"
    assert typed.interface["inputs"] == {
        "n": {"kind": "int"}, "ratio": {"kind": "float"},
        "names": {"kind": "list", "item": {"kind": "str"}}, "flag": {"kind": "bool"}}
    assert typed.interface["defaults"] == {"flag": False}
    assert typed.interface["outputs"] == {"o0": {"kind": "int"}}
    assert [n["id"] for n in typed.spec["nodes"]] == ["inc"]  # the IR
    assert len(typed.code_hash) == 64 and by_name["pipe.inc"].code_hash != typed.code_hash
    plan = by_name["nightly"]
    assert plan.interface["fixed"] == {"marker": ""}
    assert plan.interface["defaults"]["x"] == 5
    # the bundle is an artifact under its hash
    assert s.artifacts.exists(typed.bundle_uri)
    # the registering process did not import the user's code
    assert "pipe" not in sys.modules


def test_same_content_is_a_no_op_and_other_content_is_refused(project, home_stores):
    s = home_stores
    first = register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts,
                     version="v1")
    again = register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts,
                     version="v1")
    assert [(e.name, e.version, e.created_at) for e in again] == \
        [(e.name, e.version, e.created_at) for e in first]
    (project / "pipe.py").write_text((project / "pipe.py").read_text() + "\n# changed\n")
    with pytest.raises(Conflict, match=r"\S+ version v1 is already registered in "
                                       "default/development with other content"):
        register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts, version="v1")
    assert {e.bundle_hash for e in versions(s.store)} == {first[0].bundle_hash}  # untouched
    newer = register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts)
    assert newer[0].version != "v1"
    assert find(s.store, "pipe.chain", None, project="default",
                domain="development").version == newer[0].version
    assert find(s.store, "pipe.chain", "v1", project="default",
                domain="development").bundle_hash == first[0].bundle_hash
    assert [e.version for e in versions(s.store, "pipe.chain")] == [newer[0].version, "v1"]
    with pytest.raises(NotFound, match=r"pipe\.nope is not registered .*pipe\.chain"):
        find(s.store, "pipe.nope", None, project="default", domain="development")


def test_projects_and_domains_are_separate(project, home_stores):
    s = home_stores
    create_project(s.store, "team")
    register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts, project="team",
             domain="staging")
    assert versions(s.store) == []
    assert len(versions(s.store, project="team", domain="staging")) == 9
    with pytest.raises(DefinitionError, match="unknown domain 'prod'"):
        register(str(project / "pipe.py"), store=s.store, artifacts=s.artifacts, domain="prod")


def test_code_that_fails_to_import_is_refused_in_one_line(tmp_path, home_stores):
    bad = tmp_path / "bad.py"
    bad.write_text("import rillet\nraise RuntimeError('no database here')\n")
    with pytest.raises(DefinitionError, match="RuntimeError: no database here"):
        register(str(bad), store=home_stores.store, artifacts=home_stores.artifacts)
    assert versions(home_stores.store) == []


def test_a_package_folder(tmp_path, home_stores):
    pkg = tmp_path / "mypkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "helpers.py").write_text("def add(a: int, b: int) -> int:\n    return a + b\n")
    (pkg / "sub" / "flows.py").write_text(
        "from rillet import task, workflow\nfrom mypkg.helpers import add\n\n"
        "@task\ndef plus(x: int) -> int:\n    return add(x, 1)\n\n"
        "@workflow\ndef wf(x: int) -> int:\n    return plus(x=x)\n")
    got = register(str(pkg), store=home_stores.store, artifacts=home_stores.artifacts)
    assert sorted(e.name for e in got) == ["mypkg.sub.flows.plus", "mypkg.sub.flows.wf"]


def test_cli_register_and_versions(project, tmp_path):
    home = str(tmp_path / "h")
    r = run(["register", "pipe.py", "--home", home, "--json"], cwd=project)
    assert r.code == 0, r
    names = sorted(e["name"] for e in json.loads(r.out))
    assert "pipe.chain" in names and "nightly" in names
    r2 = run(["register", "pipe.py", "--home", home, "--version", "v1"], cwd=project)
    assert r2.code == 0, r2
    (project / "pipe.py").write_text((project / "pipe.py").read_text() + "\nX = 1\n")
    r3 = run(["register", "pipe.py", "--home", home, "--version", "v1"], cwd=project)
    assert r3.code == 2 and "already registered" in r3.err and r3.err.count("\n") == 1, r3
    r4 = run(["versions", "pipe.chain", "--home", home, "--json"], cwd=project)
    assert r4.code == 0 and [v["version"] for v in json.loads(r4.out)][0] == "v1", r4
    r5 = run(["versions", "pipe.nope", "--home", home], cwd=project)
    assert r5.code == 2, r5
