"""``flytekit.core.task``: ``task`` and ``Echo`` (a task that returns its inputs)."""

from __future__ import annotations

from typing import Any

from rillet.flyte import task


def Echo(name: str, inputs: dict[str, Any] | None = None, **_: Any) -> Any:
    """flytekit's ``Echo(name, inputs={"x": float})``: a task whose outputs are its inputs
    (one input: that value; several: a tuple, outputs o0, o1...)."""
    inputs = dict(inputs or {})
    names = list(inputs)
    if not names or not all(n.isidentifier() for n in names) or not name.isidentifier():
        raise ValueError(f"Echo({name!r}, inputs={inputs!r}): give a name and named inputs")
    types = [inputs[n] for n in names]
    ret: Any = types[0] if len(types) == 1 else tuple.__class_getitem__(tuple(types))
    ns: dict[str, Any] = {}
    exec(  # builds a plain def, so that the interface is read from a real signature
        f"def {name}({', '.join(names)}):\n"
        f"    return {names[0] if len(names) == 1 else '(' + ', '.join(names) + ',)'}\n",
        ns,
    )
    fn = ns[name]
    fn.__annotations__ = {**dict(zip(names, types, strict=True)), "return": ret}
    fn.__module__ = "rillet.flyte.core.task"
    fn.__qualname__ = f"Echo.{name}"
    return task(fn)


__all__ = ["Echo", "task"]
