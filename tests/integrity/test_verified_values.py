"""Points 1, 2 and 4 of issue 11: bytes read back are checked against their digest
before anything decodes them; a corrupt or missing value is a miss that heals; read-only
commands never unpickle."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

import rillet
from rillet.errors import StoreError, ValueUnavailable
from rillet.store._home import Home
from rillet.types._literal import blob_matches, encode


def _artifact(home: str, digest: str) -> tuple[Path, dict]:
    db = sqlite3.connect(f"{home}/rillet.db")
    uri, fmt, tag = db.execute("SELECT uri, format, tag FROM artifacts WHERE hash = ?",
                               (digest,)).fetchone()
    db.close()
    return Path(home, "artifacts", uri), {"format": fmt, "tag": tag}


pytestmark = pytest.mark.filterwarnings("ignore::rillet.types.PickleFallbackWarning")


def _node(ex, node_id):
    return next(n for n in ex.nodes if n.id == node_id)


def _output(home: str, ex, node_id: str) -> str:
    """The digest of a node's only output, from the record."""
    with Home.open(home) as h:
        (digest,) = next(n for n in h.store.nodes(ex.id) if n.node_id == node_id
                         ).outputs.values()
    return digest


def test_a_json_value_edited_on_disk_is_not_read_and_heals(load, home):
    mod = load("wf_integrity")
    first = rillet.run(mod.summed, home=home, executor="inline", n=1000)
    digest = _output(home, first, "numbers")
    path, meta = _artifact(home, digest)
    assert meta == {"format": "json", "tag": "list[int]"}
    text = path.read_bytes()
    assert b"1999000," in text
    path.write_bytes(text.replace(b"1999000,", b"1001999000,", 1))

    with Home.open(home) as h:
        from rillet.engine._values import ValueStore

        with pytest.raises(ValueUnavailable) as info:
            ValueStore(h.store, h.artifacts).load(digest, list[int])
    assert info.value.reason == "corrupt" and info.value.uri and "corrupt" in str(info.value)

    # Cached, but its value is corrupt: a miss. The node runs again and the bytes heal.
    second = rillet.run(mod.summed, home=home, executor="inline", n=1000)
    assert second.outputs == {"o0": sum(1999000 + i for i in range(1000))}
    assert _node(second, "numbers").status.value == "SUCCEEDED"
    assert path.read_bytes() == text
    third = rillet.run(mod.summed, home=home, executor="inline", n=1000)
    assert [n.status.value for n in third.nodes] == ["CACHED", "CACHED"]


def test_a_missing_value_is_a_miss_and_is_written_again(load, home):
    mod = load("wf_integrity")
    first = rillet.run(mod.summed, home=home, executor="inline", n=1000)
    path, _ = _artifact(home, _output(home, first, "numbers"))
    path.unlink()
    second = rillet.run(mod.summed, home=home, executor="inline", n=1000)
    assert _node(second, "numbers").status.value == "SUCCEEDED"
    assert path.exists()
    assert second.outputs["o0"] == first.outputs["o0"]


def test_cache_explain_says_value_missing(cli, wf, tmp_path):
    target = wf("wf_integrity", "summed")
    cli.ok("run", target, "--n", "1000", "--executor", "inline")
    before = cli.ok("cache", "explain", target, "--n", "1000", "--json").json
    assert [n["status"] for n in before["nodes"]] == ["HIT", "HIT"] if isinstance(before, dict) \
        else [n["status"] for n in before] == ["HIT", "HIT"]
    for f in (cli.home / "artifacts").rglob("*"):
        if f.is_file():
            f.write_bytes(f.read_bytes().replace(b"1999000,", b"1001999000,", 1))
    after = cli.ok("cache", "explain", target, "--n", "1000").out
    assert "value missing" in after and "corrupt" in after, after


