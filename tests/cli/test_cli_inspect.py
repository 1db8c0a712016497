"""Reading what ran: ``rillet executions list|show``, ``rillet logs`` and
``rillet lineage``, on a real home written by real ``rillet run`` processes."""

from __future__ import annotations

import pytest

from rillet.store._home import Home


def node_map(cli, execution_id):
    shown = cli.ok("executions", "show", execution_id, "--json").json
    return {n["node_id"]: n for n in shown["nodes"]}


# -- executions ------------------------------------------------------------------------
def test_executions_list_and_show(cli, wf):
    ok = cli.ok("run", wf("wf_runs", "pipeline"), "--n", "3", "--json").json
    bad = cli("run", wf("wf_cli", "failing"), "--json").json

    listed = cli.ok("executions", "list", "--json").json
    assert [e["execution_id"] for e in listed] == [bad["execution_id"], ok["execution_id"]]
    assert [(e["workflow"], e["status"]) for e in listed] == [
        ("wf_cli:failing", "FAILED"), ("wf_runs:pipeline", "SUCCEEDED")]
    table = cli.ok("executions", "list").out.splitlines()
    assert table[0].split() == ["EXECUTION", "WORKFLOW", "STATUS", "CREATED", "DURATION"]
    assert ok["execution_id"] in table[2] and "SUCCEEDED" in table[2]

    shown = cli.ok("executions", "show", ok["execution_id"], "--json").json
    assert shown["execution_id"] == ok["execution_id"]
    assert shown["status"] == "SUCCEEDED"
    assert [n["node_id"] for n in shown["nodes"]] == ["load", "scale", "summarize"]
    for n in shown["nodes"]:
        assert n["status"] == "SUCCEEDED" and n["attempts"] == 1
        assert n["duration"] is not None and n["duration"] >= 0
        assert n["source_execution"] is None
    text = cli.ok("executions", "show", ok["execution_id"]).out
    assert text.splitlines()[1].split() == ["NODE", "STATUS", "ATTEMPTS", "DURATION", "FROM"]
    # An unambiguous prefix of the id is enough.
    prefix = cli.ok("executions", "show", ok["execution_id"][:8], "--json").json
    assert prefix["execution_id"] == ok["execution_id"]

    failed = cli.ok("executions", "show", bad["execution_id"], "--json").json
    assert failed["status"] == "FAILED" and "bad x 1" in failed["error"]
    assert failed["nodes"][0]["status"] == "FAILED"


def test_showing_an_unknown_execution_is_a_usage_error(cli, wf):
    cli.ok("run", wf("wf_cli", "named"), "--xs", "[1]")
    r = cli("executions", "show", "feedfacefeedface")
    assert r.code == 2 and "feedfacefeedface" in r.err and r.out == ""


# -- logs ------------------------------------------------------------------------------
@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_logs_of_each_attempt(cli, wf, executor):
    run = cli.ok("run", wf("wf_runs", "talk"), "--json", "--executor", executor).json
    eid = run["execution_id"]
    assert node_map(cli, eid)["chatty"]["attempts"] == 2

    first = cli.ok("logs", eid, "chatty", "--attempt", "1")
    assert first.out.splitlines() == ["stdout of attempt 1", "stderr of attempt 1"]
    assert "RuntimeError: first attempt fails" in first.err
    second = cli.ok("logs", eid, "chatty", "--attempt", "2")
    assert second.out.splitlines() == ["stdout of attempt 2", "stderr of attempt 2"]
    assert "Traceback" not in second.err
    last = cli.ok("logs", eid, "chatty")
    assert last.out == second.out
    for bad in ("0", "3"):
        r = cli("logs", eid, "chatty", "--attempt", bad)
        assert r.code == 2, str(r)
        assert "1..2" in r.err


def test_logs_capture_what_subprocesses_write(cli, wf):
    run = cli.ok("run", wf("wf_runs", "shell_out"), "--x", "42", "--json",
                 "--executor", "processes").json
    assert cli.ok("logs", run["execution_id"], "shell").out.strip() == "shell-says-42"


def test_logs_of_a_cached_node_name_where_its_value_came_from(cli, wf, tmp_path):
    marker = str(tmp_path / "m")
    first = cli.ok("run", wf("wf_runs", "cached"), "--x", "1", "--marker", marker,
                   "--json").json
    second = cli.ok("run", wf("wf_runs", "cached"), "--x", "1", "--marker", marker,
                    "--json").json
    r = cli("logs", second["execution_id"], "square")
    assert r.code == 1, str(r)
    assert "CACHED" in r.err and f"{first['execution_id']}:square" in r.err
    r = cli("logs", second["execution_id"], "nope")
    assert r.code == 2 and "square" in r.err


# -- lineage -----------------------------------------------------------------------------
def single(items):
    assert len(items) == 1, items
    return items[0]


