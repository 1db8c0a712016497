"""The API over a real uvicorn server: health, /openapi.json, JSON 4xx errors, the
same shapes as the CLI's --json, abort, and live events from the event log."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from clikit import rillet_env
from serverkit import Served, wait_for

import rillet

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


def run_quick(served: Served, x: int = 3) -> str:
    import wf_platform

    return rillet.run(wf_platform.quick, home=str(served.home), executor="inline", x=x).id


def cli_json(served: Served, *args: str):
    proc = subprocess.run([sys.executable, "-m", "rillet.cli", *args, "--json", "--home",
                           str(served.home)], capture_output=True, text=True, env=rillet_env(),
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_health_openapi_and_the_ui_page(served: Served) -> None:
    assert served.get("/api/v1/health").json() == {"status": "ok"}
    spec = served.get("/openapi.json").json()
    for path in ("/api/v1/health", "/api/v1/executions", "/api/v1/executions/{execution_id}",
                 "/api/v1/executions/{execution_id}/events",
                 "/api/v1/executions/{execution_id}/abort"):
        assert path in spec["paths"], path
    page = served.get("/")  # the UI, or what to run to build it (tests/ui)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_the_api_and_the_cli_show_the_same_shapes(served: Served) -> None:
    eid = run_quick(served)
    detail = served.get(f"/api/v1/executions/{eid}").json()
    shown = cli_json(served, "executions", "show", eid)
    assert {k: shown[k] for k in detail if k != "nodes"} == {
        k: v for k, v in detail.items() if k != "nodes"}
    assert [{k: n[k] for k in detail["nodes"][0]} for n in shown["nodes"]] == detail["nodes"]
    assert detail["status"] == "SUCCEEDED" and [n["node_id"] for n in detail["nodes"]] == [
        "double"]
    listed = served.get("/api/v1/executions", params={"workflow": "wf_platform:quick",
                                                      "status": "SUCCEEDED"}).json()
    assert eid in [s["execution_id"] for s in listed]
    home_list = cli_json(served, "executions", "list")
    assert [e["execution_id"] for e in listed] == [
        e["execution_id"] for e in home_list if e["workflow"] == "wf_platform:quick"
        and e["status"] == "SUCCEEDED"][:len(listed)]
    assert served.get("/api/v1/executions", params={"status": "FAILED"}).json() == []
    logs = served.get(f"/api/v1/executions/{eid}/nodes/double/logs").json()
    assert (logs["attempt"], logs["status"]) == (1, "SUCCEEDED")
    lineage = served.get(f"/api/v1/lineage/{eid}").json()
    assert lineage == cli_json(served, "lineage", eid)


def test_the_list_filters_by_a_time_range_of_creation(served: Served) -> None:
    ids = [run_quick(served, x) for x in (1, 2, 3)]
    made = {s["execution_id"]: s["created_at"] for s in served.get(
        "/api/v1/executions", params={"workflow": "wf_platform:quick", "limit": 500}).json()}
    first, middle, last = (made[i] for i in ids)
    assert first < middle < last

    def listed(**params: float) -> list[str]:
        found = served.get("/api/v1/executions", params={"workflow": "wf_platform:quick",
                                                         "limit": 500, **params})
        assert found.status_code == 200, found.text
        return [s["execution_id"] for s in found.json() if s["execution_id"] in ids]

    assert listed(since=middle) == [ids[2], ids[1]]  # since is inclusive, newest first
    assert listed(until=middle) == [ids[0]]  # until is exclusive
    assert listed(since=first, until=last) == [ids[1], ids[0]]
    # A page of the range: ``before`` and ``until`` together keep the smaller bound.
    assert listed(since=first, until=last, before=middle) == [ids[0]]
    empty = served.get("/api/v1/executions", params={"since": last, "until": first})
    assert empty.status_code == 400 and "the time range is empty" in empty.json()["error"]


def test_a_map_node_lists_its_elements_with_values_and_the_failed_ones_errors(
        served: Served) -> None:
    import wf_ui

    eid = rillet.run(wf_ui.squares, home=str(served.home), executor="inline",
                     xs=[1, -2, 3]).id
    got = served.get(f"/api/v1/executions/{eid}/nodes/map-square/elements")
    assert got.status_code == 200, got.text
    elements = got.json()
    assert [(e["map_index"], e["status"], e["value"]) for e in elements] == [
        (0, "SUCCEEDED", 1), (1, "FAILED", None), (2, "SUCCEEDED", 9)]
    failed = elements[1]
    assert failed["error"] == "ValueError: no square of a negative number: -2"
    assert "Traceback" in failed["traceback"] and failed["logs"] == "refusing -2\n"
    not_map = served.get(f"/api/v1/executions/{run_quick(served)}/nodes/double/elements")
    assert not_map.status_code == 400 and "not a map" in not_map.json()["error"]
    missing = served.get(f"/api/v1/executions/{eid}/nodes/nope/elements")
    assert missing.status_code == 404 and "no node 'nope'" in missing.json()["error"]


@pytest.mark.parametrize(("method", "path", "status", "says"), [
    ("GET", "/api/v1/executions/nope", 404, "no execution 'nope'"),
    ("GET", "/api/v1/executions?limit=-1", 400, "limit"),
    ("GET", "/api/v1/executions?limit=99999999999999999999999", 400, "limit"),
    ("GET", "/api/v1/executions?status=BOGUS", 400, "status"),
    ("GET", "/api/v1/executions?before=nan", 400, "before"),
    ("GET", "/api/v1/executions?since=inf", 400, "since"),
    ("GET", "/api/v1/executions?until=soon", 400, "until"),
    ("GET", "/api/v1/executions/nope/events", 404, "no execution"),
    ("GET", "/api/v1/lineage/zzzz", 404, ""),
    ("GET", "/api/v1/artifacts/XYZ", 400, "digest"),
    ("GET", "/api/v1/nowhere", 404, "Not Found"),
    ("DELETE", "/api/v1/health", 405, "Method Not Allowed"),
    ("POST", "/api/v1/executions/nope/abort", 404, "no execution"),
    ("POST", "/api/v1/executions/nope/recover", 404, "no execution"),
])
def test_bad_requests_get_a_4xx_with_a_json_error(served: Served, method: str, path: str,
                                                  status: int, says: str) -> None:
    r = served.client.request(method, path)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and says in body["error"]


def test_abort_of_an_ended_execution_is_a_409(served: Served) -> None:
    eid = run_quick(served)
    r = served.client.post(f"/api/v1/executions/{eid}/abort")
    assert r.status_code == 409 and "already ended SUCCEEDED" in r.json()["error"]


def read_stream(served: Served, eid: str, out: list[dict], after: int = 0) -> None:
    with httpx.stream("GET", f"{served.url}/api/v1/executions/{eid}/events",
                      params={"after": after}, timeout=120) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data:"):
                out.append(json.loads(line[5:]))


def test_events_of_an_ended_execution_replay_and_the_stream_ends(served: Served) -> None:
    eid = run_quick(served)
    got: list[dict] = []
    read_stream(served, eid, got)
    assert [(e["kind"], e["node_id"], e["status"]) for e in got] == [
        ("execution", "", "RUNNING"), ("node", "double", "RUNNING"),
        ("node", "double", "SUCCEEDED"), ("execution", "", "SUCCEEDED")]
    later: list[dict] = []
    read_stream(served, eid, later, after=got[1]["seq"])
    assert later == got[2:]


def test_live_events_reach_every_client_from_one_reader_of_the_log(
        served: Served, tmp_path: Path) -> None:
    """Eight clients follow a running execution: each reads its backlog once, and
    only the server's one broadcaster reads the log after that."""
    store = served.app.state.instance.store
    calls: list[str] = []
    real = store.events

    def counted(*a, **kw):
        calls.append(threading.current_thread().name)
        return real(*a, **kw)

    store.events = counted
    marker = tmp_path / "pid"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rillet.cli", "run", f"{WORKFLOWS / 'wf_platform.py'}:slow",
         "--marker", str(marker), "--seconds", "3", "--home", str(served.home)],
        env=rillet_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(marker.exists)
        eid = wait_for(lambda: [s["execution_id"] for s in served.get(
            "/api/v1/executions", params={"status": "RUNNING"}).json()])[0]
        streams = [[] for _ in range(8)]
        readers = [threading.Thread(target=read_stream, args=(served, eid, s))
                   for s in streams]
        for t in readers:
            t.start()
        for t in readers:
            t.join(timeout=180)
        assert proc.wait(timeout=120) == 0
    finally:
        store.events = real
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    for got in streams:
        seen = [(e["kind"], e["node_id"], e["status"]) for e in got]
        assert seen[-2:] == [("node", "sleeper", "SUCCEEDED"), ("execution", "", "SUCCEEDED")]
        assert ("node", "sleeper", "RUNNING") in seen
        assert [e["seq"] for e in got] == sorted({e["seq"] for e in got})
    others = [name for name in calls if name != "rillet-events"]
    assert len(others) <= len(streams), calls  # one backlog read per client, no polling


