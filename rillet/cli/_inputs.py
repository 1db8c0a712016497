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
from rillet.types._quantities import parse_duration


class InputError(DefinitionError):
    """A command-line input could not be parsed."""


def split_args(args: list[str]) -> dict[str, list[str | None]]:
    """``['--a', '1', '--b=2', '--a', '3', '--f']`` -> ``{'a': ['1', '3'], 'b': ['2'],
    'f': [None]}``: every value given for each name, in order; None for a bare flag."""
    out: dict[str, list[str | None]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or arg == "--":
            raise InputError(f"unexpected argument {arg!r}; give inputs as --NAME VALUE")
        key = arg[2:]
        value: str | None
        if "=" in key:
            key, value = key.split("=", 1)
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            value = args[i + 1]
            i += 1
        else:
            value = None
        out.setdefault(key.replace("-", "_"), []).append(value)
        i += 1
    return out


def parse_inputs(raw: dict[str, list[str | None]], inputs: dict[str, Any],
                 workflow: str) -> dict[str, Any]:
    """Typed values of the inputs given on a command line (as :func:`split_args` splits
    them). A repeated input is refused unless it is a list, where each repeat adds an
    element; a bare ``--NAME`` is ``true`` for a bool and a missing value otherwise."""
    parsed: dict[str, Any] = {}
    for key, texts in raw.items():
        flag = "--" + key.replace("_", "-")
        if key not in inputs:
            known = ", ".join("--" + k.replace("_", "-") for k in inputs) or "none"
            raise InputError(f"workflow '{workflow}' has no input {flag} (its inputs: {known})")
        tp = inputs[key]
        element = list_element(tp)
        if len(texts) > 1 and element is None:
            shown = " ".join(f"{flag} {t}" if t is not None else flag for t in texts)
            raise InputError(f"input {flag} is given {len(texts)} times ({shown}); it takes "
                             f"one {type_name(tp)}: give it once")
        if None in texts and normalize(tp) is not bool:
            raise InputError(f"input {flag}: no value given; it needs a {type_name(tp)} "
                             f"({flag} VALUE)")
        if len(texts) > 1:
            parsed[key] = [_parse_one(t or "", element, flag) for t in texts]
        else:
            parsed[key] = _parse_one(texts[0] if texts[0] is not None else "true", tp, flag)
    return parsed


MAX_DEPTH = 100  # how deep a JSON input may nest
_SHOWN = 80  # characters of an input echoed in an error


def _parse_one(text: str, tp: Any, flag: str) -> Any:
    try:
        value = parse_value(text, tp)
    except InputError as exc:
        raise InputError(f"input {flag}: {_shorten(str(exc), text)}") from None
    except Exception as exc:
        hint = ""
        if list_element(tp) is not None:
            hint = "; give a JSON list, e.g. [1,2], or values separated by commas"
        if isinstance(exc, RecursionError):
            exc = ValueError(f"nested too deeply (more than {MAX_DEPTH} levels)")
        raise InputError(
            f"input {flag}: cannot read {_shown(text)} as {type_name(tp)}: "
            f"{_shorten(one_line(exc), text)}{hint}") from None
    if _too_deep(value):
        raise InputError(f"input {flag}: {_shown(text)} is nested more than {MAX_DEPTH} "
                         "levels deep; pass such data as a file")
    return value


def _shown(text: str) -> str:
    """``text`` as an error shows it: whole when short, else its start and its length."""
    if len(text) <= _SHOWN:
        return repr(text)
    return f"{text[:_SHOWN]!r}... ({len(text)} characters)"


def _shorten(message: str, text: str) -> str:
    """``message`` with the input in it shown short, and cut to a few lines' length."""
    if len(text) > _SHOWN:
        message = message.replace(repr(text), _shown(text))
    if len(message) > 4 * _SHOWN:
        message = f"{message[:3 * _SHOWN]}... ({len(message)} characters)"
    return message


def _too_deep(value: Any) -> bool:
    """Whether lists, tuples and dicts nest in ``value`` more than MAX_DEPTH levels."""
    level = [value]
    for _ in range(MAX_DEPTH + 1):
        level = [v for x in level if isinstance(x, (list, tuple, dict))
                 for v in (x.values() if isinstance(x, dict) else x)]
        if not level:
            return False
    return True


def list_element(tp: Any) -> Any:
    """The element type when ``tp`` is a list (``Any`` for a bare ``list``), else None."""
    tp = normalize(tp)
    if tp is list:
        return Any
    if typing.get_origin(tp) is list:
        args = typing.get_args(tp)
        return args[0] if args else Any
    return None


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
        try:
            return datetime.timedelta(seconds=parse_duration(text))
        except ValueError as exc:
            raise InputError(str(exc)) from None
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
    element = list_element(tp)
    try:
        data = json.loads(text)
    except ValueError:
        if element is None or text.lstrip().startswith(("[", "{")):
            raise  # not a list, or JSON that is broken
        # ``--xs 1,2`` (or a single ``--xs 1``): the elements, separated by commas
        return [parse_value(part.strip(), element) for part in text.split(",")]
    if element is not None and not isinstance(data, list):
        return [parse_value(text, element)]  # one element given alone
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
