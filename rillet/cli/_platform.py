"""``rillet server``, ``rillet ui`` and ``rillet abort``: the platform's own commands
(registration, launches and workers live in their own modules)."""

from __future__ import annotations

from typing import Any

import click

from rillet.cli._app import CONTEXT, cli, fail, home_of, open_instance, remote, server_option
from rillet.errors import RilletError

DEFAULT_PORT = 8470


@cli.command(context_settings=CONTEXT)
@click.argument("execution_id")
@click.option("--json", "as_json", is_flag=True)
@click.option("--home", type=click.Path(file_okay=False), default=None)
@server_option
@click.pass_context
def abort(ctx: click.Context, execution_id: str, as_json: bool, home: str | None,
          server: str | None) -> None:
    """Abort an execution: running attempts are killed and it ends ABORTED."""
    from rillet.cli._output import print_json

    shown: Any
    try:
        if server:
            shown = remote(server).abort_json(execution_id)
        else:
            from rillet.services import abort as abort_execution

            shown = abort_execution(open_instance(ctx, home), execution_id)
    except RilletError as exc:
        fail(str(exc))
    if as_json:
        print_json(shown)
    else:
        click.echo(f"execution {shown['execution_id']} {shown['status']}"
                   + ("" if shown["status"] == "ABORTED" else " (abort requested)"))


def _serve(ctx: click.Context, home: str | None, db: str | None, artifacts: str | None,
           host: str, port: int, workers: int, auth: bool = False) -> None:
    from rillet.server._serve import serve

    if (db is None) != (artifacts is None):
        fail("give both --db URL and --artifacts URL (or neither, for the home)")
    try:
        serve(home=home_of(ctx, home), db=db, artifacts=artifacts, host=host, port=port,
              workers=workers, auth=auth)
    except RilletError as exc:
        fail(str(exc))


@cli.command(context_settings=CONTEXT)
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.option("--db", default=None, help="Metadata store URL (postgresql://...).")
@click.option("--artifacts", default=None, help="Artifact store URL (s3://bucket/prefix).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--workers", type=click.IntRange(min=0), default=1, show_default=True,
              help="Local workers to run; 0 = none (use `rillet worker`).")
@click.option("--auth", is_flag=True, help="Require a token (Authorization: Bearer) and "
              "a role on every request; without it the server listens on loopback only.")
@click.pass_context
def server(ctx: click.Context, home: str | None, db: str | None, artifacts: str | None,
           host: str, port: int, workers: int, auth: bool) -> None:
    """Serve the API (and the UI) on a home, or on PostgreSQL + S3."""
    _serve(ctx, home, db, artifacts, host, port, workers, auth)


@cli.command(context_settings=CONTEXT)
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.pass_context
def ui(ctx: click.Context, home: str | None, host: str, port: int) -> None:
    """The server on the embedded home, with the UI at /."""
    _serve(ctx, home, None, None, host, port, 1)