def test_whoami_on_an_open_server_allows_everything(served: Served) -> None:
    assert served.get("/api/v1/whoami").json() == {
        "user": "anonymous", "auth": False, "admin": True, "roles": {}}


def _outputs(served: Served, eid: str) -> dict[str, str]:
    nodes = served.get(f"/api/v1/executions/{eid}").json()["nodes"]
    return {n["node_id"]: n["outputs"]["o0"] for n in nodes}


def test_a_dataframe_previews_its_schema_and_first_rows_and_downloads_verified(
        served: Served) -> None:
    import io

    import pyarrow.parquet as pq
    import wf_ui

    from rillet.types._literal import blob_headers

    eid = rillet.run(wf_ui.tables, home=str(served.home), executor="inline", n=80).id
    out = _outputs(served, eid)
    got = served.get(f"/api/v1/artifacts/{out['table']}/preview", params={"rows": 5})
    assert got.status_code == 200, got.text
    shown = got.json()
    assert [(c["name"], c["type"].replace("large_", "")) for c in shown["columns"]] == [
        ("id", "int64"), ("name", "string"), ("score", "double")]  # (pandas 3: large_string)
    assert shown["rows"] == [{"id": i, "name": f"row {i}", "score": i / 2} for i in range(5)]
    assert (shown["num_rows"], shown["num_columns"], shown["truncated"]) == (80, 3, True)
    assert len(served.get(f"/api/v1/artifacts/{out['table']}/preview").json()["rows"]) == 50

    down = served.get(f"/api/v1/artifacts/{out['table']}/download")
    assert down.status_code == 200
    assert down.headers["content-disposition"] == (
        f'attachment; filename="{out["table"][:12]}.parquet"')
    assert down.headers["x-rillet-digest"] == out["table"]
    assert int(down.headers["content-length"]) == len(down.content)
    frame = pq.read_table(io.BytesIO(down.content)).to_pandas()
    assert list(frame["name"][:2]) == ["row 0", "row 1"] and len(frame) == 80
    (header,) = blob_headers("parquet", "dataframe", None)
    assert hashlib.sha256(header + down.content).hexdigest() == out["table"]

    note = served.get(f"/api/v1/artifacts/{out['note']}/download")
    assert note.content == b"80 rows\n"
    assert note.headers["content-disposition"] == 'attachment; filename="note.txt"'


