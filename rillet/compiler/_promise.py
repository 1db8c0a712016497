"""Promises: the placeholders a workflow body handles instead of values.

A promise stands for a workflow input or one output of a node. It refuses to be
used as a Python value (``if p:``, ``len(p)``, ``p + 1``) with a CompileError, and
its comparisons build conditions for ``conditional``. No execution happens here.
"""

from __future__ import annotations

import os
import sys
import warnings
from types import NoneType
from typing import Any, NoReturn

from rillet.compiler._access import AccessError, Attr, attribute_type, item_type, path_text
from rillet.compiler._spec import PATH, Binding, BoolOp, Comparison, Condition
from rillet.errors import CompileError, TypeMismatchError
from rillet.types._compat import is_compatible, type_name

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_location() -> str:
    """``file:line`` of the innermost frame outside rillet (for error messages only)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(_PKG_DIR + os.sep):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return "<unknown>"


class Promise:
    """One future value inside a workflow body."""

    __slots__ = ("binding", "node_id", "output", "path", "type")

    def __init__(self, node_id: str | None, output: str, tp: Any) -> None:
        self.node_id = node_id  # None: a workflow input named ``output``
        self.output = output
        self.type = tp
        self.binding: Any = None  # the Binding, made once on first use
        self.path: tuple[Any, ...] = ()  # ``out.field[0]``: the steps taken into the value

    def describe(self) -> str:
        if self.node_id is None:
            text = f"workflow input '{self.output}'"
        else:
            text = f"output '{self.output}' of node '{self.node_id}'"
        return text + path_text(self.path) if self.path else text

    def __repr__(self) -> str:
        return f"Promise({self.describe()}: {type_name(self.type)})"

    def _misuse(
        self, what: str, fix: str = "Pass it to a task, or use conditional() to branch on it."
    ) -> NoReturn:
        raise CompileError.at(
            user_location(),
            f"{self.describe()} is a promise, not a value: it cannot be {what} "
            "inside a workflow body",
            fix,
        )

    def __bool__(self) -> bool:
        self._misuse("used as a bool (if/and/or/not)")

    def __len__(self) -> int:
        self._misuse("passed to len()")

    def __iter__(self) -> Any:
        self._misuse("iterated or unpacked")

    def __getitem__(self, key: Any) -> Promise:
        """``out[0]``, ``out["k"]``: an item of a list, tuple or dict output (a constant
        index or key), typed from the declared type."""
        if isinstance(key, (Promise, ConditionExpr)):
            self._misuse("indexed by another promise", "Index it with a constant.")
        if isinstance(key, slice):
            self._misuse("sliced", "Index it with one constant, or slice inside a task.")
        try:
            tp = item_type(self.type, key)
        except AccessError as exc:
            raise CompileError.at(user_location(), f"{self.describe()} {exc}") from None
        return self._step(key, tp)

    def __getattr__(self, name: str) -> Promise:
        """``out.field``: a field of a dataclass, NamedTuple or pydantic model output."""
        if name.startswith("_") or name in _OWN:
            raise AttributeError(name)
        try:
            tp = attribute_type(self.type, name)
        except AccessError as exc:
            raise PromiseAttributeError(
                f"{user_location()}: {self.describe()} {exc}"
            ) from None
        return self._step(Attr(name), tp)

    def _step(self, step: Any, tp: Any) -> Promise:
        from rillet.compiler._builder import binding_of_promise

        base = binding_of_promise(self)
        if base.kind == PATH:
            b = Binding(kind=PATH, items=base.items, path=(*base.path, step), type=tp)
        else:
            b = Binding(kind=PATH, items=(base,), path=(step,), type=tp)
        p = Promise(self.node_id, self.output, tp)
        p.binding = b
        p.path = b.path
        return p

    def __index__(self) -> int:
        self._misuse("used as an index")

    def __int__(self) -> int:
        self._misuse("converted with int()")

    def __float__(self) -> float:
        self._misuse("converted with float()")

    def __str__(self) -> str:
        return self._placeholder()

    def __format__(self, spec: str) -> str:
        return self._placeholder()

    def _placeholder(self) -> str:
        """What ``print(p)`` or an f-string shows in a body (flytekit prints promises too)."""
        text = f"<promise: {self.describe()}>"
        warnings.warn(
            f"{user_location()}: {text} is printed or formatted inside a workflow body, "
            "where it has no value yet; print it inside a task to see the value",
            PromiseFormattedWarning,
            stacklevel=3,
        )
        return text

    def __rshift__(self, other: Any) -> Any:
        """``a >> b``: ``b``'s node runs after ``a``'s, with no data passed."""
        return order(self, other)

    def with_overrides(self, **overrides: Any) -> Promise:
        """flytekit's per-node overrides (``requests``, ``limits``, ``retries``,
        ``timeout``...) for the node this promise comes from."""
        override(self.node_id, overrides)
        return self

    def __contains__(self, item: Any) -> bool:
        self._misuse("tested with 'in'")

    def _arith(self, other: Any = None) -> Any:
        self._misuse("used in arithmetic")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _arith
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __pow__ = _arith
    __rmod__ = __rpow__ = __neg__ = __pos__ = __abs__ = _arith

    def _bitwise(self, other: Any = None) -> Any:
        self._misuse(
            "combined with &, |, ^ or ~",
            "Compare it first, with each comparison in parentheses: (a > 1) & (b < 2).",
        )

    __and__ = __rand__ = __or__ = __ror__ = __xor__ = __rxor__ = __invert__ = _bitwise

    def __hash__(self) -> int:
        return id(self)

    def _cmp(self, op: str, other: Any) -> ConditionExpr:
        left, right = _operand(self), _operand(other)
        if not _comparable(left.type, right.type):
            raise TypeMismatchError.for_comparison(
                user_location(), self.describe(), type_name(self.type), op,
                other.describe() if isinstance(other, Promise) else f"{other!r:.60}",
                type_name(right.type),
            )
        return ConditionExpr(Comparison(left=left, op=op, right=right))

    def __eq__(self, other: Any) -> ConditionExpr:  # type: ignore[override]
        return self._cmp("==", other)

    def __ne__(self, other: Any) -> ConditionExpr:  # type: ignore[override]
        return self._cmp("!=", other)

    def __lt__(self, other: Any) -> ConditionExpr:
        return self._cmp("<", other)

    def __le__(self, other: Any) -> ConditionExpr:
        return self._cmp("<=", other)

    def __gt__(self, other: Any) -> ConditionExpr:
        return self._cmp(">", other)

    def __ge__(self, other: Any) -> ConditionExpr:
        return self._cmp(">=", other)

    def is_true(self) -> ConditionExpr:
        return self._cmp("==", True)

    def is_false(self) -> ConditionExpr:
        return self._cmp("==", False)


_OWN = frozenset(Promise.__slots__)


class PromiseAttributeError(CompileError, AttributeError):
    """``out.name`` where the output's type has no field ``name`` (or no fields)."""


