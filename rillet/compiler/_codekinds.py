"""Which modules are the user's own: a module or a source file is classified as the
user's code (hashed by its syntax), the standard library (ignored) or an installed
distribution (its name and version stand for it), for :mod:`._codehash`.

Lookups are memoized; the caches are guarded by the code hash's lock, so call these
under that lock.
"""

from __future__ import annotations

import os
import sys
from typing import Final

from rillet.compiler._distributions import installed_beside, spec_path

__all__ = ["DIST", "STDLIB", "USER", "forget_kinds", "module_kind", "path_kind"]

USER: Final = "user"
STDLIB: Final = "stdlib"
DIST: Final = "dist"
_STDLIB_NAMES: Final = sys.stdlib_module_names | set(sys.builtin_module_names)

_module_kinds: dict[str, tuple[str, str]] = {}
_path_kinds: dict[str, str] = {}
_stdlib_dirs: tuple[str, ...] | None = None


def forget_kinds() -> None:
    global _stdlib_dirs
    _module_kinds.clear()
    _path_kinds.clear()
    _stdlib_dirs = None


def module_kind(name: str) -> tuple[str, str]:
    """``(kind, top-level name)`` of the module called ``name``."""
    hit = _module_kinds.get(name)
    if hit is None:
        hit = _module_kinds[name] = _classify_module(name)
    return hit


def _classify_module(name: str) -> tuple[str, str]:
    top = name.partition(".")[0]
    if top == "rillet":
        return DIST, top
    module = sys.modules.get(name) or sys.modules.get(top)
    path = getattr(module, "__file__", None)
    if not isinstance(path, str):
        search = list(getattr(module, "__path__", None) or ())
        path = search[0] if search and isinstance(search[0], str) else None
    if path is None and module is None and top != "__main__":
        path = spec_path(top)
    if path is not None:
        return path_kind(path, name), top
    if top in _STDLIB_NAMES:
        return STDLIB, top
    return USER, top


def path_kind(path: str, module: str) -> str:
    if path.startswith("<"):  # "<string>", "<stdin>", "<frozen os>": no file to look at
        frozen = path.startswith("<frozen")
        return STDLIB if frozen or module.partition(".")[0] in _STDLIB_NAMES else USER
    hit = _path_kinds.get(path)
    if hit is not None:
        return hit
    norm = os.path.normcase(os.path.abspath(path))
    segments = norm.split(os.sep)
    if "site-packages" in segments or "dist-packages" in segments:
        kind = DIST
    elif norm.startswith(_stdlib_roots()):
        kind = STDLIB
    elif installed_beside(norm, module.partition(".")[0]):
        kind = DIST  # e.g. ``pip install --target DIR`` put on PYTHONPATH
    else:
        kind = USER
    _path_kinds[path] = kind
    return kind


def _stdlib_roots() -> tuple[str, ...]:
    """The standard library's folders: where ``os`` lives (lib-dynload is inside it)."""
    global _stdlib_dirs
    if _stdlib_dirs is None:
        found = {os.path.dirname(os.__file__)}
        sysconfig = sys.modules.get("sysconfig")  # asked only if loaded: it is slow to start
        if sysconfig is not None:
            found.update(sysconfig.get_paths().get(k, "") for k in ("stdlib", "platstdlib"))
        norm = (os.path.normcase(os.path.abspath(p)) for p in sorted(found) if p)
        _stdlib_dirs = tuple(p + os.sep for p in norm)
    return _stdlib_dirs
