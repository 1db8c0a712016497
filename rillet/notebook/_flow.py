"""What a block of cell code reads and assigns, from its syntax tree alone.

:func:`scan` walks a step's statements in order and finds the names it reads before
assigning them (its inputs, if an earlier step assigns them), the names it assigns on
every path (what it can pass on) and those it assigns only on some paths (under an
``if``, in a loop body, in a ``try``). Nested functions, lambdas, classes and
comprehensions have scopes of their own. Nothing is imported or run here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Scan", "scan"]

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(slots=True)
class Scan:
    """The names one step (or the notebook's module-level cells) reads and assigns.

    ``needed``: read before any assignment on the path, by the cell that reads it.
    ``definite``: assigned on every path through the code. ``assigned``: assigned
    anywhere, by the cell that first does. ``plain``: assigned by ``=``, ``+=`` or an
    annotated assignment (candidates for the workflow's outputs). ``annotations``: the
    annotation source of a variable, when one is written. ``code``: names bound by
    ``import``, ``def`` or ``class``.
    """

    needed: dict[str, int] = field(default_factory=dict)
    definite: set[str] = field(default_factory=set)
    assigned: dict[str, int] = field(default_factory=dict)
    plain: set[str] = field(default_factory=set)
    annotations: dict[str, str] = field(default_factory=dict)
    code: set[str] = field(default_factory=set)
    deferred: dict[str, int] = field(default_factory=dict)
    cell: int = 0


def scan(cells: list[tuple[int, ast.Module]], *, walrus: bool = True) -> Scan:
    """Scan ``(cell number, tree)`` pairs as one block of code run in order (``walrus``:
    whether the code may hold ``:=``, false when its text has none)."""
    result = Scan()
    flow = _Flow(result, walrus)
    defined: set[str] | None = set()
    for number, tree in cells:
        result.cell = number
        if defined is None:
            defined = set()  # a cell that always raises: what follows is still scanned
        defined = flow.block(tree.body, defined)
    result.definite = defined or set()
    for name, number in result.deferred.items():
        if name not in result.definite:
            result.needed.setdefault(name, number)
    return result


class _Flow:
    def __init__(self, out: Scan, walrus: bool) -> None:
        self.out = out
        self.walrus = walrus

    # -- reads and binds ----------------------------------------------------------

    def read(self, node: ast.AST | None, defined: set[str]) -> None:
        if node is None:
            return
        out = self.out
        for name, deferred in _loads(node, False, frozenset()):
            if name in defined:
                continue
            if deferred:
                out.deferred.setdefault(name, out.cell)
            else:
                out.needed.setdefault(name, out.cell)

    def bind(self, names: list[str], defined: set[str], *, plain: bool = False,
             code: bool = False) -> None:
        for name in names:
            defined.add(name)
            self.out.assigned.setdefault(name, self.out.cell)
            if plain:
                self.out.plain.add(name)
                self.out.code.discard(name)
            elif code:
                self.out.code.add(name)
                self.out.plain.discard(name)

    # -- statements ---------------------------------------------------------------

    def block(self, stmts: list[ast.stmt], defined: set[str]) -> set[str] | None:
        """Scan ``stmts``; the names assigned on every path after them, or None when
        they never finish normally (they end by raising)."""
        current: set[str] | None = set(defined)
        for stmt in stmts:
            if current is None:
                return None
            current = self.stmt(stmt, current)
        return current

    def stmt(self, s: ast.stmt, cur: set[str]) -> set[str] | None:
        if isinstance(s, ast.Assign):
            self.read(s.value, cur)
            for target in s.targets:
                self.read(target, cur)
            self.bind([n for t in s.targets for n in _stores(t)], cur, plain=True)
        elif isinstance(s, ast.AugAssign):
            self.read(s.value, cur)
            self.read(s.target, cur)
            if isinstance(s.target, ast.Name):
                if s.target.id not in cur:
                    self.out.needed.setdefault(s.target.id, self.out.cell)
                self.bind([s.target.id], cur, plain=True)
        elif isinstance(s, ast.AnnAssign):
            self.read(s.value, cur)
            if isinstance(s.target, ast.Name):
                self.out.annotations[s.target.id] = ast.unparse(s.annotation)
                if s.value is not None:
                    self.bind([s.target.id], cur, plain=True)
            else:
                self.read(s.target, cur)
        elif isinstance(s, (ast.Import, ast.ImportFrom)):
            self.bind([(a.asname or a.name).partition(".")[0] for a in s.names if a.name != "*"],
                      cur, code=True)
        elif isinstance(s, (*_FUNCTIONS, ast.ClassDef)):
            self.read(s, cur)
            self.bind([s.name], cur, code=True)
        elif isinstance(s, ast.If):
            self.read(s.test, cur)
            return _join(self.block(s.body, cur), self.block(s.orelse, cur))
        elif isinstance(s, (ast.For, ast.AsyncFor)):
            self.read(s.iter, cur)
            inner = set(cur)
            self.bind(_stores(s.target), inner)
            self.block(s.body, inner)
            self.block(s.orelse, cur)
        elif isinstance(s, ast.While):
            self.read(s.test, cur)
            self.block(s.body, cur)
            self.block(s.orelse, cur)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            inner = set(cur)
            for item in s.items:
                self.read(item.context_expr, inner)
                if item.optional_vars is not None:
                    self.bind(_stores(item.optional_vars), inner)
            return self.block(s.body, inner)
        elif isinstance(s, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            return self._try(s, cur)  # type: ignore[arg-type]
        elif isinstance(s, ast.Match):
            return self._match(s, cur)
        elif isinstance(s, ast.Raise):
            self.read(s, cur)
            return None
        elif isinstance(s, ast.Delete):
            for target in s.targets:
                self.read(target, cur)
                if isinstance(target, ast.Name):
                    cur.discard(target.id)
        else:  # expressions, assert, pass, global, ...
            self.read(s, cur)
        if self.walrus:
            for name in _walrus(s):
                self.out.assigned.setdefault(name, self.out.cell)  # assigned, maybe not
        return cur

    def _try(self, s: ast.Try, cur: set[str]) -> set[str] | None:
        body = self.block(s.body, cur)
        ends = [self.block(s.orelse, body) if body is not None else None]
        for handler in s.handlers:
            inner = set(cur)
            self.read(handler.type, inner)
            if handler.name:
                self.bind([handler.name], inner)
            ends.append(self.block(handler.body, inner))
        after = _join(*ends)
        if s.finalbody:
            return self.block(s.finalbody, after if after is not None else set(cur))
        return after

    def _match(self, s: ast.Match, cur: set[str]) -> set[str] | None:
        self.read(s.subject, cur)
        ends: list[set[str] | None] = []
        for case in s.cases:
            inner = set(cur)
            self.bind([n for n in _captures(case.pattern)], inner)
            self.read(case.guard, inner)
            ends.append(self.block(case.body, inner))
        last = s.cases[-1] if s.cases else None
        total = last is not None and last.guard is None and isinstance(
            last.pattern, ast.MatchAs) and last.pattern.pattern is None
        if not total:
            ends.append(cur)
        return _join(*ends)


def _join(*ends: set[str] | None) -> set[str] | None:
    """Names assigned on every path that finishes normally."""
    live = [e for e in ends if e is not None]
    if not live:
        return None
    out = set(live[0])
    for e in live[1:]:
        out &= e
    return out


def _stores(target: ast.AST) -> list[str]:
    """Names a target binds (``a, (b, *c) = ...``), not attributes or subscripts."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _stores(elt)]
    if isinstance(target, ast.Starred):
        return _stores(target.value)
    return []


def _walrus(node: ast.AST) -> list[str]:
    return [n.target.id for n in ast.walk(node)
            if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)]


def _captures(pattern: ast.AST) -> list[str]:
    found: list[str] = []
    for n in ast.walk(pattern):
        if isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name:
            found.append(n.name)
        elif isinstance(n, ast.MatchMapping) and n.rest:
            found.append(n.rest)
    return found


def _params(args: ast.arguments) -> set[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    names = {a.arg for a in every}
    if args.vararg:
        names.add(args.vararg.arg)
    if args.kwarg:
        names.add(args.kwarg.arg)
    return names


def _bound_in(body: list[ast.stmt]) -> set[str]:
    """Every name a function or class body binds (its locals), nested scopes aside."""
    names: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
            names.add(node.name)
            stack.extend(node.decorator_list)
            continue
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).partition(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Lambda, *_COMPREHENSIONS, ast.Global, ast.Nonlocal)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    globals_ = {n for s in ast.walk(ast.Module(body=body, type_ignores=[]))
                if isinstance(s, ast.Global) for n in s.names}
    return names - globals_


def _loads(node: ast.AST, deferred: bool, bound: frozenset[str]) -> Iterator[tuple[str, bool]]:
    """``(name, deferred)`` for each name ``node`` reads from the enclosing scope;
    deferred: read when a function defined here is called, not now."""
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id not in bound:
            yield node.id, deferred
        return
    if isinstance(node, _FUNCTIONS):
        for expr in (*node.decorator_list, *_arg_exprs(node.args), node.returns):
            if expr is not None:
                yield from _loads(expr, deferred, bound)
        inner = bound | _params(node.args) | _bound_in(node.body)
        for stmt in node.body:
            yield from _loads(stmt, True, frozenset(inner))
        return
    if isinstance(node, ast.Lambda):
        for expr in _arg_exprs(node.args):
            yield from _loads(expr, deferred, bound)
        yield from _loads(node.body, True, bound | _params(node.args))
        return
    if isinstance(node, ast.ClassDef):
        for expr in (*node.decorator_list, *node.bases, *(k.value for k in node.keywords)):
            yield from _loads(expr, deferred, bound)
        inner = frozenset(bound | _bound_in(node.body))
        for stmt in node.body:
            yield from _loads(stmt, deferred, inner)
        return
    if isinstance(node, _COMPREHENSIONS):
        gens = node.generators
        yield from _loads(gens[0].iter, deferred, bound)
        inner = frozenset(bound | {n for g in gens for n in _stores(g.target)})
        for i, gen in enumerate(gens):
            if i:
                yield from _loads(gen.iter, deferred, inner)
            for cond in gen.ifs:
                yield from _loads(cond, deferred, inner)
        parts = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
        for part in parts:
            yield from _loads(part, deferred, inner)
        return
    for child in ast.iter_child_nodes(node):
        yield from _loads(child, deferred, bound)


def _arg_exprs(args: ast.arguments) -> list[ast.expr]:
    exprs: list[ast.expr] = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg:
        every.append(args.vararg)
    if args.kwarg:
        every.append(args.kwarg)
    exprs.extend(a.annotation for a in every if a.annotation is not None)
    return exprs
