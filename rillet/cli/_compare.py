"""``rillet compare`` and ``rillet metrics``: executions side by side, metric series."""

from __future__ import annotations

import json
from typing import Any

import click

from rillet.cli._app import CONTEXT, cli, fail, open_store
from rillet.errors import RilletError


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict) and set(value) == {"type", "hash"}:
        return f"<{value['type']} {value['hash'][:12]}>"
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 40 else text[:39] + "…"


@cli.command(context_settings=CONTEXT)
@click.argument("execution_ids", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.pass_context
def compare(ctx: click.Context, execution_ids: tuple[str, ...], as_json: bool,
            home: str | None) -> None:
    """Inputs, params and the last value of every metric of executions, side by side;
    rows whose values differ are marked with *."""
    from rillet.cli._output import print_json, table
    from rillet.models._compare import compare as compare_executions

    if len(execution_ids) < 2:
        fail("compare needs at least two execution ids")
    h = open_store(ctx, home)
    try:
        result = compare_executions(h.store, list(execution_ids))
    except RilletError as exc:
        fail(str(exc))
    if as_json:
        print_json(result)
        return
    header = ["", "KIND", "NAME", *(e["execution_id"] for e in result["executions"])]
    rows = [["*" if r["differs"] else "", r["kind"], r["name"], *map(_cell, r["values"])]
            for r in result["rows"]]
    click.echo(table(rows, header))


@cli.command(context_settings=CONTEXT)
@click.argument("execution_id")
@click.option("--node", default=None, help="Only this node's metrics.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.pass_context
def metrics(ctx: click.Context, execution_id: str, node: str | None, as_json: bool,
            home: str | None) -> None:
    """Every metric's series of an execution: node, key, step, value."""
    from rillet.cli._output import print_json, table
    from rillet.models._compare import metric_series

    h = open_store(ctx, home)
    try:
        result = metric_series(h.store, execution_id, node)
    except RilletError as exc:
        fail(str(exc))
    if node is not None and not result["metrics"]:
        known = {n.node_id for n in h.store.nodes(result["execution_id"])}
        if node not in known:
            fail(f"execution {result['execution_id']} has no node '{node}' (nodes: "
                 f"{', '.join(sorted(known))})")
    if as_json:
        print_json(result)
        return
    rows = [[n, key, "-" if p["step"] is None else str(p["step"]), f"{p['value']:.6g}"]
            for n, by_key in result["metrics"].items() for key, points in by_key.items()
            for p in points]
    click.echo(table(rows, ["NODE", "METRIC", "STEP", "VALUE"]))
