"""``rillet models list|show|register|alias`` and ``rillet serve``: the model registry
and serving on the command line. The work is done by ``rillet.models``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from rillet.cli._app import CONTEXT, cli, fail, open_store
from rillet.errors import RilletError


@contextmanager
def _registry(ctx: click.Context, home: str | None) -> Iterator[Any]:
    from rillet.models._registry import Registry

    h = open_store(ctx, home)
    try:
        yield Registry(h.store, h.artifacts)
    except RilletError as exc:
        fail(str(exc))
    finally:
        h.close()


@cli.group(context_settings=CONTEXT)
def models() -> None:
    """The model registry: versions, aliases and their history."""


_home = click.option("--home", type=click.Path(file_okay=False), default=None)
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@models.command("list", context_settings=CONTEXT)
@_json
@_home
@click.pass_context
def list_models(ctx: click.Context, as_json: bool, home: str | None) -> None:
    """Every registered model: its latest version and aliases."""
    from rillet.cli._output import print_json, table, when

    with _registry(ctx, home) as r:
        found = r.names()
    if as_json:
        print_json(found)
        return
    rows = [[m["name"], str(m["latest"]), str(m["versions"]),
             " ".join(f"{a}={v}" for a, v in m["aliases"].items()), when(m["updated_at"])]
            for m in found]
    click.echo(table(rows, ["MODEL", "LATEST", "VERSIONS", "ALIASES", "REGISTERED"]))


@models.command("show", context_settings=CONTEXT)
@click.argument("name")
@_json
@_home
@click.pass_context
def show_model(ctx: click.Context, name: str, as_json: bool, home: str | None) -> None:
    """The versions of NAME with their lineage, and its history."""
    from rillet.cli._output import print_json, table, when

    with _registry(ctx, home) as r:
        found = r.versions(name)
        events = r.history(name)
    if as_json:
        print_json({"name": name, "versions": [v.to_json() for v in found],
                    "history": [e.to_json() for e in events]})
        return
    rows = [[str(v.version), " ".join(v.aliases), f"{v.execution_id}:{v.node_id}:{v.output}",
             v.hash[:12], v.created_by, when(v.created_at)] for v in found]
    click.echo(table(rows, ["VERSION", "ALIASES", "FROM", "VALUE", "BY", "REGISTERED"]))
    click.echo("")
    rows = [[when(e.at), e.who, e.event, _event_text(e)] for e in events]
    click.echo(table(rows, ["WHEN", "WHO", "EVENT", "WHAT"]))


def _event_text(e: Any) -> str:
    if e.event == "alias":
        before = f" (was {e.previous})" if e.previous is not None else ""
        return f"{e.alias} -> {e.version}{before}"
    if e.event == "register":
        d = e.detail
        return f"version {e.version} from {d.get('execution_id')}:{d.get('node_id')}"
    return " ".join(f"{k}={v}" for k, v in sorted(e.detail.items()))


@models.command("register", context_settings=CONTEXT)
@click.argument("name")
@click.argument("source", metavar="EXEC_ID:NODE[:OUTPUT]")
@click.option("--alias", default=None, help="Point this alias at the new version.")
@_json
@_home
@click.pass_context
def register_model(ctx: click.Context, name: str, source: str, alias: str | None,
                   as_json: bool, home: str | None) -> None:
    """Register an output of a node of a succeeded execution as the next version."""
    from rillet.cli._output import print_json

    parts = source.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        fail(f"{source}: expected EXEC_ID:NODE or EXEC_ID:NODE:OUTPUT")
    execution, node = parts[0], parts[1]
    output = parts[2] if len(parts) == 3 else "o0"
    with _registry(ctx, home) as r:
        version = r.register(name, execution=execution, node=node, output=output, alias=alias)
        mv = r.version(name, version)
    if as_json:
        print_json(mv.to_json())
    else:
        click.echo(f"registered {name} version {version}"
                   + (f" ({alias})" if alias else ""))


@models.command("alias", context_settings=CONTEXT)
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int)
@_home
@click.pass_context
def alias_model(ctx: click.Context, name: str, alias: str, version: int,
                home: str | None) -> None:
    """Move ALIAS of NAME to VERSION (kept in the history; a server serving it swaps)."""
    with _registry(ctx, home) as r:
        previous = r.set_alias(name, alias, version)
    was = f" (was {previous})" if previous is not None else ""
    click.echo(f"{name}@{alias} -> {version}{was}")
