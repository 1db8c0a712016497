"""Experiments compared (issue 17, point 1): ``rillet compare`` puts inputs, params and
the last value of every metric side by side and marks differences; ``rillet metrics``
prints every series. Metrics come back with the attempt's result, in one batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelkit import train


def test_compare_marks_what_differs(wf_models: Any, tmp_path: Path, cli: Any) -> None:
    home = tmp_path / "home"
    cli.home = home
    a, b = train(wf_models, home, 2.0, n=4), train(wf_models, home, 4.0, n=4)
    c = train(wf_models, home, 2.0, n=6)
    found = cli.ok("compare", a.id, b.id, c.id, "--json").json
    assert [e["execution_id"] for e in found["executions"]] == [a.id, b.id, c.id]
    rows = {(r["kind"], r["name"]): (r["values"], r["differs"]) for r in found["rows"]}
    assert rows == {
        ("input", "n"): ([4, 4, 6], True),
        ("input", "scale"): ([2.0, 4.0, 2.0], True),
        ("param", "train.scale"): ([2.0, 4.0, 2.0], True),
        ("metric", "train.loss"): ([0.1, 0.05, 0.1], True),  # the last of five steps
        ("metric", "train.rows"): ([4.0, 4.0, 6.0], True),
    }
    same = cli.ok("compare", a.id, a.id, "--json").json
    assert not any(r["differs"] for r in same["rows"])
    text = cli.ok("compare", a.id, b.id).out.splitlines()
    marked = {line[1:].split()[1]: line.startswith("*") for line in text[1:]}
    assert marked == {"n": False, "scale": True, "train.scale": True, "train.loss": True,
                      "train.rows": False}
    bad = cli("compare", a.id)
    assert bad.code == 2 and "at least two" in bad.err
    bad = cli("compare", a.id, "nope")
    assert bad.code == 2 and "no execution 'nope'" in bad.err


def test_metrics_prints_every_series(wf_models: Any, tmp_path: Path, cli: Any) -> None:
    home = tmp_path / "home"
    cli.home = home
    a = train(wf_models, home, 2.0)
    found = cli.ok("metrics", a.id, "--json").json
    assert found["execution_id"] == a.id
    loss = found["metrics"]["train"]["loss"]
    assert [(p["step"], p["value"]) for p in loss] == [(s, 1.0 / (s + 1) / 2.0)
                                                        for s in range(5)]
    assert found["metrics"]["train"]["rows"][0]["step"] is None
    only = cli.ok("metrics", a.id, "--node", "load_data", "--json").json
    assert only["metrics"] == {}
    text = cli.ok("metrics", a.id, "--node", "train").out.splitlines()
    assert text[0].split() == ["NODE", "METRIC", "STEP", "VALUE"] and len(text) == 7
    bad = cli("metrics", a.id, "--node", "nope")
    assert bad.code == 2 and "has no node 'nope' (nodes: load_data, train)" in bad.err


def test_metrics_are_written_with_the_attempts_result_not_per_call(wf_models: Any,
                                                                   tmp_path: Path,
                                                                   cli: Any) -> None:
    import rillet

    home = tmp_path / "home"
    cli.home = home
    for executor in ("inline", "processes"):
        ex = rillet.run(wf_models.logging_probe, home=str(home), executor=executor, n=2000,
                        db=str(home / "rillet.db"))
        assert ex.status == "SUCCEEDED", ex.error
        assert ex.outputs["o0"] == 0  # nothing written while the task logged
        points = cli.ok("metrics", ex.id, "--json").json["metrics"]["log_then_count"]["x"]
        assert [p["step"] for p in points] == list(range(2000))
