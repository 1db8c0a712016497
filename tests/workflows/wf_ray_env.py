"""Two tasks with different versions of one package, side by side in one execution on
Ray: one with an ``environment`` (its Ray ``runtime_env``), one with the cluster's own."""

from __future__ import annotations

from rillet import task, workflow
from rillet.sdk._environment import Environment


@task(environment=Environment(packages=["six==1.16.0"]))
def pinned() -> str:
    import six

    return str(six.__version__)


@task
def base() -> str:
    import six

    return str(six.__version__)


@workflow
def side_by_side() -> list[str]:
    return [pinned(), base()]
