"""``rillet executions``, ``rillet logs`` and ``rillet lineage``: reading what ran."""

from __future__ import annotations

import sys
from typing import Any

import click

from rillet.cli._app import (
    CONTEXT,
    MAX_COUNT,
    cli,
    fail,
    open_instance,
    open_store,
    remote,
    server_option,
)
from rillet.cli._results import shown_text
from rillet.errors import NotFound, RilletError, StoreError


@cli.group(context_settings=CONTEXT)
def executions() -> None:
    """List and show executions."""


_STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "ABORTED"]


@executions.command("list", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", type=click.IntRange(min=1, max=MAX_COUNT), default=50,
              help="At most N (>= 1).")
@click.option("--workflow", default=None, help="Only this workflow (module:name, or name).")
@click.option("--status", type=click.Choice(_STATUSES, case_sensitive=False), default=None)
@click.option("--since", default=None, help="Created since a duration ago (1h, 2d) or a date.")
@click.option("--name", default=None, help="Only executions given this --name.")
@click.option("--tag", "tags", multiple=True, help="Only those with this tag (K=V; repeat).")
@click.option("--project", default=None, help="Only this project's (default: all).")
@click.option("--domain", default=None, help="Only this domain's (default: all).")
@click.option("--home", type=click.Path(file_okay=False), default=None)
@server_option
@click.pass_context
def list_executions(ctx: click.Context, as_json: bool, limit: int, workflow: str | None,
                    status: str | None, since: str | None, name: str | None,
                    tags: tuple[str, ...], project: str | None, domain: str | None,
                    home: str | None, server: str | None) -> None:
    """The newest executions first."""
    if server:
        return _remote_list(server, as_json, limit, workflow, status, project, domain)
    from rillet.cli._inputs import InputError
    from rillet.cli._labels import parse_since, parse_tag
    from rillet.cli._output import print_json, seconds, table, when
    from rillet.engine._reaper import reap
    from rillet.services._executions import summary

    try:
        after = parse_since(since) if since is not None else None
        wanted = dict(parse_tag(t) for t in tags)
    except InputError as exc:
        fail(str(exc))
    h = open_store(ctx, home)
    records = reap(h.store, h.store.list_executions(
        limit, workflow=workflow, status=status, since=after, name=name, tags=wanted,
        project=project, domain=domain))
    if status:  # reaping may have turned a RUNNING one into FAILED
        records = [r for r in records if r.status.value == status.upper()]
    if as_json:
        print_json([{**summary(r), "name": r.name, "tags": r.tags} for r in records])
        return
    named = any(r.name for r in records)  # NAME and TAGS only when some have them
    tagged = any(r.tags for r in records)
    rows = [[r.id, *([r.name or ""] if named else []), r.workflow, r.status.value,
             when(r.created_at), seconds(r.started_at, r.ended_at),
             *([" ".join(f"{k}={v}" for k, v in sorted(r.tags.items()))] if tagged else [])]
            for r in records]
    click.echo(table(rows, ["EXECUTION", *(["NAME"] if named else []), "WORKFLOW", "STATUS",
                            "CREATED", "DURATION", *(["TAGS"] if tagged else [])]))


