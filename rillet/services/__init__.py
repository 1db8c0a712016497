"""The service layer: what the CLI and the server both call. Functions take an
``Instance`` and return the JSON shapes of ``_shapes`` (plain dicts); neither the
CLI nor the API builds those by hand. No HTTP and no terminal output here."""

from __future__ import annotations

from rillet.services._compare import compare_executions
from rillet.services._data import artifact, cache_clear, cache_list, lineage, task_names
from rillet.services._elements import map_elements
from rillet.services._executions import (
    abort,
    events,
    execution_detail,
    get_execution,
    list_executions,
    node_logs,
)
from rillet.services._graph import execution_graph
from rillet.services._maintenance import (
    cache_explain,
    cache_explain_registered,
    prune,
    usage,
)
from rillet.services._shapes import (
    ArtifactShape,
    AttemptLogs,
    CacheEntryShape,
    CacheExplainShape,
    ComparedExecution,
    EventShape,
    ExecutionDetail,
    ExecutionGraph,
    ExecutionSummary,
    LineageShape,
    MapElementShape,
    NodeShape,
    PruneShape,
    UploadShape,
)
from rillet.services._uploads import MAX_UPLOAD

__all__ = [
    "ComparedExecution",
    "compare_executions",
    "ArtifactShape",
    "CacheExplainShape",
    "PruneShape",
    "cache_explain",
    "cache_explain_registered",
    "prune",
    "usage",
    "AttemptLogs",
    "CacheEntryShape",
    "LineageShape",
    "MapElementShape",
    "map_elements",
    "artifact",
    "cache_clear",
    "cache_list",
    "lineage",
    "task_names",
    "EventShape",
    "ExecutionDetail",
    "ExecutionGraph",
    "execution_graph",
    "MAX_UPLOAD",
    "UploadShape",
    "ExecutionSummary",
    "NodeShape",
    "abort",
    "events",
    "execution_detail",
    "get_execution",
    "list_executions",
    "node_logs",
]