class PromiseFormattedWarning(UserWarning):
    """A promise was printed or formatted in a workflow body: it shows a placeholder."""


class VoidPromise(Promise):
    """What calling an entity with no outputs returns in a body: it only orders (``>>``)."""

    __slots__ = ()

    def __init__(self, node_id: str) -> None:
        super().__init__(node_id, "", NoneType)

    def describe(self) -> str:
        return f"node '{self.node_id}' (it has no outputs)"


class NodeRef:
    """A node of a body as ``create_node``/``add_entity`` give it: ``.outputs``,
    its outputs as attributes (``node.o0``), and ``>>`` to order it."""

    __slots__ = ("id", "outputs")

    def __init__(self, node_id: str, outputs: dict[str, Promise]) -> None:
        self.id = node_id
        self.outputs = outputs

    def __getattr__(self, name: str) -> Promise:
        try:
            return self.outputs[name]
        except KeyError:
            raise AttributeError(
                f"node '{self.id}' has no output {name!r} (its outputs: "
                f"{', '.join(self.outputs) or 'none'})"
            ) from None

    def __rshift__(self, other: Any) -> Any:
        return order(self, other)

    def with_overrides(self, **overrides: Any) -> NodeRef:
        override(self.id, overrides)
        return self

    def __repr__(self) -> str:
        return f"NodeRef({self.id!r})"


