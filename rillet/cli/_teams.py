"""``rillet project``, ``promote`` and ``audit``: projects and their domains, promotion of
a registered version from one domain to the next, and the audit trail of writes. On the
store directly (``--home`` or ``--db``) or through ``--server``.

Exit codes: 0 done, 2 bad input, an unknown name or a conflict.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from rillet.cli._app import CONTEXT, MAX_COUNT, cli, fail, remote, server_option
from rillet.cli._launch import _open, _stores_options
from rillet.errors import RilletError


def _stamp(at: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) if at else "-"


def _on_store(ctx: click.Context, home: str | None, db_url: str | None, fn: Any) -> Any:
    """``fn(metadata store)`` on the home or the database ``--db`` (no artifacts needed)."""
    if db_url:
        from rillet.store._db import database_url
        from rillet.store._sql import SqlMetadataStore

        try:
            store = SqlMetadataStore(database_url(db_url))
        except RilletError as exc:
            fail(str(exc))
        try:
            return fn(store)
        except RilletError as exc:
            fail(str(exc))
        finally:
            store.close()
    stores = _open(ctx, home, None, None)
    try:
        return fn(stores.store)
    except RilletError as exc:
        fail(str(exc))
    finally:
        stores.close()


def _via_server(server: str, fn: Any) -> Any:
    try:
        with remote(server) as r:
            return fn(r)
    except RilletError as exc:
        fail(str(exc))


@cli.group(context_settings=CONTEXT)
def project() -> None:
    """Projects: each with the domains development, staging and production."""


@project.command("create", context_settings=CONTEXT)
@click.argument("name")
@click.option("--description", default="", help="A line about the project.")
@click.option("--json", "as_json", is_flag=True)
@_stores_options
@server_option
@click.pass_context
def project_create(ctx: click.Context, name: str, description: str, as_json: bool,
                   home: str | None, db_url: str | None, artifacts_url: str | None,
                   server: str | None) -> None:
    """Create project NAME (written to the store directly, or through --server)."""
    from rillet.platform._teams import create_project

    if server:
        made = _via_server(server, lambda r: r.create_project(name, description))
    else:
        made = _on_store(ctx, home, db_url,
                         lambda s: create_project(s, name, description=description))
    if as_json:
        click.echo(json.dumps(made, indent=2, sort_keys=True))
        return
    click.echo(f"project {made['name']} created (domains: {', '.join(made['domains'])})")


@project.command("limit", context_settings=CONTEXT)
@click.argument("name")
@click.option("--domain", default="development", show_default=True)
@click.option("--max-running", type=click.IntRange(min=0), required=True,
              help="The most executions running at once (0: no cap).")
@_stores_options
@click.pass_context
def project_limit(ctx: click.Context, name: str, domain: str, max_running: int,
                  home: str | None, db_url: str | None, artifacts_url: str | None) -> None:
    """Cap the running executions of project NAME in --domain; launches past the cap
    queue and start in order as others end (on the store: --home or --db)."""
    from rillet.platform._teams import set_limit

    done = _on_store(ctx, home, db_url, lambda s: set_limit(s, name, domain, max_running))
    cap = done["max_running"]
    click.echo(f"{name}/{domain}: " + (f"at most {cap} running" if cap else "no cap"))


@project.command("list", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True)
@_stores_options
@server_option
@click.pass_context
def project_list(ctx: click.Context, as_json: bool, home: str | None, db_url: str | None,
                 artifacts_url: str | None, server: str | None) -> None:
    """Every project, default first."""
    from rillet.platform._teams import list_projects

    if server:
        found = _via_server(server, lambda r: r.projects())
    else:
        found = _on_store(ctx, home, db_url, list_projects)
    if as_json:
        click.echo(json.dumps(found, indent=2, sort_keys=True))
        return
    for p in found:
        click.echo(f"{p['name']:<24} {_stamp(p['created_at']):<20} {p['created_by'] or '-':<20} "
                   f"{p['description']}")


@cli.command(context_settings=CONTEXT)
@click.argument("name")
@click.option("--version", "version", required=True, help="The registered version.")
@click.option("--project", default="default", show_default=True)
@click.option("--from", "from_domain", required=True, metavar="DOMAIN")
@click.option("--to", "to_domain", required=True, metavar="DOMAIN")
@click.option("--json", "as_json", is_flag=True)
@_stores_options
@server_option
@click.pass_context
def promote(ctx: click.Context, name: str, version: str, project: str, from_domain: str,
            to_domain: str, as_json: bool, home: str | None, db_url: str | None,
            artifacts_url: str | None, server: str | None) -> None:
    """Make NAME at --version available in the --to domain: the same bundle, nothing
    rebuilt; recorded with who and when. Promote an older version again to roll back."""
    from rillet.platform._teams import promote as do_promote

    if server:
        done = _via_server(server, lambda r: r.promote(
            name, version, project=project, from_domain=from_domain, to_domain=to_domain))
    else:
        done = _on_store(ctx, home, db_url, lambda s: do_promote(
            s, name, version, project=project, from_domain=from_domain,
            to_domain=to_domain))
    if as_json:
        click.echo(json.dumps(done, indent=2, sort_keys=True))
        return
    click.echo(f"promoted {name} version {version} in {project}: {from_domain} -> "
               f"{to_domain} (bundle {done['bundle_hash'][:12]})")


@cli.command(context_settings=CONTEXT)
@click.option("--project", default=None, help="Only this project (default: all).")
@click.option("--limit", type=click.IntRange(min=1, max=MAX_COUNT), default=100)
@click.option("--json", "as_json", is_flag=True)
@_stores_options
@server_option
@click.pass_context
def audit(ctx: click.Context, project: str | None, limit: int, as_json: bool,
          home: str | None, db_url: str | None, artifacts_url: str | None,
          server: str | None) -> None:
    """Every write (register, launch, abort, promote, project create): who, when, where."""
    from rillet.platform._teams import audit_log

    limit = min(limit, 10_000)
    if server:
        rows = _via_server(server, lambda r: r.audit(project, limit))
    else:
        rows = _on_store(ctx, home, db_url,
                         lambda s: audit_log(s, project=project, limit=limit))
    if as_json:
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    for a in rows:
        where = f"{a['project']}/{a['domain']}" if a["domain"] else a["project"]
        click.echo(f"{_stamp(a['at'])}  {a['who']:<20} {where:<28} {a['action']:<16} "
                   f"{a['target']}")


@cli.group(context_settings=CONTEXT)
def launchplan() -> None:
    """Launch plans: list them with their schedule and next fire time; activate or
    deactivate their schedule (the server's scheduler fires the active ones); list their
    webhook deliveries."""


def _plan_options(fn: Any) -> Any:
    fn = click.option("--domain", default="development", show_default=True)(fn)
    fn = click.option("--project", default="default", show_default=True)(fn)
    fn = click.option("--json", "as_json", is_flag=True)(fn)
    return server_option(_stores_options(fn))


@launchplan.command("list", context_settings=CONTEXT)
@click.argument("name", required=False)
@_plan_options
@click.pass_context
def launchplan_list(ctx: click.Context, name: str | None, project: str, domain: str,
                    as_json: bool, home: str | None, db_url: str | None,
                    artifacts_url: str | None, server: str | None) -> None:
    """The launch plans of a project and domain: schedule, state, next fire time."""
    from rillet.platform._schedule import launch_plans

    if server:
        found = _via_server(server, lambda r: r.launch_plans(name, project=project,
                                                             domain=domain))
    else:
        found = _on_store(ctx, home, db_url, lambda s: launch_plans(
            s, project=project, domain=domain, name=name))
    if as_json:
        click.echo(json.dumps(found, indent=2, sort_keys=True))
        return
    for p in found:
        sched = p["schedule"] or {}
        what = (f"every {sched['seconds']:g}s" if sched.get("type") == "FixedRate"
                else sched.get("schedule", "-"))
        click.echo(f"{p['name']:<32} {p['version']:<14} {'active' if p['active'] else '-':<7} "
                   f"{what:<16} next {_stamp(p['next_fire_at'])}")


@launchplan.command("activate", context_settings=CONTEXT)
@click.argument("name")
@click.option("--version", "version", default=None, help="Default: the domain's active one.")
@click.option("--catch-up", is_flag=True, help="After downtime fire every missed slot "
              "(default: only the latest).")
@_plan_options
@click.pass_context
def launchplan_activate(ctx: click.Context, name: str, version: str | None, catch_up: bool,
                        project: str, domain: str, as_json: bool, home: str | None,
                        db_url: str | None, artifacts_url: str | None,
                        server: str | None) -> None:
    """Fire NAME on its schedule; with --version, point it at that version (rollback)."""
    from rillet.platform._schedule import activate

    if server:
        done = _via_server(server, lambda r: r.activate(
            name, project=project, domain=domain, version=version, catch_up=catch_up))
    else:
        done = _on_store(ctx, home, db_url, lambda s: activate(
            s, name, project=project, domain=domain, version=version, catch_up=catch_up))
    if as_json:
        click.echo(json.dumps(done, indent=2, sort_keys=True))
        return
    click.echo(f"{name} version {done['version']} active in {project}/{domain}; next fire "
               f"{_stamp(done['next_fire_at'])}")


@launchplan.command("deactivate", context_settings=CONTEXT)
@click.argument("name")
@_plan_options
@click.pass_context
def launchplan_deactivate(ctx: click.Context, name: str, project: str, domain: str,
                          as_json: bool, home: str | None, db_url: str | None,
                          artifacts_url: str | None, server: str | None) -> None:
    """Stop firing NAME (its fires so far are kept)."""
    from rillet.platform._schedule import deactivate

    if server:
        done = _via_server(server, lambda r: r.deactivate(name, project=project,
                                                          domain=domain))
    else:
        done = _on_store(ctx, home, db_url, lambda s: deactivate(
            s, name, project=project, domain=domain))
    if as_json:
        click.echo(json.dumps(done, indent=2, sort_keys=True))
        return
    click.echo(f"{name} deactivated in {project}/{domain}")


@launchplan.command("deliveries", context_settings=CONTEXT)
@click.argument("name")
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=100,
              show_default=True)
@_plan_options
@click.pass_context
def launchplan_deliveries(ctx: click.Context, name: str, limit: int, project: str,
                          domain: str, as_json: bool, home: str | None, db_url: str | None,
                          artifacts_url: str | None, server: str | None) -> None:
    """The webhook deliveries of NAME's executions, newest first: every attempt, with its
    state (sending, delivered, failed), HTTP status or error."""
    from rillet.platform._notify import plan_deliveries

    if server:
        rows = _via_server(server, lambda r: r.deliveries(name, project=project,
                                                          domain=domain, limit=limit))
    else:
        rows = _on_store(ctx, home, db_url, lambda s: plan_deliveries(
            s, name, project=project, domain=domain, limit=limit))
    if as_json:
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    for d in rows:
        result = d["error"] or (str(d["http_status"]) if d["http_status"] else "-")
        click.echo(f"{_stamp(d['at'])}  {d['execution_id']:<14} hook {d['hook']} "
                   f"try {d['attempt']}  {d['event']:<10} {d['state']:<10} {result:<12} "
                   f"{d['url']}  by {d['sent_by']}")


@cli.group(context_settings=CONTEXT)
def token() -> None:
    """API tokens for a server run with --auth."""


@token.command("create", context_settings=CONTEXT)
@click.option("--user", required=True, help="Who the token is for.")
@click.option("--project", default=None, help="The project the role is in.")
@click.option("--role", type=click.Choice(["viewer", "launcher", "editor", "admin"]),
              default=None, help="viewer < launcher < editor < admin.")
@click.option("--admin", is_flag=True, help="A token that may do anything (every project).")
@click.option("--json", "as_json", is_flag=True)
@_stores_options
@server_option
@click.pass_context
def token_create(ctx: click.Context, user: str, project: str | None, role: str | None,
                 admin: bool, as_json: bool, home: str | None, db_url: str | None,
                 artifacts_url: str | None, server: str | None) -> None:
    """Make a token and print it once (the store keeps only its hash). Written to the
    store directly (--home/--db: the first admin token), or through --server as an
    admin."""
    from rillet.platform._tokens import create_token

    if server:
        made = _via_server(server, lambda r: r.create_token(user, project=project, role=role,
                                                            admin=admin))
    else:
        made = _on_store(ctx, home, db_url, lambda s: create_token(
            s, user, project=project, role=role, admin=admin))
    if as_json:
        click.echo(json.dumps(made, indent=2, sort_keys=True))
        return
    click.echo(made["token"])


@token.command("revoke", context_settings=CONTEXT)
@click.option("--user", required=True, help="Whose tokens to revoke (all of them).")
@click.option("--json", "as_json", is_flag=True)
@_stores_options
@server_option
@click.pass_context
def token_revoke(ctx: click.Context, user: str, as_json: bool, home: str | None,
                 db_url: str | None, artifacts_url: str | None, server: str | None) -> None:
    """Revoke every live token of --user (on the store directly, or through --server as
    an admin). A server refuses them at once when revoked through it, otherwise within
    5 s (its token cache)."""
    from rillet.platform._tokens import revoke_tokens

    if server:
        done = _via_server(server, lambda r: r.revoke_tokens(user))
    else:
        done = _on_store(ctx, home, db_url,
                         lambda s: {"user": user, "revoked": revoke_tokens(s, user)})
    if as_json:
        click.echo(json.dumps(done, indent=2, sort_keys=True))
        return
    click.echo(f"revoked {done['revoked']} token(s) of {user}")
