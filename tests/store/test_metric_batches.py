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
