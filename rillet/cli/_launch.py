"""``rillet register``, ``versions``, ``launch`` and ``worker``: registered versions,
the launch queue and workers, on the embedded home (``--home``) or on shared stores
(``--db URL --artifacts URL``).

Exit codes: 0 done (``launch --wait``: the execution succeeded), 1 it failed, 2 a usage
error, bad input or a conflicting registration.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any, NoReturn

import click

from rillet.cli._app import (
    CONTEXT,
    EXECUTOR,
    cli,
    fail,
    home_of,
    print_report,
    remote,
    server_option,
)
from rillet.errors import RilletError

_TERMINAL = ("SUCCEEDED", "FAILED", "ABORTED")


def _stores_options(fn: Any) -> Any:
    fn = click.option("--artifacts", "artifacts_url", default=None, metavar="URL",
                      help="Shared artifact store (a folder or s3://bucket/prefix).")(fn)
    fn = click.option("--db", "db_url", default=None, metavar="URL",
                      help="Shared metadata store (postgresql://...).")(fn)
    return click.option("--home", type=click.Path(file_okay=False), default=None)(fn)


def _scope_options(fn: Any) -> Any:
    fn = click.option("--domain", default="development", show_default=True)(fn)
    return click.option("--project", default="default", show_default=True)(fn)


def _open(ctx: click.Context, home: str | None, db: str | None, artifacts: str | None) -> Any:
    from rillet.platform._stores import open_stores

    try:
        return open_stores(home_of(ctx, home), db, artifacts)
    except RilletError as exc:
        fail(str(exc))


@cli.command(context_settings=CONTEXT)
@click.argument("path", type=click.Path(exists=True))
@_scope_options
@click.option("--version", "version", default=None, help="Default: the bundle hash (12 chars).")
@click.option("--json", "as_json", is_flag=True)
@_stores_options
@server_option
@click.pass_context
def register(ctx: click.Context, path: str, project: str, domain: str, version: str | None,
             as_json: bool, home: str | None, db_url: str | None,
             artifacts_url: str | None, server: str | None) -> None:
    """Register every task, workflow and launch plan in PATH (a .py file or a folder)."""
    from rillet.platform._registry import register as register_path

    if server:
        try:
            with remote(server) as r:
                found = r.register(path, project=project, domain=domain, version=version)
        except RilletError as exc:
            fail(str(exc))
    else:
        stores = _open(ctx, home, db_url, artifacts_url)
        try:
            found = [e.to_json() for e in register_path(
                path, store=stores.store, artifacts=stores.artifacts, project=project,
                domain=domain, version=version)]
        except RilletError as exc:
            fail(str(exc))
        finally:
            stores.close()
    if as_json:
        click.echo(json.dumps(found, indent=2, sort_keys=True))
        return
    for e in found:
        click.echo(f"{e['kind']:<12} {e['name']}  version {e['version']}")


@cli.command(context_settings=CONTEXT)
@click.argument("name", required=False)
@_scope_options
@click.option("--json", "as_json", is_flag=True)
@_stores_options
@server_option
@click.pass_context
def versions(ctx: click.Context, name: str | None, project: str, domain: str, as_json: bool,
             home: str | None, db_url: str | None, artifacts_url: str | None,
             server: str | None) -> None:
    """List registered versions (of NAME, or of everything), newest first."""
    from rillet.platform._registry import versions as list_versions

    if server:
        try:
            with remote(server) as r:
                found = r.versions(name, project=project, domain=domain)
        except RilletError as exc:
            fail(str(exc))
    else:
        stores = _open(ctx, home, db_url, artifacts_url)
        try:
            found = [e.to_json() for e in list_versions(stores.store, name, project=project,
                                                        domain=domain)]
        finally:
            stores.close()
    if as_json:
        click.echo(json.dumps(found, indent=2, sort_keys=True))
        return
    if name and not found:
        fail(f"{name} is not registered in {project}/{domain}")
    for e in found:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e["created_at"]))
        click.echo(f"{e['name']:<40} {e['version']:<14} {e['kind']:<12} {stamp}")


def cli_inputs(args: list[str], interface: dict[str, Any]) -> dict[str, Any]:
    """``--name VALUE`` text -> JSON values by the registered descriptors (a list input
    may be repeated, one element each; a bare ``--flag`` is true)."""
    from rillet.cli._inputs import InputError, split_args

    out: dict[str, Any] = {}
    declared = interface.get("inputs", {})
    for key, texts in split_args(args).items():
        desc = declared.get(key, {})
        kind = desc.get("kind")
        if kind == "optional":
            desc = desc["inner"]
            kind = desc.get("kind")
        values = ["true" if t is None else t for t in texts]
        if kind == "list" and len(values) > 1:
            out[key] = [_text_value(v, desc["item"].get("kind")) for v in values]
            continue
        if len(values) > 1:
            raise InputError(f"input --{key.replace('_', '-')} is given {len(values)} times")
        text = values[0]
        if declared.get(key, {}).get("kind") == "optional" and text.lower() in ("none", "null"):
            out[key] = None
            continue
        out[key] = _text_value(text, kind)
    return out


def _text_value(text: str, kind: str | None) -> Any:
    if kind in ("str", "datetime", "date", "file", "directory", "bytes", "enum"):
        return text
    if kind == "bool" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return json.loads(text)
    except ValueError:
        return text


@cli.command(context_settings={**CONTEXT, "ignore_unknown_options": True,
                               "allow_extra_args": True})
@click.argument("name")
@click.option("--version", "version", default=None, help="Default: the newest.")
@_scope_options
@click.option("--wait", is_flag=True, help="Follow it to its end; exit like `rillet run`.")
@click.option("--json", "as_json", is_flag=True)
@_stores_options
@server_option
@click.pass_context
def launch(ctx: click.Context, name: str, version: str | None, project: str, domain: str,
           wait: bool, as_json: bool, home: str | None, db_url: str | None,
           artifacts_url: str | None, server: str | None) -> None:
    """Queue an execution of registered NAME [--INPUT VALUE ...] for a worker."""
    from rillet.platform._queue import launch as queue_launch
    from rillet.platform._registry import find

    if server:
        _launch_remote(ctx, server, name, version, project, domain, wait, as_json)
        return
    stores = _open(ctx, home, db_url, artifacts_url)
    try:
        entity = find(stores.store, name, version, project=project, domain=domain)
        inputs = cli_inputs(list(ctx.args), entity.interface)
        execution_id = queue_launch(stores.store, name, entity.version, project=project,
                                    domain=domain, inputs=inputs)
        if not wait:
            if as_json:
                click.echo(json.dumps({"execution_id": execution_id, "status": "QUEUED"}))
            else:
                click.echo(f"execution {execution_id} QUEUED")
            return
        record = wait_for(stores, execution_id)
    except RilletError as exc:
        fail(str(exc))
    report_record(stores, record, as_json)


def registered_inputs(ctx: click.Context, r: Any, name: str, version: str | None,
                      project: str, domain: str, hint: str = "") -> tuple[str, dict[str, Any]]:
    """The registered version of NAME (``version``, else the newest) in project/domain and
    the command line's inputs read against its interface (``--server`` commands)."""
    found = [e for e in r.versions(name, project=project, domain=domain)
             if version is None or e["version"] == version]
    if not found:
        fail(f"{name}{'@' + version if version else ''} is not registered in "
             f"{project}/{domain}{hint}")
    return found[0]["version"], cli_inputs(list(ctx.args), found[0]["interface"])


