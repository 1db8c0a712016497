"""``rillet notebook show NOTEBOOK.ipynb``: the workflow a notebook makes, before it runs.

Prints each step with its cells, inputs, outputs and ``after:`` steps, and whether it
will hit the cache (as ``rillet cache explain`` predicts it). It writes nothing.
"""

from __future__ import annotations

import os
from typing import Any

import click

from rillet.cli._app import CONTEXT, cli, fail, home_of, open_store, pick_workflow, resolved_inputs
from rillet.errors import RilletError


@cli.group(context_settings=CONTEXT)
def notebook() -> None:
    """Notebooks as workflows (``rillet run NOTEBOOK.ipynb`` runs one)."""


@notebook.command("show", context_settings={**CONTEXT, "ignore_unknown_options": True,
                                            "allow_extra_args": True})
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.pass_context
def show(ctx: click.Context, path: str, as_json: bool, home: str | None) -> None:
    """Print the steps of NOTEBOOK.ipynb [--INPUT VALUE ...], their inputs and outputs,
    and which will hit the cache."""
    from rillet.cli._output import print_json

    if not path.endswith(".ipynb"):
        fail(f"{path}: expected NOTEBOOK.ipynb")
    wf = pick_workflow(path)
    inputs = resolved_inputs(ctx, wf)
    cache = _cache_status(ctx, home, wf, inputs)
    body = describe(wf, inputs, cache)
    if as_json:
        print_json(body)
    else:
        _print(body)


def describe(wf: Any, inputs: dict[str, Any], cache: dict[str, dict[str, Any]]
             ) -> dict[str, Any]:
    """The JSON form of what ``show`` prints."""
    from rillet.types._compat import type_name

    plan = wf.plan
    params = {p.name: {"type": type_name(wf.interface.inputs[p.name]),
                       "default": _plain(wf.interface.defaults.get(p.name)),
                       "value": _plain(inputs.get(p.name))} for p in plan.parameters}
    steps = []
    for step in plan.steps:
        iface = wf.spec.node(step.name).entity.interface
        status = cache.get(step.name, {})
        steps.append({
            "name": step.name,
            "cells": step.numbers,
            "inputs": {v: {"type": type_name(iface.inputs[v]), "from": src}
                       for v, src in step.inputs.items()},
            "outputs": {v: type_name(iface.outputs[v]) for v in step.outputs},
            "after": list(step.after),
            "cache": status.get("status", "UNKNOWN"),
            "reason": status.get("reason", ""),
            "source_execution": status.get("source_execution"),
        })
    return {"notebook": wf.notebook, "workflow": wf.name, "inputs": params, "steps": steps,
            "outputs": dict(plan.outputs)}


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool, list, dict, type(None))) \
        else repr(value)


def _cache_status(ctx: click.Context, home: str | None, wf: Any, inputs: dict[str, Any]
                  ) -> dict[str, dict[str, Any]]:
    from rillet.engine._explain import explain

    folder = os.path.abspath(home_of(ctx, home) or os.environ.get("RILLET_HOME") or ".rillet")
    if not os.path.isdir(folder) or not os.listdir(folder):
        reason = f"no rillet home at {folder} yet: every step runs"
        return {s.name: {"status": "MISS", "reason": reason} for s in wf.plan.steps}
    h = open_store(ctx, folder)
    try:
        return {e.node_id: e.to_json() for e in explain(h.store, wf, inputs, h.artifacts)}
    except RilletError as exc:
        fail(str(exc))


def _print(body: dict[str, Any]) -> None:
    from rillet.cli._output import table

    click.echo(f"notebook {body['notebook']}: workflow {body['workflow']}")
    params = ", ".join(f"{n}: {p['type']} = {p['value']!r}" for n, p in body["inputs"].items())
    click.echo(f"inputs: {params or 'none'}")
    rows = []
    after = any(s["after"] for s in body["steps"])
    for s in body["steps"]:
        ins = _grouped({v: i["from"] or "input" for v, i in s["inputs"].items()}, " <- ")
        outs = _grouped(s["outputs"], ": ")
        rows.append([s["name"], _cells(s["cells"]), ins or "-", outs or "-",
                     *([", ".join(s["after"]) or "-"] if after else []), s["cache"], s["reason"]])
    header = ["STEP", "CELLS", "INPUTS", "OUTPUTS", *(["AFTER"] if after else []), "CACHE", "WHY"]
    click.echo(table(rows, header))
    outputs = ", ".join(f"{v} <- {s}" for v, s in body["outputs"].items())
    click.echo(f"outputs: {outputs or 'none'}")


def _grouped(items: dict[str, str], sep: str) -> str:
    """``{"a": "x", "b": "x", "c": "y"}`` -> ``a, b<sep>x; c<sep>y``."""
    groups: dict[str, list[str]] = {}
    for name, value in items.items():
        groups.setdefault(value, []).append(name)
    return "; ".join(f"{', '.join(names)}{sep}{value}" for value, names in groups.items())


def _cells(numbers: list[int]) -> str:
    if len(numbers) > 1 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    return ",".join(map(str, numbers))
