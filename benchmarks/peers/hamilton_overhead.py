"""chain / map / compile on Hamilton's driver (in memory), for ``overhead.py --peers``.

A chain is a module of functions ``inc_k(inc_{k-1}: int) -> int``, written
programmatically; the map uses ``Parallelizable``/``Collect`` with the default
(synchronous, in-process) local executor. Results come back as a dict
(``DictResult``), not a DataFrame, to keep pandas out of the measured work.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable
from typing import Any

os.environ.setdefault("HAMILTON_TELEMETRY_ENABLED", "false")

from _common import main
from hamilton import base, driver
from hamilton import version as hamilton_version

_MAP_SOURCE = """
from hamilton.htypes import Collect, Parallelizable

def item(xs: list[int]) -> Parallelizable[int]:
    yield from xs

def inc_item(item: int) -> int:
    return item + 1

def out(inc_item: Collect[int]) -> list[int]:
    return list(inc_item)
"""

_counter = 0


def _module(source: str) -> types.ModuleType:
    """A fresh module holding the functions defined by ``source``."""
    global _counter
    _counter += 1
    mod = types.ModuleType(f"hamilton_bench_{_counter}")
    exec(compile(source, mod.__name__, "exec"), mod.__dict__)
    sys.modules[mod.__name__] = mod  # as hamilton.ad_hoc_utils.create_temporary_module does
    return mod


def _chain_module(n: int) -> types.ModuleType:
    lines = ["def inc_0(x: int) -> int:\n    return x + 1\n"]
    lines += [
        f"def inc_{k}(inc_{k - 1}: int) -> int:\n    return inc_{k - 1} + 1\n" for k in range(1, n)
    ]
    return _module("\n".join(lines))


def _build(mod: types.ModuleType, dynamic: bool = False) -> driver.Driver:
    builder = driver.Builder().with_modules(mod).with_adapters(base.DictResult())
    if dynamic:
        builder = builder.enable_dynamic_execution(allow_experimental_mode=True)
    return builder.build()


class Hamilton:
    name = "hamilton"
    version = ".".join(str(p) for p in hamilton_version.VERSION)

    def chain(self, n: int) -> Callable[[], Any]:
        dr = _build(_chain_module(n))
        final = f"inc_{n - 1}"
        return lambda: dr.execute([final], inputs={"x": 0})

    def map(self, n: int) -> Callable[[], Any]:
        dr = _build(_module(_MAP_SOURCE), dynamic=True)
        xs = list(range(n))
        return lambda: dr.execute(["out"], inputs={"xs": xs})

    def define(self, n: int) -> Callable[[], Any]:
        mod = _chain_module(n)  # writing the functions is not Hamilton's work
        return lambda: _build(mod)


if __name__ == "__main__":
    main(Hamilton())