def test_a_pickled_value_is_never_previewed_and_other_values_say_why(served: Served) -> None:
    import wf_ui

    eid = rillet.run(wf_ui.tables, home=str(served.home), executor="inline", n=7).id
    out = _outputs(served, eid)
    got = served.get(f"/api/v1/artifacts/{out['opaque']}/preview")
    assert got.status_code == 400, got.text
    assert "is pickled" in got.json()["error"] and "never previewed" in got.json()["error"]
    raw = served.get(f"/api/v1/artifacts/{out['opaque']}/download")  # its bytes, not loaded
    assert raw.status_code == 200 and raw.headers["content-disposition"].endswith('.pkl"')
    note = served.get(f"/api/v1/artifacts/{out['note']}/preview").json()
    assert (note["kind"], note["text"], note["truncated"]) == ("text", "7 rows", False)
    said = served.get(f"/api/v1/artifacts/{out['describe']}/preview").json()
    assert (said["kind"], said["rows"]) == ("json", [{"value": "7 rows, opaque 7, note '7 rows'"}])
    inline = served.get(f"/api/v1/artifacts/{out['describe']}/download")
    assert inline.json() == "7 rows, opaque 7, note '7 rows'"
    for rows in (0, 501):
        bad = served.get(f"/api/v1/artifacts/{out['table']}/preview", params={"rows": rows})
        assert bad.status_code == 400 and "rows" in bad.json()["error"]
    assert served.get(f"/api/v1/artifacts/{'0' * 64}/preview").status_code == 404
    assert served.get(f"/api/v1/artifacts/{'0' * 64}/download").status_code == 404