def _launch_remote(ctx: click.Context, server: str, name: str, version: str | None,
                   project: str, domain: str, wait: bool, as_json: bool) -> None:
    """``launch --server``: the inputs are read against the server's registered interface."""
    try:
        with remote(server) as r:
            version_, inputs = registered_inputs(ctx, r, name, version, project, domain)
            ex = r.launch(name, version_, project=project, domain=domain, **inputs)
            if wait:
                ex = ex.wait()
    except RilletError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps({"execution_id": ex.id, "status": ex.status.value}))
    else:
        click.echo(f"execution {ex.id} {ex.status.value}")
    if wait and ex.status.value != "SUCCEEDED":
        sys.exit(1)


def wait_for(stores: Any, execution_id: str, timeout: float | None = None) -> Any:
    """The execution's record once it ended (read from the store as it moves)."""
    delay = 0.002
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        record = stores.store.get_execution(execution_id)
        if record.status.value in _TERMINAL:
            return record
        if deadline is not None and time.monotonic() > deadline:
            raise RilletError(f"execution {execution_id} is still {record.status.value} after "
                              f"{timeout:g} s")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def report_record(stores: Any, record: Any, as_json: bool) -> NoReturn:
    """Like ``rillet run``'s report, without the workflow's code: a JSON-form output is
    shown as stored, any other by reference."""
    from rillet.cli._output import opaque

    hashes = record.outputs or {}
    found = stores.store.artifacts(list(hashes.values()))
    root = getattr(stores.artifacts, "root", None)
    outputs: dict[str, Any] = {}
    for name, digest in hashes.items():
        art = found.get(digest)
        if art is not None and art.format == "json" and art.inline is not None:
            outputs[name] = json.loads(art.inline)
        else:
            outputs[name] = opaque(art, root=root)
    print_report(record.id, record.status.value, outputs, record.error, as_json)


@cli.command(context_settings=CONTEXT)
@_stores_options
@click.option("--executor", type=EXECUTOR, default="processes",
              help="Where attempts run: processes, inline, ray or a plugin's executor.")
@click.option("--ray-address", default=None,
              help="The Ray cluster of --executor ray (default $RAY_ADDRESS, else a local Ray).")
@click.option("--concurrency", type=click.IntRange(min=1), default=1,
              help="Executions at once.")
@click.option("--lease", type=click.FloatRange(min=1.0), default=30.0,
              help="Seconds a claim holds without a heartbeat before another worker takes it.")
@click.option("--ship-logs/--no-ship-logs", default=True, show_default=True,
              help="Ship running tasks' output to the artifact store every 0.25 s, so the "
                   "server's UI streams it (from a worker on another machine).")
@click.option("--max-executions", type=click.IntRange(min=1), default=None, hidden=True)
@click.pass_context
def worker(ctx: click.Context, home: str | None, db_url: str | None, artifacts_url: str | None,
           executor: str, ray_address: str | None, concurrency: int, lease: float,
           ship_logs: bool, max_executions: int | None) -> None:
    """Claim launched executions and run them (SIGTERM drains: running ones finish)."""
    from rillet.platform._worker import Worker

    if ray_address:
        os.environ["RAY_ADDRESS"] = ray_address

    stores = _open(ctx, home, db_url, artifacts_url)
    w = Worker(stores.store, stores.artifacts, concurrency=concurrency, executor=executor,
               lease=lease, ship_logs=ship_logs)

    def drain(_sig: int, _frame: Any) -> None:
        click.echo(f"worker {w.name}: draining (no new claims)", err=True)
        w.stop()

    signal.signal(signal.SIGTERM, drain)
    signal.signal(signal.SIGINT, drain)
    click.echo(f"worker {w.name}: ready", err=True)
    try:
        done = w.run(max_executions=max_executions)
    except RilletError as exc:
        fail(str(exc))
    finally:
        stores.close()
    click.echo(f"worker {w.name}: stopped after {done} executions", err=True)
    sys.exit(0)