def node_ids_of(value: Any) -> list[str]:
    """The nodes a promise, a NodeRef, or a tuple of promises (several outputs) come from."""
    if isinstance(value, NodeRef):
        return [value.id]
    if isinstance(value, Promise):
        return [value.node_id] if value.node_id is not None else []
    if isinstance(value, tuple):
        return list(dict.fromkeys(i for v in value for i in node_ids_of(v)))
    return []


def override(node_id: str | None, overrides: dict[str, Any]) -> None:
    """``with_overrides(**overrides)`` of node ``node_id`` in the body being compiled."""
    from rillet.compiler._builder import current_builder

    builder = current_builder()
    if builder is None or node_id is None:
        raise CompileError.at(user_location(), "with_overrides() applies to a task call "
                              "inside a workflow body")
    builder.override(node_id, overrides)


def order(before: Any, after: Any) -> Any:
    """Record that the nodes of ``after`` run after those of ``before``; returns ``after``
    so that ``a >> b >> c`` chains."""
    from rillet.compiler._builder import current_builder

    builder = current_builder()
    firsts, thens = node_ids_of(before), node_ids_of(after)
    if builder is None or not thens or not firsts:
        if builder is not None:
            raise CompileError.at(
                user_location(),
                f">> orders nodes; got {type(before).__name__} >> {type(after).__name__}",
                "Use it between task calls or nodes: t1() >> t2().",
            )
        return after
    for then in thens:
        builder.add_upstream(then, firsts)
    return after


_NUMBERS = (int, float, bool)


def _comparable(a: Any, b: Any) -> bool:
    """Whether values declared ``a`` and ``b`` may be compared in a condition."""
    if a in _NUMBERS and b in _NUMBERS:
        return True
    return is_compatible(a, b) or is_compatible(b, a)


def _operand(value: Any) -> Binding:
    from rillet.compiler._builder import binding_of_promise, const_binding, current_builder

    if isinstance(value, Promise):
        builder = current_builder()
        if builder is not None and builder.hidden:
            builder.check_visible(value, "a condition", "")
        return binding_of_promise(value)
    if isinstance(value, ConditionExpr):
        raise CompileError.at(user_location(), "a condition cannot be compared with a value")
    return const_binding(value)


class ConditionExpr:
    """A boolean expression over promises, for ``conditional().if_()``."""

    __slots__ = ("condition",)

    def __init__(self, condition: Condition) -> None:
        self.condition = condition

    def __and__(self, other: ConditionExpr) -> ConditionExpr:
        return ConditionExpr(BoolOp(op="and", left=self.condition, right=_cond(other)))

    def __or__(self, other: ConditionExpr) -> ConditionExpr:
        return ConditionExpr(BoolOp(op="or", left=self.condition, right=_cond(other)))

    def __rand__(self, other: Any) -> ConditionExpr:
        return ConditionExpr(BoolOp(op="and", left=_cond(other), right=self.condition))

    def __ror__(self, other: Any) -> ConditionExpr:
        return ConditionExpr(BoolOp(op="or", left=_cond(other), right=self.condition))

    def __bool__(self) -> bool:
        raise CompileError.at(
            user_location(),
            "a comparison of promises cannot be used as a Python bool (if/and/or/not, "
            "or a chained comparison like a < b < c)",
            "Use conditional(...).if_(cond) and combine conditions with & and |.",
        )

    def __repr__(self) -> str:
        return f"ConditionExpr({self.condition!r})"


def _cond(value: Any) -> Condition:
    if isinstance(value, ConditionExpr):
        return value.condition
    raise CompileError.at(
        user_location(),
        f"& and | combine conditions, got {type(value).__name__}",
        "Wrap each side in parentheses: (a > 1) & (b < 2).",
    )
