"""``rillet diff`` and ``rillet reproduce``: two executions compared, and one run again
from its record (the sources and inputs it ran with, the cache off).

Both read the run records written by ``_record``; neither changes a recorded
execution (reproduce starts a new one).
"""

from __future__ import annotations

import difflib
import json
import os
import sys
import tempfile
from typing import Any

from rillet.errors import DefinitionError, StoreError
from rillet.sdk._record import blob, load_record, record_store


def _environment(artifacts: Any, digest: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(blob(artifacts, digest))
    return data


def _node_outputs(store: Any, execution_id: str) -> dict[str, dict[str, str]]:
    return {n.node_id: dict(n.outputs) for n in store.nodes(execution_id)}


def diff(home: Any, a: str, b: str) -> dict[str, Any]:
    """What differs between executions ``a`` and ``b``, in the order a user reads it:
    inputs, code (a unified diff per changed file), packages, then node outputs."""
    store, artifacts = home.store, record_store(home)
    ea, eb = store.get_execution(a), store.get_execution(b)
    ra, rb = load_record(store, ea.id), load_record(store, eb.id)
    inputs = [
        {"name": k, "a": ea.inputs.get(k), "b": eb.inputs.get(k)}
        for k in sorted(ea.inputs.keys() | eb.inputs.keys())
        if ea.inputs.get(k) != eb.inputs.get(k)
    ]
    code: list[dict[str, Any]] = []
    for path in sorted(ra.files.keys() | rb.files.keys()):
        ha, hb = ra.files.get(path), rb.files.get(path)
        if ha == hb:
            continue
        old = blob(artifacts, ha).decode(errors="replace").splitlines(True) if ha else []
        new = blob(artifacts, hb).decode(errors="replace").splitlines(True) if hb else []
        text = "".join(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}"))
        code.append({"path": path, "a": ha, "b": hb, "diff": text})
    packages: list[dict[str, Any]] = []
    if ra.environment != rb.environment:
        va, vb = _environment(artifacts, ra.environment), _environment(artifacts, rb.environment)
        for key in ("python", "implementation", "platform"):
            if va.get(key) != vb.get(key):
                packages.append({"name": key, "a": va.get(key), "b": vb.get(key)})
        da, db = va.get("distributions", {}), vb.get("distributions", {})
        packages.extend({"name": n, "a": da.get(n), "b": db.get(n)}
                        for n in sorted(da.keys() | db.keys()) if da.get(n) != db.get(n))
    oa, ob = _node_outputs(store, ea.id), _node_outputs(store, eb.id)
    nodes = [
        {"node": n, "a": oa.get(n), "b": ob.get(n)}
        for n in sorted(oa.keys() | ob.keys()) if oa.get(n) != ob.get(n)
    ]
    return {"a": ea.id, "b": eb.id, "inputs": inputs, "code": code, "packages": packages,
            "nodes": nodes}


def reproduce(home: Any, execution_id: str, *, executor: str = "processes") -> dict[str, Any]:
    """Run ``execution_id`` again from its record with the cache off, in a temporary
    folder holding its recorded sources; per node, whether the output hashes match."""
    from rillet.engine._values import ValueStore
    from rillet.sdk._run import _engine, keep_record, load_workflow

    store, artifacts = home.store, home.artifacts
    records = record_store(home)
    old = store.get_execution(execution_id)
    record = load_record(store, old.id)
    if not old.source.endswith((".py", ".ipynb")):
        raise DefinitionError(f"execution {old.id} ran {old.source}, not a file: "
                              "reproduce needs the recorded file")
    source_rel = os.path.relpath(old.source, record.root)
    if source_rel not in record.files:
        raise StoreError(f"execution {old.id}: its file {old.source} is not in its record")
    with tempfile.TemporaryDirectory(prefix="rillet-reproduce-") as tmp:
        for rel, digest in record.files.items():
            target = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as fh:
                fh.write(blob(records, digest))
        source = os.path.join(tmp, source_rel)
        sys.path.insert(0, os.path.dirname(source))
        try:
            wf = load_workflow(old.workflow, source)
            values = ValueStore(store, artifacts)
            inputs = {name: values.load(digest, wf.interface.inputs.get(name))
                      for name, digest in old.inputs.items()}
            engine = _engine(home, executor, None, None)
            new = engine.execute(wf, inputs, source=old.source, use_cache=False)
            keep_record(home, wf, new.id)
        finally:
            sys.path.remove(os.path.dirname(source))
    was, now = _node_outputs(store, old.id), _node_outputs(store, new.id)
    nodes = [{"node": n, "match": was.get(n) == now.get(n), "recorded": was.get(n),
              "reproduced": now.get(n)} for n in sorted(was.keys() | now.keys())]
    return {"execution": old.id, "reproduction": new.id, "status": new.status.value,
            "match": all(n["match"] for n in nodes) and new.status.value == old.status.value,
            "nodes": nodes}
