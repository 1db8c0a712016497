"""``rillet run FILE.py:WORKFLOW --help``: the workflow's inputs, with their types,
defaults and how to give them on the command line (as ``pyflyte run`` lists them)."""

from __future__ import annotations

import enum
import inspect
import json
import typing
from typing import Any

from rillet.cli._inputs import list_element
from rillet.types._compat import normalize, type_name


def _hint(tp: Any) -> str:
    """How a value of ``tp`` is written on the command line."""
    tp = normalize(tp)
    if tp is bool:
        return "true|false (a bare flag is true)"
    if list_element(tp) is not None:
        return "JSON list, 1,2,3, or the option repeated"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "|".join(m.name for m in tp)
    name = getattr(tp, "__name__", "")
    if name == "timedelta":
        return "90, 30m, 1h, 2d"
    if name in ("datetime", "date"):
        return "ISO 8601"
    if name in ("File", "Directory"):
        return "a path"
    if name == "DataFrame":
        return "a .parquet or .csv path"
    if typing.get_origin(tp) is not None or tp not in (int, float, str, bytes):
        return "JSON"
    return ""


def _default(value: Any) -> str:
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


def workflow_help(wf: Any, target: str) -> str:
    """The text ``--help`` prints for the workflow ``target`` names."""
    iface = wf.interface
    lines = [f"Usage: rillet run {target} [OPTIONS] [--INPUT VALUE ...]"]
    doc = inspect.getdoc(wf.fn)
    if doc:
        lines += ["", *("  " + line for line in doc.splitlines())]
    lines += ["", f"Inputs of {wf.name}:"]
    rows = []
    for name, tp in iface.inputs.items():
        flag = "--" + name.replace("_", "-")
        need = (f"default {_default(iface.defaults[name])}" if name in iface.defaults
                else "required")
        hint = _hint(tp)
        rows.append((flag, type_name(tp), need + (f"; {hint}" if hint else "")))
    if not rows:
        lines.append("  (none)")
    widths = [max(len(r[i]) for r in rows) for i in range(2)] if rows else [0, 0]
    for flag, tname, rest in rows:
        lines.append(f"  {flag.ljust(widths[0])}  {tname.ljust(widths[1])}  {rest}")
    outputs = ", ".join(f"{k}: {type_name(v)}" for k, v in iface.outputs.items()) or "none"
    lines += ["", f"Outputs: {outputs}", "",
              "Options: --json, --executor inline|processes, --max-parallel N, --home DIR,",
              "         --name NAME, --tag KEY=VALUE (label the execution), --quiet"]
    return "\n".join(lines)
