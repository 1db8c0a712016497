"""Loading a notebook as a module of tasks and one workflow, and finding its steps
again in another process.

The generated source (see :mod:`._codegen`) is compiled as ``<notebook PATH>`` and
kept in :mod:`linecache`, so tracebacks show the cell's code and the code hash reads
the steps' syntax trees like any file's. The module is ``<stem>_ipynb`` in
``sys.modules``; loading an unchanged notebook again returns the same module. A step
is pickled with the digest of the source it was compiled from: a worker holding an
older version loads the notebook again, and one that cannot gets a fresh process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import linecache
import os
import sys
import traceback
from types import ModuleType
from typing import Any

from rillet.engine._loading import module_name_for
from rillet.errors import CompileError, DefinitionError
from rillet.notebook._cells import read_cells
from rillet.notebook._codegen import HEADER_NAMES, generate
from rillet.notebook._plan import Plan, plan
from rillet.sdk._resources import Cache
from rillet.sdk._task import Task
from rillet.sdk._workflow import Workflow

__all__ = ["NotebookWorkflow", "StepTask", "load", "load_module"]

_DIGEST = "__rillet_notebook_digest__"
_WORKFLOW = "__rillet_workflow__"  # the name of the module's workflow


class StepTask(Task[..., Any]):
    """A notebook step: a cached task pickled by notebook path and source digest."""

    def __init__(self, fn: Any, *, path: str, digest: str, cells: tuple[int, ...]) -> None:
        super().__init__(fn, cache=Cache())
        self.notebook = path
        self.digest = digest
        self.cells = cells

    def __reduce__(self) -> Any:
        return _restore_step, (self.fn.__module__, self.fn.__qualname__, self.notebook,
                               self.digest)


class NotebookWorkflow(Workflow[..., Any]):
    """The workflow of a notebook; ``plan`` says which cells made which step."""

    def __init__(self, fn: Any, *, plan: Plan, path: str) -> None:
        super().__init__(fn)
        self.plan = plan
        self.notebook = path
        after = {s.name: s.after for s in plan.steps if s.after}
        if after:  # ordering without data: upstream beyond what the bindings read
            nodes = tuple(
                dataclasses.replace(n, upstream=tuple(dict.fromkeys(
                    (*n.upstream, *after.get(n.id, ())))))
                for n in self.spec.nodes
            )
            self.spec = dataclasses.replace(self.spec, nodes=nodes)


def load(path: str | os.PathLike[str]) -> NotebookWorkflow:
    """The workflow of the notebook at ``path`` (compiled now: mistakes fail here)."""
    module = load_module(os.fspath(path))
    workflow: NotebookWorkflow = getattr(module, getattr(module, _WORKFLOW))
    return workflow


def load_module(path: str) -> ModuleType:
    """The module of the notebook at ``path``: its steps as tasks and its workflow."""
    full = os.path.abspath(path)
    display = os.path.relpath(full) if not path.startswith("/") else full
    if not os.path.isfile(full):
        raise DefinitionError(f"{path}: no such notebook")
    the_plan = plan(read_cells(full, display), display)
    name = module_name_for(full)
    workflow = _workflow_name(full, the_plan)
    source, cells = generate(the_plan, workflow)
    digest = hashlib.sha256(source.encode()).hexdigest()
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, _DIGEST, None) == digest \
            and getattr(existing, "__file__", None) == full:
        return existing
    module = ModuleType(name)
    module.__file__ = full
    setattr(module, _DIGEST, digest)
    code_file = f"<notebook {full}>"  # not a file: Python's own traceback prints no
    lines = source.splitlines(keepends=True)  # wrong line from the .ipynb's JSON
    for name_ in (code_file, full):  # the code's file, and the module's for its classes
        linecache.cache[name_] = (len(source), None, lines, name_)
        _forget_parsed(name_)
    folder = os.path.dirname(full)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # as for a .py file: modules beside it import
    sys.modules[name] = module
    try:
        exec(compile(source, code_file, "exec", dont_inherit=True), module.__dict__)
        namespace = module.__dict__
        for step in the_plan.steps:
            namespace[step.name] = StepTask(namespace[step.name], path=full, digest=digest,
                                            cells=tuple(step.numbers))
        wf = NotebookWorkflow(namespace[workflow], plan=the_plan, path=full)
    except CompileError:
        sys.modules.pop(name, None)
        raise
    except Exception as exc:
        sys.modules.pop(name, None)
        raise CompileError(f"{display}: {_cell_of(exc, code_file, cells)}: loading the notebook "
                           f"raised {type(exc).__name__}: {exc}") from exc
    namespace[workflow] = wf
    setattr(module, _WORKFLOW, workflow)
    return module


def _workflow_name(full: str, the_plan: Plan) -> str:
    stem = module_name_for(full).removesuffix("_ipynb")  # an identifier
    if stem.startswith("rillet_user_") and stem[12:].isidentifier():
        stem = stem[12:]
    taken = {s.name for s in the_plan.steps} | {p.name for p in the_plan.parameters}
    taken |= {n for c in the_plan.module_cells for n in _names(c.tree)} | set(HEADER_NAMES)
    return stem if stem not in taken else f"{stem}_workflow"


def _names(tree: Any) -> set[str]:
    import ast

    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        n.name for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    } | {(a.asname or a.name).partition(".")[0] for n in ast.walk(tree)
         if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}


def _cell_of(exc: BaseException, full: str, cells: list[int]) -> str:
    """``cell N`` of the last frame of the generated module in ``exc``'s traceback."""
    found = "the generated module"
    if isinstance(exc, SyntaxError) and exc.filename == full and exc.lineno is not None \
            and exc.lineno < len(cells) and cells[exc.lineno]:
        return f"cell {cells[exc.lineno]}"
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == full and frame.lineno is not None and frame.lineno < len(cells):
            number = cells[frame.lineno]
            found = f"cell {number}" if number else "the generated module"
    return found


def _forget_parsed(path: str) -> None:
    from rillet.compiler._codehash import forget_file

    forget_file(path)


def _restore_step(module: str, qualname: str, path: str, digest: str) -> Any:
    """A step again, in a worker: from the module it has if that is the same version,
    else from the notebook as it is now, if that still is."""
    mod = sys.modules.get(module)
    if mod is None or getattr(mod, _DIGEST, None) != digest:
        mod = load_module(path)
        if getattr(mod, _DIGEST, None) != digest:
            raise DefinitionError(
                f"{path} changed since step '{qualname}' was compiled; run it again"
            )
    return getattr(mod, qualname)
