"""Registration and launches for the server: thin wrappers over ``rillet.platform``
that take an :class:`~rillet.store.Instance` and return JSON shapes."""

from __future__ import annotations

from typing import Any

from rillet.store._instance import Instance


def register(inst: Instance, data: bytes, *, project: str = "default",
             domain: str = "development", version: str | None = None,
             who: str | None = None) -> list[dict[str, Any]]:
    """Register an uploaded bundle (tar.gz bytes, as ``rillet register`` packs it)."""
    from rillet.platform._bundle import from_bytes
    from rillet.platform._registry import register_bundle

    found = register_bundle(from_bytes(data), store=inst.store, artifacts=inst.artifacts,
                            project=project, domain=domain, version=version,
                            where="the uploaded bundle", who=who)
    return [e.to_json() for e in found]


def versions(inst: Instance, name: str | None = None, *, project: str = "default",
             domain: str = "development") -> list[dict[str, Any]]:
    """Registered entities (of ``name``, or all), newest first."""
    from rillet.platform._registry import versions as list_versions

    return [e.to_json() for e in list_versions(inst.store, name, project=project,
                                               domain=domain)]


def launch(inst: Instance, name: str, version: str | None = None, *, project: str = "default",
           domain: str = "development", inputs: dict[str, Any] | None = None,
           who: str | None = None) -> str:
    """Queue an execution of registered ``name`` (inputs checked); return its id."""
    from rillet.platform._queue import launch as queue_launch

    return queue_launch(inst.store, name, version, project=project, domain=domain,
                        inputs=inputs, who=who)
