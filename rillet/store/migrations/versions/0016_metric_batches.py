"""Metric points in batches (issue 17: 10,000 ``log_metric`` calls add <= 20 ms): one
``metric_batches`` row per attempt's points, packed, instead of one ``metrics`` row per
point. Existing points are packed into batches (consecutive rows of one attempt, in
their order) and ``metrics`` is dropped.

The packing is written out here, not imported, so that this revision keeps meaning
what it meant (``rillet/store/_metricpack.py`` is the same format).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

import json
import math
import sys
from array import array
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NODE = ["node_executions.execution_id", "node_executions.node_id"]
_NAN = math.nan


def _pack(rows: list[Any]) -> tuple[str, int, bytes]:
    """Five columns of little-endian float64: key index, value, step, timestamp, map
    index (NaN: absent)."""
    keys: dict[str, int] = {}
    columns: list[list[float]] = [[], [], [], [], []]
    for _, _, _, key, value, step, at, element in rows:
        for column, v in zip(columns, (keys.setdefault(key, len(keys)), value,
                                       _NAN if step is None else step, at,
                                       _NAN if element is None else element), strict=True):
            column.append(v)
    data = array("d", [v for column in columns for v in column])
    if sys.byteorder == "big":
        data.byteswap()
    return json.dumps(list(keys)), len(rows), data.tobytes()


def _unpack(keys: str, data: bytes) -> list[tuple[Any, ...]]:
    names = json.loads(keys)
    values = array("d")
    values.frombytes(bytes(data))
    if sys.byteorder == "big":
        values.byteswap()
    n = len(values) // 5
    k, v, s, t, m = (values[i * n:(i + 1) * n] for i in range(5))
    return [(names[int(a)], b, None if c != c else int(c), d, None if e != e else int(e))
            for a, b, c, d, e in zip(k, v, s, t, m, strict=True)]


def upgrade() -> None:
    op.create_table(
        "metric_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("metric_keys", sa.Text(), nullable=False),
        sa.Column("point_count", sa.Integer(), nullable=False),
        sa.Column("points", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["execution_id", "node_id"], _NODE,
                                name=op.f("fk_metric_batches_node_executions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_batches")),
    )
    op.create_index(op.f("ix_metric_batches_execution_id_node_id"), "metric_batches",
                    ["execution_id", "node_id"], unique=False)
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        'SELECT execution_id, node_id, attempt, "key", value, step, "timestamp", map_index '
        "FROM metrics ORDER BY id")).fetchall()
    batches: list[dict[str, Any]] = []
    run: list[Any] = []
    for row in [*rows, None]:
        if run and (row is None or tuple(row[:3]) != tuple(run[0][:3])):
            keys, count, data = _pack(run)
            batches.append({"e": run[0][0], "n": run[0][1], "a": run[0][2], "k": keys,
                            "c": count, "p": data})
            run = []
        if row is not None:
            run.append(tuple(row))
    if batches:
        bind.execute(sa.text(
            "INSERT INTO metric_batches (execution_id, node_id, attempt, metric_keys, "
            "point_count, points) VALUES (:e, :n, :a, :k, :c, :p)"), batches)
    op.drop_index(op.f("ix_metrics_execution_id_node_id"), table_name="metrics")
    op.drop_table("metrics")


def downgrade() -> None:
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("execution_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["execution_id", "node_id"], _NODE,
                                name=op.f("fk_metrics_node_executions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics")),
    )
    op.create_index(op.f("ix_metrics_execution_id_node_id"), "metrics",
                    ["execution_id", "node_id"], unique=False)
    bind = op.get_bind()
    points = [
        {"e": e, "n": n, "a": a, "k": p[0], "v": p[1], "s": p[2], "t": p[3], "m": p[4]}
        for e, n, a, keys, data in bind.execute(sa.text(
            "SELECT execution_id, node_id, attempt, metric_keys, points FROM metric_batches "
            "ORDER BY id")).fetchall()
        for p in _unpack(keys, data)]
    if points:
        bind.execute(sa.text(
            'INSERT INTO metrics (execution_id, node_id, attempt, "key", value, step, '
            '"timestamp", map_index) VALUES (:e, :n, :a, :k, :v, :s, :t, :m)'), points)
    op.drop_index(op.f("ix_metric_batches_execution_id_node_id"), table_name="metric_batches")
    op.drop_table("metric_batches")
