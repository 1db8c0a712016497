"""``GET /api/v1/compare?ids=``: executions side by side for the compare page, in the
order asked, each metric as (steps, values) columns equal to the points the store
records (several keys, attempts, a point without a step), params by node; a prefix
accepted, an unknown id 404, no id or more than 200 a 400."""

from __future__ import annotations

import time

from serverkit import Served

from rillet.engine._records import (
    Batch,
    ExecutionRecord,
    ExecutionStatus,
    MetricRecord,
    NodeRecord,
    NodeStatus,
    ParamRecord,
)
from rillet.services._compare import columns


def _seed(served: Served) -> list[str]:
    store = served.app.state.instance.store
    now = time.time()
    ids = ["cmp1aaaaaaaaaaaa", "cmp2bbbbbbbbbbbb"]
    for i, eid in enumerate(ids):
        points = [("loss", 3.0 - s - i, s) for s in range(5)] + [("acc", 0.5, None)]
        metrics = [MetricRecord(execution_id=eid, node_id="fit", attempt=attempt, key=k,
                                value=v, step=s, timestamp=now)
                   for attempt in (1, 2) for k, v, s in points]
        store.apply(Batch(
            executions=[ExecutionRecord(
                id=eid, workflow="m:train", source="m.py", spec_hash="", inputs={},
                status=ExecutionStatus.SUCCEEDED, created_at=now, started_at=now,
                ended_at=now + 1)],
            nodes=[NodeRecord(execution_id=eid, node_id="fit", task="m:fit", kind="task",
                              status=NodeStatus.SUCCEEDED, attempts=2, inputs={}, outputs={},
                              started_at=now, ended_at=now + 1)],
            params=[ParamRecord(execution_id=eid, node_id="fit", attempt=2, key="lr",
                                value=0.1 * (i + 1))]))
        store.apply(Batch(metrics=metrics[:6]))  # two packed rows: the columns join them
        store.apply(Batch(metrics=metrics[6:]))
    return ids


def test_compare_answers_each_execution_with_metric_columns(served: Served) -> None:
    ids = _seed(served)
    store = served.app.state.instance.store
    got = served.get("/api/v1/compare", params={"ids": f"{ids[1]},{ids[0][:5]}"})
    assert got.status_code == 200, got.text
    answer = got.json()
    assert [e["execution_id"] for e in answer] == [ids[1], ids[0]]
    second = answer[0]
    assert second["status"] == "SUCCEEDED" and second["workflow"] == "m:train"
    assert second["params"] == {"fit": {"lr": 0.2}}
    loss = second["metrics"]["fit"]["loss"]
    assert loss == {"steps": [0, 1, 2, 3, 4] * 2, "values": [2.0, 1.0, 0.0, -1.0, -2.0] * 2}
    assert second["metrics"]["fit"]["acc"] == {"steps": [None, None], "values": [0.5, 0.5]}
    for e in answer:  # the packed rows read as the store's records say
        assert e["metrics"] == columns(store.metrics(e["execution_id"]))


def test_compare_refuses_an_unknown_id_and_a_bad_count(served: Served) -> None:
    ids = _seed(served)
    missing = served.get("/api/v1/compare", params={"ids": f"{ids[0]},nope"})
    assert missing.status_code == 404 and "nope" in missing.json()["error"], missing.text
    many = served.get("/api/v1/compare", params={"ids": ",".join([ids[0]] * 201)})
    assert many.status_code == 400 and "200" in many.json()["error"], many.text
    for bad in (",", ""):
        got = served.get("/api/v1/compare", params={"ids": bad})
        assert got.status_code in (400, 422) and "error" in got.json(), got.text
