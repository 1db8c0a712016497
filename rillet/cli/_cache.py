"""``rillet cache list|clear|explain`` and ``rillet prune``."""

from __future__ import annotations

import sys
from typing import Any

import click

from rillet.cli._app import (
    CONTEXT,
    cli,
    fail,
    open_instance,
    pick_workflow,
    remote,
    resolved_inputs,
    server_option,
)
from rillet.errors import RilletError


@cli.group(context_settings=CONTEXT)
def cache() -> None:
    """Inspect and clear the task cache."""


@cache.command("list", context_settings=CONTEXT)
@click.argument("task", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.option("--home", type=click.Path(file_okay=False), default=None)
@server_option
@click.pass_context
def cache_list(ctx: click.Context, task: str | None, as_json: bool, home: str | None,
               server: str | None) -> None:
    """Cache entries (of one task, or all)."""
    from rillet.cli._output import print_json, table, when
    from rillet.services import cache_list as list_entries

    if server:
        try:
            entries = remote(server).cache_json(task)
        except RilletError as exc:
            fail(str(exc))
    else:
        inst = open_instance(ctx, home)
        entries = list_entries(inst, task)
        if not entries:
            _say_if_unknown(inst, task)
    if as_json:
        print_json(entries)
        return
    rows = [[e["key"][:12], e["task"], e["cache_version"][:20],
             f"{e['execution_id']}:{e['node_id']}", when(e["last_used_at"]),
             _outputs_text(e.get("output_values") or {})] for e in entries]
    click.echo(table(rows, ["KEY", "TASK", "VERSION", "FROM", "LAST USED", "OUTPUTS"]))


def _outputs_text(values: dict[str, Any], width: int = 40) -> str:
    """``o0=1.5 o1=<pickled T, 1.2 KB, sha256:ab12…>``: a long JSON value is cut."""
    from rillet.services._values import is_shown_record, shown_text

    parts = []
    for name, value in values.items():
        text = shown_text(value)
        if not is_shown_record(value) and len(text) > width:
            text = text[:width - 1] + "…"
        parts.append(f"{name}={text}")
    return " ".join(parts)


@cache.command("clear", context_settings=CONTEXT)
@click.argument("task", required=False)
@click.option("--home", type=click.Path(file_okay=False), default=None)
@server_option
@click.pass_context
def cache_clear(ctx: click.Context, task: str | None, home: str | None,
                server: str | None) -> None:
    """Delete cache entries (of one task, or all)."""
    if server:
        try:
            removed = remote(server).cache_clear(task)
        except RilletError as exc:
            fail(str(exc))
        click.echo(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'}")
        return
    from rillet.services import cache_clear as clear_entries

    inst = open_instance(ctx, home)
    try:
        removed = clear_entries(inst, task)
    except RilletError as exc:  # a short name of several tasks
        fail(str(exc))
    if not removed:
        _say_if_unknown(inst, task)
    click.echo(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'}")


def _say_if_unknown(inst: Any, task: str | None) -> None:
    """On stderr, when a short task name (the function's name, as a user types it) matches
    no task with cache entries: which tasks have some."""
    if task is None or ":" in task:
        return
    known = sorted({e.task for e in inst.store.cache_list(None)})
    if any(task in (n, n.rsplit(":", 1)[-1]) for n in known):
        return
    click.echo(f"no cache entries of task '{task}' (tasks with entries: "
               f"{', '.join(known) or 'none'})", err=True)


@cache.command("explain", context_settings={**CONTEXT, "ignore_unknown_options": True,
                                             "allow_extra_args": True})
@click.argument("target")
@click.option("--json", "as_json", is_flag=True)
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.option("--version", "version", default=None,
              help="With --server: the registered version (default: the newest).")
@click.option("--project", default=None, help="With --server: the project (default).")
@click.option("--domain", default=None, help="With --server: the domain (development).")
@server_option
@click.pass_context
def cache_explain(ctx: click.Context, target: str, as_json: bool, home: str | None,
                  version: str | None, project: str | None, domain: str | None,
                  server: str | None) -> None:
    """Say, before a run, which nodes of FILE.py:WORKFLOW will hit the cache and why not
    (with --server: of the registered NAME, as a launch in --project/--domain would)."""
    from rillet.cli._output import print_json, table

    if server:
        result = _explain_remote(ctx, server, target, version, project or "default",
                                 domain or "development")
    else:
        from rillet.services import cache_explain as explain

        # Without a server these are not options: a workflow's inputs of those names.
        for flag, value in (("--version", version), ("--project", project),
                            ("--domain", domain)):
            if value is not None:
                ctx.args.extend([flag, value])
        wf = pick_workflow(target)
        inputs = resolved_inputs(ctx, wf)
        inst = open_instance(ctx, home)
        try:
            result = explain(inst, wf, inputs)
        except RilletError as exc:
            fail(str(exc))
        finally:
            inst.close()
    if as_json:
        print_json(result)
        return
    click.echo(table([[e["node_id"], e["status"], e["reason"]] for e in result["nodes"]],
                     ["NODE", "CACHE", "WHY"]))


def _explain_remote(ctx: click.Context, server: str, name: str, version: str | None,
                    project: str, domain: str) -> Any:
    """``cache explain --server``: NAME is registered; the inputs are read against its
    registered interface, as ``launch --server`` reads them."""
    from rillet.cli._launch import registered_inputs

    try:
        with remote(server) as r:
            version_, inputs = registered_inputs(
                ctx, r, name, version, project, domain,
                " (with --server, name a registered workflow, as `rillet versions` lists it)")
            return r.cache_explain(name, version_, project=project, domain=domain, **inputs)
    except RilletError as exc:  # an InputError too
        fail(str(exc))


@cli.command(context_settings=CONTEXT)
@click.option("--older-than", default=None, help="Purge values of executions older than AGE "
              "(e.g. 30d, 12h, 10m, 0s).")
@click.option("--max-size", default=None, help="Evict least recently used cache entries until "
              "stored values fit in SIZE (e.g. 500M, 2G).")
@click.option("--dry-run", is_flag=True, help="Only print what would be freed.")
@click.option("--json", "as_json", is_flag=True, help="Print what was freed as JSON.")
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.option("--db", "db_url", default=None, metavar="URL",
              help="A shared metadata store (postgresql://...), with --artifacts.")
@click.option("--artifacts", "artifacts_url", default=None, metavar="URL",
              help="A shared artifact store (a folder or s3://bucket/prefix), with --db.")
@server_option
@click.pass_context
def prune(ctx: click.Context, older_than: str | None, max_size: str | None, dry_run: bool,
          as_json: bool, home: str | None, db_url: str | None,
          artifacts_url: str | None, server: str | None) -> None:
    """Free stored values nothing kept refers to (and the checkpoints, work folders and
    logs of the executions --older-than prunes)."""
    from rillet.services import prune as prune_instance
    from rillet.services import usage
    from rillet.services._maintenance import NOTHING_CHOSEN

    shared = db_url is not None or artifacts_url is not None
    if server:  # the server's stores, through its API (an admin's, with --auth)
        if shared or home:
            fail("give --server URL or --home/--db/--artifacts, not both")
        try:
            with remote(server) as r:
                report = r.prune(older_than=older_than, max_size=max_size, dry_run=dry_run)
        except RilletError as exc:
            fail(str(exc))
        _print_prune(report, as_json, dry_run, max_size)
        return
    if shared:  # the platform's stores: values and stored checkpoints (no local folders)
        from rillet.store._instance import Instance, InstanceConfig

        if not db_url or not artifacts_url:
            fail("give both --db URL and --artifacts URL (or --home DIR)")
        try:
            inst = Instance.open(InstanceConfig(metadata_url=db_url,
                                                artifacts_url=artifacts_url))
        except RilletError as exc:
            fail(str(exc))
    else:
        inst = open_instance(ctx, home)
    try:
        if older_than is None and max_size is None and not shared:
            held = usage(inst)
            click.echo(f"this home holds {held['executions']} executions; "
                       + ", ".join(f"{kind} {size} bytes"
                                   for kind, size in held["bytes"].items()))
            fail(NOTHING_CHOSEN)
        try:
            report = prune_instance(inst, older_than=older_than, max_size=max_size,
                                    dry_run=dry_run)
        except (ValueError, RilletError) as exc:
            fail(str(exc))
    finally:
        inst.close()
    _print_prune(report, as_json, dry_run, max_size)


def _print_prune(report: Any, as_json: bool, dry_run: bool, max_size: str | None) -> None:
    from rillet.cli._output import print_json

    if as_json:
        print_json(report)
        return
    verb = "would free" if dry_run else "freed"
    sys.stdout.write(
        f"{verb} {report['freed_bytes']} bytes: {report['purged_artifacts']} stored values "
        f"of {report['executions']} executions, {report['evicted_entries']} cache entries\n")
    if report["orphan_files"] or report["stale_temp_files"]:
        sys.stdout.write(
            f"{'would remove' if dry_run else 'removed'} {report['orphan_files']} value "
            f"files no record names and {report['stale_temp_files']} temp files of "
            "unfinished writes (older than an hour)\n")
    kinds = ", ".join(f"{kind} {size} bytes" for kind, size in report["by_kind"].items())
    sys.stdout.write(f"by kind: {kinds} ({sum(report['by_kind'].values())} bytes in all)\n")
    if report["kept_for_models"]:
        click.echo(f"kept {len(report['kept_for_models'])} stored values that registered "
                   "model versions use (see `rillet models list`)", err=True)
    size, stored = report["max_size"], report["stored_bytes"]
    if size is not None and stored is not None and stored > size:
        click.echo(f"stored values {'would ' if dry_run else ''}still take "
                   f"{stored} bytes, over --max-size {max_size}: the rest is "
                   "held by executions that are kept (purge old ones with --older-than)",
                   err=True)
