"""``conditional``: if/elif/else branches inside a workflow body.

``conditional("pick").if_(c).then(a(...)).elif_(d).then(b(...)).else_().then(e(...))``
adds one branch node whose arms hold the nodes created inside each ``then``.
Only the arm whose condition holds runs; the others are skipped.
"""

from __future__ import annotations

from typing import Any

from rillet.compiler._builder import Builder, OpenCase, current_builder, promises
from rillet.compiler._promise import ConditionExpr, Promise, VoidPromise, user_location
from rillet.compiler._spec import Binding, Case
from rillet.errors import CompileError
from rillet.types._compat import is_compatible, type_name


class ConditionalSection:
    """The conditional being written; arms are added in order."""

    def __init__(self, name: str) -> None:
        builder = current_builder()
        if builder is None:
            raise CompileError.at(
                user_location(), f"conditional('{name}') is only allowed inside a workflow body"
            )
        self.name = name
        self.builder: Builder = builder
        self.cases: list[Case] = []
        self.types: dict[str, Any] | None = None
        self.output_tuple: type | None = None
        self.open = False
        self.done = False
        builder.open_conditionals.append(name)

    def _check_closed(self) -> None:
        if self.open:
            raise CompileError.at(
                user_location(), f"conditional '{self.name}': the previous arm has no .then()"
            )
        if self.done:
            raise CompileError.at(
                user_location(), f"conditional '{self.name}' is finished: it has an else_() arm"
            )

    def _open(self, expr: ConditionExpr | None) -> _Arm:
        if expr is not None and not isinstance(expr, ConditionExpr):
            raise CompileError.at(
                user_location(),
                f"conditional '{self.name}': if_/elif_ take a comparison of promises "
                f"(e.g. x > 0.5), got {type(expr).__name__}",
                "In a @dynamic body the inputs are values: branch with a plain 'if'."
                if isinstance(expr, bool)
                else "",
            )
        self.open = True
        case = self.builder.open_case(expr.condition if expr is not None else None)
        return _Arm(self, expr is None, case)

    def if_(self, expr: ConditionExpr) -> _Arm:
        self._check_closed()
        if self.cases:
            raise CompileError.at(user_location(), f"conditional '{self.name}': if_ used twice")
        return self._open(expr)

    def elif_(self, expr: ConditionExpr) -> _Arm:
        self._check_closed()
        if not self.cases:
            raise CompileError.at(
                user_location(), f"conditional '{self.name}': elif_ before if_"
            )
        return self._open(expr)

    def else_(self) -> _Arm:
        self._check_closed()
        if not self.cases:
            raise CompileError.at(user_location(), f"conditional '{self.name}': else_ before if_")
        return self._open(None)

    def _close(self, arm: _Arm, result: Any, fail: str | None) -> Any:
        if arm.done:
            raise CompileError.at(
                user_location(), f"conditional '{self.name}': this arm has its .then() already"
            )
        if isinstance(result, ConditionalSection) or self.builder.cases[-1] is not arm.case:
            inner = self.builder.open_conditionals[-1]
            raise CompileError.at(
                user_location(),
                f"conditional '{inner}' inside an arm of conditional '{self.name}' is not finished",
                "End it with .else_().then(...) or .else_().fail(...).",
            )
        arm.done = True
        condition, last = arm.case.condition, arm.is_else
        nodes = self.builder.close_case()
        self.open = False
        outputs: dict[str, Binding] = {}
        if fail is None:
            outputs = self._bind_result(result)
        self.builder.hide(nodes, self.name)
        self.cases.append(Case(condition=condition, nodes=tuple(nodes), outputs=outputs, fail=fail))
        if not last:
            return self
        self.done = True
        self.builder.open_conditionals.remove(self.name)
        node = self.builder.add_branch(self.name, self.cases, self.types or {})
        return promises(node.id, node.outputs, self.output_tuple)

    def _bind_result(self, result: Any) -> dict[str, Binding]:
        where = user_location()
        if result is None or isinstance(result, VoidPromise):
            named: dict[str, Any] = {}
        elif isinstance(result, tuple) and hasattr(result, "_fields"):
            named = dict(zip(result._fields, result, strict=True))
            self.output_tuple = self.output_tuple or type(result)
        elif type(result) is tuple and result and all(isinstance(v, Promise) for v in result):
            named = {f"o{i}": v for i, v in enumerate(result)}  # a task's tuple outputs
            self.output_tuple = self.output_tuple or tuple
        else:
            named = {"o0": result}
        types: dict[str, Any] = {k: _type_of(v) for k, v in named.items()}
        if self.types is None:
            self.types = types
        elif list(types) != list(self.types) or not all(
            is_compatible(types[k], self.types[k]) and is_compatible(self.types[k], types[k])
            for k in types
        ):
            def show(t: dict[str, Any]) -> str:
                return ", ".join(f"{k}: {type_name(v)}" for k, v in t.items()) or "nothing"

            raise CompileError.at(
                where,
                f"conditional '{self.name}': arm {len(self.cases) + 1} returns ({show(types)}) "
                f"but the first arm returns ({show(self.types)})",
                "Every arm must produce outputs of the same names and types.",
            )
        return {
            k: self.builder.bind(v, self.types[k], f"conditional:{self.name}", k)
            for k, v in named.items()
        }


def _type_of(value: Any) -> Any:
    """The type an arm's result has: a promise's, or a list/dict/tuple of them."""
    if isinstance(value, Promise):
        return value.type
    if isinstance(value, (list, dict)) and value:
        items = list(value.values()) if isinstance(value, dict) else value
        kinds = list(dict.fromkeys(_type_of(v) for v in items))
        item = kinds[0] if len(kinds) == 1 else Any
        return dict[str, item] if isinstance(value, dict) else list[item]  # type: ignore[valid-type]
    if type(value) is tuple:
        return tuple[tuple(_type_of(v) for v in value)]  # type: ignore[misc]
    return type(value)


class _Arm:
    __slots__ = ("case", "done", "is_else", "section")

    def __init__(self, section: ConditionalSection, is_else: bool, case: OpenCase) -> None:
        self.section = section
        self.is_else = is_else
        self.case = case
        self.done = False

    def then(self, result: Any) -> Any:
        """What this arm produces: a task call's promise(s), or None."""
        return self.section._close(self, result, None)

    def fail(self, message: str) -> Any:
        """Fail the workflow with ``message`` when this arm is taken."""
        return self.section._close(self, None, str(message))


def conditional(name: str) -> ConditionalSection:
    """Start an if/elif/else section named ``name`` inside a workflow body."""
    return ConditionalSection(name)
