"""Turning command-line text into typed workflow inputs.

``--n-epochs 3`` and ``--n_epochs=3`` name the same input; each value is parsed
by the input's declared type. Untrusted text comes in here, so every failure is
a one-line error naming the input, the type and the text.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import typing
from typing import Any

from rillet.errors import DefinitionError
from rillet.types._compat import is_union, normalize, type_name, union_members


class InputError(DefinitionError):
    """A command-line input could not be parsed."""


def split_args(args: list[str]) -> dict[str, str]:
    """``['--a', '1', '--b=2']`` -> ``{'a': '1', 'b': '2'}``; flags become 'true'."""
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or arg == "--":
            raise InputError(f"unexpected argument {arg!r}; give inputs as --NAME VALUE")
        key = arg[2:]
        if "=" in key:
            key, value = key.split("=", 1)
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            value = args[i + 1]
            i += 1
        else:
            value = "true"
        out[key.replace("-", "_")] = value
        i += 1
    return out


def parse_inputs(raw: dict[str, str], inputs: dict[str, Any], workflow: str) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for key, text in raw.items():
        if key not in inputs:
            known = ", ".join("--" + k.replace("_", "-") for k in inputs) or "none"
            raise InputError(f"workflow '{workflow}' has no input --{key.replace('_', '-')} "
                             f"(its inputs: {known})")
        try:
            parsed[key] = parse_value(text, inputs[key])
        except InputError as exc:
            raise InputError(f"input --{key.replace('_', '-')}: {exc}") from None
        except Exception as exc:
            raise InputError(
                f"input --{key.replace('_', '-')}: cannot read {text!r} as "
                f"{type_name(inputs[key])}: {one_line(exc)}") from None
    return parsed


def one_line(exc: Exception) -> str:
    """A multi-line message (pydantic's) folded into one line."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def parse_value(text: str, tp: Any) -> Any:
    tp = normalize(tp)
    if tp is Any:
        try:
            return json.loads(text)
        except ValueError:
            return text
    if is_union(tp):
        members = union_members(tp)
        if text.lower() in ("none", "null") and type(None) in members:
            return None
        for m in members:
            if m is type(None):
                continue
            try:
                return parse_value(text, m)
            except Exception:
                pass
        raise InputError(f"{text!r} is not a {type_name(tp)}")
    if tp is str:
        return text
    if tp is bool:
        low = text.lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise InputError(f"{text!r} is not a bool; use true or false")
    if tp is int:
        return int(text)
    if tp is float:
        return float(text)
    if tp is bytes:
        return text.encode()
    if tp is datetime.datetime:
        return datetime.datetime.fromisoformat(text)
    if tp is datetime.date:
        return datetime.date.fromisoformat(text)
    if tp is datetime.timedelta:
        return datetime.timedelta(seconds=float(text))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        for member in tp:
            if text in (member.name, str(member.value)):
                return member
        raise InputError(f"{text!r} is not one of {', '.join(m.name for m in tp)}")
    name = getattr(tp, "__name__", "")
    module = getattr(tp, "__module__", "")
    if name in ("File", "Directory") and module.startswith("rillet"):
        import os

        if not os.path.exists(text):
            raise InputError(f"{text!r}: no such path")
        return tp(text)
    if name == "DataFrame" and module.startswith("pandas"):
        import pandas as pd

        if text.endswith(".parquet"):
            return pd.read_parquet(text)
        if text.endswith(".csv"):
            return pd.read_csv(text)
        raise InputError(f"{text!r}: give a .parquet or .csv file for a DataFrame")
    data = json.loads(text)
    return from_json(data, tp)


def from_json(data: Any, tp: Any) -> Any:
    tp = normalize(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is list:
        return [from_json(v, args[0] if args else Any) for v in data]
    if origin is tuple:
        return tuple(data)
    if origin is dict:
        kt = args[0] if args else str
        return {parse_value(str(k), kt) if kt is not str else k:
                from_json(v, args[1] if args else Any) for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{k: from_json(v, hints.get(k, Any)) for k, v in data.items()})
    if hasattr(tp, "model_validate"):
        return tp.model_validate(data)
    if tp in (int, float, str, bool) and not isinstance(data, tp):
        if tp is float and isinstance(data, int):
            return float(data)
        raise InputError(f"{data!r} is not a {type_name(tp)}")
    return data
