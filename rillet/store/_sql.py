"""``SqlMetadataStore``: the engine's records in SQL, on SQLite (stdlib driver)
or any SQLAlchemy URL.

Statements are plain SQL text built once at import from the record fields and
run as prepared statements by the driver (the ``sqlite3`` module caches them
per connection); no ORM, no per-call statement compilation. This module only
maps records to rows and back; connections live in ``_db``, the schema in
``_schema`` / ``_ddl``, and it never imports SQLAlchemy itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from rillet.engine._records import (
    ENDED,
    LEASE_TTL,
    ArtifactRecord,
    AttemptRecord,
    Batch,
    CacheEntry,
    Event,
    ExecutionRecord,
    ExecutionStatus,
    MapElementRecord,
    MetricRecord,
    NodeRecord,
    NodeStatus,
    ParamRecord,
    lease_holder,
    status_events,
)
from rillet.errors import AmbiguousId, ExecutionEnded, LeaseLost, NotFound, StoreError
from rillet.store._db import Database, open_database
from rillet.store._metricpack import columns, pack, unpack

_encode: Callable[[Any], str] = json.JSONEncoder(separators=(",", ":"),
                                                ensure_ascii=False).encode
_C_MAKE = getattr(json.encoder, "c_make_encoder", None)
_C_STR = getattr(json.encoder, "c_encode_basestring", None)


def _not_json(o: Any) -> Any:
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


if _C_MAKE is not None and _C_STR is not None:  # CPython: one C encoder for all records
    # (JSONEncoder.encode makes one per call: two thirds of the time for a record's small
    # dict). The same text; no check for circular values, which records never hold.
    _C_ENCODE = _C_MAKE(None, _not_json, _C_STR, None, ":", ",", False, False, True)

    def _encode_c(o: Any) -> str:
        return "".join(_C_ENCODE(o, 0))

    _encode = _encode_c
_decode = json.loads
_CHUNK = 500  # bound parameters per IN (...) query
_TOP = "\U0010ffff"  # sorts after every character: [p, p + _TOP) holds the ids starting with p


ENDED_VALUES = frozenset(s.value for s in ENDED)
# What revision 0019's triggers raise on PostgreSQL (``_schema.PG_ENDED_FENCE``) and
# ``_fence_running`` (in ``SqlMetadataStore.apply``) on SQLite.
ENDED_FENCE_MESSAGE = "rillet: execution ended"
_ENDED_IN = ", ".join(f"'{v}'" for v in sorted(ENDED_VALUES))
_ENDED_ONE = f"SELECT 1 FROM executions WHERE id = ? AND status IN ({_ENDED_IN})"
# ``request_abort`` NOTIFYs it on PostgreSQL with the execution's id (platform workers LISTEN).
ABORT_CHANNEL = "rillet_abort"
_SWEPT = frozenset(("ABORTED", "FAILED"))  # ends that end their unfinished rows too


def _dumps(d: dict[str, Any]) -> str:
    return _encode(d) if d else "{}"


def _loads(text: str) -> Any:
    return _decode(text) if text != "{}" else {}


def _q(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


# INSERT statement -> (its head up to VALUES, one row's marks, its tail, the indexes of
# its conflict key and of the columns an update keeps); see ``_values``.
_INSERTS: dict[str, tuple[str, str, str, tuple[int, ...], tuple[int, ...]]] = {}


def _insert(table: str, cols: tuple[str, ...], tail: str = "",
            key: tuple[str, ...] = (), keep: tuple[str, ...] = ()) -> str:
    head = f"INSERT INTO {table} ({_q(cols)}) VALUES "
    row = f"({', '.join('?' * len(cols))})"
    sql = head + row + tail
    _INSERTS[sql] = (head, row, tail, tuple(cols.index(c) for c in key),
                     tuple(cols.index(c) for c in keep))
    return sql


def _upsert(table: str, cols: tuple[str, ...], key: tuple[str, ...],
            keep: tuple[str, ...] = ()) -> str:
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in cols if c not in key + keep)
    return _insert(table, cols, f" ON CONFLICT ({_q(key)}) DO UPDATE SET {sets}", key, keep)


EXEC_COLS = (
    "id", "workflow", "source", "spec_hash", "status", "inputs", "outputs", "error",
    "parent_id", "executor", "created_at", "started_at", "ended_at", "owner_host",
    "owner_pid", "owner_started", "heartbeat_at", "checkpoint_scope", "name", "tags",
    "lease_owner", "lease_expires_at", "abort_requested_at",
)
NODE_COLS = (
    "execution_id", "node_id", "task", "kind", "status", "attempts", "inputs", "outputs",
    "cache_key", "code_hash", "source_execution", "source_node", "started_at", "ended_at",
    "error",
)
ATTEMPT_COLS = (
    "execution_id", "node_id", "attempt", "status", "executor", "started_at", "ended_at",
    "error_type", "error_message", "traceback", "logs", "pid",
)
ARTIFACT_COLS = ("hash", "format", "type", "size", "uri", "inline", "created_at", "purged",
                 "tag")
CACHE_COLS = (
    "key", "task", "cache_version", "code_parts", "input_hashes", "outputs", "execution_id",
    "node_id", "created_at", "last_used_at",
)
PARAM_COLS = ("execution_id", "node_id", "attempt", "key", "value")
ELEMENT_COLS = ("execution_id", "node_id", "attempt", "map_index", "status", "error_type",
                "error_message", "traceback", "logs", "output")

# An upsert never clears an abort request (``request_abort`` sets it); the lease columns
# follow the record's writer, whose heartbeat renews them, but only a writer that may
# (``SqlMetadataStore._fence``: the lease is its own, unowned or lapsed) gets to write:
# ``acquire_lease`` (or a worker's claim) is the way to take a live one over.
UPSERT_EXECUTION = _upsert("executions", EXEC_COLS, ("id",), keep=("abort_requested_at",))
# A record of an execution this store has written already, with the same workflow and
# created_at: an UPDATE that leaves those two out, so that SQLite rewrites only the
# indexes holding a changed column (status) rather than all four of ``executions``.
_FIXED = ("id", "workflow", "created_at", "abort_requested_at")
_MOVING = tuple(c for c in EXEC_COLS if c not in _FIXED)
_SETS = ", ".join(f'"{c}" = ?' for c in _MOVING)
UPDATE_EXECUTION = f"UPDATE executions SET {_SETS} WHERE id = ?"
_MOVING_AT = tuple(EXEC_COLS.index(c) for c in _MOVING)
UPSERT_NODE = _upsert("node_executions", (*NODE_COLS, "seq"), ("execution_id", "node_id"),
                      keep=("seq",))
UPSERT_ATTEMPT = _upsert("attempts", ATTEMPT_COLS, ("execution_id", "node_id", "attempt"))
UPSERT_ARTIFACT = _upsert("artifacts", ARTIFACT_COLS, ("hash",), keep=("created_at",))
UPSERT_CACHE = _upsert("cache_entries", CACHE_COLS, ("key",))
UPSERT_PARAM = _upsert("params", PARAM_COLS, ("execution_id", "node_id", "attempt", "key"))
UPSERT_ELEMENT = _upsert("map_elements", ELEMENT_COLS,
                         ("execution_id", "node_id", "attempt", "map_index"))
INSERT_SPEC = _insert("workflow_specs", ("hash", "spec", "created_at"),
                      " ON CONFLICT (hash) DO NOTHING")
INSERT_METRICS = _insert("metric_batches", ("execution_id", "node_id", "attempt",
                                            "metric_keys", "point_count", "points"))
EVENT_COLS = ("execution_id", "node_id", "kind", "status", "at", "data")
INSERT_EVENT = _insert("events", EVENT_COLS)
SELECT_EVENT = f"SELECT seq, {_q(EVENT_COLS)} FROM events"
_IO_KEY = "hash = ? AND direction = ? AND execution_id = ? AND node_id = ? AND name = ?"
DELETE_IO = f"DELETE FROM node_io WHERE {_IO_KEY}"
INSERT_IO = _insert("node_io", ("hash", "direction", "execution_id", "node_id", "name"))

# An execution's end ends its unfinished nodes and attempts (``_end_unfinished``):
# (node status for RUNNING, ended_at, error, execution id); QUEUED nodes -> ABORTED.
_UNFINISHED = "execution_id = ? AND status IN ('RUNNING', 'QUEUED')"
END_UNFINISHED_EVENTS = (
    "INSERT INTO events (execution_id, node_id, kind, status, at, data) "
    "SELECT execution_id, node_id, 'node', CASE WHEN status = 'RUNNING' THEN ? "
    f"ELSE 'ABORTED' END, ?, ? FROM node_executions WHERE {_UNFINISHED}")
END_UNFINISHED_NODES = (
    "UPDATE node_executions SET status = CASE WHEN status = 'RUNNING' THEN ? "
    f"ELSE 'ABORTED' END, ended_at = ?, error = COALESCE(error, ?) WHERE {_UNFINISHED}")
END_UNFINISHED_ATTEMPTS = (
    "UPDATE attempts SET status = ?, ended_at = ?, error_type = COALESCE(error_type, ?), "
    "error_message = COALESCE(error_message, ?) WHERE execution_id = ? AND status = 'RUNNING'")
END_UNFINISHED_PG = (  # the three as one statement
    f"WITH n AS ({END_UNFINISHED_NODES} RETURNING execution_id, node_id, status), "
    f"a AS ({END_UNFINISHED_ATTEMPTS} RETURNING 1) "
    "INSERT INTO events (execution_id, node_id, kind, status, at, data) "
    "SELECT execution_id, node_id, 'node', status, ?, ? FROM n")
SELECT_EXECUTION = f"SELECT {_q(EXEC_COLS)} FROM executions"
SELECT_NODE = f"SELECT {_q('n.' + c for c in NODE_COLS)} FROM node_executions n".replace(
    '"n.', 'n."')
SELECT_ATTEMPT = f"SELECT {_q(ATTEMPT_COLS)} FROM attempts"
SELECT_ARTIFACT = f"SELECT {_q(ARTIFACT_COLS)} FROM artifacts"
SELECT_CACHE = f"SELECT {_q(CACHE_COLS)} FROM cache_entries"
LINEAGE = (
    f"{SELECT_NODE} WHERE (n.execution_id, n.node_id) IN "
    "(SELECT execution_id, node_id FROM node_io WHERE hash = ? AND direction = ?) "
    "ORDER BY n.ended_at IS NULL, n.ended_at, n.seq, n.execution_id, n.node_id"
)


# -- records <-> rows -----------------------------------------------------------------

def _execution_row(e: ExecutionRecord) -> tuple[Any, ...]:
    return (
        e.id, e.workflow, e.source, e.spec_hash, str(e.status), _dumps(e.inputs),
        None if e.outputs is None else _dumps(e.outputs), e.error, e.parent_id, e.executor,
        e.created_at, e.started_at, e.ended_at, e.owner_host, e.owner_pid, e.owner_started,
        e.heartbeat_at, e.checkpoint_scope, e.name, tags_json(e.tags), e.lease_owner,
        e.lease_expires_at, e.abort_requested_at,
    )


def _execution(r: tuple[Any, ...]) -> ExecutionRecord:
    return ExecutionRecord(
        id=r[0], workflow=r[1], source=r[2], spec_hash=r[3], status=ExecutionStatus(r[4]),
        inputs=_loads(r[5]), outputs=None if r[6] is None else _loads(r[6]), error=r[7],
        parent_id=r[8], executor=r[9], created_at=r[10], started_at=r[11], ended_at=r[12],
        owner_host=r[13], owner_pid=r[14], owner_started=r[15], heartbeat_at=r[16],
        checkpoint_scope=r[17], name=r[18], tags=_loads(r[19]) if r[19] else {},
        lease_owner=r[20], lease_expires_at=r[21], abort_requested_at=r[22],
    )


def _node_row(n: NodeRecord, seq: int) -> tuple[Any, ...]:
    return (
        n.execution_id, n.node_id, n.task, n.kind, str(n.status), n.attempts,
        _dumps(n.inputs), _dumps(n.outputs), n.cache_key, n.code_hash, n.source_execution,
        n.source_node, n.started_at, n.ended_at, n.error, seq,
    )


def _node(r: tuple[Any, ...]) -> NodeRecord:
    return NodeRecord(
        execution_id=r[0], node_id=r[1], task=r[2], kind=r[3], status=NodeStatus(r[4]),
        attempts=r[5], inputs=_loads(r[6]), outputs=_loads(r[7]), cache_key=r[8],
        code_hash=r[9], source_execution=r[10], source_node=r[11], started_at=r[12],
        ended_at=r[13], error=r[14],
    )


def _attempt_row(a: AttemptRecord) -> tuple[Any, ...]:
    return (
        a.execution_id, a.node_id, a.attempt, str(a.status), a.executor, a.started_at,
        a.ended_at, a.error_type, a.error_message, a.traceback, a.logs, a.pid,
    )


def _attempt(r: tuple[Any, ...]) -> AttemptRecord:
    return AttemptRecord(
        execution_id=r[0], node_id=r[1], attempt=r[2], status=NodeStatus(r[3]),
        executor=r[4], started_at=r[5], ended_at=r[6], error_type=r[7], error_message=r[8],
        traceback=r[9], logs=r[10], pid=r[11],
    )


def _artifact_row(a: ArtifactRecord) -> tuple[Any, ...]:
    return (a.hash, a.format, _dumps(a.type), a.size, a.uri, a.inline, a.created_at,
            bool(a.purged), a.tag)


def _artifact(r: tuple[Any, ...]) -> ArtifactRecord:
    return ArtifactRecord(hash=r[0], format=r[1], type=_loads(r[2]), size=r[3], uri=r[4],
                          inline=r[5], created_at=r[6], purged=bool(r[7]), tag=r[8])


def _cache_row(c: CacheEntry) -> tuple[Any, ...]:
    return (c.key, c.task, c.cache_version, _dumps(c.code_parts), _dumps(c.input_hashes),
            _dumps(c.outputs), c.execution_id, c.node_id, c.created_at, c.last_used_at)


def _cache(r: tuple[Any, ...], parts: dict[str, Any] | None = None) -> CacheEntry:
    # Entries of one task version share their code parts: decode that text once.
    if parts is not None:
        code_parts = parts.get(r[3])
        if code_parts is None:
            code_parts = parts[r[3]] = _loads(r[3])
    else:
        code_parts = _loads(r[3])
    return CacheEntry(key=r[0], task=r[1], cache_version=r[2], code_parts=code_parts,
                      input_hashes=_loads(r[4]), outputs=_loads(r[5]), execution_id=r[6],
                      node_id=r[7], created_at=r[8], last_used_at=r[9])


def tags_json(tags: dict[str, str]) -> str | None:
    """Tags as canonical JSON (sorted, ASCII), so that ``"k":"v"`` finds a pair by LIKE."""
    if not tags:
        return None
    return json.dumps(tags, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def execution_filter(workflow: str | None = None, status: str | None = None,
                     since: float | None = None, name: str | None = None,
                     tags: dict[str, str] | None = None, project: str | None = None,
                     domain: str | None = None) -> tuple[str, list[Any]]:
    """The WHERE clause (or '') and its parameters for :meth:`list_executions`."""
    where: list[str] = []
    params: list[Any] = []
    if project:
        where.append("project = ?")
        params.append(project)
    if domain:
        where.append("domain = ?")
        params.append(domain)
    if workflow:
        if ":" in workflow:
            where.append("workflow = ?")
            params.append(workflow)
        else:  # a workflow's own name, as a user types it
            where.append("(workflow = ? OR workflow LIKE ? ESCAPE '\\')")
            params += [workflow, "%:" + _like(workflow)]
    if status:
        where.append("status = ?")
        params.append(status.upper())
    if since is not None:
        where.append("created_at >= ?")
        params.append(since)
    if name:
        where.append("name = ?")
        params.append(name)
    for key, value in sorted((tags or {}).items()):
        pair = json.dumps({key: value}, separators=(",", ":"), ensure_ascii=True)[1:-1]
        where.append("tags LIKE ? ESCAPE '\\'")
        params.append("%" + _like(pair) + "%")
    return (" WHERE " + " AND ".join(where)) if where else "", params


def param_json(value: Any) -> str:
    """A param's value as JSON; what JSON cannot hold is kept as its ``str``."""
    return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)


