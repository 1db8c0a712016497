"""Models: the registry (versions, aliases, history), serving and the request log.

``from rillet import models`` gives the functions below; each opens the home named
by ``home`` (default ``$RILLET_HOME``, else ``./.rillet``), as ``rillet.run`` does,
and works in the registry of ``project``/``domain`` (default ``default``/
``development``): a model name is unique within a project and domain.
This package uses the store and the engine; nothing below it imports it.

    v = models.register("churn", execution=ex.id, node="train", output="o0",
                        alias="challenger")
    models.set_alias("churn", "production", version=v)
    m = models.load("churn@production")         # or "churn/3", or "churn" (latest)
    models.versions("churn"); models.history("churn")
    models.register("churn", execution=ex.id, node="train", project="team",
                    domain="staging")             # an execution of project "team"
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rillet.services._model_registry import HistoryEvent, ModelVersion, Registry

__all__ = ["HistoryEvent", "ModelVersion", "history", "load", "register", "set_alias",
           "versions"]


@contextlib.contextmanager
def open_registry(home: str | None = None, create: bool = False, *,
                  project: str = "default", domain: str = "development") -> Iterator[Registry]:
    """The registry of ``project``/``domain`` of a home, closed on exit."""
    from rillet.platform._registry import check_scope
    from rillet.store._home import Home

    check_scope(project, domain)
    h = Home.open(home, create=create)
    try:
        yield Registry(h.store, h.artifacts, project=project, domain=domain)
    finally:
        h.close()


def register(name: str, *, execution: str, node: str, output: str = "o0",
             alias: str | None = None, home: str | None = None, project: str = "default",
             domain: str = "development") -> int:
    """Register ``output`` of ``node`` of a succeeded ``execution`` (of ``project``) as
    the next version of ``name`` (1, 2, ...) in ``project``/``domain``; the value is
    referenced, never copied. Returns the version."""
    with open_registry(home, project=project, domain=domain) as r:
        return r.register(name, execution=execution, node=node, output=output, alias=alias)


def set_alias(name: str, alias: str, *, version: int, home: str | None = None,
              project: str = "default", domain: str = "development") -> int | None:
    """Point ``alias`` of ``name`` at ``version`` (recorded in the history); returns the
    version it pointed at before, or None."""
    with open_registry(home, project=project, domain=domain) as r:
        return r.set_alias(name, alias, version)


def load(ref: str, *, home: str | None = None, project: str = "default",
         domain: str = "development") -> Any:
    """The Python object of ``NAME@ALIAS``, ``NAME/N`` or ``NAME`` (the latest version)."""
    with open_registry(home, project=project, domain=domain) as r:
        return r.load(ref)


def versions(name: str, *, home: str | None = None, project: str = "default",
             domain: str = "development") -> list[ModelVersion]:
    """Every version of ``name``, oldest first, each with its lineage (execution, node,
    output, the execution's inputs) and the aliases pointing at it."""
    with open_registry(home, project=project, domain=domain) as r:
        return r.versions(name)


def history(name: str, *, home: str | None = None, project: str = "default",
            domain: str = "development") -> list[HistoryEvent]:
    """Every registration, alias move and serving change of ``name``, with who and when."""
    with open_registry(home, project=project, domain=domain) as r:
        return r.history(name)
