"""The plan of a notebook's workflow: its parameters, its steps with their inputs and
outputs, and the order they run in, decided from the cells' syntax trees.

A variable a step reads that an earlier step assigns is that step's input and the
earlier step's output; a variable no later step reads is an output of the workflow.
Every mistake is a :class:`CompileError` naming the notebook and the cell. Nothing
is run or imported here.
"""

from __future__ import annotations

import ast
import builtins
import keyword
from dataclasses import dataclass, field

from rillet.errors import CompileError
from rillet.notebook._cells import Cell, group_cells
from rillet.notebook._flow import Scan, scan

__all__ = ["Parameter", "Plan", "Step", "plan"]

_BUILTINS = frozenset(dir(builtins)) | {"display", "__name__", "__file__"}
_ANY = "_rillet_Any"
_SCALARS = {bool: "bool", int: "int", float: "float", str: "str", bytes: "bytes"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    name: str
    annotation: str  # the source of its type
    default: str  # the source of its literal default


@dataclass(slots=True, kw_only=True)
class Step:
    """One task of the workflow. ``inputs`` maps a variable to the step it comes from
    (``None``: a parameter of the workflow); ``outputs`` lists what later steps, or
    the workflow, take from it; ``in_types``/``out_types`` hold the annotation source
    of each."""

    name: str
    cells: tuple[Cell, ...]
    after: tuple[str, ...]
    scan: Scan
    inputs: dict[str, str | None] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    in_types: dict[str, str] = field(default_factory=dict)
    out_types: dict[str, str] = field(default_factory=dict)

    @property
    def numbers(self) -> list[int]:
        return [c.number for c in self.cells]


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    display: str
    module_cells: tuple[Cell, ...]
    parameters: tuple[Parameter, ...]
    parameters_cell: int | None
    steps: tuple[Step, ...]  # in the order they are called: topological, notebook order
    outputs: dict[str, str]  # workflow output -> the step that gives it


def plan(cells: list[Cell], display: str) -> Plan:
    module_cells = [c for c in cells if c.role in ("imports", "functions", "prelude")]
    module_names = _module_names(module_cells, display)
    params_cells = [c for c in cells if c.role == "parameters"]
    if len(params_cells) > 1:
        raise CompileError(
            f"{display}: cell {params_cells[1].number}: a second parameters cell (the first "
            f"is cell {params_cells[0].number}); keep one"
        )
    params_cell = params_cells[0] if params_cells else None
    parameters = _parameters(params_cell, display) if params_cell else []
    groups = group_cells(cells, display)
    steps = [Step(name=g.name, cells=g.cells, after=g.after,
                  scan=scan([(c.number, c.tree) for c in g.cells],
                            walrus=any(":=" in c.source for c in g.cells)))
             for g in groups]
    _check_names(steps, module_names, parameters, display)
    outputs = _flow(steps, module_names, parameters, display)
    order = _order(steps, display)
    return Plan(display=display, module_cells=tuple(module_cells),
                parameters=tuple(parameters),
                parameters_cell=params_cell.number if params_cell else None,
                steps=tuple(order), outputs=outputs)


def _module_names(cells: list[Cell], display: str) -> set[str]:
    for cell in cells:
        if cell.role == "prelude" and not _is_setup(cell.tree):
            raise CompileError(
                f"{display}: cell {cell.number}: code before the first step's cell; tag it "
                "step:NAME, imports, functions, parameters or skip"
            )
    found = scan([(c.number, c.tree) for c in cells])
    return set(found.assigned)


def _is_setup(tree: ast.Module) -> bool:
    """Imports, definitions and literal constants only: safe to run when loading."""
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.ClassDef)):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None \
                and _literal(stmt.value):
            continue
        return False
    return True


def _literal(expr: ast.expr) -> bool:
    try:
        ast.literal_eval(expr)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _parameters(cell: Cell, display: str) -> list[Parameter]:
    found: list[Parameter] = []
    where = f"{display}: cell {cell.number} (parameters)"
    for stmt in cell.tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring
        target: ast.expr | None = None
        value: ast.expr | None = None
        annotation: str | None = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            target, value, annotation = stmt.target, stmt.value, ast.unparse(stmt.annotation)
        if not isinstance(target, ast.Name):
            raise CompileError(
                f"{where}: line {stmt.lineno}: {ast.unparse(stmt)!r} is not NAME = literal; "
                "a parameters cell holds only literal defaults"
            )
        if value is None or not _literal(value):
            what = ast.unparse(value) if value is not None else "no value"
            raise CompileError(
                f"{where}: parameter '{target.id}' has no literal default ({what}); "
                "write NAME = a literal (a number, string, list, dict, True, None)"
            )
        if annotation is None:
            annotation = _type_of(ast.literal_eval(value))
        found.append(Parameter(name=target.id, annotation=annotation,
                               default=ast.unparse(value)))
    if not found:
        raise CompileError(f"{where}: no literal defaults (write NAME = literal lines)")
    return found


def _type_of(value: object) -> str:
    name = _SCALARS.get(type(value))
    if name is not None:
        return name
    if isinstance(value, (list, dict, tuple, set)):
        return type(value).__name__
    return _ANY


