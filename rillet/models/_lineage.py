"""Lineage from a served prediction: the request, the model version that answered it,
and the walk from that version's value up through the execution that trained it to
the raw data (``rillet lineage request:ID``). The walk is in the service layer
(``rillet.services._model_requests``, shared with the server); this renders it."""

from __future__ import annotations

from typing import Any


def render(result: dict[str, Any]) -> list[str]:
    from rillet.engine._lineage import render as render_tree

    r, mv = result["request"], result["model_version"]
    lines = [f"request {r['id']} ({r['route']}, status {r['status']}, "
             f"{r['latency_ms']:.2f} ms)",
             f"  <- model {mv['name']} version {mv['version']} = "
             f"{mv['execution_id']}:{mv['node_id']}:{mv['output']} [{mv['task']}]"]
    lines += ["     " + line for line in render_tree(result["artifacts"], upstream=True)]
    return lines