@executions.command("show", context_settings=CONTEXT)
@click.argument("execution_id")
@click.option("--json", "as_json", is_flag=True)
@click.option("--home", type=click.Path(file_okay=False), default=None)
@server_option
@click.pass_context
def show_execution(ctx: click.Context, execution_id: str, as_json: bool,
                   home: str | None, server: str | None) -> None:
    """One execution with its nodes: state, attempts, duration, cache source."""
    if server:
        return _remote_show(server, execution_id, as_json)
    from rillet.cli._output import print_json, seconds, table
    from rillet.cli._results import stored_values
    from rillet.engine._views import failed_elements, params_and_metrics
    from rillet.services._executions import get_execution, node_shape, summary

    inst = open_instance(ctx, home)
    try:
        record = get_execution(inst, execution_id)
    except StoreError as exc:
        fail(str(exc))
    nodes = inst.store.nodes(record.id)
    params, metrics = params_and_metrics(inst.store, record.id, nodes)
    failed = failed_elements(inst.store, record.id, nodes)
    input_values = stored_values(inst, record.inputs)
    if as_json:  # the service's shape (as --server shows it), and what only the home has
        from rillet.platform._teams import execution_scope

        project, domain = execution_scope(inst.store, record.id)
        print_json({
            **summary(record), "source": record.source, "inputs": record.inputs,
            "outputs": record.outputs, "name": record.name, "tags": record.tags,
            "input_values": input_values, "project": project, "domain": domain,
            "nodes": [{**node_shape(n, params.get(n.node_id, {}), metrics.get(n.node_id, [])),
                       "failed_elements": failed.get(n.node_id, [])} for n in nodes],
        })
        return
    click.echo(f"execution {record.id}  {record.workflow}  {record.status.value}")
    if record.name:
        click.echo(f"name: {record.name}")
    if record.tags:
        click.echo("tags: " + " ".join(f"{k}={v}" for k, v in sorted(record.tags.items())))
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
    for node_id, elements in failed.items():
        for e in elements:
            click.echo(f"{node_id}[{e['index']}] FAILED: {e['error_type']}: {e['error']} "
                       f"(rillet logs {record.id} '{node_id}[{e['index']}]')")
    for input_name, shown in input_values.items():  # after the nodes: the table stays put
        click.echo(f"input {input_name} = {shown_text(shown)}")


@cli.command(context_settings=CONTEXT)
@click.argument("execution_id")
@click.argument("node_id")
@click.option("--attempt", type=click.IntRange(max=MAX_COUNT), default=None,
              help="Attempt number, from 1 (default: last).")
@click.option("-f", "--follow", "follow_it", is_flag=True,
              help="Follow a running attempt's output until it ends.")
@click.option("--home", type=click.Path(file_okay=False), default=None)
@server_option
@click.pass_context
def logs(ctx: click.Context, execution_id: str, node_id: str, attempt: int | None,
         follow_it: bool, home: str | None, server: str | None) -> None:
    """The captured stdout and stderr of one attempt of a node."""
    if server:
        return _remote_logs(server, execution_id, node_id, attempt)
    from rillet.cli._follow import follow, live_text
    from rillet.engine._reaper import reap
    from rillet.engine._records import NodeStatus

    h = open_store(ctx, home)
    try:
        (record,) = reap(h.store, [h.store.get_execution(execution_id)])
    except StoreError as exc:
        fail(str(exc))
    attempts = h.store.attempts(record.id, node_id)
    if not attempts and _element_logs(h, record.id, node_id, attempt):
        return
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
    if chosen.status in (NodeStatus.RUNNING, NodeStatus.QUEUED):
        if follow_it:
            chosen = follow(h, record.id, node_id, chosen.attempt) or chosen
        else:  # running, or its process was killed: what the log file holds
            sys.stdout.write(live_text(h, record.id, node_id, chosen.attempt))
            if record.ended_at is None:
                click.echo(f"(attempt {chosen.attempt} of '{node_id}' is still running; "
                           "follow it with -f)", err=True)
            return
    else:  # an attempt whose process was killed has its output in the log file only
        sys.stdout.write(chosen.logs or live_text(h, record.id, node_id, chosen.attempt))
    if chosen.traceback:
        sys.stderr.write(chosen.traceback if chosen.traceback.endswith("\n")
                         else chosen.traceback + "\n")


def _element_logs(h: Any, execution_id: str, ref: str, attempt: int | None) -> bool:
    """``NODE[i]``: what failed element i of a map node printed, and its traceback."""
    import re

    match = re.fullmatch(r"(.+)\[(\d+)\]", ref)
    if match is None:
        return False
    node_id, index = match[1], int(match[2])
    found = [e for e in h.store.map_elements(execution_id)
             if e.node_id == node_id and e.map_index == index and e.error_type is not None
             and (attempt is None or e.attempt == attempt)]
    if not found:
        return False
    element = max(found, key=lambda e: e.attempt)
    sys.stdout.write(element.logs)
    if element.traceback:
        sys.stderr.write(element.traceback.rstrip("\n") + "\n")
    return True