@pytest.mark.parametrize("value, tp", [
    (list(range(2000)), list[int]),
    ("x" * 9000, str),
    ({"a": "b" * 9000}, dict[str, str]),
])
def test_blob_matches_with_and_without_a_recorded_tag(value, tp):
    lit = encode(value, tp)
    assert lit.blob is not None and lit.tag
    assert blob_matches(lit.hash, lit.format, lit.tag, None, lit.blob)
    assert blob_matches(lit.hash, lit.format, None, None, lit.blob, tp)  # a record from 0001
    flipped = bytes([lit.blob[0] ^ 1]) + lit.blob[1:]
    assert not blob_matches(lit.hash, lit.format, lit.tag, None, flipped)
    assert not blob_matches(lit.hash, lit.format, None, None, flipped, tp)


def test_a_tampered_pickle_is_never_unpickled(load, home, unpickled):
    mod = load("wf_integrity")
    first = rillet.run(mod.marked, home=home, executor="inline", n=3)
    assert first.outputs == {"o0": 7}
    digest = _output(home, first, "make")
    path, meta = _artifact(home, digest)
    assert meta["format"] == "pickle"
    path.write_bytes(path.read_bytes().replace(b"xxxx", b"xxxy", 1))
    unpickled.unlink(missing_ok=True)
    with Home.open(home) as h:
        from rillet.engine._values import ValueStore

        with pytest.raises(ValueUnavailable, match="corrupt"):
            ValueStore(h.store, h.artifacts).load(digest, mod.Marked)
    assert not unpickled.exists()


def test_read_only_commands_never_unpickle(cli, wf, unpickled):
    target = wf("wf_integrity", "marked")
    run = cli.ok("run", target, "--n", "3", "--executor", "inline", "--json").json
    unpickled.unlink(missing_ok=True)
    env_marks = {"RILLET_TEST_UNPICKLED": str(unpickled)}
    for args in (["executions", "list"], ["executions", "show", run["execution_id"]],
                 ["executions", "show", run["execution_id"], "--json"], ["cache", "list"],
                 ["lineage", run["execution_id"]], ["cache", "explain", target, "--n", "3"],
                 ["cache", "explain", target, "--n", "3", "--json"]):
        r = cli.raw(*args, "--home", str(cli.home), env=env_marks)
        assert r.code == 0, str(r)
        assert "Traceback" not in r.err
    assert not unpickled.exists(), unpickled.read_text()


def test_recover_plans_without_decoding_its_inputs(load, home, unpickled):
    mod = load("wf_integrity")
    first = rillet.run(mod.takes_marked, home=home, executor="inline", m=mod.Marked(5))
    unpickled.unlink(missing_ok=True)
    again = rillet.recover(first.id, home=home, executor="inline")
    assert [n.status.value for n in again.nodes] == ["RECOVERED"]
    assert not unpickled.exists()  # nothing needed the input: it was never unpickled


def test_recover_names_an_input_whose_bytes_are_gone(load, home):
    mod = load("wf_integrity")
    first = rillet.run(mod.takes_marked, home=home, executor="inline", m=mod.Marked(5))
    path, _ = _artifact(home, first.record.inputs["m"])
    os.unlink(path)
    with pytest.raises(StoreError, match=r"input 'm': its value \w+ is missing"):
        rillet.recover(first.id, home=home, executor="inline", from_nodes=("use",))


def test_a_model_version_whose_bytes_are_gone_is_named(load, home, monkeypatch):
    from rillet import models

    mod = load("wf_integrity")
    ex = rillet.run(mod.summed, home=home, executor="inline", n=1000)
    monkeypatch.setenv("RILLET_HOME", home)
    version = models.register("nums", execution=ex.id, node="numbers", output="o0")
    path, _ = _artifact(home, _output(home, ex, "numbers"))
    path.write_bytes(path.read_bytes().replace(b"1999000,", b"1001999000,", 1))
    with pytest.raises(ValueUnavailable, match=rf"model nums/{version} .*corrupt"):
        models.load(f"nums/{version}")