_REUSED = frozenset({str(NodeStatus.CACHED), str(NodeStatus.RECOVERED)})


def _io(status: str, inputs: dict[str, str], outputs: dict[str, str]
        ) -> dict[tuple[str, str], str]:
    """A node's lineage rows. A CACHED or RECOVERED node computed nothing, so it did not
    use its inputs: it has its 'out' rows only (the node that made the value has the
    'in' rows), which also spares the hash-keyed table half of a cached re-run's
    scattered inserts."""
    if status in _REUSED:
        return {("out", k): v for k, v in outputs.items()}
    rows = {("in", k): v for k, v in inputs.items()}
    for k, v in outputs.items():
        rows["out", k] = v
    return rows


def _last(nodes: list[NodeRecord]) -> dict[tuple[str, str], NodeRecord]:
    """The last record of each node in ``nodes`` (a batch may hold several)."""
    last: dict[tuple[str, str], NodeRecord] = {}
    for n in nodes:
        last[(n.execution_id, n.node_id)] = n
    return last


def _write_io(c: Any, last: dict[tuple[str, str], NodeRecord],
              before: dict[tuple[str, str], dict[tuple[str, str], str]]
              ) -> dict[tuple[str, str], dict[tuple[str, str], str]]:
    """Make the lineage rows of each node match its last record, touching only rows
    that changed (a node going RUNNING -> SUCCEEDED only adds its outputs); return
    each node's rows as they now are."""
    now: dict[tuple[str, str], dict[tuple[str, str], str]] = {}
    doomed: list[tuple[str, ...]] = []
    added: list[tuple[str, ...]] = []
    for (eid, nid), n in last.items():
        want = now[(eid, nid)] = _io(str(n.status), n.inputs, n.outputs)
        have = before.get((eid, nid), {})
        if have == want:
            continue
        for (d, k), v in have.items():
            if want.get((d, k)) != v:
                doomed.append((v, d, eid, nid, k))
        for (d, k), v in want.items():
            if have.get((d, k)) != v:
                added.append((v, d, eid, nid, k))
    if doomed:
        _many(c, DELETE_IO, doomed)
    if added:
        _many(c, INSERT_IO, added)
    return now


