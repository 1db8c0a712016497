"""Reading a notebook: its code cells, their tags, and the steps they make.

Turns an ``.ipynb`` file into :class:`Cell` records grouped by role (``imports``,
``functions``, ``parameters``, ``step:NAME``), with IPython magics and shell lines
removed. It parses nothing but tags and lines, and never runs a cell.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass
from typing import Any, Final

from rillet.errors import CompileError
from rillet.types._codecs import _user_stacklevel

__all__ = ["Cell", "NotebookWarning", "StepCells", "group_cells", "read_cells"]

# Kale's tag names are accepted beside ours: block: for step:, prev: for after:.
_STEP_TAGS: Final = ("step:", "block:")
_AFTER_TAGS: Final = ("after:", "prev:")
_ROLE_TAGS: Final = {
    "imports": "imports",
    "functions": "functions",
    "parameters": "parameters",
    "pipeline-parameters": "parameters",
    "skip": "skip",
}
# Cell magics whose body is still Python: the magic line goes, the body stays.
_PYTHON_CELL_MAGICS: Final = frozenset({"time", "timeit", "capture", "prun"})
_MAGIC_ASSIGN: Final = re.compile(r"^[\w.,\s\[\]()]+=\s*[!%]")


class NotebookWarning(UserWarning):
    """Something in a notebook was left out of its workflow (a magic, a shell line), or
    a step's output has no stored format of its own and is pickled."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Cell:
    """One code cell: its 1-based position in the notebook, its role and its code."""

    number: int
    role: str  # imports | functions | parameters | step | prelude
    step: str | None
    source: str  # Python code, magics removed
    tree: ast.Module
    after: tuple[str, ...] = ()

    def label(self) -> str:
        if self.role == "step":
            return f"cell {self.number} (step '{self.step}')"
        return f"cell {self.number} ({self.role})"


@dataclass(frozen=True, slots=True, kw_only=True)
class StepCells:
    """The cells of one step, in notebook order, and the steps it must run after."""

    name: str
    cells: tuple[Cell, ...]
    after: tuple[str, ...]


def read_cells(path: str, display: str) -> list[Cell]:
    """The code cells of the notebook at ``path``, each with its role (``display`` names
    the notebook in messages)."""
    nb = _read(path, display)
    cells: list[Cell] = []
    current: tuple[str, str | None] | None = None  # the role untagged cells continue
    for number, raw in enumerate(nb.get("cells", ()), start=1):
        if raw.get("cell_type") != "code":
            continue
        source = raw.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        tags = tuple(str(t) for t in (raw.get("metadata", {}).get("tags") or ()))
        role, step, after = _role(tags, display, number)
        if role == "skip":
            continue
        if role is None:
            if current is None:
                role, step = "prelude", None
            else:
                role, step = current
        elif role in ("imports", "functions", "step"):
            current = (role, step)
        if after and role != "step":
            raise CompileError(
                f"{display}: cell {number} ({role}): an after: tag belongs on a step's cell"
            )
        code, tree = _python(source, display, number, role, step)
        cells.append(Cell(number=number, role=role, step=step, source=code, tree=tree,
                          after=after))
    return cells


def group_cells(cells: list[Cell], display: str) -> list[StepCells]:
    """The steps in notebook order (a step's cells may have imports, functions or
    parameters cells between them, but no other step's)."""
    steps: dict[str, list[Cell]] = {}
    after: dict[str, list[str]] = {}
    last: str | None = None
    for cell in cells:
        if cell.role == "step" and cell.step is not None:
            if cell.step in steps and cell.step != last:
                first = steps[cell.step][0].number
                raise CompileError(
                    f"{display}: cell {cell.number}: step '{cell.step}' already has cells "
                    f"before another step (from cell {first}); a step's cells follow each "
                    "other (untagged cells after a step's cell belong to it)"
                )
            steps.setdefault(cell.step, []).append(cell)
            after.setdefault(cell.step, []).extend(cell.after)
            last = cell.step
    return [StepCells(name=name, cells=tuple(group), after=tuple(dict.fromkeys(after[name])))
            for name, group in steps.items()]


