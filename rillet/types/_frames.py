"""Typed DataFrames: ``pandera.typing.DataFrame[Schema]`` (a pandera ``DataFrameModel``)
as a task's input or output type. Recognising the annotation, the schema's JSON form
(part of the type descriptor, so of the code hash and the cache key), and validating a
value against it with one readable line per failing check.

pandera is imported only by the user's own annotation; this module finds it by module
name and never imports it at inspection.
"""

from __future__ import annotations

import typing
from typing import Any

from rillet.errors import UserCodeError

HEAD_ROWS = 5  # rows of a failing frame kept with the attempt
VALUES_SHOWN = 5  # failing values named per check


def frame_model(tp: Any) -> Any | None:
    """The pandera ``DataFrameModel`` of ``pandera.typing.DataFrame[Model]``, else None."""
    origin = typing.get_origin(tp)
    if origin is None or not isinstance(origin, type) or origin.__qualname__ != "DataFrame":
        return None
    if not origin.__module__.startswith("pandera.typing"):
        return None
    args = typing.get_args(tp)
    return args[0] if args and isinstance(args[0], type) else None


def describe_model(model: Any) -> dict[str, Any]:
    """A deterministic JSON form of a DataFrameModel's schema: columns with dtype,
    nullability and checks, the index, and the frame-wide options and checks."""
    try:
        schema = model.to_schema()
    except Exception as exc:  # a model pandera cannot build is a definition error
        from rillet.errors import DefinitionError

        raise DefinitionError(
            f"pandera schema {model.__module__}.{model.__qualname__} cannot be built: "
            f"{type(exc).__name__}: {exc}") from None
    columns = {
        str(name): {"dtype": str(col.dtype), "nullable": bool(col.nullable),
                    "required": bool(col.required), "unique": bool(col.unique),
                    "checks": _checks(col.checks)}
        for name, col in schema.columns.items()
    }
    out: dict[str, Any] = {
        "name": f"{model.__module__}.{model.__qualname__}", "columns": columns,
        "checks": _checks(schema.checks), "strict": _plain(schema.strict),
        "coerce": bool(schema.coerce), "ordered": bool(schema.ordered),
    }
    index = schema.index
    if index is not None:
        out["index"] = {"dtype": str(getattr(index, "dtype", "")),
                        "checks": _checks(getattr(index, "checks", []))}
    return out


def _checks(checks: Any) -> list[str]:
    return [str(getattr(c, "error", None) or getattr(c, "name", None) or c) for c in checks]


def _plain(v: Any) -> Any:
    return v if isinstance(v, (bool, str)) or v is None else str(v)


class FrameValidationError(UserCodeError):
    """A DataFrame crossing a task boundary breaks its declared pandera schema. Never
    retried; ``head`` holds the frame's first rows (text) for inspection."""

    def __init__(self, message: str, *, head: str, node_id: str | None = None) -> None:
        super().__init__(message, node_id=node_id, error_type="FrameValidationError",
                         error_message=message, retryable=False)
        self.head = head


def validate_frame(value: Any, model: Any, where: str) -> Any:
    """``value`` validated by ``model`` (pandera may coerce it); raises
    :class:`FrameValidationError` listing every failing check, one per line. A valid
    frame costs exactly pandera's ``validate``; only a failing one is checked again
    lazily, to list all its failures."""
    import pandas as pd

    if not isinstance(value, pd.DataFrame):
        raise FrameValidationError(
            f"{where}: expected a DataFrame for schema {model.__qualname__}, got "
            f"{type(value).__name__}", head=repr(value)[:2000])
    from pandera.errors import SchemaError, SchemaErrors

    try:  # pandera's own fast path: stops at the first failing check
        return model.validate(value)
    except (SchemaError, SchemaErrors):
        pass
    try:  # it failed: run every check to report each failing one
        return model.validate(value, lazy=True)
    except SchemaErrors as exc:
        lines = _failure_lines(exc.failure_cases, where, model)
    except SchemaError as exc:  # raised eagerly by some frame-wide checks
        lines = [f"{where}: schema {model.__qualname__}: {exc}".splitlines()[0]]
    head = value.head(HEAD_ROWS).to_string()
    error = FrameValidationError("\n".join(lines), head=head)
    if hasattr(error, "add_note"):
        error.add_note(f"first {HEAD_ROWS} rows of the failing frame:\n{head}")
    raise error


def _failure_lines(cases: Any, where: str, model: Any) -> list[str]:
    """One line per (column, check): how many rows fail and a few failing values."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in cases.itertuples(index=False):
        column = row.column if row.column is not None else "<frame>"
        groups.setdefault((str(column), str(row.check)), []).append(row.failure_case)
    lines = []
    for (column, check), failing in groups.items():
        shown = ", ".join(repr(_scalar(v)) for v in failing[:VALUES_SHOWN])
        more = f" (+{len(failing) - VALUES_SHOWN} more)" if len(failing) > VALUES_SHOWN else ""
        lines.append(f"{where}: column '{column}' fails {check} "
                     f"({model.__qualname__}) for {len(failing)} value(s): {shown}{more}")
    return lines


def _scalar(v: Any) -> Any:
    item = getattr(v, "item", None)
    try:
        return item() if callable(item) else v
    except (TypeError, ValueError):
        return v
