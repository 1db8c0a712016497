"""Prune and ``cache explain``, as the CLI (and any other caller) serve them: the
shapes of ``_shapes`` (``PruneShape``, ``CacheExplainShape``)."""

from __future__ import annotations

from typing import Any

from rillet.services._shapes import CacheExplainShape, ExplanationShape, PruneShape
from rillet.store._instance import Instance

NOTHING_CHOSEN = ("nothing pruned: choose what to free with --older-than AGE (the values, "
                  "work folders and checkpoints of executions older than AGE, e.g. 30d) "
                  "and/or --max-size SIZE (evict least recently used cache entries until "
                  "values fit, e.g. 2G); add --dry-run to see what that would free")


def prune(inst: Instance, *, older_than: str | float | None = None,
          max_size: str | int | None = None, dry_run: bool = False) -> PruneShape:
    """Free stored values nothing kept refers to: of executions older than
    ``older_than`` (seconds, or an age like ``30d``) and/or least recently used cache
    entries until the values fit ``max_size`` (bytes, or a size like ``2G``). On the
    embedded home also its orphan files and the work folders, checkpoints and logs of
    the executions pruned; on the platform's stores the stored checkpoints. A bad age or
    size, or neither, is a ``ValueError`` (one line)."""
    from rillet.store._prune import parse_age, parse_size, prune_home
    from rillet.store._prune import prune as prune_stores

    age = parse_age(older_than) if isinstance(older_than, str) else older_than
    size = parse_size(max_size) if isinstance(max_size, str) else max_size
    if age is None and size is None:
        raise ValueError(NOTHING_CHOSEN)
    if age is not None and age < 0:
        raise ValueError(f"older_than must be >= 0 seconds, got {age}")
    if size is not None and size < 0:
        raise ValueError(f"max_size must be >= 0 bytes, got {size}")
    home = inst.embedded
    if home is not None:
        report = prune_home(home, older_than=age, max_size=size, dry_run=dry_run)
    else:  # the platform's stores: values and stored checkpoints (no local folders)
        report = prune_stores(inst.store, inst.artifacts, older_than=age, max_size=size,
                              dry_run=dry_run)
        report.by_kind = {"values": report.freed_bytes, **report.by_kind}
    return {"dry_run": dry_run, "freed_bytes": report.freed_bytes,
            "purged_artifacts": report.purged_artifacts, "executions": report.executions,
            "evicted_entries": report.evicted_entries, "orphan_files": report.orphan_files,
            "stale_temp_files": report.stale_temp_files, "by_kind": dict(report.by_kind),
            "kept_for_models": list(report.kept_for_models),
            "stored_bytes": report.stored_bytes, "max_size": size}


def usage(inst: Instance) -> dict[str, Any]:
    """What the embedded home holds: ``{"executions": N, "bytes": {kind: bytes}}``
    (the bytes only on the embedded home)."""
    from rillet.store._prunefolders import usage as home_usage

    ((count,),) = inst.store.database.read("SELECT count(*) FROM executions")
    home = inst.embedded
    return {"executions": int(count), "bytes": home_usage(home) if home is not None else {}}


def cache_explain(inst: Instance, workflow: Any, inputs: dict[str, Any]) -> CacheExplainShape:
    """Which nodes of ``workflow`` (with ``inputs``) would hit the cache, and why the
    others would not; predicted from the store, writing nothing."""
    from rillet.engine._explain import explain

    nodes: list[ExplanationShape] = [
        {"node_id": e.node_id, "task": e.task, "status": e.status, "reason": e.reason,
         "source_execution": e.source_execution, "source_node": e.source_node,
         "changed": list(e.changed)}
        for e in explain(inst.store, workflow, inputs, inst.artifacts)]
    return {"workflow": workflow.name, "nodes": nodes}


def cache_explain_registered(inst: Instance, name: str, version: str | None = None, *,
                             project: str = "default", domain: str = "development",
                             inputs: dict[str, Any] | None = None) -> CacheExplainShape:
    """``cache_explain`` of a registered workflow or launch plan (the newest version, or
    ``version``) with JSON ``inputs`` (checked as a launch checks them: an
    ``InputRejected`` names the input), in the cache scope a launch in ``project`` /
    ``domain`` runs in. The version's bundle is loaded in a new process
    (``rillet.platform._explain``): this process imports no user code."""
    from rillet.errors import DefinitionError
    from rillet.platform._check import check_inputs
    from rillet.platform._explain import explain_in_child
    from rillet.platform._registry import check_scope, default_cache, find
    from rillet.platform._worker import cache_scope

    check_scope(project, domain)
    entity = find(inst.store, name, version, project=project, domain=domain)
    if entity.kind == "task":
        raise DefinitionError(f"{name} is a task; explain a workflow or a launch plan")
    values = check_inputs(name, entity.interface, dict(inputs or {}))
    home = inst.home_path
    stores: dict[str, Any] = ({"home": home} if home is not None else
                              {"metadata_url": inst.store.url,
                               "artifacts_url": str(inst.artifacts.root)})
    answer = explain_in_child(stores, entity, values, cache_scope(project, domain),
                              default_cache())
    return {"workflow": answer["workflow"], "nodes": answer["nodes"]}