def _read(path: str, display: str) -> Any:
    try:
        import nbformat
        from nbformat.reader import NotJSONError
        from nbformat.reader import reads as parse_notebook
    except ImportError:
        raise CompileError(
            f"{display}: reading notebooks needs nbformat: pip install 'rillet[notebook]'"
        ) from None

    try:  # parsed, not validated against the schema (that costs more than the rest)
        with open(path, encoding="utf-8") as fh:
            nb = parse_notebook(fh.read())  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise CompileError(f"{display}: cannot read the notebook: {exc.strerror}") from None
    except (NotJSONError, ValueError, KeyError, TypeError) as exc:
        raise CompileError(f"{display}: not a Jupyter notebook: {exc}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", []), list):
        raise CompileError(f"{display}: not a Jupyter notebook (no list of cells)")
    major = nb.get("nbformat", 0)
    if major != 4:
        if major not in (3, 4):
            raise CompileError(f"{display}: notebook format {major} is not supported (use 4)")
        nb = nbformat.convert(nb, 4)  # type: ignore[no-untyped-call]
    return nb


def _role(tags: tuple[str, ...], display: str, number: int
          ) -> tuple[str | None, str | None, tuple[str, ...]]:
    roles: list[str] = []
    step: str | None = None
    after: list[str] = []
    for tag in tags:
        low = tag.strip()
        if low.startswith(_STEP_TAGS):
            step = low.partition(":")[2].strip()
            if not step.isidentifier() or step.startswith("_"):
                raise CompileError(
                    f"{display}: cell {number}: step name {step!r} (tag {tag!r}) must be a "
                    "Python identifier not starting with '_'"
                )
            roles.append("step")
        elif low.startswith(_AFTER_TAGS):
            names = [n.strip() for n in low.partition(":")[2].split(",") if n.strip()]
            if not names:
                raise CompileError(f"{display}: cell {number}: tag {tag!r} names no step")
            after.extend(names)
        elif low in _ROLE_TAGS:
            roles.append(_ROLE_TAGS[low])
    roles = list(dict.fromkeys(roles))
    if len(roles) > 1:
        raise CompileError(
            f"{display}: cell {number}: tags {', '.join(tags)} give it several roles "
            f"({', '.join(roles)}); keep one"
        )
    return (roles[0] if roles else None), step, tuple(after)


def _python(source: str, display: str, number: int, role: str, step: str | None
            ) -> tuple[str, ast.Module]:
    """The cell's code with magics and shell lines removed (a warning names each), and
    its syntax tree."""
    label = f"cell {number} (step '{step}')" if role == "step" else f"cell {number} ({role})"
    try:
        return source, _checked(_parse(source), display, label, role)
    except SyntaxError:
        pass
    code, removed = _strip_magics(source)
    for line in removed:
        warnings.warn(f"{display}: {label}: left out of the workflow: {line.strip()!r} "
                      "(an IPython magic or shell line)", NotebookWarning,
                      stacklevel=_user_stacklevel())
    try:
        tree = _parse(code)
    except SyntaxError as exc:
        raise CompileError(
            f"{display}: {label}, line {exc.lineno}: {exc.msg}"
        ) from None
    return code, _checked(tree, display, label, role)


_OUTSIDE = {ast.Return: "'return' outside a function", ast.Yield: "'yield' outside a function",
            ast.YieldFrom: "'yield' outside a function", ast.Await: "top-level 'await'",
            ast.Global: "a 'global' statement", ast.Nonlocal: "a 'nonlocal' statement"}


def _checked(tree: ast.Module, display: str, label: str, role: str) -> ast.Module:
    """Refuse what would change meaning once a step's cells are a function's body."""
    if role != "step":
        return tree
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        what = _OUTSIDE.get(type(node))
        if what is not None:
            raise CompileError(
                f"{display}: {label}, line {getattr(node, 'lineno', '?')}: {what} cannot be "
                "part of a step"
            )
        stack.extend(ast.iter_child_nodes(node))
    return tree


def _parse(source: str) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        return ast.parse(source)


def _strip_magics(source: str) -> tuple[str, list[str]]:
    lines = source.splitlines(keepends=True)
    removed: list[str] = []
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].strip()[2:].split(maxsplit=1)
        if not magic or magic[0] not in _PYTHON_CELL_MAGICS:
            return "", [lines[first].rstrip("\n")]  # %%bash, %%writefile, ...: not Python
        removed.append(lines[first])
        lines[first] = "\n"
    for i, line in enumerate(lines):
        text = line.lstrip()
        if text.startswith(("%", "!")) or _MAGIC_ASSIGN.match(text) or (
            text.rstrip().endswith("?") and not text.startswith("#")
        ):
            removed.append(line)
            indent = line[: len(line) - len(text)]
            lines[i] = f"{indent}pass\n" if indent else "\n"
    return "".join(lines), removed