@cli.command(context_settings=CONTEXT)
@click.argument("ref")
@click.option("--upstream", "direction", flag_value="upstream", default=True,
              help="Where it came from (default).")
@click.option("--downstream", "direction", flag_value="downstream", help="What used it.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--home", type=click.Path(file_okay=False), default=None)
@server_option
@click.pass_context
def lineage(ctx: click.Context, ref: str, direction: str, as_json: bool,
            home: str | None, server: str | None) -> None:
    """Walk lineage from REF: an execution id, EXEC:NODE, an artifact hash prefix, or
    request:ID (a served prediction, back to the data its model was trained on)."""
    from rillet.services import lineage as walk_lineage

    if server:
        if ref.startswith("request:"):
            from rillet.cli._models import request_lineage

            return request_lineage(None, ref[len("request:"):], as_json, server)
        try:
            shown = remote(server).lineage_json(ref, direction)
        except RilletError as exc:
            fail(str(exc))
    else:
        inst = open_instance(ctx, home)
        if ref.startswith("request:"):
            from rillet.cli._models import request_lineage

            return request_lineage(inst, ref[len("request:"):], as_json)
        try:
            shown = walk_lineage(inst, ref, direction)
        except NotFound as exc:
            fail(str(exc))
    _print_lineage(shown, direction, as_json)


def _print_lineage(shown: Any, direction: str, as_json: bool) -> None:
    from rillet.cli._output import print_json
    from rillet.engine._lineage import render

    if as_json:
        print_json(shown)
        return
    for line in render(shown["artifacts"], upstream=direction == "upstream"):
        click.echo(line)


# -- the same commands against a server (--server URL / RILLET_SERVER) ------------------


def _remote_list(server: str, as_json: bool, limit: int, workflow: str | None,
                 status: str | None, project: str | None = None,
                 domain: str | None = None) -> None:
    from rillet.cli._output import print_json, seconds, table, when

    try:
        shown = remote(server).executions_json(limit=limit, workflow=workflow,
                                               status=status.upper() if status else None,
                                               project=project, domain=domain)
    except RilletError as exc:
        fail(str(exc))
    if as_json:
        print_json(shown)
        return
    rows = [[e["execution_id"], e["workflow"], e["status"], when(e["created_at"]),
             seconds(e["started_at"], e["ended_at"])] for e in shown]
    click.echo(table(rows, ["EXECUTION", "WORKFLOW", "STATUS", "CREATED", "DURATION"]))


def _remote_show(server: str, execution_id: str, as_json: bool) -> None:
    from rillet.cli._output import print_json, seconds, table

    try:
        detail = remote(server).execution_json(execution_id)
    except RilletError as exc:
        fail(str(exc))
    if as_json:
        print_json(detail)
        return
    click.echo(f"execution {detail['execution_id']}  {detail['workflow']}  {detail['status']}")
    if detail["parent_id"]:
        click.echo(f"recovers {detail['parent_id']}")
    if detail["error"]:
        click.echo(f"error: {detail['error']}")
    rows = []
    for n in detail["nodes"]:
        source = f"{n['source_execution']}:{n['source_node']}" if n["source_execution"] else ""
        rows.append([n["node_id"], n["status"], str(n["attempts"]),
                     seconds(n["started_at"], n["ended_at"]), source])
    click.echo(table(rows, ["NODE", "STATUS", "ATTEMPTS", "DURATION", "FROM"]))


def _remote_logs(server: str, execution_id: str, node_id: str, attempt: int | None) -> None:
    from rillet.services._executions import NO_ATTEMPT

    try:
        chosen = remote(server).logs_json(execution_id, node_id, attempt)
    except RilletError as exc:
        fail(str(exc), 1 if NO_ATTEMPT in str(exc) else 2)
    sys.stdout.write(chosen["logs"])
    tb = chosen["traceback"]
    if tb:
        sys.stderr.write(tb if tb.endswith("\n") else tb + "\n")
