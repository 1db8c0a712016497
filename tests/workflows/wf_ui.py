"""Workflows of the UI tests: a diamond that succeeds (4 nodes, 4 edges) and one whose
task sleeps until it is aborted (it writes its pid first, so the test knows it runs);
a launch plan of the diamond on a yearly cron (the Launch plans page activates it; it
never fires during a test); a workflow whose values are a DataFrame, a pickled object
and a file (previews and downloads); one whose input is a dataclass of dataclasses (the
launch form's nested JSON editor); one whose input is a File (an upload in the launch
form); one with a subworkflow and a conditional whose whole DAG the execution page
draws before its nodes run (its IR is kept per execution)."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from typing import Literal

import numpy as np
import pandas as pd

from rillet import (
    CronSchedule,
    Directory,
    File,
    LaunchPlan,
    conditional,
    current_context,
    map_task,
    task,
    workflow,
)


@task
def load(n: int) -> list[int]:
    return list(range(n))


@task
def total(xs: list[int]) -> int:
    print(f"summing {len(xs)} numbers")
    ctx = current_context()
    ctx.log_param("method", "sum")
    for step, x in enumerate(xs):
        ctx.log_metric("running_total", sum(xs[: step + 1]), step=step)
    return sum(xs)


@task
def biggest(xs: list[int]) -> int:
    return max(xs)


@task
def report(s: int, m: int) -> str:
    return f"sum={s} max={m}"


@workflow
def diamond(n: int = 5) -> str:
    xs = load(n=n)
    return report(s=total(xs=xs), m=biggest(xs=xs))


@task
def sleeper(marker: str, seconds: float) -> int:
    """Prints a tick every half second while it sleeps (the UI streams its logs)."""
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    end = time.monotonic() + seconds
    tick = 0
    while time.monotonic() < end:
        tick += 1
        print(f"still sleeping: tick {tick}", flush=True)
        time.sleep(min(0.5, max(0.0, end - time.monotonic())))
    return 1


@task
def after(x: int) -> int:
    return x + 1


@workflow
def slow(marker: str, seconds: float = 300.0) -> int:
    """``after`` waits for the sleeper: the page draws it, and its edge, before it runs."""
    return after(x=sleeper(marker=marker, seconds=seconds))


yearly = LaunchPlan.get_or_create(diamond, name="diamond_yearly", default_inputs={"n": 2},
                                  schedule=CronSchedule("0 0 1 1 *"))


@task
def square(x: int) -> int:
    if x < 0:
        print(f"refusing {x}")
        raise ValueError(f"no square of a negative number: {x}")
    print(f"squaring {x}")
    return x * x


@workflow
def squares(xs: list[int]) -> list[int | None]:
    """A map whose negative elements fail (tolerated: at least half must succeed)."""
    return map_task(square, min_success_ratio=0.5)(x=xs)


@workflow
def nested(n: int = 3) -> str:
    """The diamond as a subworkflow: its nodes are drawn inside one node until opened."""
    return diamond(n=n)


class Opaque:
    """No codec: stored with the pickle fallback (never previewed, never unpickled by the
    server)."""

    def __init__(self, n: int) -> None:
        self.n = n


@task
def table(n: int) -> pd.DataFrame:
    print(f"a table of {n} rows")
    return pd.DataFrame({"id": list(range(n)), "name": [f"row {i}" for i in range(n)],
                         "score": [i / 2 for i in range(n)]})


@task
def opaque(n: int) -> Opaque:
    return Opaque(n)


@task
def note(n: int) -> File:
    path = os.path.join(tempfile.mkdtemp(), "note.txt")
    with open(path, "w") as f:
        f.write(f"{n} rows\n")
    return File(path)


@task
def describe(df: pd.DataFrame, o: Opaque, f: File) -> str:
    with open(f.path) as text:
        return f"{len(df)} rows, opaque {o.n}, note {text.read().strip()!r}"


@workflow
def tables(n: int = 80) -> str:
    """A DataFrame (previewed: its first rows and schema), a pickled value and a file
    (downloaded) feeding one report."""
    return describe(df=table(n=n), o=opaque(n=n), f=note(n=n))


@dataclasses.dataclass
class Layer:
    width: int
    act: Literal["relu", "tanh"] = "relu"


@dataclasses.dataclass
class Net:
    name: str
    layers: list[Layer]


@task
def units(net: Net) -> str:
    return f"{net.name}: {sum(layer.width for layer in net.layers)} units, " + ",".join(
        layer.act for layer in net.layers)


@workflow
def build(net: Net) -> str:
    """A nested input: the launch form checks it against Net's fields before sending."""
    return units(net=net)


