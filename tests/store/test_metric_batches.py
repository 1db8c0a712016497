"""Metric points are stored one packed row per attempt (revision 0016, issue 17's
``log_metric`` target): the packing keeps every field and the order; a home written
before (one ``metrics`` row per point) keeps its points through the upgrade, and the
downgrade gives them back."""

from __future__ import annotations

import math
import sqlite3
import warnings
from pathlib import Path

from alembic import command
from clikit import WORKFLOWS
from sqlalchemy import create_engine

from rillet.engine._records import Batch
from rillet.store import Home
from rillet.store._metricpack import pack, unpack
from rillet.store._migrate import alembic_config, upgrade


def test_packing_keeps_every_field_and_the_order() -> None:
    points = [("loss", 0.5, 0, 1.5, None), ("acc", 1.0, None, 2.5, None),
              ("loss", math.inf, 2**40, 3.5, 7), ("loss", -0.0, -3, 4.5, 0),
              ("acc", -math.inf, None, 5.5)]  # a point without its map index
    keys, count, data = pack(points)
    assert keys == '["loss", "acc"]' and count == 5 and len(data) == 5 * 5 * 8
    assert unpack(keys, data) == [(*p, None)[:5] for p in points]
    assert pack([]) == ("[]", 0, b"")
    assert unpack("[]", b"") == []


def test_a_home_of_metric_rows_keeps_its_points_through_the_upgrade(tmp_path: Path) -> None:
    import rillet
    from rillet.engine._loading import load_file

    wf = load_file(str(WORKFLOWS / "wf_models.py"))
    home = tmp_path / "home"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ex = rillet.run(wf.training, home=str(home), executor="inline", n=3, scale=2.0)
    with Home.open(str(home)) as h:
        before = h.store.metrics(ex.id)
    assert [(m.key, m.step) for m in before] == [("loss", s) for s in range(5)] + [
        ("rows", None)]
    url = f"sqlite:///{home / 'rillet.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(connection=conn), "0015")
    engine.dispose()
    db = sqlite3.connect(home / "rillet.db")
    rows = db.execute('SELECT "key", value, step, map_index FROM metrics ORDER BY id').fetchall()
    db.close()
    assert rows == [(m.key, m.value, m.step, None) for m in before]  # one row per point
    upgrade(url)
    with Home.open(str(home)) as h:
        assert h.store.metrics(ex.id) == before
        # a second attempt's points are a second row, after the first
        h.store.apply(Batch(metric_points=[(ex.id, "train", 2, [("loss", 9.0, 0, 1.0)])]))
        again = h.store.metrics(ex.id)
    assert again[:-1] == before and (again[-1].attempt, again[-1].value) == (2, 9.0)
    db = sqlite3.connect(home / "rillet.db")
    assert db.execute("SELECT node_id, attempt, point_count FROM metric_batches ORDER BY id"
                      ).fetchall() == [("train", 1, 6), ("train", 2, 1)]
    db.close()


def test_postgresql_keeps_metrics_and_models_through_0015_and_0016(pg_url: str) -> None:
    """On PostgreSQL: points written as a batch come back the same after a downgrade to
    0014 (one ``metrics`` row per point; model rows without a scope) and an upgrade;
    the models written at 0014 land in ``default``/``development``."""
    from rillet.store import SqlMetadataStore
    from rillet.testing._store import execution, node

    points = [("loss", 0.5, 0, 1.0, None), ("acc", 0.9, None, 2.0, 3), ("loss", 0.25, 1, 3.0,
                                                                         None)]
    store = SqlMetadataStore(pg_url)
    try:
        store.apply(Batch(executions=[execution()], nodes=[node()],
                          metric_points=[("e1", "n0", 1, points)]))
        before = store.metrics("e1")
    finally:
        store.close()
    assert [(m.key, m.value, m.step, m.map_index) for m in before] == [
        (k, v, s, e) for k, v, s, _, e in points]
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(connection=conn), "0014")
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM metrics").scalar() == 3
        conn.exec_driver_sql(
            "INSERT INTO model_versions VALUES ('m', 1, 'e1', 'n0', 'o0', 'h', 1.0, 'me')")
    engine.dispose()
    upgrade(pg_url)
    store = SqlMetadataStore(pg_url)
    try:
        assert store.metrics("e1") == before
        db = store.database
        assert db.read("SELECT project, domain, name, version FROM model_versions") == [
            ("default", "development", "m", 1)]
        with db.write() as c:  # the same name and version in another project is another row
            c.execute("INSERT INTO model_versions (name, version, execution_id, node_id, "
                      "output, hash, created_at, created_by, project, domain) VALUES "
                      "('m', 1, 'e1', 'n0', 'o0', 'h', 1.0, 'me', 'team', 'development')")
        assert len(db.read("SELECT 1 FROM model_versions")) == 2
    finally:
        store.close()
