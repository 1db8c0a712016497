"""Checks of a declared type made once, when a task is defined: a type stored with the
pickle fallback warns (once per type), and a type whose storage library is missing
fails with the pip extra to install. Nothing here encodes a value."""

from __future__ import annotations

import importlib.util
from typing import Any

from rillet.errors import DefinitionError
from rillet.types._descriptor import classify

# kind -> (module its values are stored with, the extra that installs it)
_NEEDS = {"dataframe": ("pyarrow", "data"), "ndarray": ("numpy", "data")}
_checked: dict[Any, None] = {}


def check_declared(tp: Any, where: str) -> None:
    """Walk ``tp`` (and its parts): warn for pickled types, refuse missing libraries."""
    try:
        if tp in _checked:
            return
    except TypeError:  # an unhashable annotation
        return
    seen: set[int] = set()
    _walk(tp, where, seen, 0)
    if len(_checked) < 4096:
        _checked[tp] = None


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ValueError, ImportError):  # in sys.modules as None: an import that failed
        return False


def _walk(tp: Any, where: str, seen: set[int], depth: int) -> None:
    if id(tp) in seen or depth > 8:
        return
    seen.add(id(tp))
    info = classify(tp)
    if info.kind == "pickle":
        from rillet.types._codecs import warn_pickle

        warn_pickle(info.name or repr(tp))
        return
    need = _NEEDS.get(info.kind)
    if need is not None and not _installed(need[0]):
        raise DefinitionError(
            f"{where}: {info.name or info.kind} values are stored with {need[0]}, which is "
            f"not installed; pip install 'rillet[{need[1]}]'"
        )
    for arg in info.args:
        _walk(arg, where, seen, depth + 1)
    for _name, ftp, _init in info.fields:
        _walk(ftp, where, seen, depth + 1)
