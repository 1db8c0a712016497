"""``rillet diff EXEC_A EXEC_B`` and ``rillet reproduce EXEC_ID`` (DESIGN's platform contract)."""

from __future__ import annotations

import click

from rillet.cli._app import CONTEXT, cli, fail, open_store
from rillet.errors import RilletError


@cli.command("diff", context_settings=CONTEXT)
@click.argument("execution_a")
@click.argument("execution_b")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.pass_context
def diff_command(ctx: click.Context, execution_a: str, execution_b: str, as_json: bool,
                 home: str | None) -> None:
    """What differs between two executions: inputs, code, packages, node outputs."""
    from rillet.cli._output import print_json
    from rillet.sdk._diff import diff

    h = open_store(ctx, home)
    try:
        d = diff(h, execution_a, execution_b)
    except RilletError as exc:
        fail(str(exc))
    if as_json:
        print_json(d)
        return
    out: list[str] = [f"diff {d['a']} {d['b']}"]
    out.append(f"inputs: {len(d['inputs'])} differ")
    out += [f"  {i['name']}: {_short(i['a'])} -> {_short(i['b'])}" for i in d["inputs"]]
    out.append(f"code: {len(d['code'])} file(s) differ")
    out += [c["diff"].rstrip("\n") or f"  {c['path']}" for c in d["code"]]
    out.append(f"packages: {len(d['packages'])} differ")
    out += [f"  {p['name']}: {p['a'] or '-'} -> {p['b'] or '-'}" for p in d["packages"]]
    out.append(f"nodes: {len(d['nodes'])} with different outputs")
    out += [f"  {n['node']}: {_outs(n['a'])} -> {_outs(n['b'])}" for n in d["nodes"]]
    click.echo("\n".join(out))


def _short(digest: str | None) -> str:
    return digest[:12] if digest else "-"


def _outs(outputs: dict[str, str] | None) -> str:
    if outputs is None:
        return "-"
    return ", ".join(f"{k}={v[:12]}" for k, v in outputs.items()) or "(none)"


@cli.command("reproduce", context_settings=CONTEXT)
@click.argument("execution_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--executor", type=click.Choice(["processes", "inline"]), default="processes")
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.pass_context
def reproduce_command(ctx: click.Context, execution_id: str, as_json: bool, executor: str,
                      home: str | None) -> None:
    """Run an execution again from its recorded code and inputs, cache off; exit 1 if
    an output hash differs."""
    from rillet.cli._output import print_json
    from rillet.sdk._diff import reproduce

    h = open_store(ctx, home)
    try:
        r = reproduce(h, execution_id, executor=executor)
    except RilletError as exc:
        fail(str(exc))
    if as_json:
        print_json(r)
    else:
        lines = [f"reproduced {r['execution']} as {r['reproduction']} ({r['status']})"]
        lines += [f"  {'match' if n['match'] else 'DIFFERS'}  {n['node']}" for n in r["nodes"]]
        lines.append("all node outputs match" if r["match"] else "outputs differ")
        click.echo("\n".join(lines))
    if not r["match"]:
        ctx.exit(1)
