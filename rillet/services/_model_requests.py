"""Lineage from a served prediction, for the CLI and the API: the request (as the
serving process recorded it), the model version that answered it, and the walk from
that version's value up through the execution that trained it to the raw data. Reads
records only; never decodes a value."""

from __future__ import annotations

from typing import Any

from rillet.errors import NotFound

_COLS = ("id", "at", "name", "version", "route", "status", "latency_ms", "input_hash",
         "output_hash", "input_body", "output_body")
_SCOPED = (*_COLS, "project", "domain")  # a row and the scope of the model that answered
INSERT = (f"INSERT INTO model_requests ({', '.join(_SCOPED)}) "
          f"VALUES ({', '.join('?' * len(_SCOPED))})")


def record_requests(db: Any, rows: list[tuple[Any, ...]], scope: tuple[str, str]) -> int:
    """Write request rows (as ``rillet serve`` records them) of the models of ``scope``
    (project, domain) in one transaction. A row whose id is already recorded is kept as
    it was (a batch sent twice is one batch)."""
    if not rows:
        return 0
    ids = [r[0] for r in rows]
    with db.write() as c:
        marks = ", ".join("?" * len(ids))
        seen = {r[0] for r in c.execute(
            f"SELECT id FROM model_requests WHERE id IN ({marks})", ids).fetchall()}
        fresh = [r for r in dict((r[0], r) for r in rows).values() if r[0] not in seen]
        if fresh:
            c.executemany(INSERT, [(*r, *scope) for r in fresh])
    return len(fresh)


def request(db: Any, request_id: str) -> dict[str, Any]:
    """One recorded request (an id or a unique prefix of one)."""
    cols = ", ".join(_SCOPED)
    rows = db.read(f"SELECT {cols} FROM model_requests WHERE id = ?", (request_id,))
    if not rows and request_id:
        rows = db.read(f"SELECT {cols} FROM model_requests WHERE id >= ? AND id < ? "
                       "ORDER BY id LIMIT 2", (request_id, request_id + "\U0010ffff"))
    if not rows:
        raise NotFound(f"no served request {request_id!r} (requests are recorded by "
                       "`rillet serve`, within 0.1 s of their answer)")
    if len(rows) > 1:
        raise NotFound(f"request prefix {request_id!r} is ambiguous")
    return dict(zip(_SCOPED, rows[0], strict=True))


def request_lineage(registry: Any, request_id: str) -> dict[str, Any]:
    """The request, its model version (with the execution and node that trained it) and
    the upstream tree of the version's value, within that execution."""
    from rillet.engine._lineage import walk

    found = request(registry.db, request_id)
    registry = registry.within(found["project"], found["domain"])
    mv = registry.version(found["name"], found["version"])
    tree = walk(registry.store, [mv.hash], upstream=True, within=mv.execution_id)
    return {"request": found, "model_version": mv.to_json(), "artifacts": tree}
