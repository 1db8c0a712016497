"""The model registry (issue 17, point 2): versions numbered per name and immutable,
pointing at stored values (no copy); aliases that move with every move in the history;
one-line errors; prune keeps what a model version uses; the CLI over the same."""

from __future__ import annotations

import json
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from modelkit import train

from rillet import models
from rillet.errors import DefinitionError, NotFound, StoreError


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def load(ref: str, home: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return models.load(ref, home=str(home))


def test_versions_number_per_name_and_point_at_the_stored_value(wf_models: Any,
                                                                home: Path) -> None:
    a, b = train(wf_models, home, 2.0), train(wf_models, home, 3.0)
    assert models.register("churn", execution=a.id, node="train", home=str(home)) == 1
    assert models.register("churn", execution=b.id, node="train", alias="challenger",
                           home=str(home)) == 2
    assert models.register("other", execution=a.id, node="train", home=str(home)) == 1
    found = models.versions("churn", home=str(home))
    assert [v.version for v in found] == [1, 2]
    v1, v2 = found
    # The registry points at the execution's own output: same hash, no copy.
    assert v1.hash == a.record.outputs["o0"] and v2.hash == b.record.outputs["o0"]
    assert (v1.execution_id, v1.node_id, v1.output) == (a.id, "train", "o0")
    assert v1.task.endswith(":train") and v1.workflow.endswith(":training")
    assert set(v1.inputs) == {"n", "scale"} and v1.inputs == a.record.inputs
    assert v2.aliases == ("challenger",) and v1.aliases == ()
    db = sqlite3.connect(home / "rillet.db")
    assert db.execute("SELECT count(*) FROM artifacts WHERE hash = ?",
                      (v1.hash,)).fetchone() == (1,)
    assert load("churn/1", home).scale == 2.0
    assert load("churn", home).scale == 3.0  # the latest
    assert load("churn@challenger", home).scale == 3.0


def test_a_version_whose_value_is_a_json_scalar_loads_as_that_scalar(wf_models: Any,
                                                                     home: Path) -> None:
    """int, float, str and bool outputs are stored as plain JSON; loading them as a
    model must give the value back (they were decoded as a tagged ``Any`` and failed)."""
    import rillet

    ex = rillet.run(wf_models.scalars, home=str(home), executor="inline", n=4)
    assert ex.status == "SUCCEEDED", ex.error
    expected = {"best_depth": 6, "threshold": 0.5, "label": "model-4", "calibrated": True}
    for node, value in expected.items():
        assert models.register(node, execution=ex.id, node=node, alias="production",
                               home=str(home)) == 1
        loaded = load(f"{node}@production", home)
        assert loaded == value and type(loaded) is type(value), (node, loaded)
    assert load("calibrated/1", home) is True


def test_a_dataclass_model_loads_in_a_fresh_process(wf_models: Any, home: Path,
                                                    tmp_path: Path) -> None:
    """A dataclass is stored as JSON: only its class decodes it. A process that has not
    imported the training file loads that file (the execution's source) and decodes."""
    import subprocess
    import sys

    import rillet

    ex = rillet.run(wf_models.line, home=str(home), executor="inline", slope=3.0)
    assert ex.status == "SUCCEEDED", ex.error
    models.register("line", execution=ex.id, node="fit_line", home=str(home))
    assert load("line/1", home).predict([2.0]) == [7.0]
    code = ("from rillet import models\n"
            f"m = models.load('line/1', home={str(home)!r})\n"
            "print(type(m).__name__, m.predict([2.0]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Line [7.0]"


def test_aliases_move_and_every_move_is_in_the_history(wf_models: Any, home: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = train(wf_models, home, 2.0), train(wf_models, home, 5.0)
    monkeypatch.setenv("RILLET_USER", "alice")
    models.register("churn", execution=a.id, node="train", alias="production", home=str(home))
    models.register("churn", execution=b.id, node="train", home=str(home))
    t0 = time.time()
    monkeypatch.setenv("RILLET_USER", "bob")
    assert models.set_alias("churn", "production", version=2, home=str(home)) == 1
    assert load("churn@production", home).scale == 5.0
    assert models.set_alias("churn", "production", version=1, home=str(home)) == 2  # rollback
    assert load("churn@production", home).scale == 2.0
    events = models.history("churn", home=str(home))
    assert [(e.event, e.alias, e.version, e.previous, e.who) for e in events] == [
        ("register", None, 1, None, "alice"),
        ("alias", "production", 1, None, "alice"),
        ("register", None, 2, None, "alice"),
        ("alias", "production", 2, 1, "bob"),
        ("alias", "production", 1, 2, "bob"),
    ]
    assert events[-1].at >= t0 and events[0].detail["execution_id"] == a.id
    # Versions stay as registered: moving aliases changed none of them.
    assert [v.hash for v in models.versions("churn", home=str(home))] == [
        a.record.outputs["o0"], b.record.outputs["o0"]]


def test_bad_references_are_one_line_errors(wf_models: Any, home: Path) -> None:
    a = train(wf_models, home, 2.0)
    models.register("churn", execution=a.id, node="train", home=str(home))
    cases = [
        (lambda: models.set_alias("churn", "prod", version=7, home=str(home)), NotFound,
         "model 'churn' has no version 7 (versions: 1)"),
        (lambda: models.register("churn", execution=a.id, node="nope", home=str(home)),
         NotFound, "has no node 'nope' (nodes: load_data, train)"),
        (lambda: models.register("churn", execution=a.id, node="train", output="o9",
                                 home=str(home)), NotFound, "has no output 'o9' (outputs: o0)"),
        (lambda: models.register("churn", execution="zzzz", node="train", home=str(home)),
         NotFound, "no execution 'zzzz'"),
        (lambda: models.load("churn@production", home=str(home)), NotFound,
         "model 'churn' has no alias 'production' (aliases: none)"),
        (lambda: models.load("nope/1", home=str(home)), NotFound, "no model named 'nope'"),
        (lambda: models.set_alias("churn", "3", version=1, home=str(home)), DefinitionError,
         "an alias cannot be a number"),
        (lambda: models.load("churn/x", home=str(home)), DefinitionError, "churn/3"),
    ]
    for call, kind, text in cases:
        with pytest.raises(kind) as info:
            call()
        assert text in str(info.value) and "\n" not in str(info.value)
    # Nothing was written by the failed calls.
    assert [e.event for e in models.history("churn", home=str(home))] == ["register"]


def test_a_value_the_store_does_not_hold_is_not_registered(wf_models: Any, home: Path) -> None:
    a = train(wf_models, home, 2.0)
    digest = a.record.outputs["o0"]
    db = sqlite3.connect(home / "rillet.db")
    with db:
        db.execute("UPDATE artifacts SET purged = 1 WHERE hash = ?", (digest,))
    with pytest.raises(StoreError, match="was pruned; nothing was registered"):
        models.register("churn", execution=a.id, node="train", home=str(home))
    with db:
        db.execute("DELETE FROM artifacts WHERE hash = ?", (digest,))
    with pytest.raises(NotFound, match="is not in the store; nothing was registered"):
        models.register("churn", execution=a.id, node="train", home=str(home))
    assert db.execute("SELECT count(*) FROM model_versions").fetchone() == (0,)


def test_prune_keeps_the_values_model_versions_use(wf_models: Any, home: Path, cli: Any) -> None:
    a, b = train(wf_models, home, 2.0), train(wf_models, home, 7.0)
    cli.home = home
    models.register("churn", execution=a.id, node="train", home=str(home))
    r = cli.ok("prune", "--older-than", "0s")
    assert "kept 1 stored values that registered model versions use" in r.err
    db = sqlite3.connect(home / "rillet.db")
    purged = dict(db.execute("SELECT hash, purged FROM artifacts").fetchall())
    assert purged[a.record.outputs["o0"]] == 0  # the model's value stays
    assert purged[b.record.outputs["o0"]] == 1  # the unregistered one went
    assert load("churn/1", home).scale == 2.0


def test_cli_models_list_show_register_alias(wf_models: Any, home: Path, cli: Any) -> None:
    cli.home = home
    a, b = train(wf_models, home, 2.0), train(wf_models, home, 3.0)
    assert cli.ok("models", "register", "churn", f"{a.id}:train").out.strip() == \
        "registered churn version 1"
    r = cli.ok("models", "register", "churn", f"{b.id}:train:o0", "--alias", "staging",
               "--json")
    assert r.json["version"] == 2 and r.json["aliases"] == ["staging"]
    assert cli.ok("models", "alias", "churn", "staging", "1").out.strip() == \
        "churn@staging -> 1 (was 2)"
    listed = cli.ok("models", "list", "--json").json
    assert listed == [{"name": "churn", "latest": 2, "versions": 2,
                       "aliases": {"staging": 1}, "updated_at": listed[0]["updated_at"]}]
    shown = cli.ok("models", "show", "churn", "--json").json
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert [(e["event"], e["version"]) for e in shown["history"]] == [
        ("register", 1), ("register", 2), ("alias", 2), ("alias", 1)]
    text = cli.ok("models", "show", "churn").out
    assert "staging -> 1 (was 2)" in text and f"{a.id}:train:o0" in text
    bad = cli("models", "alias", "churn", "staging", "9")
    assert bad.code == 2 and bad.err.strip() == \
        "error: model 'churn' has no version 9 (versions: 1, 2)"
    bad = cli("models", "register", "churn", "nocolon")
    assert bad.code == 2 and "expected EXEC_ID:NODE" in bad.err
    assert json.loads(cli.ok("models", "show", "churn", "--json").out)["history"][-1][
        "who"]


def test_models_belong_to_a_project_and_domain(wf_models: Any, home: Path, cli: Any) -> None:
    """A name is unique within a project and domain: ``default/staging`` numbers its own
    versions; a version comes only from an execution of the same project (``rillet run``
    executions are ``default/development``'s); every write is in the audit trail."""
    from rillet.errors import Conflict
    from rillet.platform._stores import open_stores
    from rillet.platform._teams import create_project

    a, b = train(wf_models, home, 2.0), train(wf_models, home, 3.0)
    h = str(home)
    assert models.register("churn", execution=a.id, node="train", alias="live", home=h) == 1
    assert models.register("churn", execution=b.id, node="train", alias="live", home=h,
                           domain="staging") == 1
    assert models.register("churn", execution=b.id, node="train", home=h) == 2
    assert load("churn@live", home).scale == 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert models.load("churn@live", home=h, domain="staging").scale == 3.0
    assert [v.version for v in models.versions("churn", home=h, domain="staging")] == [1]
    assert [(v.project, v.domain) for v in models.versions("churn", home=h)] == [
        ("default", "development")] * 2
    s = open_stores(h)
    try:
        create_project(s.store, "team")
    finally:
        s.close()
    db = sqlite3.connect(home / "rillet.db")
    before = db.execute("SELECT count(*) FROM model_versions").fetchone()
    with pytest.raises(Conflict) as info:
        models.register("churn", execution=a.id, node="train", home=h, project="team")
    assert str(info.value).startswith(f"execution {a.id} belongs to project 'default', "
                                      "not 'team'") and "\n" not in str(info.value)
    with pytest.raises(NotFound, match="rillet project create ghost"):
        models.register("churn", execution=a.id, node="train", home=h, project="ghost")
    with pytest.raises(DefinitionError, match="unknown domain 'prod'"):
        models.versions("churn", home=h, domain="prod")
    with pytest.raises(NotFound, match="no model named 'churn' in team/development"):
        models.versions("churn", home=h, project="team")
    assert db.execute("SELECT count(*) FROM model_versions").fetchone() == before
    audit = db.execute("SELECT project, domain, action, target FROM audit_log WHERE action "
                       "LIKE 'model.%' ORDER BY id").fetchall()
    assert audit == [("default", "development", "model.register", "churn/1"),
                     ("default", "development", "model.alias", "churn@live"),
                     ("default", "staging", "model.register", "churn/1"),
                     ("default", "staging", "model.alias", "churn@live"),
                     ("default", "development", "model.register", "churn/2")]
    # the CLI: --project/--domain pick the registry
    cli.home = home
    staged = cli.ok("models", "list", "--domain", "staging", "--json").json
    assert [(m["name"], m["latest"], m["aliases"]) for m in staged] == [
        ("churn", 1, {"live": 1})]
    assert cli.ok("models", "alias", "churn", "live", "1", "--domain", "staging").out.strip() \
        == "churn@live -> 1 (was 1)"
    assert cli.ok("models", "list", "--project", "team", "--json").json == []
    bad = cli("models", "register", "churn", f"{a.id}:train", "--project", "team")
    assert bad.code == 2 and "belongs to project 'default'" in bad.err
    bad = cli("models", "show", "churn", "--project", "team", "--domain", "production")
    assert bad.code == 2 and bad.err.strip() == (
        "error: no model named 'churn' in team/production (models: none; see `rillet models "
        "list --project team --domain production`)")


def test_models_of_a_home_from_before_projects_move_to_default_development(
        wf_models: Any, home: Path) -> None:
    """Revision 0015 on a home written at 0014: its versions, aliases and history are
    ``default/development``'s, and the registry reads and moves them as before."""
    from alembic import command
    from sqlalchemy import create_engine

    from rillet.store._ddl import HEAD
    from rillet.store._migrate import alembic_config

    a = train(wf_models, home, 2.0)
    engine = create_engine(f"sqlite:///{home / 'rillet.db'}")
    with engine.begin() as conn:
        command.downgrade(alembic_config(connection=conn), "0014")
    engine.dispose()
    db = sqlite3.connect(home / "rillet.db")
    digest = a.record.outputs["o0"]
    db.execute("INSERT INTO model_versions VALUES ('old', 1, ?, 'train', 'o0', ?, 1.0, 'me')",
               (a.id, digest))
    db.execute("INSERT INTO model_aliases VALUES ('old', 'live', 1, 1.0, 'me')")
    db.execute("INSERT INTO model_history (name, event, alias, version, previous, detail, at, "
               "who) VALUES ('old', 'register', NULL, 1, NULL, '{}', 1.0, 'me')")
    db.commit()
    db.close()
    marker = home / "home.json"
    marker.write_text(marker.read_text().replace(f'"{HEAD}"', '"0014"'))
    assert [v.version for v in models.versions("old", home=str(home))] == [1]  # upgraded
    assert load("old@live", home).scale == 2.0
    assert models.register("old", execution=a.id, node="train", home=str(home)) == 2
    assert [(e.event, e.project, e.domain) for e in models.history("old", home=str(home))] == [
        ("register", "default", "development"), ("register", "default", "development")]
    db = sqlite3.connect(home / "rillet.db")
    assert db.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)
    assert db.execute("SELECT project, domain, count(*) FROM model_versions GROUP BY 1, 2"
                      ).fetchall() == [("default", "development", 2)]
