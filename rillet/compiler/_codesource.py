"""Reading user source and turning syntax trees into canonical text, for the code hash.

:mod:`._codehash` calls it to parse a file or one def, dump a tree without positions or
docstrings, fingerprint a code object and list the names a tree reads. It must not
decide what is user code, follow references or import anything the user wrote; its one
cache is guarded by the code hash's lock, so call it under that lock.
"""

from __future__ import annotations

import ast
import hashlib
import linecache
import warnings
from collections.abc import Iterable, Mapping
from types import CodeType, FunctionType
from typing import Any, Final

__all__ = [
    "DEFS",
    "Index",
    "canon",
    "class_fingerprint",
    "class_tree",
    "dump",
    "dump_all",
    "fingerprint",
    "forget_sources",
    "function_tree",
    "global_names",
    "names_read",
    "read_index",
    "sha",
]

DEFS: Final = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEF_STARTS: Final = ("def ", "def\t", "async ", "class ")
_DOC_OWNERS: Final = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)
_SIMPLE_TYPES: Final = frozenset({type(None), bool, int, float, complex, str, bytes})
_SKIP_FIELDS: Final = frozenset({"ctx", "kind", "type_comment"})


class Index:
    """One parsed source file: its definitions by qualname and first line, its bindings."""

    __slots__ = ("bindings", "by_line", "by_qualname", "tree")

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.by_qualname: dict[str, list[ast.AST]] = {}
        self.by_line: dict[int, list[ast.AST]] = {}
        self.bindings: dict[str, list[ast.stmt]] = {}


_indexes: dict[str, Index | None] = {}


def forget_sources(path: str | None = None) -> None:
    """Forget every parsed file, or the one at ``path`` (the caller holds the code
    hash's lock)."""
    if path is None:
        _indexes.clear()
    else:
        _indexes.pop(path, None)


# -- reading source --------------------------------------------------------------------


def function_tree(fn: FunctionType) -> ast.AST | None:
    """The def or lambda of ``fn`` in its source; None when it cannot be told apart."""
    code = fn.__code__
    lines = linecache.getlines(code.co_filename, fn.__globals__)
    if not lines:
        return None
    if code.co_name != "<lambda>":
        tree = _block_tree(lines, code.co_firstlineno - 1, code.co_name)
        if tree is not None:
            return tree
    index = read_index(code.co_filename, fn.__globals__)
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
            if len(body) == 1 and isinstance(body[0], DEFS) and body[0].name == name:
                return body[0]
            return None
        if end >= len(lines):
            return None
        end += 1
    return None


def class_tree(
    path: str, namespace: Mapping[str, Any], cls: type, functions: list[FunctionType]
) -> ast.AST | None:
    index = read_index(path, namespace)
    if index is None:
        return None
    found = index.by_qualname.get(cls.__qualname__, [])
    candidates = [c for c in found if isinstance(c, ast.ClassDef)]
    if len(candidates) > 1 and functions:
        line = functions[0].__code__.co_firstlineno
        candidates = [c for c in candidates if c.lineno <= line <= (c.end_lineno or c.lineno)]
    return candidates[0] if candidates else None


def read_index(path: str, namespace: Mapping[str, Any] | None) -> Index | None:
    """The parsed file at ``path`` (memoized); None when it cannot be read or parsed."""
    if path in _indexes:
        return _indexes[path]
    lines = linecache.getlines(path, namespace if isinstance(namespace, dict) else None)
    tree = _parse("".join(lines)) if lines else None
    index = None
    if tree is not None:
        index = Index(tree)
        _fill_index(index, tree.body, "")
        _fill_bindings(index, tree.body)
    _indexes[path] = index
    return index


def _fill_index(index: Index, body: list[ast.stmt], prefix: str) -> None:
    """Record every def and class by qualname and first line (decorators included)."""
    for stmt in body:
        if isinstance(stmt, (*DEFS, ast.ClassDef)):
            qualname = prefix + stmt.name
            index.by_qualname.setdefault(qualname, []).append(stmt)
            first = min([stmt.lineno, *(d.lineno for d in stmt.decorator_list)])
            index.by_line.setdefault(first, []).append(stmt)
            inner = ".<locals>." if isinstance(stmt, DEFS) else "."
            _fill_index(index, stmt.body, qualname + inner)
            continue
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            for item in getattr(stmt, name, ()):
                if isinstance(item, (ast.ExceptHandler, ast.match_case)):
                    _fill_index(index, item.body, prefix)
                elif isinstance(item, ast.stmt):
                    _fill_index(index, [item], prefix)


def _fill_bindings(index: Index, body: list[ast.stmt]) -> None:
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


# -- canonical text --------------------------------------------------------------------


def dump_all(nodes: Iterable[ast.AST]) -> str:
    """The canonical texts of ``nodes``, one a line."""
    return "\n".join(dump(node) for node in nodes)


def dump(node: ast.AST) -> str:
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


def canon(value: object, depth: int = 0) -> str | None:
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
        text = canon(item, depth + 1)
        if text is None:
            return None
        texts.append(text)
    if isinstance(value, (set, frozenset)):
        texts.sort()
    return f"{kind.__name__}(" + ",".join(texts) + ")"


def fingerprint(code: CodeType) -> str:
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
            digest.update((canon(const) or type(const).__name__).encode() + b"\0")


def class_fingerprint(cls: type) -> str:
    pieces = [cls.__qualname__, *(b.__qualname__ for b in cls.__bases__)]
    for name, value in sorted(vars(cls).items()):
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, FunctionType):
            pieces.append(f"{name}={fingerprint(value.__code__)}")
        elif not (name.startswith("__") and name.endswith("__")):
            pieces.append(f"{name}={canon(value) or type(value).__qualname__}")
    return sha("\n".join(pieces))


def sha(text: str) -> str:
    """The SHA-256 of ``text`` in hex."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# -- the names a tree reads ------------------------------------------------------------


def global_names(code: CodeType) -> set[str]:
    """The global and attribute names that ``code`` and the code nested in it use."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= global_names(const)
    return names


def names_read(
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