def _ask_stored_io(c: Any, keys: Iterable[tuple[str, str]]) -> list[Any]:
    """Ask for the io of these nodes as stored now (from their own inputs/outputs
    columns), one query per execution and chunk of node ids; :func:`_stored_io` reads
    the answers (asked first, on PostgreSQL they travel with the batch's other reads)."""
    by_execution: dict[str, list[str]] = {}
    for eid, nid in keys:
        by_execution.setdefault(eid, []).append(nid)
    asked = []
    for eid, nids in by_execution.items():
        for chunk in _chunks(nids):
            marks = ", ".join("?" * len(chunk))
            asked.append((eid, c.execute(
                "SELECT node_id, status, inputs, outputs FROM node_executions "
                f"WHERE execution_id = ? AND node_id IN ({marks})", [eid, *chunk])))
    return asked


def _stored_io(asked: list[Any]) -> dict[tuple[str, str], dict[tuple[str, str], str]]:
    out: dict[tuple[str, str], dict[tuple[str, str], str]] = {}
    for eid, result in asked:
        for nid, status, inputs, outputs in result.fetchall():
            if inputs != "{}" or outputs != "{}":
                out[(eid, nid)] = _io(status, _loads(inputs), _loads(outputs))
    return out


def _fence_running(c: Any, batch: Batch, stored: dict[str, str],
                   new: list[ExecutionRecord]) -> None:
    """SQLite's ended fence (PostgreSQL's is revision 0019's triggers): a batch with a
    RUNNING node or attempt row under an ended execution is refused, judged by the
    status stored before the batch (read in the batch's write transaction, which keeps
    every other writer out; ``stored``: the batch's own executions, read already) or,
    for an execution the batch creates, by its own record."""
    running = NodeStatus.RUNNING
    ids = {n.execution_id for n in batch.nodes if n.status is running}
    ids.update(a.execution_id for a in batch.attempts if a.status is running)
    if not ids:
        return
    if stored or new:
        before = {e.id: str(e.status) for e in new}
        before.update(stored)
        if any(before.get(i) in ENDED_VALUES for i in ids):
            raise StoreError(ENDED_FENCE_MESSAGE)
        ids = {i for i in ids if i not in before}
    if len(ids) == 1:  # an engine's batch: one execution
        if c.execute(_ENDED_ONE, tuple(ids)).fetchone():
            raise StoreError(ENDED_FENCE_MESSAGE)
        return
    for chunk in _chunks(list(ids)):
        marks = ", ".join("?" * len(chunk))
        if c.execute(f"SELECT 1 FROM executions WHERE id IN ({marks}) "
                     f"AND status IN ({_ENDED_IN}) LIMIT 1", chunk).fetchone():
            raise StoreError(ENDED_FENCE_MESSAGE)


