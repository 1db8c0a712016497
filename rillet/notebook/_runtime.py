"""What a notebook's generated module uses while its steps run: ``display`` outside
IPython, and the check that warns, once per variable, when an unannotated output has
no stored format of its own and will be pickled. It compiles nothing.
"""

from __future__ import annotations

import sys
import threading
import warnings
from typing import Any, TypeVar

from rillet.notebook._cells import NotebookWarning

__all__ = ["checked_outputs", "display"]

T = TypeVar("T")
_warned: set[tuple[str, str, str]] = set()
_lock = threading.Lock()


def display(*objs: Any, **_: Any) -> None:
    """IPython's ``display`` when IPython runs this; else the objects' repr on stdout."""
    ipython = sys.modules.get("IPython.display")
    if ipython is not None and "ipykernel" in sys.modules:
        ipython.display(*objs)
        return
    for obj in objs:
        print(repr(obj))


def checked_outputs(outputs: T, step: str) -> T:
    """``outputs`` (a step's NamedTuple), after warning once about each unannotated
    field whose value will be stored with the pickle fallback."""
    from rillet.types._codecs import PickleCodec
    from rillet.types._composite import AnyCodec

    hints = type(outputs).__annotations__
    module = type(outputs).__module__
    for name, value in zip(hints, outputs, strict=False):  # type: ignore[call-overload]
        if hints[name] is not Any:
            continue
        key = (module, step, name)
        if key in _warned:
            continue
        if isinstance(AnyCodec("any").choose(value), PickleCodec):
            with _lock:
                if key in _warned:
                    continue
                _warned.add(key)
            origin = sys.modules.get(module)
            where = getattr(origin, "__file__", module)
            warnings.warn(
                f"{where}: step '{step}' output '{name}' is a {type(value).__module__}."
                f"{type(value).__qualname__}, which has no stored format of its own: it is "
                "pickled (annotate the variable with a supported type to store it typed)",
                NotebookWarning, stacklevel=2,
            )
    return outputs