@task
def shout(s: str) -> str:
    return s.upper()


@task
def whisper(s: str) -> str:
    return s.lower()


@workflow
def planned(n: int = 3) -> str:
    """A subworkflow (``diamond/load`` ... ``diamond``) and a conditional (``loud``, its
    arms beside it): the IR names every node before any runs."""
    s = diamond(n=n)
    return conditional("loud").if_(n > 2).then(shout(s=s)).else_().then(whisper(s=s))


@task
def count_lines(f: File) -> str:
    with f.open() as fh:
        text = fh.read()
    return f"{f.name}: {len(text.splitlines())} lines"


@workflow
def lines(f: File) -> str:
    """A File input: the launch form uploads the chosen file and launches with it."""
    return count_lines(f=f)


@task
def list_tree(d: Directory) -> str:
    found = []
    for root, _dirs, files in os.walk(d.path):
        for name in files:
            path = os.path.join(root, name)
            with open(path) as fh:
                found.append(f"{os.path.relpath(path, d.path)}={fh.read().strip()}")
    return f"{d.name}: " + ", ".join(sorted(found))


@workflow
def tree(d: Directory) -> str:
    """A Directory input: the launch form uploads a chosen folder (packed as a tar)."""
    return list_tree(d=d)


@task
def grid(n: int) -> np.ndarray:
    return np.arange(n * 3, dtype=np.float64).reshape(n, 3) / 2


@task
def cube(n: int) -> np.ndarray:
    return np.arange(n * 4, dtype=np.int32).reshape(n, 2, 2)


@task
def boxed(n: int) -> np.ndarray:
    """An array of objects: npy pickles it, so it has no preview."""
    return np.array([{"i": i} for i in range(n)], dtype=object)


@task
def records(n: int) -> list[dict[str, int]]:
    return [{"i": i, "square": i * i} for i in range(n)]


@task
def sheet(n: int) -> File:
    path = os.path.join(tempfile.mkdtemp(), "sheet.csv")
    with open(path, "w") as f:
        f.write("id,name\n" + "".join(f"{i},row {i}\n" for i in range(n)))
    return File(path)


@task
def blob(n: int) -> File:
    path = os.path.join(tempfile.mkdtemp(), "blob.bin")
    with open(path, "wb") as f:
        f.write(bytes(range(256)) * n)
    return File(path)


@task
def tally(g: np.ndarray, c: np.ndarray, o: np.ndarray, r: list[dict[str, int]], s: File,
          b: File) -> str:
    return f"{g.shape} {c.shape} {len(o)} {len(r)} {s.name} {b.name}"


@workflow
def shapes(n: int = 30) -> str:
    """Values of every previewable kind (and two that are not): the node panel's previews."""
    return tally(g=grid(n=n), c=cube(n=n), o=boxed(n=n), r=records(n=n), s=sheet(n=n),
                 b=blob(n=n))


@dataclasses.dataclass
class Params:
    lr: float
    depth: int
    act: Literal["relu", "tanh"]


@task
def fit_params(p: Params) -> str:
    return f"lr={p.lr} depth={p.depth} act={p.act}"


@workflow
def fit(p: Params) -> str:
    """A dataclass of scalars: the launch form draws one widget per field."""
    return fit_params(p=p)
