"""``rillet executions``, ``rillet logs`` and ``rillet lineage``: reading what ran."""

from __future__ import annotations

import sys

import click

from rillet.cli._app import CONTEXT, MAX_COUNT, cli, fail, open_store
from rillet.errors import NotFound, StoreError


@cli.group(context_settings=CONTEXT)
def executions() -> None:
    """List and show executions."""


@executions.command("list", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", type=click.IntRange(min=1, max=MAX_COUNT), default=50,
              help="At most N (>= 1).")
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.pass_context
def list_executions(ctx: click.Context, as_json: bool, limit: int, home: str | None) -> None:
    """The newest executions first."""
    from rillet.cli._output import print_json, seconds, table, when
    from rillet.engine._reaper import reap

    h = open_store(ctx, home)
    records = reap(h.store, h.store.list_executions(limit))
    if as_json:
        print_json([{
            "execution_id": r.id, "workflow": r.workflow, "status": r.status.value,
            "created_at": r.created_at, "ended_at": r.ended_at, "parent_id": r.parent_id,
            "error": r.error} for r in records])
        return
    rows = [[r.id, r.workflow, r.status.value, when(r.created_at),
             seconds(r.started_at, r.ended_at)] for r in records]
    click.echo(table(rows, ["EXECUTION", "WORKFLOW", "STATUS", "CREATED", "DURATION"]))


@executions.command("show", context_settings=CONTEXT)
@click.argument("execution_id")
@click.option("--json", "as_json", is_flag=True)
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.pass_context
def show_execution(ctx: click.Context, execution_id: str, as_json: bool,
                   home: str | None) -> None:
    """One execution with its nodes: state, attempts, duration, cache source."""
    from rillet.cli._output import node_json, print_json, seconds, table
    from rillet.engine._reaper import reap
    from rillet.engine._views import params_and_metrics

    h = open_store(ctx, home)
    try:
        (record,) = reap(h.store, [h.store.get_execution(execution_id)])
    except StoreError as exc:
        fail(str(exc))
    nodes = h.store.nodes(record.id)
    params, metrics = params_and_metrics(h.store, record.id)
    if as_json:
        print_json({
            "execution_id": record.id, "workflow": record.workflow, "source": record.source,
            "status": record.status.value, "parent_id": record.parent_id,
            "error": record.error, "inputs": record.inputs, "outputs": record.outputs,
            "created_at": record.created_at, "started_at": record.started_at,
            "ended_at": record.ended_at,
            "nodes": [node_json(n, params.get(n.node_id, {}), metrics.get(n.node_id, []))
                      for n in nodes],
        })
        return
    click.echo(f"execution {record.id}  {record.workflow}  {record.status.value}")
    if record.parent_id:
        click.echo(f"recovers {record.parent_id}")
    if record.error:
        click.echo(f"error: {record.error}")
    rows = []
    for n in nodes:
        source = f"{n.source_execution}:{n.source_node}" if n.source_execution else ""
        rows.append([n.node_id, n.status.value, str(n.attempts),
                     seconds(n.started_at, n.ended_at), source])
    click.echo(table(rows, ["NODE", "STATUS", "ATTEMPTS", "DURATION", "FROM"]))


@cli.command(context_settings=CONTEXT)
@click.argument("execution_id")
@click.argument("node_id")
@click.option("--attempt", type=click.IntRange(max=MAX_COUNT), default=None,
              help="Attempt number, from 1 (default: last).")
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.pass_context
def logs(ctx: click.Context, execution_id: str, node_id: str, attempt: int | None,
         home: str | None) -> None:
    """The captured stdout and stderr of one attempt of a node."""
    h = open_store(ctx, home)
    try:
        record = h.store.get_execution(execution_id)
    except StoreError as exc:
        fail(str(exc))
    attempts = h.store.attempts(record.id, node_id)
    if not attempts:
        nodes = h.store.nodes(record.id)
        node = next((n for n in nodes if n.node_id == node_id), None)
        if node is not None:
            source = (f"; its value came from {node.source_execution}:{node.source_node}"
                      if node.source_execution else "")
            fail(f"node '{node_id}' of execution {record.id} is {node.status.value} and ran "
                 f"no attempt{source}", 1)
        known = ", ".join(sorted({n.node_id for n in nodes}))
        fail(f"execution {record.id} has no attempts of node '{node_id}' (nodes: {known})")
    attempts.sort(key=lambda a: a.attempt)
    chosen = attempts[-1] if attempt is None else next(
        (a for a in attempts if a.attempt == attempt), None)
    if chosen is None:
        fail(f"node '{node_id}' has attempts 1..{attempts[-1].attempt}, not {attempt}")
    sys.stdout.write(chosen.logs)
    if chosen.traceback:
        sys.stderr.write(chosen.traceback if chosen.traceback.endswith("\n")
                         else chosen.traceback + "\n")


@cli.command(context_settings=CONTEXT)
@click.argument("ref")
@click.option("--upstream", "direction", flag_value="upstream", default=True,
              help="Where it came from (default).")
@click.option("--downstream", "direction", flag_value="downstream", help="What used it.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.pass_context
def lineage(ctx: click.Context, ref: str, direction: str, as_json: bool,
            home: str | None) -> None:
    """Walk lineage from REF: an execution id, EXEC:NODE, an artifact hash prefix, or
    request:ID (a served prediction, back to the data its model was trained on)."""
    from rillet.cli._output import print_json
    from rillet.engine._lineage import render, resolve_scoped, walk

    h = open_store(ctx, home)
    if ref.startswith("request:"):
        from rillet.cli._models import request_lineage

        return request_lineage(h, ref[len("request:"):], as_json)
    try:
        hashes, within = resolve_scoped(h.store, ref)
    except NotFound as exc:
        fail(str(exc))
    tree = walk(h.store, hashes, upstream=direction == "upstream", within=within)
    if as_json:
        print_json({"ref": ref, "direction": direction, "artifacts": tree})
    else:
        for line in render(tree, upstream=direction == "upstream"):
            click.echo(line)
