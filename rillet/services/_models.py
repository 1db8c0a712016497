"""The model registry as the CLI and the API serve it: the registry's reads and moves
over an ``Instance``, as JSON shapes. A value is handed out as its record and its
stored bytes, checked against its hash and never decoded here: decoding (and, for a
pickled model, unpickling) is the client's, so a server never unpickles. Each call
works in one project and domain (``default``/``development`` unless given)."""

from __future__ import annotations

from typing import Any

from rillet.services._model_registry import Registry
from rillet.store._instance import Instance


def _registry(inst: Instance, project: str = "default", domain: str = "development"
              ) -> Registry:
    return Registry(inst.store, inst.artifacts, project=project, domain=domain)


def model_list(inst: Instance, *, project: str = "default", domain: str = "development"
               ) -> list[dict[str, Any]]:
    """Every model of a project and domain: name, latest version, how many versions,
    aliases, last change."""
    return _registry(inst, project, domain).names()


def model_show(inst: Instance, name: str, *, project: str = "default",
               domain: str = "development") -> dict[str, Any]:
    """The versions of ``name`` (each with its lineage) and its history."""
    r = _registry(inst, project, domain)
    versions = [v.to_json() for v in r.versions(name)]
    return {"name": name, "project": project, "domain": domain, "versions": versions,
            "history": [e.to_json() for e in r.history(name)]}


def model_resolve(inst: Instance, name: str, *, alias: str | None = None,
                  version: int | None = None, project: str = "default",
                  domain: str = "development") -> dict[str, Any]:
    """The version ``alias`` (or ``version``; neither: the latest) of ``name`` names,
    with the record of its stored value (format, type, tag, inline JSON; not decoded)."""
    from rillet.errors import DefinitionError
    from rillet.services._model_registry import check_alias, check_name

    check_name(name)
    if alias is not None and version is not None:
        raise DefinitionError("give an alias or a version, not both")
    ref = name if alias is None and version is None else \
        f"{name}@{check_alias(alias)}" if alias is not None else f"{name}/{version}"
    mv = _registry(inst, project, domain).resolve(ref)
    found = inst.store.artifacts([mv.hash]).get(mv.hash)
    value = None if found is None else {
        "hash": found.hash, "format": found.format, "type": found.type, "tag": found.tag,
        "size": found.size, "inline": found.inline, "stored": found.uri is not None,
        "purged": found.purged}
    return {"version": mv.to_json(), "value": value}


def model_register(inst: Instance, name: str, *, execution: str, node: str,
                   output: str = "o0", alias: str | None = None,
                   who: str | None = None, project: str = "default",
                   domain: str = "development") -> dict[str, Any]:
    """Register an output of a node of a succeeded execution of ``project`` as the next
    version (``who`` made it: the history and the audit trail record it)."""
    r = _registry(inst, project, domain)
    number = r.register(name, execution=execution, node=node, output=output, alias=alias,
                        user=who)
    return r.version(name, number).to_json()


def model_alias(inst: Instance, name: str, alias: str, version: int,
                who: str | None = None, *, project: str = "default",
                domain: str = "development") -> dict[str, Any]:
    """Move ``alias`` of ``name`` to ``version`` (kept in the history, with ``who``)."""
    previous = _registry(inst, project, domain).set_alias(name, alias, version, user=who)
    return {"name": name, "project": project, "domain": domain, "alias": alias,
            "version": int(version), "previous": previous}


def model_bytes(inst: Instance, name: str, version: int, *, project: str = "default",
                domain: str = "development") -> bytes:
    """The stored bytes of a version's value, checked against its hash (not decoded).
    A value kept inline in its record has none: ``model_resolve`` gives it."""
    from rillet.engine._values import ValueStore
    from rillet.errors import NotFound

    mv = _registry(inst, project, domain).version(name, version)
    values = ValueStore(inst.store, inst.artifacts)
    record = values.record(mv.hash)  # ValueUnavailable (a NotFound) when it is gone
    if record.purged:
        raise NotFound(f"model {name}/{version}: its value {mv.hash[:12]} was pruned")
    if record.uri is None:
        raise NotFound(f"model {name}/{version} is kept inline in its record (JSON); "
                       "its version's value record holds it")
    return values.verified(record)


def request_lineage(inst: Instance, request_id: str) -> dict[str, Any]:
    """``lineage request:ID``: the served request (an id or a unique prefix), its model
    version and the upstream tree of that version's value in its training execution."""
    from rillet.services._model_requests import request_lineage as walk

    found = walk(_registry(inst), request_id)
    return {"ref": f"request:{found['request']['id']}", "direction": "upstream", **found}


def record_requests(inst: Instance, rows: list[dict[str, Any]], *, project: str = "default",
                    domain: str = "development") -> int:
    """Record answered requests sent by a serving process (``rillet serve --server``);
    how many were new. Each names a registered model version of ``project``/``domain``."""
    from rillet.services._model_requests import _COLS
    from rillet.services._model_requests import record_requests as write

    r = _registry(inst, project, domain)
    known: set[tuple[str, int]] = set()
    for row in rows:
        key = (row["name"], int(row["version"]))
        if key not in known:
            r.version(*key)  # an unknown model or version is a NotFound, nothing written
            known.add(key)
    return write(inst.store.database, [tuple(row[c] for c in _COLS) for row in rows],
                 r.scope)


def record_serving(inst: Instance, name: str, detail: dict[str, Any],
                   who: str | None = None, *, project: str = "default",
                   domain: str = "development") -> None:
    """A serving change of ``name`` (a ``rillet serve --server`` started), in its history."""
    r = _registry(inst, project, domain)
    r.versions(name)  # an unknown model is a NotFound
    r.record_serving(name, detail, user=who)
