"""The code hash of a task: its function and, transitively, the user's own code it uses.

Walks from a task to the functions, classes, values and modules it uses and decides
which are user code (hashed from syntax trees, see :mod:`._codesource`), third-party
(installed versions, see :mod:`._distributions`) or the standard library (left out).
Computed on first use and memoized per function object; it must never run at import or
decoration time, never import user modules itself, and never import heavy libraries.
"""

from __future__ import annotations

import ast
import copy
import itertools
import sys
import threading
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

from rillet.compiler._codekinds import DIST, USER, forget_kinds, module_kind, path_kind
from rillet.compiler._codesource import (
    DEFS,
    canon,
    class_fingerprint,
    class_tree,
    dump,
    dump_all,
    fingerprint,
    forget_sources,
    function_tree,
    global_names,
    names_read,
    read_index,
    sha,
)
from rillet.compiler._distributions import (
    dist_parts,
    forget_distributions,
    spec_path,
)

__all__ = ["CodeHash", "changed_parts", "code_hash", "forget_file"]

_FORMAT: Final = "rillet-codehash-1"
_MAX_DEPTH: Final = 6
_MAX_ITEMS: Final = 256


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


def forget_file(path: str) -> None:
    """Forget the parsed source of ``path``: its text changed in this process (a
    notebook loaded again after an edit)."""
    with _lock:
        forget_sources(path)


def _reset_caches() -> None:
    """Forget every memoized hash, parsed file and distribution lookup (for tests)."""
    with _lock:
        _memo.clear()
        _nodes.clear()
        forget_kinds()
        forget_sources()
        forget_distributions()
        import importlib

        importlib.invalidate_caches()


# -- caches (guarded by _lock, as are those of _codesource and _distributions) ---------

_lock = threading.RLock()
_memo: dict[tuple[int, str], tuple[object, CodeHash]] = {}
_nodes: dict[object, tuple[object, _Node]] = {}


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
    parts["interface"] = sha(interface)
    # The digest says what the code is, not where it lives: module names are left out,
    # so moving a helper to another module, or renaming a file, keeps the cache.
    lines = sorted(f"{_unplaced(name)}\t{value}\n" for name, value in parts.items())
    whole = "".join(lines)
    return CodeHash(
        digest=sha(f"{_FORMAT}\n{whole}"),
        parts=MappingProxyType(parts),
        files=MappingProxyType(files),
    )


def _unplaced(name: str) -> str:
    return name if name.startswith("dist:") else name.rpartition(":")[2]


def _merge(parts: dict[str, str], new: Mapping[str, str]) -> None:
    for name, value in new.items():
        old = parts.get(name)
        # Two objects under one name (a redefinition, two lambdas): keep both.
        parts[name] = value if old is None or old == value else sha(f"{old}+{value}")


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


# -- nodes -----------------------------------------------------------------------------


def _function_node(fn: FunctionType) -> _Node:
    code = fn.__code__
    glb = fn.__globals__
    module = glb.get("__name__") or fn.__module__ or "__main__"
    if module.partition(".")[0] == "rillet":
        return _Node(key=None, parts=dist_parts("rillet"))
    kind = path_kind(code.co_filename, module)
    if kind != USER:
        top = module.partition(".")[0]
        return _Node(key=None, parts=dist_parts(top) if kind == DIST else {})
    qualname = getattr(code, "co_qualname", fn.__qualname__)
    collector = _Collector(_Scope(module, glb))
    tree = function_tree(fn)
    text = collector.function_tree(tree, code) if tree is not None else None
    if text is None:
        text = "code:" + fingerprint(code)
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
    digest = sha("\x00".join([text, *collector.extras]))
    key = f"{module}:{qualname}"
    return _Node(key, digest, code.co_filename, collector.parts, collector.edges)


def _class_node(cls: type) -> _Node:
    module = cls.__module__ if isinstance(cls.__module__, str) else "__main__"
    kind, top = module_kind(module)
    if kind != USER:
        return _Node(key=None, parts=dist_parts(top) if kind == DIST else {})
    functions = _class_functions(cls)
    mod = sys.modules.get(module)
    namespace: Mapping[str, Any] = getattr(mod, "__dict__", None) or (
        functions[0].__globals__ if functions else {}
    )
    path = getattr(mod, "__file__", None) or (
        functions[0].__code__.co_filename if functions else ""
    )
    collector = _Collector(_Scope(module, namespace))
    tree = class_tree(path, namespace, cls, functions) if path else None
    if tree is not None:
        text = dump(tree)
        imports: dict[str, tuple[str, str | None]] = {}
        collector.chains(names_read([tree], imports), imports=imports)
    else:
        text = "class:" + class_fingerprint(cls)
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
    digest = sha(text)
    return _Node(f"{module}:{cls.__qualname__}", digest, path, collector.parts, collector.edges)


def _module_node(ref: _ModuleFile) -> _Node:
    index = read_index(ref.path, None)
    text = dump(index.tree) if index is not None else "unreadable"
    return _Node(f"{ref.name}:<module>", sha(text), ref.path)


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
        if isinstance(tree, DEFS):
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
            return dump(tree)
        text = dump(tree)
        allowed = global_names(code) | set(code.co_freevars)
        imports: dict[str, tuple[str, str | None]] = {}
        body_chains = names_read(body, imports)
        self.chains(names_read(header))
        used = (c for c in body_chains if c[0] in allowed or c[0] in imports)
        self.chains(used, imports=imports)
        return text

    def code_names(self, code: CodeType, glb: Mapping[str, Any]) -> None:
        """Follow the global names of a code object (when its source is not available)."""
        names = global_names(code)
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
            if not isinstance(value, ModuleType) or module_kind(value.__name__)[0] != USER:
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
            kind, top = module_kind(module)
            if kind == DIST:
                self.parts.update(dist_parts(top))
            elif kind == USER and module == top:
                path = spec_path(top)
                if path is not None and path.endswith(".py"):
                    self._edge(_ModuleFile(top, path))
            return
        chain = attrs if attr is None else (attr, *attrs)
        self.follow(loaded, chain, _Scope(module, vars(loaded)), module)

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
        elif (literal := canon(value)) is not None:
            if scope is not None and name is not None:
                self.parts[f"{scope.module}:{name}"] = sha(literal)
            else:
                self.extras.append(literal if name is None else f"{name}={literal}")
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
            if canon(item) is None:
                self.resolve(item, depth=depth)

    def _binding(self, scope: _Scope, name: str) -> None:
        """Hash the module-level statements that bind ``name``, and what they use."""
        key = f"{scope.module}:{name}"
        if key in self._bound:
            return
        self._bound.add(key)
        path = scope.namespace.get("__file__")
        index = read_index(path, scope.namespace) if isinstance(path, str) else None
        statements = index.bindings.get(name) if index is not None else None
        if not statements:
            return
        self.parts[key] = sha(dump_all(statements))
        for root, attrs in names_read(statements):
            if root in scope.namespace and not (root.startswith("__") and root.endswith("__")):
                self.follow(scope.namespace[root], attrs, scope, root)

    def _module(self, module: ModuleType) -> None:
        if self._module_name(module.__name__) == USER:
            path = getattr(module, "__file__", None)
            if isinstance(path, str):
                self._edge(_ModuleFile(module.__name__, path))

    def _module_name(self, name: str) -> str:
        """Record the distribution that provides module ``name``, if any; its kind."""
        kind, top = module_kind(name)
        if kind == DIST:
            self.parts.update(dist_parts(top))
        return kind

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
