"""Which installed distributions provide a module, at which versions, for the code hash.

Reads ``*.dist-info`` folders beside a module and, failing that, asks
:mod:`importlib.metadata`. It must not import the modules it is asked about nor decide
what is user code; its caches are guarded by the code hash's lock, so call it under that
lock.
"""

from __future__ import annotations

import os
import sys

__all__ = ["dist_parts", "forget_distributions", "installed_beside", "spec_path"]

_dist_parts_cache: dict[str, dict[str, str]] = {}
_top_dists: dict[str, list[str]] | None = None


def forget_distributions() -> None:
    """Forget every distribution lookup (the caller holds the code hash's lock)."""
    global _top_dists
    _dist_parts_cache.clear()
    _top_dists = None


def dist_parts(top: str) -> dict[str, str]:
    """``{"dist:<name>": version}`` for the distributions that provide module ``top``."""
    hit = _dist_parts_cache.get(top)
    if hit is None:
        found = _dists_providing(top) or {top: "unknown"}
        hit = _dist_parts_cache[top] = {f"dist:{name}": found[name] for name in sorted(found)}
    return hit


def _dists_providing(top: str) -> dict[str, str]:
    """Name -> version of the installed distributions that provide module ``top``.

    The ``*.dist-info`` folder named like the module, beside it, is tried first (cheap);
    only when that fails is :mod:`importlib.metadata` asked about every installed
    distribution, once per process.
    """
    if top == "rillet":
        version = getattr(sys.modules.get("rillet"), "__version__", None)
        return {"rillet": version if isinstance(version, str) else "unknown"}
    path = getattr(sys.modules.get(top), "__file__", None) or spec_path(top)
    head = os.path.abspath(path) if isinstance(path, str) else ""
    root = _package_root(head, top) if head else None
    if root is not None and os.path.basename(root) not in ("site-packages", "dist-packages"):
        found = _dist_info_beside(root, top)  # e.g. ``pip install --target`` on PYTHONPATH
        if found:
            return found
    while head:
        head, tail = os.path.split(head)
        if tail in ("site-packages", "dist-packages"):
            found = _dist_info_beside(os.path.join(head, tail), top)
            if found:
                return found
            break
        if not tail:
            break
    return _dists_from_metadata(top)


def _dist_info_beside(site: str, top: str) -> dict[str, str]:
    want = _normalize(top)
    try:
        entries = sorted(os.listdir(site))
    except OSError:
        return {}
    for entry in entries:
        if not entry.endswith(".dist-info") or _normalize(entry.split("-", 1)[0]) != want:
            continue
        info = os.path.join(site, entry)
        declared = _read(os.path.join(info, "top_level.txt"))
        if declared is not None:
            provides = top in declared.split()
        else:
            record = _read(os.path.join(info, "RECORD"))
            lines = (record or "").splitlines()
            # With neither file, the dist-info named after the module is its provider.
            provides = record is None or any(
                line.startswith((f"{top}/", f"{top}.")) for line in lines)
        if provides:
            headers = (_read(os.path.join(info, "METADATA")) or "").partition("\n\n")[0]
            fields = dict(line.partition(": ")[::2] for line in headers.splitlines())
            return {fields.get("Name", top).strip(): fields.get("Version", "unknown").strip()}
    return {}


def _dists_from_metadata(top: str) -> dict[str, str]:
    global _top_dists
    from importlib import metadata

    if _top_dists is None:
        _top_dists = {k: list(v) for k, v in metadata.packages_distributions().items()}
    found: dict[str, str] = {}
    for name in _top_dists.get(top, ()):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "unknown"
    return found


def _normalize(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError:
        return None


def _package_root(path: str, top: str) -> str | None:
    """The folder that holds package (or one-file module) ``top``, given a file in it."""
    if os.path.splitext(os.path.basename(path))[0] == top:  # a one-file module
        return os.path.dirname(path)
    folder = os.path.dirname(path)
    while os.path.basename(folder) != top:
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    return os.path.dirname(folder)


def installed_beside(path: str, top: str) -> bool:
    """True when the folder holding package ``top`` also holds its ``*.dist-info``."""
    root = _package_root(path, top)
    if root is None:
        return False
    want = _normalize(top)
    try:
        entries = os.listdir(root)
    except OSError:
        return False
    return any(e.endswith(".dist-info") and _normalize(e.split("-", 1)[0]) == want for e in entries)


def spec_path(top: str) -> str | None:
    """Where the not-yet-imported top-level module ``top`` lives; imports nothing."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.origin and spec.origin not in ("built-in", "frozen"):
        return spec.origin
    locations = list(spec.submodule_search_locations or ())
    return locations[0] if locations else None
