"""``cache explain`` of a registered version, in a process of its own.

Explaining needs the workflow's code: each task's code hash (and its parts, to say what
changed), its cache settings (version, ignored inputs), its DataFrame schemas, and the
inputs as the Python values the tasks declare (a dataclass input hashes by its type's
codec). The store records none of that per task (a registered version keeps the IR and
one code hash for the whole workflow), so the answer comes from the version's bundle,
loaded as a worker loads it: ``python -m rillet.platform._explain`` reads one JSON
request on stdin (the stores, the entity, the checked inputs, the cache scope), unpacks
the bundle into the bundle cache, imports it, runs :func:`rillet.engine._explain.explain`
against the stores, and prints the ``CacheExplainShape`` as the last line of stdout.

The calling process (the server) never imports the user's code nor decodes its values:
it passes JSON, and reads JSON back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from rillet.errors import DefinitionError, NotFound, RilletError, StoreError

TIMEOUT = 300.0


def explain_in_child(stores: dict[str, Any], entity: Any, inputs: dict[str, Any],
                     scope: str, cache: str) -> dict[str, Any]:
    """The explanation of registered ``entity`` with checked JSON ``inputs``, computed by
    a new Python process on ``stores`` (``{"home": PATH}`` or ``{"metadata_url": URL,
    "artifacts_url": URL}``; passed on stdin, never on the command line, as a URL may
    hold a password). A failure in the child is raised here as one line."""
    request = {"stores": stores, "bundle_hash": entity.bundle_hash,
               "bundle_uri": entity.bundle_uri, "identity": entity.identity,
               "inputs": inputs, "scope": scope, "cache": cache}
    os.makedirs(cache, exist_ok=True)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    try:
        done = subprocess.run([sys.executable, "-m", "rillet.platform._explain"],
                              input=json.dumps(request), capture_output=True, text=True,
                              timeout=TIMEOUT, cwd=cache, env=env)
    except subprocess.TimeoutExpired:
        raise DefinitionError(f"explaining {entity.name}@{entity.version} took over "
                              f"{TIMEOUT:.0f} s") from None
    lines = [ln for ln in done.stdout.strip().splitlines() if ln.strip()]
    try:
        answer = json.loads(lines[-1]) if lines else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        err = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        raise DefinitionError(f"explaining {entity.name}@{entity.version} failed: "
                              + (err[-1] if err else f"exit {done.returncode}"))
    if "error" in answer:
        kind = {"NotFound": NotFound, "StoreError": StoreError}.get(answer.get("kind", ""),
                                                                   DefinitionError)
        raise kind(f"explaining {entity.name}@{entity.version}: {answer['error']}")
    return answer


def _explain(request: dict[str, Any]) -> dict[str, Any]:
    from rillet.engine._explain import explain
    from rillet.platform._bundle import unpack
    from rillet.platform._decode import decode_inputs
    from rillet.platform._worker import load_workflow
    from rillet.store._instance import Instance, InstanceConfig

    where = request["stores"]
    if where.get("home"):
        inst = Instance.home(where["home"], create=False)
    else:
        inst = Instance.open(InstanceConfig(metadata_url=where["metadata_url"],
                                            artifacts_url=where["artifacts_url"]))
    try:
        digest = request["bundle_hash"]
        folder = os.path.join(request["cache"], digest)
        if not os.path.isdir(folder):
            folder = unpack(inst.artifacts.get(request["bundle_uri"]), digest,
                            request["cache"])
        workflow = load_workflow(folder, request["identity"])
        from rillet.engine._values import ValueStore

        values_store = ValueStore(inst.store, inst.artifacts)
        values = workflow.resolve_inputs((), decode_inputs(  # an uploaded file as a worker
            request["inputs"], workflow.interface.inputs,  # reads it
            stored=lambda digest, tp: values_store.load(digest, tp)))
        found = explain(inst.store, workflow, values, inst.artifacts, request["scope"])
        return {"workflow": workflow.name, "nodes": [
            {"node_id": e.node_id, "task": e.task, "status": e.status, "reason": e.reason,
             "source_execution": e.source_execution, "source_node": e.source_node,
             "changed": list(e.changed)} for e in found]}
    finally:
        inst.close()


def _main() -> int:
    try:
        answer = _explain(json.loads(sys.stdin.read()))
    except NotFound as exc:
        answer = {"error": str(exc), "kind": "NotFound"}
    except StoreError as exc:
        answer = {"error": str(exc), "kind": "StoreError"}
    except RilletError as exc:
        answer = {"error": str(exc), "kind": type(exc).__name__}
    except Exception as exc:  # the user's module failed to import, a bad value...
        answer = {"error": f"{type(exc).__name__}: {exc}", "kind": type(exc).__name__}
    sys.stdout.write("\n" + json.dumps(answer, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
