"""The code hash of a task: its function and, transitively, the user's own code it uses.

A :class:`CodeHash` is built from syntax trees (comments, docstrings and formatting
change nothing), the installed versions of the third-party distributions the code
uses, and the task's interface. It is computed on first use and memoized per
function object; this module must never run at import or decoration time, never
import user modules itself, and never import heavy libraries.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import itertools
import linecache
import os
import sys
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from types import (
    BuiltinFunctionType,
    CodeType,
    FunctionType,
    MappingProxyType,
    MethodType,
    ModuleType,
)
from typing import Any, Final

__all__ = ["CodeHash", "changed_parts", "code_hash"]

_FORMAT: Final = "rillet-codehash-1"
_USER: Final = "user"
_STDLIB: Final = "stdlib"
_DIST: Final = "dist"
_SIMPLE_TYPES: Final = frozenset({type(None), bool, int, float, complex, str, bytes})
_SKIP_FIELDS: Final = frozenset({"ctx", "kind", "type_comment"})
_DOC_OWNERS: Final = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)
_DEFS: Final = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEF_STARTS: Final = ("def ", "def\t", "async ", "class ")
_MAX_DEPTH: Final = 6
_MAX_ITEMS: Final = 256
_STDLIB_NAMES: Final = sys.stdlib_module_names | set(sys.builtin_module_names)


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeHash:
    """The code hash of one task, with the hash of every part it covers.

    ``parts`` maps ``"module:qualname"`` to the hash of that function or class,
    ``"module:NAME"`` to the hash of a module-level value it reads,
    ``"dist:<name>"`` to the installed version of a distribution, and
    ``"interface"`` to the hash of the task's interface.
    """

    digest: str
    parts: Mapping[str, str]
    files: Mapping[str, str]

    def __hash__(self) -> int:
        return hash(self.digest)


def code_hash(fn: Callable[..., Any], *, interface: str = "") -> CodeHash:
    """The code hash of ``fn`` (a function, a task object, a class); memoized per object."""
    key = (id(fn), interface)
    hit = _memo.get(key)
    if hit is not None and hit[0] is fn:
        return hit[1]
    with _lock:
        hit = _memo.get(key)
        if hit is not None and hit[0] is fn:
            return hit[1]
        result = _compute(fn, interface)
        _memo[key] = (fn, result)
        return result


def changed_parts(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """The sorted names of the parts that were added, removed or differ."""
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def _reset_caches() -> None:
    """Forget every memoized hash, parsed file and distribution lookup (for tests)."""
    global _top_dists, _stdlib_dirs
    with _lock:
        _memo.clear()
        _nodes.clear()
        _module_kinds.clear()
        _path_kinds.clear()
        _indexes.clear()
        _dist_parts_cache.clear()
        _top_dists = None
        _stdlib_dirs = None
        import importlib

        importlib.invalidate_caches()


# -- caches (guarded by _lock) ---------------------------------------------------------

_lock = threading.RLock()
_memo: dict[tuple[int, str], tuple[object, CodeHash]] = {}
_nodes: dict[object, tuple[object, _Node]] = {}
_module_kinds: dict[str, tuple[str, str]] = {}
_path_kinds: dict[str, str] = {}
_indexes: dict[str, _Index | None] = {}
_dist_parts_cache: dict[str, dict[str, str]] = {}
_top_dists: dict[str, list[str]] | None = None
_stdlib_dirs: tuple[str, ...] | None = None


class _Node:
    """What one function, class or module contributes, and what it leads to."""

    __slots__ = ("digest", "edges", "file", "key", "parts")

    def __init__(
        self,
        key: str | None = None,
        digest: str = "",
        file: str = "",
        parts: dict[str, str] | None = None,
        edges: list[object] | None = None,
    ) -> None:
        self.key, self.digest, self.file = key, digest, file
        self.parts = parts if parts is not None else {}
        self.edges = edges if edges is not None else []


class _ModuleFile:
    """A user module that is used whole (not through named attributes)."""

    __slots__ = ("name", "path")

    def __init__(self, name: str, path: str) -> None:
        self.name, self.path = name, path


class _Scope:
    """A module namespace in which names are looked up."""

    __slots__ = ("module", "namespace")

    def __init__(self, module: str, namespace: Mapping[str, Any]) -> None:
        self.module, self.namespace = module, namespace


class _Index:
    """One parsed source file: its definitions by qualname and first line, its bindings."""

    __slots__ = ("bindings", "by_line", "by_qualname", "tree")

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.by_qualname: dict[str, list[ast.AST]] = {}
        self.by_line: dict[int, list[ast.AST]] = {}
        self.bindings: dict[str, list[ast.stmt]] = {}


def _compute(root: object, interface: str) -> CodeHash:
    parts: dict[str, str] = {}
    files: dict[str, str] = {}
    start = _Collector(None)
    start.resolve(root)
    _merge(parts, start.parts)
    queue: deque[object] = deque(start.edges)
    seen = {_node_key(edge) for edge in queue}
    while queue:
        node = _node(queue.popleft())
        if node.key is not None:
            _merge(parts, {node.key: node.digest})
            files.setdefault(node.key, node.file)
        _merge(parts, node.parts)
        for edge in node.edges:
            edge_key = _node_key(edge)
            if edge_key not in seen:
                seen.add(edge_key)
                queue.append(edge)
    parts["interface"] = _sha(interface)
    # The digest says what the code is, not where it lives: module names are left out,
    # so moving a helper to another module, or renaming a file, keeps the cache.
    lines = sorted(f"{_unplaced(name)}\t{value}\n" for name, value in parts.items())
    whole = "".join(lines)
    return CodeHash(
        digest=_sha(f"{_FORMAT}\n{whole}"),
        parts=MappingProxyType(parts),
        files=MappingProxyType(files),
    )


def _unplaced(name: str) -> str:
    return name if name.startswith("dist:") else name.rpartition(":")[2]


def _merge(parts: dict[str, str], new: Mapping[str, str]) -> None:
    for name, value in new.items():
        old = parts.get(name)
        # Two objects under one name (a redefinition, two lambdas): keep both.
        parts[name] = value if old is None or old == value else _sha(f"{old}+{value}")


def _node_key(obj: object) -> object:
    return ("file", obj.path) if isinstance(obj, _ModuleFile) else id(obj)


def _node(obj: object) -> _Node:
    key = _node_key(obj)
    hit = _nodes.get(key)
    if hit is not None and (hit[0] is obj or isinstance(obj, _ModuleFile)):
        return hit[1]
    if isinstance(obj, FunctionType):
        node = _function_node(obj)
    elif isinstance(obj, type):
        node = _class_node(obj)
    elif isinstance(obj, _ModuleFile):
        node = _module_node(obj)
    else:  # pragma: no cover - edges hold only the three kinds above
        node = _Node(key=None)
    _nodes[key] = (obj, node)
    return node


# -- what is user code -----------------------------------------------------------------


def _module_kind(name: str) -> tuple[str, str]:
    """``(kind, top-level name)`` of the module called ``name``."""
    hit = _module_kinds.get(name)
    if hit is None:
        hit = _module_kinds[name] = _classify_module(name)
    return hit


def _classify_module(name: str) -> tuple[str, str]:
    top = name.partition(".")[0]
    if top == "rillet":
        return _DIST, top
    module = sys.modules.get(name) or sys.modules.get(top)
    path = getattr(module, "__file__", None)
    if not isinstance(path, str):
        search = list(getattr(module, "__path__", None) or ())
        path = search[0] if search and isinstance(search[0], str) else None
    if path is None and module is None and top != "__main__":
        path = _spec_path(top)
    if path is not None:
        return _path_kind(path, name), top
    if top in _STDLIB_NAMES:
        return _STDLIB, top
    return _USER, top


def _spec_path(top: str) -> str | None:
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


def _path_kind(path: str, module: str) -> str:
    if path.startswith("<"):  # "<string>", "<stdin>", "<frozen os>": no file to look at
        frozen = path.startswith("<frozen")
        return _STDLIB if frozen or module.partition(".")[0] in _STDLIB_NAMES else _USER
    hit = _path_kinds.get(path)
    if hit is not None:
        return hit
    norm = os.path.normcase(os.path.abspath(path))
    segments = norm.split(os.sep)
    if "site-packages" in segments or "dist-packages" in segments:
        kind = _DIST
    elif norm.startswith(_stdlib_roots()):
        kind = _STDLIB
    elif _installed_beside(norm, module.partition(".")[0]):
        kind = _DIST  # e.g. ``pip install --target DIR`` put on PYTHONPATH
    else:
        kind = _USER
    _path_kinds[path] = kind
    return kind


def _installed_beside(path: str, top: str) -> bool:
    """True when the folder holding package ``top`` also holds its ``*.dist-info``."""
    if os.path.splitext(os.path.basename(path))[0] == top:  # a one-file module
        root = os.path.dirname(path)
    else:
        folder = os.path.dirname(path)
        while os.path.basename(folder) != top:
            parent = os.path.dirname(folder)
            if parent == folder:
                return False
            folder = parent
        root = os.path.dirname(folder)
    want = _normalize(top)
    try:
        entries = os.listdir(root)
    except OSError:
        return False
    return any(e.endswith(".dist-info") and _normalize(e.split("-", 1)[0]) == want
               for e in entries)


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


def _dist_parts(top: str) -> dict[str, str]:
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
    path = getattr(sys.modules.get(top), "__file__", None) or _spec_path(top)
    head = os.path.abspath(path) if isinstance(path, str) else ""
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
            lines = (_read(os.path.join(info, "RECORD")) or "").splitlines()
            provides = any(line.startswith((f"{top}/", f"{top}.")) for line in lines)
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


# -- nodes -----------------------------------------------------------------------------


def _function_node(fn: FunctionType) -> _Node:
    code = fn.__code__
    glb = fn.__globals__
    module = glb.get("__name__") or fn.__module__ or "__main__"
    if module.partition(".")[0] == "rillet":
        return _Node(key=None, parts=_dist_parts("rillet"))
    kind = _path_kind(code.co_filename, module)
    if kind != _USER:
        top = module.partition(".")[0]
        return _Node(key=None, parts=_dist_parts(top) if kind == _DIST else {})
    qualname = getattr(code, "co_qualname", fn.__qualname__)
    collector = _Collector(_Scope(module, glb))
    tree = _function_tree(fn)
    text = collector.function_tree(tree, code) if tree is not None else None
    if text is None:
        text = "code:" + _fingerprint(code)
        collector.code_names(code, glb)
    for cell_name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=False):
        try:
            collector.resolve(cell.cell_contents, name=cell_name)
        except ValueError:  # an empty cell: the variable is not assigned yet
            continue
    for value in fn.__defaults__ or ():
        collector.resolve(value)
    for kw_name, value in sorted((fn.__kwdefaults__ or {}).items()):
        collector.resolve(value, name=kw_name)
    digest = _sha("\x00".join([text, *collector.extras]))
    key = f"{module}:{qualname}"
    return _Node(key, digest, code.co_filename, collector.parts, collector.edges)


def _class_node(cls: type) -> _Node:
    module = cls.__module__ if isinstance(cls.__module__, str) else "__main__"
    kind, top = _module_kind(module)
    if kind != _USER:
        return _Node(key=None, parts=_dist_parts(top) if kind == _DIST else {})
    functions = _class_functions(cls)
    mod = sys.modules.get(module)
    namespace: Mapping[str, Any] = getattr(mod, "__dict__", None) or (
        functions[0].__globals__ if functions else {}
    )
    path = getattr(mod, "__file__", None) or (
        functions[0].__code__.co_filename if functions else ""
    )
    collector = _Collector(_Scope(module, namespace))
    tree = _class_tree(path, namespace, cls, functions) if path else None
    if tree is not None:
        text = _dump(tree)
        imports: dict[str, tuple[str, str | None]] = {}
        collector.chains(_chains([tree], imports), imports=imports)
    else:
        text = "class:" + _class_fingerprint(cls)
        for fn in functions:
            collector.code_names(fn.__code__, fn.__globals__)
    for base in cls.__bases__:
        if base is not object:
            collector.resolve(base)
    if type(cls) is not type:
        collector.resolve(type(cls))
    prefix = cls.__qualname__ + "."
    for fn in functions:
        if not fn.__qualname__.startswith(prefix):
            collector.resolve(fn)  # assigned from elsewhere, not in the class body
    digest = _sha(text)
    return _Node(f"{module}:{cls.__qualname__}", digest, path, collector.parts, collector.edges)


def _module_node(ref: _ModuleFile) -> _Node:
    index = _index(ref.path, None)
    text = _dump(index.tree) if index is not None else "unreadable"
    return _Node(f"{ref.name}:<module>", _sha(text), ref.path)


def _class_functions(cls: type) -> list[FunctionType]:
    found: list[FunctionType] = []
    for value in vars(cls).values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property):
            accessors = (value.fget, value.fset, value.fdel)
            found.extend(f for f in accessors if isinstance(f, FunctionType))
        elif isinstance(value, FunctionType):
            found.append(value)
    return found


# -- following references --------------------------------------------------------------


class _Collector:
    """Gathers what one definition refers to: edges, leaf parts and inline values."""

    def __init__(self, scope: _Scope | None) -> None:
        self.scope = scope
        self.parts: dict[str, str] = {}
        self.extras: list[str] = []
        self.edges: list[object] = []
        self._edge_ids: set[object] = set()
        self._bound: set[str] = set()

    def function_tree(self, tree: ast.AST, code: CodeType) -> str:
        """Dump a def or lambda (no docstring, no rillet decorators); collect its names."""
        assert self.scope is not None
        glb = self.scope.namespace
        header: list[ast.AST] = []
        if isinstance(tree, _DEFS):
            kept = [d for d in tree.decorator_list if not _is_rillet(d, glb)]
            if len(kept) != len(tree.decorator_list):
                tree = copy.copy(tree)
                tree.decorator_list = kept
            header = [*kept, tree.args]
            if tree.returns is not None:
                header.append(tree.returns)
            body: list[ast.AST] = list(tree.body)
        elif isinstance(tree, ast.Lambda):
            header, body = [tree.args], [tree.body]
        else:
            return _dump(tree)
        text = _dump(tree)
        allowed = _global_names(code) | set(code.co_freevars)
        imports: dict[str, tuple[str, str | None]] = {}
        body_chains = _chains(body, imports)
        self.chains(_chains(header))
        used = (c for c in body_chains if c[0] in allowed or c[0] in imports)
        self.chains(used, imports=imports)
        return text

    def code_names(self, code: CodeType, glb: Mapping[str, Any]) -> None:
        """Follow the global names of a code object (when its source is not available)."""
        names = _global_names(code)
        found: dict[tuple[str, tuple[str, ...]], None] = {}
        for name in sorted(names):
            value = glb.get(name)
            if isinstance(value, ModuleType):
                found.update({(name, (a,)): None for a in sorted(names) if a in vars(value)})
            found[(name, ())] = None
        self.chains(found)

    def chains(
        self,
        chains: Iterable[tuple[str, tuple[str, ...]]],
        *,
        imports: Mapping[str, tuple[str, str | None]] | None = None,
    ) -> None:
        scope = self.scope
        if scope is None:
            return
        for root, attrs in chains:
            if root.startswith("__") and root.endswith("__"):
                continue
            if imports and root in imports:
                self._follow_import(*imports[root], attrs)
            elif root in scope.namespace:
                self.follow(scope.namespace[root], attrs, scope, root)

    def follow(self, value: object, attrs: tuple[str, ...], scope: _Scope, name: str) -> None:
        """Resolve ``name.attr1.attr2...`` through user modules, then record the value."""
        for attr in attrs:
            if not isinstance(value, ModuleType) or _module_kind(value.__name__)[0] != _USER:
                break
            inner = vars(value).get(attr, _MISSING)
            if inner is _MISSING:
                inner = sys.modules.get(f"{value.__name__}.{attr}", _MISSING)
            if inner is _MISSING:
                break
            scope, name, value = _Scope(value.__name__, vars(value)), attr, inner
        self.resolve(value, scope=scope, name=name)

    def _follow_import(self, module: str, attr: str | None, attrs: tuple[str, ...]) -> None:
        loaded = sys.modules.get(module)
        if loaded is None:
            kind, top = _module_kind(module)
            if kind == _DIST:
                self.parts.update(_dist_parts(top))
            elif kind == _USER and module == top:
                path = _spec_path(top)
                if path is not None and path.endswith(".py"):
                    self._edge(_ModuleFile(top, path))
            return
        if attr is None:
            self.follow(loaded, attrs, _Scope(module, vars(loaded)), module)
        else:
            self.follow(loaded, (attr, *attrs), _Scope(module, vars(loaded)), module)

    def resolve(
        self, value: object, *, scope: _Scope | None = None, name: str | None = None, depth: int = 0
    ) -> None:
        """Record ``value``: an edge to follow, a leaf part, or an inline value."""
        if depth > _MAX_DEPTH:
            return
        nested = depth + 1
        if isinstance(value, ModuleType):
            self._module(value)
        elif isinstance(value, (FunctionType, type)):
            self._edge(value)
            wrapped = vars(value).get("__wrapped__") if isinstance(value, FunctionType) else None
            if wrapped is not None:
                self.resolve(wrapped, depth=nested)
        elif isinstance(value, MethodType):
            self.resolve(value.__func__, depth=nested)
            self.resolve(value.__self__, depth=nested)
        elif isinstance(value, (staticmethod, classmethod)):
            self.resolve(value.__func__, depth=nested)
        elif isinstance(value, property):
            for fn in (value.fget, value.fset, value.fdel):
                if fn is not None:
                    self.resolve(fn, depth=nested)
        elif isinstance(value, partial):
            for item in (value.func, *value.args, *value.keywords.values()):
                self.resolve(item, depth=nested)
        elif (canon := _canon(value)) is not None:
            if scope is not None and name is not None:
                self.parts[f"{scope.module}:{name}"] = _sha(canon)
            else:
                self.extras.append(canon if name is None else f"{name}={canon}")
        elif isinstance(value, BuiltinFunctionType):
            owner = getattr(value, "__module__", None)
            if isinstance(owner, str):
                self._module_name(owner)
            target = getattr(value, "__self__", None)
            if target is not None and not isinstance(target, ModuleType):
                self.resolve(type(target), depth=nested)
        else:
            self._object(value, scope, name, nested)

    def _object(self, value: object, scope: _Scope | None, name: str | None, depth: int) -> None:
        followed = False
        for attr in ("__wrapped__", "fn"):
            try:
                inner = getattr(value, attr, None)
            except Exception:  # arbitrary user objects: a failing getattr means "no"
                inner = None
            if inner is None or inner is value:
                continue
            if not callable(inner) or (attr == "fn" and not isinstance(inner, FunctionType)):
                continue
            self.resolve(inner, depth=depth)
            followed = True
        if followed:
            return
        self.resolve(type(value), depth=depth)
        if scope is not None and name is not None:
            self._binding(scope, name)
        items: Iterable[object] = ()
        if isinstance(value, (list, tuple, set, frozenset)):
            items = value
        elif isinstance(value, dict):
            items = (*value.keys(), *value.values())
        for item in itertools.islice(items, _MAX_ITEMS):
            if _canon(item) is None:
                self.resolve(item, depth=depth)

    def _binding(self, scope: _Scope, name: str) -> None:
        """Hash the module-level statements that bind ``name``, and what they use."""
        key = f"{scope.module}:{name}"
        if key in self._bound:
            return
        self._bound.add(key)
        path = scope.namespace.get("__file__")
        index = _index(path, scope.namespace) if isinstance(path, str) else None
        statements = index.bindings.get(name) if index is not None else None
        if not statements:
            return
        self.parts[key] = _sha(_dump_all(statements))
        for root, attrs in _chains(statements):
            if root in scope.namespace and not (root.startswith("__") and root.endswith("__")):
                self.follow(scope.namespace[root], attrs, scope, root)

    def _module(self, module: ModuleType) -> None:
        kind, top = _module_kind(module.__name__)
        if kind == _DIST:
            self.parts.update(_dist_parts(top))
        elif kind == _USER:
            path = getattr(module, "__file__", None)
            if isinstance(path, str):
                self._edge(_ModuleFile(module.__name__, path))

    def _module_name(self, name: str) -> None:
        kind, top = _module_kind(name)
        if kind == _DIST:
            self.parts.update(_dist_parts(top))

    def _edge(self, obj: object) -> None:
        key = _node_key(obj)
        if key not in self._edge_ids:
            self._edge_ids.add(key)
            self.edges.append(obj)


class _MissingType:
    __slots__ = ()


_MISSING: Final = _MissingType()


def _is_rillet(expr: ast.expr, glb: Mapping[str, Any]) -> bool:
    """Whether a decorator expression names something from rillet (``@task(...)``)."""
    node = expr.func if isinstance(expr, ast.Call) else expr
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return False
    obj = glb.get(node.id)
    for attr in reversed(attrs):
        if not isinstance(obj, ModuleType):
            break
        obj = getattr(obj, attr, None)
    owner = obj.__name__ if isinstance(obj, ModuleType) else getattr(obj, "__module__", None)
    return isinstance(owner, str) and owner.partition(".")[0] == "rillet"


def _global_names(code: CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _global_names(const)
    return names


def _chains(
    nodes: Iterable[ast.AST], imports: dict[str, tuple[str, str | None]] | None = None
) -> dict[tuple[str, tuple[str, ...]], None]:
    """Every ``name`` and ``name.attr.attr`` read in ``nodes``, in a stable order.

    ``imports`` receives the names that ``import`` statements among them bind:
    alias -> (module, attribute or None).
    """
    found: dict[tuple[str, tuple[str, ...]], None] = {}
    stack = list(nodes)
    stack.reverse()
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Attribute):
            attrs: list[str] = []
            base: ast.AST = node
            while isinstance(base, ast.Attribute):
                attrs.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name):
                attrs.reverse()
                found[(base.id, tuple(attrs))] = None
            else:
                stack.append(base)
        elif isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Store):
                found[(node.id, ())] = None
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if imports is not None:
                _note_import(node, imports)
        else:
            children = list(ast.iter_child_nodes(node))
            children.reverse()
            stack.extend(children)
    return found


def _note_import(
    node: ast.Import | ast.ImportFrom, found: dict[str, tuple[str, str | None]]
) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            top = alias.name.partition(".")[0]
            found[alias.asname or top] = (alias.name if alias.asname else top, None)
    elif node.module and not node.level:  # relative imports are left to module globals
        for alias in node.names:
            if alias.name != "*":
                found[alias.asname or alias.name] = (node.module, alias.name)


# -- source, syntax trees and their canonical text ---------------------------------------


def _function_tree(fn: FunctionType) -> ast.AST | None:
    code = fn.__code__
    lines = linecache.getlines(code.co_filename, fn.__globals__)
    if not lines:
        return None
    if code.co_name != "<lambda>":
        tree = _block_tree(lines, code.co_firstlineno - 1, code.co_name)
        if tree is not None:
            return tree
    index = _index(code.co_filename, fn.__globals__)
    if index is None:
        return None
    line = code.co_firstlineno
    found: list[ast.AST]
    if code.co_name == "<lambda>":
        found = [n for n in ast.walk(index.tree) if isinstance(n, ast.Lambda) and n.lineno == line]
    else:
        found = [n for n in index.by_line.get(line, ()) if getattr(n, "name", "") == code.co_name]
    return found[0] if len(found) == 1 else None  # two lambdas on a line: not told apart


def _block_tree(lines: list[str], start: int, name: str) -> ast.AST | None:
    """Parse only the lines of one def (fast path); None when that is not clear-cut."""
    if not 0 <= start < len(lines):
        return None
    first = lines[start]
    indent = len(first) - len(first.lstrip(" \t"))
    end = start
    while end < len(lines) and not lines[end].lstrip(" \t").startswith(_DEF_STARTS):
        end += 1
    end += 1
    for _ in range(4):
        while end < len(lines):
            line = lines[end]
            text = line.lstrip(" \t")
            if text and text[0] not in "#)]}\r\n\f" and len(line) - len(text) <= indent:
                break
            end += 1
        source = "".join(lines[start:end])
        tree = _parse(f"if 1:\n{source}" if indent else source)
        if tree is not None:
            body = tree.body
            if indent:
                body = body[0].body if len(body) == 1 and isinstance(body[0], ast.If) else []
            if len(body) == 1 and isinstance(body[0], _DEFS) and body[0].name == name:
                return body[0]
            return None
        if end >= len(lines):
            return None
        end += 1
    return None


def _class_tree(
    path: str, namespace: Mapping[str, Any], cls: type, functions: list[FunctionType]
) -> ast.AST | None:
    index = _index(path, namespace)
    if index is None:
        return None
    found = index.by_qualname.get(cls.__qualname__, [])
    candidates = [c for c in found if isinstance(c, ast.ClassDef)]
    if len(candidates) > 1 and functions:
        line = functions[0].__code__.co_firstlineno
        candidates = [c for c in candidates if c.lineno <= line <= (c.end_lineno or c.lineno)]
    return candidates[0] if candidates else None


def _index(path: str, namespace: Mapping[str, Any] | None) -> _Index | None:
    if path in _indexes:
        return _indexes[path]
    lines = linecache.getlines(path, namespace if isinstance(namespace, dict) else None)
    tree = _parse("".join(lines)) if lines else None
    index = None
    if tree is not None:
        index = _Index(tree)
        _fill_index(index, tree.body, "")
        _fill_bindings(index, tree.body)
    _indexes[path] = index
    return index


def _fill_index(index: _Index, body: list[ast.stmt], prefix: str) -> None:
    """Record every def and class by qualname and first line (decorators included)."""
    for stmt in body:
        if isinstance(stmt, (*_DEFS, ast.ClassDef)):
            qualname = prefix + stmt.name
            index.by_qualname.setdefault(qualname, []).append(stmt)
            first = min([stmt.lineno, *(d.lineno for d in stmt.decorator_list)])
            index.by_line.setdefault(first, []).append(stmt)
            inner = ".<locals>." if isinstance(stmt, _DEFS) else "."
            _fill_index(index, stmt.body, qualname + inner)
            continue
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            for item in getattr(stmt, name, ()):
                if isinstance(item, (ast.ExceptHandler, ast.match_case)):
                    _fill_index(index, item.body, prefix)
                elif isinstance(item, ast.stmt):
                    _fill_index(index, [item], prefix)


def _fill_bindings(index: _Index, body: list[ast.stmt]) -> None:
    for stmt in body:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets = list(stmt.targets)
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
            targets = [stmt.target]
        elif isinstance(stmt, (ast.If, ast.Try, ast.With, ast.For)):
            _fill_bindings(index, [*stmt.body, *getattr(stmt, "orelse", ())])
            for handler in getattr(stmt, "handlers", ()):
                _fill_bindings(index, handler.body)
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    index.bindings.setdefault(node.id, []).append(stmt)


def _parse(source: str) -> ast.Module | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. invalid escape sequences in user code
        try:
            return ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None


def _dump_all(nodes: Iterable[ast.AST]) -> str:
    return "\n".join(_dump(node) for node in nodes)


def _dump(node: ast.AST) -> str:
    """A canonical text of a tree: no positions, no docstrings, no empty fields.

    Iterative, so that deeply nested expressions cannot exhaust the stack.
    """
    out: list[str] = []
    stack: list[str | ast.AST] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        pieces: list[str | ast.AST] = [type(item).__name__, "("]
        for name in item._fields:
            value = getattr(item, name, None)
            if value is None or name in _SKIP_FIELDS:
                continue
            if isinstance(value, list):
                if name == "body" and isinstance(item, _DOC_OWNERS) and value and _is_doc(value[0]):
                    value = value[1:]
                if not value:
                    continue
                pieces.append(f"{name}=[")
                for element in value:
                    pieces.extend((element if isinstance(element, ast.AST) else repr(element), ","))
                pieces.append("];")
            elif isinstance(value, ast.AST):
                pieces.extend((f"{name}=", value, ";"))
            else:
                pieces.append(f"{name}={value!r};")
        pieces.append(")")
        stack.extend(reversed(pieces))
    return "".join(out)


def _is_doc(stmt: object) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _canon(value: object, depth: int = 0) -> str | None:
    """A canonical text of a plain literal value; None for anything else."""
    kind = type(value)
    if kind in _SIMPLE_TYPES:
        return repr(value)
    if value is Ellipsis:
        return "Ellipsis"
    if depth > 8 or kind not in (tuple, list, set, frozenset, dict):
        return None
    assert isinstance(value, (tuple, list, set, frozenset, dict))
    items = (i for pair in value.items() for i in pair) if isinstance(value, dict) else value
    texts: list[str] = []
    for item in items:
        text = _canon(item, depth + 1)
        if text is None:
            return None
        texts.append(text)
    if isinstance(value, (set, frozenset)):
        texts.sort()
    return f"{kind.__name__}(" + ",".join(texts) + ")"


def _fingerprint(code: CodeType) -> str:
    """The hash of a code object, for functions whose source cannot be read."""
    digest = hashlib.sha256()
    _fingerprint_into(code, digest)
    return digest.hexdigest()


def _fingerprint_into(code: CodeType, digest: Any) -> None:
    digest.update(code.co_code)
    shape = (code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars)
    digest.update(repr((shape, code.co_argcount, code.co_kwonlyargcount)).encode())
    for const in code.co_consts:
        if isinstance(const, CodeType):
            _fingerprint_into(const, digest)
        else:
            digest.update((_canon(const) or type(const).__name__).encode() + b"\0")


def _class_fingerprint(cls: type) -> str:
    pieces = [cls.__qualname__, *(b.__qualname__ for b in cls.__bases__)]
    for name, value in sorted(vars(cls).items()):
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, FunctionType):
            pieces.append(f"{name}={_fingerprint(value.__code__)}")
        elif not (name.startswith("__") and name.endswith("__")):
            pieces.append(f"{name}={_canon(value) or type(value).__qualname__}")
    return _sha("\n".join(pieces))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