def test_lineage_upstream_from_a_node(cli, wf):
    eid = cli.ok("run", wf("wf_runs", "pipeline"), "--n", "4", "--k", "3", "--json").json[
        "execution_id"]
    nodes = node_map(cli, eid)
    tree = cli.ok("lineage", f"{eid}:summarize", "--upstream", "--json").json
    assert tree["direction"] == "upstream"
    art = single(tree["artifacts"])
    assert art["hash"] == nodes["summarize"]["outputs"]["o0"]
    summarize = single(art["produced_by"])
    assert (summarize["execution_id"], summarize["node_id"]) == (eid, "summarize")
    assert summarize["attempt"] == 1 and summarize["code_hash"]
    xs = summarize["inputs"]["xs"]
    scale = single(xs["produced_by"])
    assert scale["node_id"] == "scale"
    assert set(scale["inputs"]) == {"xs", "k"}
    assert scale["inputs"]["k"]["workflow_input_of"] == eid
    load = single(scale["inputs"]["xs"]["produced_by"])
    assert load["node_id"] == "load"
    assert load["inputs"]["n"]["workflow_input_of"] == eid
    text = cli.ok("lineage", f"{eid}:summarize").out  # upstream is the default
    assert f"{eid}:load" in text and f"{eid}:scale" in text


def test_lineage_downstream_across_executions(cli, wf):
    first = cli.ok("run", wf("wf_runs", "pipeline"), "--n", "4", "--k", "3", "--json").json
    second = cli.ok("run", wf("wf_runs", "pipeline"), "--n", "4", "--k", "5", "--json").json
    tree = cli.ok("lineage", f"{first['execution_id']}:load", "--downstream", "--json").json
    art = single(tree["artifacts"])
    users = {(u["execution_id"], u["node_id"]) for u in art["used_by"]}
    # Both executions read the same list (same content, same artifact).
    assert users == {(first["execution_id"], "scale"), (second["execution_id"], "scale")}
    for use in art["used_by"]:
        scaled = use["outputs"]["o0"]
        assert {(u["execution_id"], u["node_id"]) for u in scaled["used_by"]} == {
            (use["execution_id"], "summarize")}


def test_lineage_by_artifact_hash_prefix_and_by_execution(cli, wf):
    eid = cli.ok("run", wf("wf_runs", "pipeline"), "--n", "5", "--json").json["execution_id"]
    nodes = node_map(cli, eid)
    scaled = nodes["scale"]["outputs"]["o0"]
    tree = cli.ok("lineage", scaled[:12], "--json").json
    art = single(tree["artifacts"])
    assert art["hash"] == scaled
    assert single(art["produced_by"])["node_id"] == "scale"
    down = cli.ok("lineage", scaled[:12], "--downstream", "--json").json
    assert single(single(down["artifacts"])["used_by"])["node_id"] == "summarize"

    by_execution = cli.ok("lineage", eid, "--json").json
    art = single(by_execution["artifacts"])
    shown = cli.ok("executions", "show", eid, "--json").json
    assert art["hash"] == shown["outputs"]["o0"]
    assert single(art["produced_by"])["node_id"] == "summarize"


def test_lineage_of_a_cached_node_points_at_the_producer(cli, wf, tmp_path):
    marker = str(tmp_path / "m")
    first = cli.ok("run", wf("wf_runs", "cached"), "--x", "2", "--marker", marker,
                   "--json").json["execution_id"]
    second = cli.ok("run", wf("wf_runs", "cached"), "--x", "2", "--marker", marker,
                    "--json").json["execution_id"]
    tree = cli.ok("lineage", f"{second}:plus", "--json").json
    plus = single(single(tree["artifacts"])["produced_by"])
    assert plus["status"] == "CACHED"
    assert (plus["source_execution"], plus["source_node"]) == (first, "plus")
    square = single(plus["inputs"]["a"]["produced_by"])
    assert square["node_id"] == "square" and square["source_execution"] == first


@pytest.mark.parametrize("ref", ["zzzz", "{eid}:nope"])
def test_lineage_of_an_unknown_ref_is_a_usage_error(cli, wf, ref):
    eid = cli.ok("run", wf("wf_runs", "pipeline"), "--json").json["execution_id"]
    r = cli("lineage", ref.format(eid=eid))
    assert r.code == 2, str(r)
    assert r.out == ""
    assert "neither an execution id" in r.err or "has no node 'nope'" in r.err, r.err


def test_lineage_of_an_absent_or_ambiguous_hash_prefix_is_a_usage_error(cli, wf):
    """Runs until two artifacts share a first hex digit that starts no execution id
    (sixteen digits: a few runs make enough artifacts), then asks for that digit."""
    store = Home.open(str(cli.home)).store
    eids: list[str] = []
    for n in range(1, 13):
        eids.append(cli.ok("run", wf("wf_runs", "pipeline"), "--n", str(n),
                           "--json").json["execution_id"])
        hashes = [a.hash for a in store.find_artifacts("")]
        firsts = [h[0] for h in hashes]
        shared = sorted(c for c in set(firsts) if firsts.count(c) > 1
                        and not any(e.startswith(c) for e in eids))
        if shared:
            break
    assert shared, (firsts, eids)
    r = cli("lineage", shared[0])
    assert (r.code, r.out) == (2, ""), str(r)
    assert f"artifact prefix '{shared[0]}' is ambiguous" in r.err, r.err
    taken = hashes + eids
    absent = next(p for p in (f"{i:04x}" for i in range(1 << 16))
                  if not any(t.startswith(p) for t in taken))
    r = cli("lineage", absent)
    assert (r.code, r.out) == (2, ""), str(r)
    assert f"'{absent}' is neither an execution id" in r.err, r.err
