"""Point 2 of issue 11, as read-only commands show values: a pickled value (tampered or
not) is shown by its type, hash and size, and nothing of it runs: ``executions show``,
``outputs``, ``cache list`` and ``lineage``, as text and as ``--json``."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

import rillet

pytestmark = pytest.mark.filterwarnings("ignore::rillet.types.PickleFallbackWarning")

PICKLED = re.compile(r"<pickled wf_integrity\.Marked, \d+\.\d KB, sha256:([0-9a-f]{12})…>")


def _pickles(home: Path) -> dict[str, Path]:
    """Each pickled value's digest -> the file holding its bytes."""
    db = sqlite3.connect(home / "rillet.db")
    rows = db.execute("SELECT hash, uri FROM artifacts WHERE format = 'pickle'").fetchall()
    db.close()
    return {digest: home / "artifacts" / uri for digest, uri in rows}


def test_read_only_commands_show_a_pickled_value_without_running_it(cli, load, unpickled):
    mod = load("wf_integrity")
    home = str(cli.home)
    taking = rillet.run(mod.takes_marked, home=home, executor="inline", m=mod.Marked(5))
    making = rillet.run(mod.marked, home=home, executor="inline", n=3)
    pickles = _pickles(cli.home)
    assert taking.record.inputs["m"] in pickles and len(pickles) == 3  # Marked(5), (3), (4)
    tampered = pickles[taking.record.inputs["m"]]
    tampered.write_bytes(tampered.read_bytes().replace(b"xxxx", b"xxxy", 1))
    unpickled.unlink(missing_ok=True)
    marks = {"RILLET_TEST_UNPICKLED": str(unpickled)}

    def ok(*args: str) -> str:
        r = cli.raw(*args, "--home", home, env=marks)
        assert r.code == 0 and "Traceback" not in r.err, str(r)
        return r.out

    m = taking.record.inputs["m"]
    text = ok("executions", "show", taking.id)
    assert f"input m = <pickled wf_integrity.Marked, 4.9 KB, sha256:{m[:12]}…>" in text, text
    shown = cli.raw("executions", "show", taking.id, "--json", "--home", home, env=marks)
    value = shown.json["input_values"]["m"]
    assert value["type"] == "wf_integrity.Marked" and value["hash"] == m
    assert value["pickled"] is True and value["format"] == "pickle"
    assert value["size"] > 5000 and value["uri"].startswith("file://")
    assert shown.json["inputs"] == {"m": m}  # the shape kept: fields added, none removed

    made = ok("outputs", making.id, "make")
    assert PICKLED.search(made), made
    listed = ok("cache", "list")
    assert len(PICKLED.findall(listed)) == 2, listed  # the two `make` entries
    entries = cli.raw("cache", "list", "--json", "--home", home, env=marks)
    values = [e["output_values"]["o0"] for e in entries.json if e["task"].endswith(":make")]
    assert len(values) == 2 and all(v["pickled"] for v in values)

    tree = ok("lineage", taking.id + ":use")
    assert f"artifact {m[:12]} (pickled wf_integrity.Marked, " in tree, tree
    as_json = cli.raw("lineage", making.id, "--json", "--home", home, env=marks).json
    walked = as_json["artifacts"] if isinstance(as_json, dict) else as_json
    assert "pickled" in str(walked) and "wf_integrity.Marked" in str(walked)
    assert not unpickled.exists(), unpickled.read_text()


def test_the_servers_api_shows_a_pickled_value_without_running_it(tmp_path, load,
                                                                  unpickled):
    """The same values over HTTP (execution detail, cache, lineage, artifact): described
    from their records, a tampered one as well; the server's process never unpickles."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))
    from serverkit import serve

    mod = load("wf_integrity")
    home = tmp_path / "home"
    taking = rillet.run(mod.takes_marked, home=str(home), executor="inline", m=mod.Marked(5))
    making = rillet.run(mod.marked, home=str(home), executor="inline", n=3)
    pickles = _pickles(home)
    m = taking.record.inputs["m"]
    pickles[m].write_bytes(pickles[m].read_bytes().replace(b"xxxx", b"xxxy", 1))
    unpickled.unlink(missing_ok=True)
    with serve(tmp_path, home) as served:
        def ok(path: str):
            r = served.get(f"/api/v1{path}")
            assert r.status_code == 200, r.text
            return r.json()

        detail = ok(f"/executions/{taking.id}")
        value = detail["input_values"]["m"]
        assert value["pickled"] is True and value["hash"] == m
        assert value["type"] == "wf_integrity.Marked"
        made = ok(f"/executions/{making.id}")
        assert made["status"] == "SUCCEEDED"
        entries = [e for e in ok("/cache") if e["task"].endswith(":make")]
        assert len(entries) == 2 and all(e["output_values"]["o0"]["pickled"]
                                         for e in entries)
        assert "wf_integrity.Marked" in str(ok(f"/lineage/{taking.id}:use"))
        assert ok(f"/artifacts/{m}")["hash"] == m
    assert not unpickled.exists(), unpickled.read_text()