def _check_names(steps: list[Step], module: set[str], parameters: list[Parameter],
                 display: str) -> None:
    taken = {p.name for p in parameters} | module
    for step in steps:
        if step.name in taken or keyword.iskeyword(step.name) or step.name in _BUILTINS:
            raise CompileError(
                f"{display}: cell {step.cells[0].number}: step name '{step.name}' is also a "
                "parameter, a name the imports or functions cells define, or a builtin; "
                "rename the step"
            )
    names = {s.name for s in steps}
    for step in steps:
        for other in step.after:
            if other not in names or other == step.name:
                raise CompileError(
                    f"{display}: cell {step.cells[0].number} (step '{step.name}'): after:"
                    f"{other} names no other step (steps: {', '.join(sorted(names))})"
                )


def _flow(steps: list[Step], module: set[str], parameters: list[Parameter],
          display: str) -> dict[str, str]:
    """Bind every read to the step (or parameter) that last assigned it before."""
    last: dict[str, str | None] = {p.name: None for p in parameters}
    types: dict[str, str] = {p.name: p.annotation for p in parameters}
    only_if: dict[str, tuple[str, int]] = {}  # assigned on some paths only: (step, cell)
    code: dict[str, tuple[str, int]] = {}  # imported or defined by a step: (step, cell)
    read: set[tuple[str, str]] = set()  # (producer, variable) some later step reads
    for step in steps:
        sc = step.scan
        for name, number in sc.needed.items():
            if name in last:
                step.inputs[name] = last[name]
            elif name in module or name in _BUILTINS:
                continue
            elif name in code:
                producer, cell = code[name]
                raise CompileError(
                    f"{display}: cell {cell} (step '{producer}'): '{name}' is imported or "
                    f"defined there and step '{step.name}' (cell {number}) uses it; move it to "
                    "an imports or functions cell"
                )
            elif name in only_if:
                producer, cell = only_if[name]
                raise CompileError(
                    f"{display}: cell {cell} (step '{producer}'): variable '{name}' is "
                    f"assigned only under a condition (if, loop or try) and step "
                    f"'{step.name}' (cell {number}) uses it; assign it on every path"
                )
            elif name not in sc.assigned:
                raise CompileError(
                    f"{display}: cell {number} (step '{step.name}'): variable '{name}' is "
                    "used before any step assigns it"
                )
        # A variable assigned only on some paths keeps its earlier value on the others.
        for name in sc.assigned:
            if name not in sc.definite and name in last and name not in step.inputs:
                step.inputs[name] = last[name]
        for name, source in step.inputs.items():
            step.in_types[name] = types.get(name, _ANY)
            if source is not None:
                read.add((source, name))
                if name.startswith("_"):
                    origin = next(s for s in steps if s.name == source)
                    raise CompileError(
                        f"{display}: cell {sc.needed.get(name, step.cells[0].number)} (step "
                        f"'{step.name}'): variable '{name}' comes from step '{source}' (cell "
                        f"{origin.scan.assigned[name]}), but a name starting with '_' stays "
                        "inside its step; rename it"
                    )
        for name, cell in sc.assigned.items():
            if name in sc.code:
                last.pop(name, None)
                only_if.pop(name, None)
                code[name] = (step.name, cell)
            elif name in sc.definite or name in step.inputs:
                code.pop(name, None)
                last[name] = step.name
                only_if.pop(name, None)
                kept = step.in_types.get(name, _ANY)
                types[name] = step.out_types[name] = sc.annotations.get(name, kept)
            else:
                last.pop(name, None)
                code.pop(name, None)
                only_if[name] = (step.name, cell)
    by_name = {s.name: s for s in steps}
    for producer, name in read:
        by_name[producer].outputs.append(name)
    outputs: dict[str, str] = {}
    for name, giver in last.items():
        if giver is None or name.startswith("_") or (giver, name) in read:
            continue
        final = by_name[giver]
        if name in final.scan.plain and name in final.scan.definite:
            outputs[name] = giver
            final.outputs.append(name)
    for step in steps:
        order = {n: i for i, n in enumerate(step.scan.assigned)}  # first assigned first
        step.outputs = sorted(set(step.outputs), key=lambda n: (order.get(n, -1), n))
        step.out_types = {n: step.out_types[n] for n in step.outputs}
    return outputs


def _order(steps: list[Step], display: str) -> list[Step]:
    """Steps in an order that runs each after its inputs and its after: steps, as close
    to notebook order as that allows; a cycle is an error naming a cell on it."""
    deps = {s.name: {src for src in s.inputs.values() if src is not None} | set(s.after)
            for s in steps}
    by_name = {s.name: s for s in steps}
    done: list[Step] = []
    placed: set[str] = set()
    pending = [s.name for s in steps]
    while pending:
        for name in pending:
            if deps[name] <= placed:
                pending.remove(name)
                placed.add(name)
                done.append(by_name[name])
                break
        else:
            cycle = _cycle(deps, pending)
            first = by_name[cycle[0]]
            path = " -> ".join([*cycle, cycle[0]])
            raise CompileError(
                f"{display}: cell {first.cells[0].number} (step '{first.name}'): a cycle "
                f"through after: tags ({path}: each runs after the next); remove one"
            )
    return done


def _cycle(deps: dict[str, set[str]], pending: list[str]) -> list[str]:
    """One cycle among ``pending`` (each waits on another pending step)."""
    left = set(pending)
    node = pending[0]
    seen: list[str] = []
    while node not in seen:
        seen.append(node)
        node = sorted(deps[node] & left)[0]
    return seen[seen.index(node):]
