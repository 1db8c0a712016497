"""``rillet.execution(ID, home=...)`` and ``rillet.executions(...)``: past executions
of a home, fetched from Python (Flyte's ``fetch_execution``, MLflow's ``get_run``).

They return the same :class:`Execution` view as ``rillet.run``; values are read from
the store when asked for. Read-only: nothing here runs or records anything.
"""

from __future__ import annotations

import datetime
from typing import Any

from rillet.engine._reaper import reap
from rillet.engine._values import ValueStore
from rillet.engine._views import Execution


def _home(home: str | None) -> Any:
    from rillet.store._home import Home

    return Home.open(home, create=False)


def execution(execution_id: str, *, home: str | None = None) -> Execution:
    """The execution ``execution_id`` (or an unambiguous prefix of it) of ``home``
    (default ``$RILLET_HOME`` or ``./.rillet``). Raises ``NotFound`` when absent."""
    h = _home(home)
    (record,) = reap(h.store, [h.store.get_execution(execution_id)])
    return Execution(record, h.store, ValueStore(h.store, h.artifacts))


def executions(*, home: str | None = None, workflow: Any = None, status: str | None = None,
               since: float | datetime.datetime | datetime.timedelta | None = None,
               name: str | None = None, tags: dict[str, str] | None = None,
               limit: int = 50) -> list[Execution]:
    """Executions of ``home``, newest first: of ``workflow`` (a ``@workflow``, its
    ``module:name`` or its name), in ``status``, created since ``since`` (a time, a
    datetime, or a timedelta back from now), named ``name``, carrying ``tags``."""
    import time

    if limit < 1:
        raise ValueError(f"executions(limit={limit!r}): must be at least 1")
    if workflow is not None and not isinstance(workflow, str):
        workflow = workflow.name
    after: float | None
    if isinstance(since, datetime.timedelta):
        after = time.time() - since.total_seconds()
    elif isinstance(since, datetime.datetime):
        after = since.timestamp()
    else:
        after = since
    h = _home(home)
    records = reap(h.store, h.store.list_executions(
        limit, workflow=workflow, status=status.upper() if status else None, since=after,
        name=name, tags=tags))
    values = ValueStore(h.store, h.artifacts)
    return [Execution(r, h.store, values) for r in records]
