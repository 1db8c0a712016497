"""``rillet models list|show|register|alias`` and ``rillet serve``: the model registry
and serving on the command line. The work is done by ``rillet.models``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from rillet.cli._app import CONTEXT, cli, fail, open_store, server_option
from rillet.errors import RilletError


@contextmanager
def _registry(ctx: click.Context, home: str | None, server: str | None = None,
              project: str = "default", domain: str = "development") -> Iterator[Any]:
    """The registry of ``project``/``domain`` on the home, or (``--server``) on the
    server, with the same methods."""
    if server:
        from rillet.cli._app import remote

        client = remote(server)
        try:
            yield client.models_in(project, domain)
        except RilletError as exc:
            fail(str(exc))
        finally:
            client.close()
        return
    from rillet.platform._registry import check_scope
    from rillet.services._model_registry import Registry

    try:
        check_scope(project, domain)  # before a home is opened (or made)
    except RilletError as exc:
        fail(str(exc))
    h = open_store(ctx, home)
    try:
        yield Registry(h.store, h.artifacts, project=project, domain=domain)
    except RilletError as exc:
        fail(str(exc))
    finally:
        h.close()


@cli.group(context_settings=CONTEXT)
def models() -> None:
    """The model registry: versions, aliases and their history."""


_home = click.option("--home", type=click.Path(file_okay=False), default=None)
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _scope(fn: Any) -> Any:
    """``--project`` and ``--domain``: the registry a model belongs to."""
    fn = click.option("--domain", default="development", show_default=True,
                      help="The model's domain.")(fn)
    return click.option("--project", default="default", show_default=True,
                        help="The model's project (a name is unique within a project "
                        "and domain).")(fn)


@models.command("list", context_settings=CONTEXT)
@_json
@_scope
@_home
@server_option
@click.pass_context
def list_models(ctx: click.Context, as_json: bool, project: str, domain: str,
                home: str | None, server: str | None) -> None:
    """Every registered model of a project and domain: its latest version and aliases."""
    from rillet.cli._output import print_json, table, when

    with _registry(ctx, home, server, project, domain) as r:
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
@_scope
@_home
@server_option
@click.pass_context
def show_model(ctx: click.Context, name: str, as_json: bool, project: str, domain: str,
               home: str | None, server: str | None) -> None:
    """The versions of NAME with their lineage, and its history."""
    from rillet.cli._output import print_json, table, when

    with _registry(ctx, home, server, project, domain) as r:
        found = r.versions(name)
        events = r.history(name)
    if as_json:
        print_json({"name": name, "project": project, "domain": domain,
                    "versions": [v.to_json() for v in found],
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
@_scope
@_home
@server_option
@click.pass_context
def register_model(ctx: click.Context, name: str, source: str, alias: str | None,
                   as_json: bool, project: str, domain: str, home: str | None,
                   server: str | None) -> None:
    """Register an output of a node of a succeeded execution (of the same project) as
    the next version of NAME in --project/--domain."""
    from rillet.cli._output import print_json

    parts = source.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        fail(f"{source}: expected EXEC_ID:NODE or EXEC_ID:NODE:OUTPUT")
    execution, node = parts[0], parts[1]
    output = parts[2] if len(parts) == 3 else "o0"
    with _registry(ctx, home, server, project, domain) as r:
        version = r.register(name, execution=execution, node=node, output=output, alias=alias)
        mv = r.version(name, version)
    if as_json:
        print_json(mv.to_json())
    else:
        where = "" if (project, domain) == ("default", "development") else \
            f" in {project}/{domain}"
        click.echo(f"registered {name} version {version}{where}"
                   + (f" ({alias})" if alias else ""))


@models.command("alias", context_settings=CONTEXT)
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=click.IntRange(min=1, max=2**62))
@_scope
@_home
@server_option
@click.pass_context
def alias_model(ctx: click.Context, name: str, alias: str, version: int, project: str,
                domain: str, home: str | None, server: str | None) -> None:
    """Move ALIAS of NAME to VERSION (kept in the history; a server serving it swaps)."""
    with _registry(ctx, home, server, project, domain) as r:
        previous = r.set_alias(name, alias, version)
    was = f" (was {previous})" if previous is not None else ""
    click.echo(f"{name}@{alias} -> {version}{was}")


def _parse_canary(text: str) -> tuple[str, str, float]:
    ref, _, percent = text.rpartition(":")
    if not ref or "@" not in ref:
        fail(f"--canary {text}: expected NAME@ALIAS:PERCENT (e.g. churn@challenger:10)")
    try:
        share = float(percent)
    except ValueError:
        share = -1.0
    if not 0 < share <= 100:
        fail(f"--canary {text}: the percentage is a number in (0, 100], not {percent!r}")
    name, _, alias = ref.partition("@")
    return name, alias, share


@cli.command(context_settings=CONTEXT)
@click.argument("ref", metavar="NAME@ALIAS")
@click.option("--canary", default=None, metavar="NAME@ALIAS:PERCENT",
              help="Send PERCENT of the requests to this alias.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8480, show_default=True,
              help="0 picks a free port (printed on stderr).")
@click.option("--workers", type=click.IntRange(min=1, max=1024), default=1, show_default=True,
              help="Server processes.")
@click.option("--log-bodies", is_flag=True, help="Keep request and answer bodies in the "
              "request log (hashes are always kept).")
@_scope
@_home
@server_option
@click.pass_context
def serve(ctx: click.Context, ref: str, canary: str | None, host: str, port: int, workers: int,
          log_bodies: bool, project: str, domain: str, home: str | None,
          server: str | None) -> None:
    """Serve NAME@ALIAS of --project/--domain over HTTP: POST /predict, GET /health,
    GET /metrics. With --server, the aliases and models come from that server and the
    request log goes there."""
    import os

    from rillet.cli._app import home_of
    from rillet.models._serving import ServeConfig, ServingApp
    from rillet.services._model_registry import parse_ref

    try:
        name, alias, _ = parse_ref(ref)
    except RilletError as exc:
        fail(str(exc))
    if alias is None:
        fail(f"{ref}: serve a model by alias, NAME@ALIAS (e.g. churn@production)")
    c_name, c_alias, percent = _parse_canary(canary) if canary else (None, None, 0.0)
    path = None if server else os.path.abspath(
        home_of(ctx, home) or os.environ.get("RILLET_HOME") or ".rillet")
    config = ServeConfig(home=path, name=name, alias=alias, canary_name=c_name,
                         canary_alias=c_alias, canary_percent=percent, log_bodies=log_bodies,
                         server=server, project=project, domain=domain)
    make = ServingApp
    if server:
        from rillet.cli._serve_remote import RemoteServingApp

        make = RemoteServingApp
        token = ctx.meta.get("rillet.token")
        if token:  # the serving processes talk to the server with it
            os.environ["RILLET_TOKEN"] = token
    with _registry(ctx, home, server, project, domain) as r:
        detail: dict[str, Any] = {"alias": alias, "version": r.alias_version(name, alias),
                                  "host": host, "port": port, "workers": workers}
        if c_name and c_alias:
            detail.update(canary=f"{c_name}@{c_alias}", canary_version=r.alias_version(
                c_name, c_alias), canary_percent=percent)
        app = None
        if workers == 1:  # load here: a model that cannot load is a one-line error
            app = make(config)
            app.start()
        else:  # each worker loads its own; check here once that they can
            from rillet.models._serving import Loaded

            for n, a in ((name, alias), (c_name, c_alias)):
                if n and a:
                    v = r.alias_version(n, a)
                    Loaded(n, v, r.load(r.version(n, v)))
        r.record_serving(name, detail)
    _run_uvicorn(app, config, host, port, workers, detail)


def _run_uvicorn(app: Any, config: Any, host: str, port: int, workers: int,
                 detail: dict[str, Any]) -> None:
    import os
    import socket
    import tempfile

    try:
        import uvicorn
    except ImportError:
        fail("rillet serve needs the serve extra: pip install 'rillet[serve]'")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}")
    sock.listen(2048)
    sock.set_inheritable(True)
    bound = sock.getsockname()[1]
    canary = (f", canary {detail['canary']} (version {detail['canary_version']}) "
              f"{detail['canary_percent']:g}%") if "canary" in detail else ""
    click.echo(f"serving {config.name}@{config.alias} (version {detail['version']}){canary} "
               f"on http://{host}:{bound} ({workers} worker{'s' if workers > 1 else ''})",
               err=True)
    options: dict[str, Any] = {"log_level": "warning", "access_log": False, "lifespan": "on",
                               "timeout_graceful_shutdown": 5, "backlog": 2048}
    if app is not None:
        server = uvicorn.Server(uvicorn.Config(app, **options))
        server.run(sockets=[sock])
        return
    import shutil

    from uvicorn.supervisors import Multiprocess

    os.environ["RILLET_SERVE_CONFIG"] = config.to_env()
    made = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the workers' metric files
        made = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
            prefix="rillet-metrics-")
    factory = ("rillet.cli._serve_remote:app_from_env" if config.server else
               "rillet.models._serving:app_from_env")
    cfg = uvicorn.Config(factory, factory=True, workers=workers,
                         **options)
    try:
        Multiprocess(cfg, sockets=[sock]).run()
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def request_lineage(h: Any, request_id: str, as_json: bool, server: str | None = None
                    ) -> None:
    """``rillet lineage request:ID``: from a served prediction to its training data
    (on the home ``h``, or through ``server``)."""
    from rillet.cli._output import print_json
    from rillet.models._lineage import render

    try:
        if server:
            from rillet.cli._app import remote

            with remote(server) as client:
                result = client.models.request_lineage_json(request_id)
        else:
            from rillet.services._models import request_lineage as walk

            result = walk(h, request_id)
    except RilletError as exc:
        fail(str(exc))
    if as_json:
        print_json(result)
    else:
        for line in render(result):
            click.echo(line)