def test_arrays_json_and_files_preview_as_tables_or_text(served: Served) -> None:
    """Previews beyond parquet: an ndarray's shape and first rows (read from its npy
    header and those rows), a list of records as a table, a CSV file's header and rows;
    an array of objects (pickled inside its npy) and a binary file have none."""
    import wf_ui

    eid = rillet.run(wf_ui.shapes, home=str(served.home), executor="inline", n=30).id
    out = _outputs(served, eid)

    def preview(node: str, **params: int) -> dict:
        got = served.get(f"/api/v1/artifacts/{out[node]}/preview", params=params)
        assert got.status_code == 200, got.text
        return dict(got.json())

    grid = preview("grid", rows=4)
    assert (grid["kind"], grid["shape"], grid["num_rows"], grid["truncated"]) == (
        "ndarray", [30, 3], 30, True)
    assert [c["name"] for c in grid["columns"]] == ["0", "1", "2"]
    assert {c["type"] for c in grid["columns"]} == {"float64"}
    assert grid["rows"] == [{"0": i * 1.5, "1": i * 1.5 + 0.5, "2": i * 1.5 + 1.0}
                            for i in range(4)]
    cube = preview("cube", rows=2)
    assert (cube["shape"], cube["rows"]) == ([30, 2, 2], [
        {"value": [[0, 1], [2, 3]]}, {"value": [[4, 5], [6, 7]]}])
    recs = preview("records", rows=3)
    assert (recs["kind"], recs["num_rows"], [c["name"] for c in recs["columns"]]) == (
        "json", 30, ["i", "square"])
    assert recs["rows"] == [{"i": 0, "square": 0}, {"i": 1, "square": 1},
                            {"i": 2, "square": 4}]
    sheet = preview("sheet", rows=2)
    assert (sheet["kind"], sheet["num_rows"], sheet["truncated"]) == ("csv", 30, True)
    assert [c["name"] for c in sheet["columns"]] == ["id", "name"]
    assert sheet["rows"] == [{"id": "0", "name": "row 0"}, {"id": "1", "name": "row 1"}]
    for node, says in (("boxed", "array of Python objects"), ("blob", "not UTF-8 text")):
        none = preview(node)  # a format with previews, this value's content shown none
        assert (none["kind"], none["rows"]) == ("none", []) and says in none["reason"], none
    run = served.get(f"/api/v1/executions/{eid}").json()
    assert run["status"] == "SUCCEEDED"


def test_corrupt_or_missing_bytes_are_neither_previewed_nor_sent(served: Served) -> None:
    import wf_ui

    eid = rillet.run(wf_ui.tables, home=str(served.home), executor="inline", n=11).id
    digest = _outputs(served, eid)["table"]
    uri = served.get(f"/api/v1/artifacts/{digest}").json()["uri"]  # relative to the store
    (path,) = [p for p in served.home.rglob(uri.rsplit("/", 1)[-1]) if p.as_posix().endswith(uri)]
    good = path.read_bytes()
    try:
        path.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # one bit flipped
        for route in ("preview", "download"):
            got = served.get(f"/api/v1/artifacts/{digest}/{route}")
            assert got.status_code == 404, got.text
            assert "is corrupt" in got.json()["error"], got.text
        path.unlink()
        got = served.get(f"/api/v1/artifacts/{digest}/download")
        assert got.status_code == 404 and "is missing" in got.json()["error"]
    finally:
        path.write_bytes(good)
    assert served.get(f"/api/v1/artifacts/{digest}/preview").status_code == 200


def test_a_node_attempts_logs_download_as_a_text_file(served: Served) -> None:
    import wf_ui

    eid = rillet.run(wf_ui.tables, home=str(served.home), executor="inline", n=3).id
    got = served.get(f"/api/v1/executions/{eid}/nodes/table/logs/download")
    assert got.status_code == 200 and got.text == "a table of 3 rows\n"
    assert got.headers["content-type"].startswith("text/plain")
    assert got.headers["content-disposition"] == (
        f'attachment; filename="{eid}-table-attempt1.log"')
    assert served.get(f"/api/v1/executions/{eid}/nodes/table/logs/download",
                      params={"attempt": 2}).status_code == 404


