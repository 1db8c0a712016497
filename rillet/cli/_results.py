"""``rillet outputs ID [NODE] [--json] [--to DIR]`` and the stored values that
``rillet executions show`` prints: what a run used and what it made.

Values are shown from their stored JSON form only (small values are kept inline);
anything else is shown as its type, hash and size. Nothing is unpickled or decoded
by a user's class here: ``--to`` copies the stored bytes, a File under its own name.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from rillet.cli._app import CONTEXT, cli, fail, open_store
from rillet.errors import StoreError

_SUFFIX = {"json": ".json", "parquet": ".parquet", "npy": ".npy", "pickle": ".pkl",
           "dir": ".tar"}


def stored_values(h: Any, hashes: dict[str, str]) -> dict[str, Any]:
    """Each name's value as JSON when it is stored inline, else ``{"type", "hash",
    "size", "uri", "format", "pickled"}``; a pruned value says so. Never decoded."""
    from rillet.services._values import shown_values

    return shown_values(h.store, getattr(h.artifacts, "root", None), hashes)


def shown_text(value: Any) -> str:
    """One line for a value of :func:`stored_values`."""
    from rillet.services._values import shown_text as text

    return text(value)


@cli.command(context_settings=CONTEXT)
@click.argument("execution_id")
@click.argument("node_id", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.option("--to", "folder", type=click.Path(file_okay=False), default=None,
              help="Save each output into DIR (a File under its own name).")
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.pass_context
def outputs(ctx: click.Context, execution_id: str, node_id: str | None, as_json: bool,
            folder: str | None, home: str | None) -> None:
    """The outputs of an execution (or of one of its nodes): printed, or saved --to DIR."""
    from rillet.cli._output import print_json

    h = open_store(ctx, home)
    try:
        record = h.store.get_execution(execution_id)
    except StoreError as exc:
        fail(str(exc))
    if node_id is None:
        hashes = record.outputs or {}
        if record.outputs is None:
            fail(f"execution {record.id} is {record.status.value} and has no outputs; "
                 "give a NODE to see one node's", 1)
    else:
        nodes = {n.node_id: n for n in h.store.nodes(record.id)}
        if node_id not in nodes:
            fail(f"execution {record.id} has no node '{node_id}' "
                 f"(its nodes: {', '.join(sorted(nodes))})")
        hashes = nodes[node_id].outputs
    if folder is not None:
        saved = _save(h, hashes, folder)
        for name, path in saved.items():
            click.echo(f"{name} -> {path}")
        return
    values = stored_values(h, hashes)
    if as_json:
        print_json({"execution_id": record.id, "node_id": node_id, "outputs": values})
        return
    for name, value in values.items():
        click.echo(f"{name} = {shown_text(value)}")


def _save(h: Any, hashes: dict[str, str], folder: str) -> dict[str, str]:
    """Write each output's stored bytes into ``folder``: a File under its own name, a
    Directory as a folder of its own, any other value as NAME.<format>."""
    from rillet.types._files import extract_archive

    records = h.store.artifacts(list(hashes.values()))
    os.makedirs(folder, exist_ok=True)
    saved: dict[str, str] = {}
    for name, digest in hashes.items():
        record = records.get(digest)
        if record is None or record.purged:
            fail(f"output '{name}' ({digest[:12]}) is no longer stored (pruned); nothing "
                 "was saved for it", 1)
        stored = json.loads(record.inline) if record.inline is not None else None
        own = stored.get("name") if isinstance(stored, dict) else None
        if record.format in ("file", "dir") and isinstance(own, str):
            target = os.path.join(folder, os.path.basename(own) or name)
        else:
            target = os.path.join(folder, name + _SUFFIX.get(record.format, ".bin"))
        if record.uri is None:  # a small value kept inline
            data = (record.inline or "null").encode()
        else:
            data = h.artifacts.get(record.uri)
        if record.format == "dir":
            extract_archive(data, target)
        else:
            with open(target, "wb") as f:
                f.write(data)
        saved[name] = os.path.abspath(target)
    sys.stdout.flush()
    return saved