class SqlMetadataStore:
    """The engine's ``MetadataStore`` on SQL.

    ``url`` is ``sqlite:///PATH`` (stdlib ``sqlite3``, the fast path of the embedded
    home) or any SQLAlchemy URL. An empty database gets the head schema; an older
    rillet schema is upgraded with Alembic; a foreign or newer one is refused.
    """

    def __init__(self, url: str) -> None:
        from rillet.store._migrate import ensure_schema

        db = open_database(url)
        try:
            ensure_schema(db, url)
        except BaseException:
            db.close()
            raise
        self._attach(db)
        self.url = url

    def _attach(self, db: Database) -> None:
        self._db: Database = db
        self.url = db.url
        self.supports_listen = db.url.startswith("postgresql")
        self._sqlite = db.url.startswith("sqlite")
        self._io_seen: dict[tuple[str, str], dict[tuple[str, str], str]] = {}
        self._wrote: dict[str, tuple[str, float]] = {}

    @property
    def database(self) -> Database:
        """The connection the store runs its SQL on (for ``_prune``'s set queries)."""
        return self._db

    @classmethod
    def from_database(cls, db: Database) -> SqlMetadataStore:
        """Wrap a database whose schema is already at head (as ``Home`` checks it)."""
        store = cls.__new__(cls)
        store._attach(db)
        return store

    # -- writes ------------------------------------------------------------------------
    def apply(self, batch: Batch, *, also: Callable[[Any], None] | None = None) -> None:
        """Write ``batch`` in one transaction: executemany upserts, table by table;
        ``also(cursor)`` then writes a caller's own rows in the same transaction (a
        study's trial with its execution's records, ``rillet.tuning``).

        The records of executions already stored are written after the batch's node and
        attempt rows: those are judged (revision 0019's triggers on PostgreSQL, a read in
        the same transaction on SQLite: no row goes RUNNING under an ended execution,
        ``ExecutionEnded``) by the status before the batch. A
        record that ends an execution ABORTED or FAILED also ends, in the same
        transaction, the rows of its nodes and attempts still QUEUED or RUNNING (with
        their events): nothing stays RUNNING under an ended execution."""
        try:
            self._apply(batch, also)
        except StoreError as exc:
            if ENDED_FENCE_MESSAGE not in str(exc):
                raise
            raise self._ended_refusal(batch) from None

    def _apply(self, batch: Batch, also: Callable[[Any], None] | None) -> None:
        io: dict[tuple[str, str], dict[tuple[str, str], str]] = {}
        wrote: dict[str, tuple[str, float]] = {}
        with self._db.write() as c:
            # The reads first, all asked before any is read (on PostgreSQL: one round
            # trip for them, one for the writes and the commit).
            fence = self._ask_fence(c, batch.executions) if batch.executions else []
            last = _last(batch.nodes) if batch.nodes else {}
            seen = self._io_seen
            asked_io = _ask_stored_io(c, [k for k in last if k not in seen]) if last else []
            stored: dict[str, str] = {}
            later: list[ExecutionRecord] = []
            new: list[ExecutionRecord] = []
            if batch.executions:
                self._fence(fence, batch.executions, stored)
                new = [e for e in batch.executions if e.id not in stored]
                later = [e for e in batch.executions if e.id in stored]
            if self._sqlite and (batch.nodes or batch.attempts):
                _fence_running(c, batch, stored, new)
            if new:  # before their nodes (the foreign keys)
                wrote = self._write_executions(c, new, stored)
            if batch.specs:
                at = time.time()
                # written every time (a conflict is a key lookup): a spec this store
                # wrote before may have been pruned since by another process, once no
                # execution named it
                _many(c, INSERT_SPEC, [(h, text, at) for h, text in dict(batch.specs).items()])
            if batch.artifacts:
                _many(c, UPSERT_ARTIFACT, [_artifact_row(a) for a in batch.artifacts])
            if batch.nodes:
                before = _stored_io(asked_io)
                before.update({k: seen[k] for k in last if k in seen})
                seq = time.time_ns()
                _many(c, UPSERT_NODE,
                      [_node_row(n, seq + i) for i, n in enumerate(batch.nodes)])
                io = _write_io(c, last, before)
            if batch.attempts:
                _many(c, UPSERT_ATTEMPT, [_attempt_row(a) for a in batch.attempts])
            if later:  # judged by the status before the batch: after its nodes
                wrote.update(self._write_executions(c, later, stored))
            if batch.executions:
                self._end_unfinished(c, batch.executions, stored)
            if batch.cache_entries:
                _many(c, UPSERT_CACHE, [_cache_row(e) for e in batch.cache_entries])
            if batch.cache_hits:
                now = time.time()
                for chunk in _chunks(list(dict.fromkeys(batch.cache_hits))):
                    marks = ", ".join("?" * len(chunk))
                    c.execute(f'UPDATE cache_entries SET last_used_at = ? WHERE "key" IN ({marks})',
                              [now, *chunk])
            if batch.params:
                _many(c, UPSERT_PARAM, [
                    (p.execution_id, p.node_id, p.attempt, p.key, param_json(p.value))
                    for p in batch.params
                ])
            if batch.map_elements:
                _many(c, UPSERT_ELEMENT, [
                    (e.execution_id, e.node_id, e.attempt, e.map_index, str(e.status),
                     e.error_type, e.error_message, e.traceback, e.logs, e.output)
                    for e in batch.map_elements])
            if batch.metrics or batch.metric_points:
                _many(c, INSERT_METRICS, _metric_batches(batch))
            events = status_events(batch, time.time(), stored)
            if events:
                _many(c, INSERT_EVENT, [
                    (e.execution_id, e.node_id, e.kind, e.status, e.at, _dumps(e.data))
                    for e in events
                ])
            if also is not None:
                also(c)
        if wrote:  # committed: the next record of these may be an UPDATE
            if len(self._wrote) > 10_000:
                self._wrote.clear()
            self._wrote.update(wrote)
        if io:  # committed: remember the lineage rows, so the next batch need not read them
            if len(self._io_seen) > 100_000:
                self._io_seen.clear()
            self._io_seen.update(io)

    def _end_unfinished(self, c: Any, records: list[ExecutionRecord],
                        stored: dict[str, str]) -> None:
        """For each record that ends its execution ABORTED or FAILED (an abort, a reaper,
        a failure; a SUCCEEDED end is its engine's own, which has recorded every node:
        no statement on the hot path), stored not ended before: its nodes
        still QUEUED (-> ABORTED) or RUNNING (-> ABORTED; FAILED when the execution
        failed) and its RUNNING attempts end with it, each node with an event. Writes
        only (no round trip of its own on PostgreSQL: one statement there)."""
        ending = {e.id: e for e in records if e.status.value in _SWEPT
                  and stored.get(e.id) not in ENDED_VALUES}
        postgres = self.url.startswith("postgresql")
        for eid, e in ending.items():
            ran = "FAILED" if e.status is ExecutionStatus.FAILED else "ABORTED"
            why = e.error or f"the execution ended {e.status.value}"
            at = e.ended_at or time.time()
            args = (ran, at, why, eid)
            if postgres:
                c.execute(END_UNFINISHED_PG, (*args, ran, at, "Ended", why, eid, at,
                                              _dumps({"error": why})))
                continue
            c.execute(END_UNFINISHED_EVENTS, (ran, at, _dumps({"error": why}), eid))
            c.execute(END_UNFINISHED_NODES, args)
            c.execute(END_UNFINISHED_ATTEMPTS, (ran, at, "Ended", why, eid))

    def _ended_refusal(self, batch: Batch) -> ExecutionEnded:
        """The ``ExecutionEnded`` of a batch the ended fence refused (read after the
        rollback: which of its executions ended, and how)."""
        ids = list(dict.fromkeys([*(n.execution_id for n in batch.nodes
                                    if n.status is NodeStatus.RUNNING),
                                  *(a.execution_id for a in batch.attempts
                                    if a.status is NodeStatus.RUNNING)]))
        own = {e.id: e.status.value for e in batch.executions}
        for eid in ids:
            try:
                status = self.get_execution(eid).status.value
            except NotFound:  # a new one, judged by its own record
                status = own.get(eid, "")
            if status in ENDED_VALUES:
                return ExecutionEnded(eid, status, "RUNNING")
        return ExecutionEnded(ids[0] if ids else "?", "ended", "RUNNING")

    def _write_executions(self, c: Any, records: list[ExecutionRecord],
                          stored: dict[str, str]) -> dict[str, tuple[str, float]]:
        """Write the last record of each execution in ``records`` (each is the whole
        state): an upsert, or the narrower UPDATE where this store wrote the row before
        (``stored``: it is there) with the same workflow and created_at. Returns what
        to remember once committed."""
        last = {e.id: e for e in records}
        wrote = self._wrote
        upserts, updates = [], []
        for eid, e in last.items():
            row = _execution_row(e)
            if eid in stored and wrote.get(eid) == (e.workflow, e.created_at):
                updates.append((*(row[i] for i in _MOVING_AT), eid))
            else:
                upserts.append(row)
        if upserts:
            _many(c, UPSERT_EXECUTION, upserts)
        if updates:
            _many(c, UPDATE_EXECUTION, updates)
        return {eid: (e.workflow, e.created_at) for eid, e in last.items()}

    def _ask_fence(self, c: Any, records: list[ExecutionRecord]) -> list[Any]:
        """Ask for the stored lease of each execution in ``records`` (on PostgreSQL
        locking its row until the commit, so that no lease is taken between the check
        and the upsert; SQLite's write transaction keeps every other writer out)."""
        lock = " FOR UPDATE" if self.url.startswith("postgresql") else ""
        asked = []
        for chunk in _chunks(list(dict.fromkeys(e.id for e in records))):
            marks = ", ".join("?" * len(chunk))
            asked.append(c.execute(
                "SELECT id, status, lease_owner, lease_expires_at FROM executions "
                f"WHERE id IN ({marks}){lock}", chunk))
        return asked

    def _fence(self, asked: list[Any], records: list[ExecutionRecord],
               stored: dict[str, str]) -> None:
        """The fence of a batch's execution records (see :meth:`_ask_fence`): a record
        that would change the status of an ended execution raises ``ExecutionEnded``; one
        whose writer does not hold a live lease that another owner holds raises
        ``LeaseLost``; the transaction rolls back and nothing of the batch is written.
        Fills ``stored`` (id -> status) for the events."""
        rows: dict[str, tuple[str, str, float | None]] = {}
        for result in asked:
            for eid, status, owner, expires in result.fetchall():
                rows[eid] = (status, owner, expires)
        now = time.time()
        for e in records:
            row = rows.get(e.id)
            if row is None:
                continue
            if row[0] in ENDED_VALUES and e.status.value != row[0]:
                raise ExecutionEnded(e.id, row[0], e.status.value)
            holder = lease_holder(row[1], row[2], e.lease_owner, now)
            if holder is not None:
                raise LeaseLost(e.id, e.lease_owner, holder)
        stored.update((eid, row[0]) for eid, row in rows.items())

    def heartbeat(self, execution_id: str, at: float, ttl: float = LEASE_TTL) -> None:
        """Record that the owner lives, and extend its lease to ``at + ttl``."""
        with self._db.write() as c:
            cursor = c.execute("UPDATE executions SET heartbeat_at = ?, lease_expires_at = ? "
                               "WHERE id = ?", (at, at + ttl, execution_id))
            if cursor.rowcount == 0:
                raise NotFound(f"no execution {execution_id!r} in {self.url}")

    def acquire_lease(self, execution_id: str, owner: str, ttl: float,
                      now: float | None = None) -> bool:
        """Take the lease of an execution that has no live owner (none, expired, or
        ``owner`` itself); True when ``owner`` holds it now. One of several takers wins."""
        now = time.time() if now is None else now
        with self._db.write() as c:
            cursor = c.execute(
                "UPDATE executions SET lease_owner = ?, lease_expires_at = ?, heartbeat_at = ? "
                "WHERE id = ? AND (lease_owner = '' OR lease_owner = ? "
                "OR lease_expires_at IS NULL OR lease_expires_at < ?)",
                (owner, now + ttl, now, execution_id, owner, now))
            return bool(cursor.rowcount == 1)

    def renew_lease(self, execution_id: str, owner: str, ttl: float,
                    now: float | None = None) -> bool:
        """Extend ``owner``'s lease (lapsed too, when nobody took it over); False when
        another owner holds it (or the execution is not there)."""
        now = time.time() if now is None else now
        with self._db.write() as c:
            cursor = c.execute(
                "UPDATE executions SET lease_expires_at = ?, heartbeat_at = ? "
                "WHERE id = ? AND lease_owner = ?", (now + ttl, now, execution_id, owner))
            return bool(cursor.rowcount == 1)

    def release_lease(self, execution_id: str, owner: str) -> None:
        """Give the lease up (when ``owner`` holds it): the execution has no owner."""
        with self._db.write() as c:
            c.execute("UPDATE executions SET lease_owner = '', lease_expires_at = NULL "
                      "WHERE id = ? AND lease_owner = ?", (execution_id, owner))

    def request_abort(self, execution_id: str, at: float) -> bool:
        """Ask the owner of an unfinished execution to abort it (an ``abort_requested``
        event); False when it had already ended."""
        with self._db.write() as c:
            cursor = c.execute(
                "UPDATE executions SET abort_requested_at = ? WHERE id = ? "
                "AND status IN ('QUEUED', 'RUNNING') AND abort_requested_at IS NULL",
                (at, execution_id))
            if cursor.rowcount != 1:
                return False
            c.execute(INSERT_EVENT, (execution_id, "", "abort_requested", "", at, "{}"))
            if self.supports_listen:  # its worker LISTENs: it stops the attempts at once
                c.execute(f"SELECT pg_notify('{ABORT_CHANNEL}', ?)", (execution_id,))
            return True

    def reserve(self, key: str, owner: str, stale_after: float) -> str | None:
        """Take the serialize lock of ``key``: '' when it was free, the previous owner
        when it was stale (or already ours), None when somebody else holds it."""
        now = time.time()
        # Race-free without table locks (PostgreSQL runs these in READ COMMITTED):
        # the insert takes a free lock atomically, and a stale one is taken over by a
        # compare-and-swap on (owner, taken_at) that only one of several takers wins.
        with self._db.write() as c:
            taken = c.execute('INSERT INTO cache_locks ("key", owner, taken_at) VALUES (?, ?, ?) '
                              'ON CONFLICT ("key") DO NOTHING', (key, owner, now))
            if taken.rowcount == 1:
                return ""
            row = c.execute('SELECT owner, taken_at FROM cache_locks WHERE "key" = ?',
                            (key,)).fetchone()
            if row is None:
                return None  # released just now: the next poll takes it
            previous, taken_at = row
            if previous != owner and now - taken_at < stale_after:
                return None
            swapped = c.execute('UPDATE cache_locks SET owner = ?, taken_at = ? '
                                'WHERE "key" = ? AND owner = ? AND taken_at = ?',
                                (owner, now, key, previous, taken_at))
            return str(previous) if swapped.rowcount == 1 else None

    def release(self, key: str, owner: str) -> None:
        with self._db.write() as c:
            c.execute('DELETE FROM cache_locks WHERE "key" = ? AND owner = ?', (key, owner))

    def cache_clear(self, task: str | None = None) -> int:
        with self._db.write() as c:
            if task is None:
                cursor = c.execute("DELETE FROM cache_entries")
            else:
                cursor = c.execute("DELETE FROM cache_entries WHERE task = ?", (task,))
            return int(cursor.rowcount)

    # -- reads -------------------------------------------------------------------------
    def workflow_spec(self, spec_hash: str) -> str | None:
        """The JSON IR recorded for ``spec_hash`` (None: none recorded)."""
        rows = self._db.read("SELECT spec FROM workflow_specs WHERE hash = ?", (spec_hash,))
        return str(rows[0][0]) if rows else None

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        read = self._db.read
        rows = read(f"{SELECT_EXECUTION} WHERE id = ?", (execution_id,))
        if not rows and execution_id:
            rows = read(f"{SELECT_EXECUTION} WHERE id >= ? AND id < ? ORDER BY id LIMIT 6",
                        (execution_id, execution_id + _TOP))
        if not rows:
            raise NotFound(f"no execution {execution_id!r} (see `rillet executions list`)")
        if len(rows) > 1:
            raise AmbiguousId(_ambiguous(execution_id, [r[0] for r in rows]))
        return _execution(rows[0])

    def list_executions(self, limit: int = 100, *, workflow: str | None = None,
                        status: str | None = None, since: float | None = None,
                        name: str | None = None, tags: dict[str, str] | None = None,
                        before: float | None = None, project: str | None = None,
                        domain: str | None = None) -> list[ExecutionRecord]:
        """Newest first, filtered; ``before`` (the ``created_at`` of the last row of the
        previous page) pages on."""
        where, params = execution_filter(workflow, status, since, name, tags, project, domain)
        if before is not None:
            where += " AND created_at < ?" if where else " WHERE created_at < ?"
            params.append(before)
        rows = self._db.read(
            f"{SELECT_EXECUTION}{where} ORDER BY created_at DESC, id DESC LIMIT ?",
            (*params, limit))
        return [_execution(r) for r in rows]

    def events(self, execution_id: str | None = None, after: int = 0,
               limit: int = 1000) -> list[Event]:
        """Events past the cursor ``after`` (of one execution, or all), oldest first."""
        if execution_id is None:
            rows = self._db.read(f"{SELECT_EVENT} WHERE seq > ? ORDER BY seq LIMIT ?",
                                 (after, limit))
        else:
            rows = self._db.read(
                f"{SELECT_EVENT} WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (execution_id, after, limit))
        return [Event(seq=r[0], execution_id=r[1], node_id=r[2], kind=r[3], status=r[4],
                      at=r[5], data=_loads(r[6])) for r in rows]

    def last_event(self) -> int:
        """The ``seq`` of the newest event (0 when none): where a live reader starts."""
        rows = self._db.read("SELECT MAX(seq) FROM events")
        return int(rows[0][0] or 0)

    def nodes(self, execution_id: str) -> list[NodeRecord]:
        rows = self._db.read(
            f"{SELECT_NODE} WHERE n.execution_id = ? ORDER BY n.seq, n.node_id",
            (execution_id,))
        return [_node(r) for r in rows]

    def attempts(self, execution_id: str, node_id: str | None = None) -> list[AttemptRecord]:
        if node_id is None:
            rows = self._db.read(
                f"{SELECT_ATTEMPT} WHERE execution_id = ? "
                "ORDER BY started_at, node_id, attempt", (execution_id,))
        else:
            rows = self._db.read(
                f"{SELECT_ATTEMPT} WHERE execution_id = ? AND node_id = ? ORDER BY attempt",
                (execution_id, node_id))
        return [_attempt(r) for r in rows]

    def params(self, execution_id: str) -> list[ParamRecord]:
        rows = self._db.read(
            f"SELECT {_q(PARAM_COLS)} FROM params WHERE execution_id = ? "
            'ORDER BY node_id, attempt, "key"', (execution_id,))
        return [ParamRecord(execution_id=r[0], node_id=r[1], attempt=r[2], key=r[3],
                            value=_decode(r[4])) for r in rows]

    def metrics(self, execution_id: str) -> list[MetricRecord]:
        rows = self._db.read(
            "SELECT node_id, attempt, metric_keys, points FROM metric_batches "
            "WHERE execution_id = ? ORDER BY id", (execution_id,))
        return [MetricRecord(execution_id=execution_id, node_id=node, attempt=attempt, key=k,
                             value=v, step=step, timestamp=at, map_index=element)
                for node, attempt, keys, data in rows
                for k, v, step, at, element in unpack(keys, data)]

    def metric_columns(self, execution_id: str
                       ) -> dict[str, dict[str, tuple[list[int | None], list[float]]]]:
        """Every metric of an execution as columns, ``{node: {key: (steps, values)}}`` in
        logging order (a step not given is None), every attempt's: what ``metrics`` holds,
        without a record per point (a chart of many long curves reads these)."""
        out: dict[str, dict[str, tuple[list[int | None], list[float]]]] = {}
        for node, keys, data in self._db.read(
                "SELECT node_id, metric_keys, points FROM metric_batches "
                "WHERE execution_id = ? ORDER BY id", (execution_id,)):
            mine = out.setdefault(node, {})
            for key, (steps, values) in columns(keys, data).items():
                got = mine.setdefault(key, ([], []))
                got[0].extend(steps)
                got[1].extend(values)
        return out

    def map_elements(self, execution_id: str) -> list[MapElementRecord]:
        rows = self._db.read(
            f"SELECT {_q(ELEMENT_COLS)} FROM map_elements WHERE execution_id = ? "
            "ORDER BY node_id, attempt, map_index", (execution_id,))
        return [MapElementRecord(execution_id=r[0], node_id=r[1], attempt=r[2], map_index=r[3],
                                 status=NodeStatus(r[4]), error_type=r[5], error_message=r[6],
                                 traceback=r[7], logs=r[8], output=r[9]) for r in rows]

    def artifacts(self, hashes: list[str]) -> dict[str, ArtifactRecord]:
        out: dict[str, ArtifactRecord] = {}
        for chunk in _chunks(list(dict.fromkeys(hashes))):
            marks = ", ".join("?" * len(chunk))
            for r in self._db.read(f"{SELECT_ARTIFACT} WHERE hash IN ({marks})", chunk):
                out[r[0]] = _artifact(r)
        return out

    def find_artifacts(self, hash_prefix: str) -> list[ArtifactRecord]:
        rows = self._db.read(f"{SELECT_ARTIFACT} WHERE hash >= ? AND hash < ? ORDER BY hash",
                             (hash_prefix, hash_prefix + _TOP))
        return [_artifact(r) for r in rows]

    def producers(self, artifact_hash: str) -> list[NodeRecord]:
        return [_node(r) for r in self._db.read(LINEAGE, (artifact_hash, "out"))]

    def consumers(self, artifact_hash: str) -> list[NodeRecord]:
        return [_node(r) for r in self._db.read(LINEAGE, (artifact_hash, "in"))]

    def cache_entries(self, tasks: list[str]) -> dict[str, CacheEntry]:
        out: dict[str, CacheEntry] = {}
        parts: dict[str, Any] = {}
        for chunk in _chunks(list(dict.fromkeys(tasks))):
            marks = ", ".join("?" * len(chunk))
            for r in self._db.read(f"{SELECT_CACHE} WHERE task IN ({marks})", chunk):
                out[r[0]] = _cache(r, parts)
        return out

    def cache_list(self, task: str | None = None) -> list[CacheEntry]:
        order = ' ORDER BY task, created_at, "key"'
        if task is None:
            rows = self._db.read(SELECT_CACHE + order)
        else:
            rows = self._db.read(f"{SELECT_CACHE} WHERE task = ?{order}", (task,))
        parts: dict[str, Any] = {}
        return [_cache(r, parts) for r in rows]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqlMetadataStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqlMetadataStore({self.url!r})"


def _metric_batches(batch: Batch) -> list[tuple[Any, ...]]:
    """One packed row per attempt's points (``metric_points``), and per execution, node
    and attempt of the records in ``metrics``, in their order."""
    out = [(eid, nid, attempt, *pack(points)) for eid, nid, attempt, points in
           batch.metric_points]
    runs: dict[tuple[str, str, int], list[tuple[Any, ...]]] = {}
    for m in batch.metrics:
        runs.setdefault((m.execution_id, m.node_id, m.attempt), []).append(
            (m.key, float(m.value), m.step, m.timestamp, m.map_index))
    out += [(*key, *pack(points)) for key, points in runs.items()]
    return out


_SENDS: dict[type, bool] = {}  # cursor type -> whether it has ``send`` (PostgreSQL's)


def _many(c: Any, sql: str, rows: list[Any]) -> None:
    sends = _SENDS.get(type(c))
    if sends is None:  # (a failed getattr per call would cost SQLite's path ~1 us)
        sends = _SENDS[type(c)] = callable(getattr(type(c), "send", None))
    if sends:  # PostgreSQL: a statement per power of two of rows
        _values(c.send, sql, rows)
    elif len(rows) == 1:
        c.execute(sql, rows[0])
    else:
        c.executemany(sql, rows)


_MAX_ROWS = 512  # rows per multi-row statement (x columns stays under PostgreSQL's 65535)
_TEXTS: dict[tuple[str, int], str] = {}


def _values(send: Callable[[str, Any], None], sql: str, rows: list[Any]) -> None:
    """``rows`` of an INSERT as multi-row ``VALUES`` statements whose results nobody
    reads (on PostgreSQL each statement costs ~0.15 ms of client code and executemany is
    one per row). Runs of 512, 256, ..., 2, 1 rows: a few statement texts per table, so
    that they stay prepared. An upsert's rows with one key are first merged as running
    them in order would (the last one's values, the first one's kept columns): one
    statement may not update a row twice."""
    shape = _INSERTS.get(sql)
    if shape is None or len(rows) == 1:  # an UPDATE or DELETE: one by one
        for row in rows:
            send(sql, row)
        return
    head, row_marks, tail, key, keep = shape
    if key:
        merged: dict[tuple[Any, ...], Any] = {}
        for row in rows:
            k = tuple(row[i] for i in key)
            first = merged.get(k)
            if first is not None and keep:
                row = tuple(first[i] if i in keep else v for i, v in enumerate(row))
            merged[k] = row
        rows = list(merged.values())
    i = 0
    while i < len(rows):
        n = min(_MAX_ROWS, 1 << ((len(rows) - i).bit_length() - 1))
        text = _TEXTS.get((sql, n))
        if text is None:
            text = _TEXTS[(sql, n)] = head + ", ".join([row_marks] * n) + tail
        send(text, [v for row in rows[i:i + n] for v in row])
        i += n


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def _ambiguous(prefix: str, ids: list[str]) -> str:
    shown = ", ".join(ids[:5])
    more = ", ..." if len(ids) > 5 else ""
    return (f"execution id prefix {prefix!r} is ambiguous: it matches {shown}{more}; "
            "give more characters")