def test_an_executions_graph_holds_every_node_of_its_ir_with_edges(served: Served) -> None:
    """Issue 16: the whole DAG of an execution from its IR (kept once per spec by the
    engine): a subworkflow's nodes, both arms of a conditional, their edges, and exactly
    the node ids the engine records."""
    import wf_ui

    first = rillet.run(wf_ui.planned, home=str(served.home), executor="inline", n=3)
    again = rillet.run(wf_ui.planned, home=str(served.home), executor="inline", n=1)
    got = served.get(f"/api/v1/executions/{first.id}/graph")
    assert got.status_code == 200, got.text
    graph = got.json()
    assert (graph["execution_id"], graph["planned"], graph["source"]) == (
        first.id, True, "recorded")
    ids = [n["node_id"] for n in graph["nodes"]]
    assert ids == ["diamond/load", "diamond/total", "diamond/biggest", "diamond/report",
                   "diamond", "loud", "shout", "whisper"]
    assert {n["node_id"]: (n["kind"], n["task"]) for n in graph["nodes"]}["diamond/total"] == (
        "task", "wf_ui:total")
    edges = {(e["source"], e["target"]) for e in graph["edges"]}
    assert {("diamond/load", "diamond/total"), ("diamond/load", "diamond/biggest"),
            ("diamond/total", "diamond/report"), ("diamond/biggest", "diamond/report"),
            ("diamond/report", "diamond"), ("diamond", "shout"), ("diamond", "whisper"),
            ("shout", "loud"), ("whisper", "loud")} <= edges
    # the engine recorded the same nodes (the arm not taken as SKIPPED)
    for ex, skipped in ((first, "whisper"), (again, "shout")):
        recorded = {n["node_id"]: n["status"] for n in served.get(
            f"/api/v1/executions/{ex.id}").json()["nodes"]}
        assert set(recorded) == set(ids) and recorded[skipped] == "SKIPPED"
    assert served.get(f"/api/v1/executions/{again.id}/graph").json()["nodes"] == graph["nodes"]
    # one spec row for the two executions of the same workflow
    from rillet.store._home import Home

    with Home.open(str(served.home)) as home:
        rows = home.store.database.read(
            "SELECT COUNT(*) FROM workflow_specs WHERE hash = (SELECT spec_hash FROM "
            "executions WHERE id = ?)", (first.id,))
    assert rows == [(1,)]


GRAPH_FLOWS = ('from rillet import task, workflow\n\n'
               '@task\ndef one(x: int) -> int:\n    return x + 1\n\n'
               '@task\ndef two(a: int, b: int) -> int:\n    return a + b\n\n'
               '@workflow\ndef inner(x: int) -> int:\n    return one(x=x)\n\n'
               '@workflow\ndef outer(x: int = 1) -> int:\n'
               '    return two(a=inner(x=x), b=one(x=x))\n')


def test_a_queued_launch_is_drawn_from_its_registered_version(served: Served) -> None:
    """A launched execution that no worker started (this server has none): its nodes
    come from the registered workflow of its bundle. Bad ids are JSON 4xx."""
    from rillet import Remote

    flows = served.home.parent / "graphflows.py"
    flows.write_text(GRAPH_FLOWS)
    with Remote(served.url) as remote:
        remote.register(str(flows))
        eid = remote.launch("graphflows.outer", x=2).id
    assert served.get(f"/api/v1/executions/{eid}").json()["nodes"] == []
    graph = served.get(f"/api/v1/executions/{eid}/graph").json()
    assert (graph["planned"], graph["source"]) == (True, "registered")
    assert graph["nodes"] == [
        {"node_id": "inner/one", "kind": "task", "task": "graphflows:one"},
        {"node_id": "inner", "kind": "workflow", "task": "graphflows:inner"},
        {"node_id": "one", "kind": "task", "task": "graphflows:one"},
        {"node_id": "two", "kind": "task", "task": "graphflows:two"}]
    assert graph["edges"] == [{"source": "inner/one", "target": "inner"},
                              {"source": "inner", "target": "two"},
                              {"source": "one", "target": "two"}]
    missing = served.get("/api/v1/executions/nope/graph")
    assert missing.status_code == 404 and "no execution 'nope'" in missing.json()["error"]
