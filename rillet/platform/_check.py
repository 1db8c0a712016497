"""Checking launch inputs (JSON values) against a registered interface (type
descriptors), before anything is queued: the server never imports the user's code.

Pure functions; a failure is an ``InputRejected`` naming the input, what it expects
and what it got.
"""

from __future__ import annotations

import datetime
from typing import Any

from rillet.errors import DefinitionError


class InputRejected(DefinitionError):
    """A launch input does not fit the registered interface (HTTP 400, exit 2)."""

    def __init__(self, message: str, *, input: str | None = None) -> None:
        super().__init__(message)
        self.input = input


def type_label(desc: dict[str, Any]) -> str:
    """A short, Python-like name of a descriptor: ``list[int]``, ``Optional[str]``."""
    kind = desc.get("kind", "?")
    if kind in ("list", "set", "frozenset"):
        return f"{kind}[{type_label(desc['item'])}]"
    if kind == "dict":
        return f"dict[{type_label(desc['key'])}, {type_label(desc['value'])}]"
    if kind == "tuple":
        if desc.get("variadic"):
            return f"tuple[{type_label(desc['item'])}, ...]"
        return f"tuple[{', '.join(type_label(i) for i in desc['items'])}]"
    if kind == "optional":
        return f"Optional[{type_label(desc['inner'])}]"
    if kind == "union":
        return " | ".join(type_label(o) for o in desc["options"])
    if kind == "none":
        return "None"
    if kind == "any":
        return "Any"
    name = desc.get("name")
    return str(name).rsplit(".", 1)[-1] if name else str(kind)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list",
            dict: "dict"}.get(type(value), type(value).__name__)


def fits(value: Any, desc: dict[str, Any]) -> bool:
    """Whether a JSON value can be given where ``desc`` is declared."""
    kind = desc.get("kind")
    if kind == "any" or kind == "pickle":
        return True  # nothing to check without the class; the worker decodes it
    if kind == "none":
        return value is None
    if kind == "optional":
        return value is None or fits(value, desc["inner"])
    if kind == "union":
        return any(fits(value, o) for o in desc["options"])
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind in ("str", "bytes"):
        return isinstance(value, str)
    if kind in ("list", "set", "frozenset"):
        return isinstance(value, list) and all(fits(v, desc["item"]) for v in value)
    if kind == "tuple":
        if not isinstance(value, list):
            return False
        if desc.get("variadic"):
            return all(fits(v, desc["item"]) for v in value)
        items = desc["items"]
        return len(value) == len(items) and all(fits(v, d) for v, d in zip(value, items,
                                                                           strict=True))
    if kind == "dict":
        return isinstance(value, dict) and all(fits(v, desc["value"]) for v in value.values())
    if kind in ("enum", "literal"):
        return value in desc.get("values", []) or (
            kind == "enum" and isinstance(value, str) and value in desc.get("names", []))
    if kind in ("dataclass", "namedtuple"):
        if not isinstance(value, dict):
            return False
        fields = desc.get("fields", {})
        return set(value) <= set(fields) and all(fits(v, fields[k]) for k, v in value.items())
    if kind == "pydantic":
        return isinstance(value, dict)
    if kind in ("datetime", "date"):
        return isinstance(value, str) and _iso(value, kind)
    if kind == "timedelta":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind in ("file", "directory"):
        return isinstance(value, str)
    return True  # dataframe, ndarray, ...: decoded (and checked) by the worker


def _iso(text: str, kind: str) -> bool:
    try:
        (datetime.datetime if kind == "datetime" else datetime.date).fromisoformat(text)
    except ValueError:
        return False
    return True


def check_inputs(name: str, interface: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The launch inputs of ``name``: ``given`` checked against ``interface`` (unknown,
    missing and mistyped inputs rejected), with registered defaults filled in."""
    inputs: dict[str, Any] = interface.get("inputs", {})
    defaults: dict[str, Any] = interface.get("defaults", {})
    fixed: dict[str, Any] = interface.get("fixed", {})
    for key in given:
        if key not in inputs:
            raise InputRejected(
                f"{name} has no input '{key}' (its inputs: {', '.join(inputs) or 'none'})",
                input=key)
        if key in fixed:
            raise InputRejected(f"{name}: input '{key}' is fixed by the launch plan and cannot "
                                "be given", input=key)
    out: dict[str, Any] = {}
    for key, desc in inputs.items():
        if key in fixed:
            out[key] = fixed[key]
        elif key in given:
            value = given[key]
            if not fits(value, desc):
                raise InputRejected(
                    f"{name}: input '{key}' expects {type_label(desc)}, got {json_type(value)} "
                    f"({_short(value)})", input=key)
            out[key] = value
        elif key in defaults:
            out[key] = defaults[key]
        elif key in interface.get("defaulted", ()):
            pass  # a default with no JSON form: the worker fills it in from the code
        else:
            raise InputRejected(f"{name}: missing required input '{key}' ({type_label(desc)})",
                                input=key)
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_CONTENT_FORMATS = {"file": "file", "directory": "dir"}


def check_stored_files(store: Any, name: str, interface: dict[str, Any],
                       values: dict[str, Any]) -> None:
    """Each File/Directory input given as ``artifact:DIGEST`` (an upload) names a stored
    value of that kind, not pruned; else an ``InputRejected`` naming the input."""
    from rillet.platform._decode import ARTIFACT_REF

    inputs: dict[str, Any] = interface.get("inputs", {})
    for key, value in values.items():
        if not (isinstance(value, str) and value.startswith(ARTIFACT_REF)):
            continue
        desc = inputs.get(key, {})
        if desc.get("kind") == "optional":
            desc = desc.get("inner", {})
        fmt = _CONTENT_FORMATS.get(str(desc.get("kind")))
        if fmt is None:
            continue  # a str input that happens to start so: a plain string
        digest = value[len(ARTIFACT_REF):]
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise InputRejected(f"{name}: input '{key}' names {value[:80]!r}, not an "
                                "artifact:<sha256 hex digest>", input=key)
        record = store.artifacts([digest]).get(digest)
        if record is None:
            raise InputRejected(f"{name}: input '{key}' names artifact {digest[:12]}, which "
                                "is not stored (upload the file first)", input=key)
        if record.format != fmt or record.purged:
            state = "was pruned" if record.purged else f"is a {record.format} value"
            raise InputRejected(f"{name}: input '{key}' names artifact {digest[:12]}, which "
                                f"{state}, not a stored {desc.get('kind')}", input=key)
