"""Tuning (``rillet.tune``) beside Optuna alone, and typed-DataFrame validation beside
pandera alone, measured in the same run (issue 18's targets).

Workloads:

    overhead    N sequential trials of a trivial objective: seconds per trial of
                ``tune(..., executor=E)`` (each trial a recorded, cached, recoverable
                execution; the study opens its home, which exists already, creates its
                row, runs, and closes the home inside the timing) against Optuna's own
                in-memory ``study.optimize`` with the same sampler, interleaved over at
                least 9 rounds after a warm-up study (target: <= 2x Optuna), for TPE
                and random, inline and processes. The note gives the median of the
                rounds' ratios, and the time per trial within the study (first trial's
                start to last trial's end, / N) on both sides: the per-trial cost
                without the study's fixed open and close; and the CPU time (this
                thread's) per trial on both sides, steadier than wall time on a
                shared machine. Inline, it also times N durable executions of the
                same workflow by one engine with no study (the home opened and
                closed inside the timing, as the study does): rillet's figure minus
                that is the study's own share (Optuna's ask and tell, trial rows)
    parallel    200 trials of a 0.1 s objective (``time.sleep``) with ``parallel=2``
                on the process executor: wall time against the ideal 10 s
                (target: <= 1.15x); Optuna's ``n_jobs=2`` in the same run
    pruning     a study whose later trials log a bad first step and then sleep: for
                each pruned trial, the time from the step that pruned it (its
                timestamp in the worker) to the end of its process (target: <= 0.2 s)
    validation  a task taking ``DataFrame[Schema]`` of 100,000 rows x 10 columns,
                called directly: its time over the plain function against pandera's
                ``Schema.validate`` alone (target: <= 1.1x pandera)

    python benchmarks/tuning.py [--workloads overhead,pruning] [--rounds 3]
"""


import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h

WORKLOADS = ("overhead", "parallel", "pruning", "validation")
TRIALS = 60


# The workflows, in a module of their own (workers find tasks by module).
FLOWS = '''
import time
from rillet import current_context, task, workflow

@task
def quad(x: float, y: float) -> float:
    v = (x - 0.3) ** 2 + (y + 0.1) ** 2
    current_context().log_metric("loss", v)
    return v

@workflow
def trivial(x: float = 0.0, y: float = 0.0) -> float:
    return quad(x=x, y=y)

@task
def nap(x: float) -> float:
    time.sleep(0.1)
    current_context().log_metric("loss", x)
    return x

@workflow
def napping(x: float = 0.0) -> float:
    return nap(x=x)

@task
def steps(x: float, counter: str) -> float:
    with open(counter, "a") as f:
        f.write("t\\n")
    with open(counter) as f:
        bad = len(f.read().split()) > 6
    for step in range(4):
        current_context().log_metric("loss", (10.0 if bad else x) + 1.0 / (step + 1), step=step)
        if bad:
            time.sleep(30)
    return x

@workflow
def stepping(x: float = 0.0, counter: str = "") -> float:
    return steps(x=x, counter=counter)
'''


def _optuna_sampler(optuna: Any, algorithm: str) -> Any:
    return (optuna.samplers.TPESampler(seed=0) if algorithm == "tpe"
            else optuna.samplers.RandomSampler(seed=0))


def executions(flows: Any, n: int, where: str) -> float:
    """Seconds per durable execution of ``flows.trivial``: ``n`` of them by one engine
    on the inline executor, as a study runs its trials, with no study around them (the
    home, which exists, opened and closed inside the timing, as ``tune`` does)."""
    import functools
    import random

    from rillet.engine._durable import Engine
    from rillet.sdk._run import make_executor, source_of
    from rillet.store._home import Home

    rng = random.Random(0)
    t0 = time.perf_counter()
    home = Home.open(where)
    try:
        engine = Engine(store=home.store, artifacts=home.artifacts,
                        executor=make_executor("inline", None),
                        checkpoint_path=functools.partial(home.checkpoint_path, make=False),
                        work_dir=functools.partial(home.work_dir, make=False))
        source = source_of(flows.trivial)
        for _ in range(n):
            values = flows.trivial.resolve_inputs(
                (), {"x": rng.uniform(-1.0, 1.0), "y": rng.uniform(-1.0, 1.0)})
            record = engine.execute(flows.trivial, values, source=source)
            assert record.status.value == "SUCCEEDED", record.error
    finally:
        home.close()
    return (time.perf_counter() - t0) / n


def overhead(flows: Any, rounds: int) -> dict[str, Any]:
    import optuna

    from rillet import Float, tune
    from rillet.store._home import Home

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = {"x": Float(-1.0, 1.0), "y": Float(-1.0, 1.0)}

    def plain(trial: Any) -> float:
        x, y = trial.suggest_float("x", -1.0, 1.0), trial.suggest_float("y", -1.0, 1.0)
        return (x - 0.3) ** 2 + (y + 0.1) ** 2

    def home() -> str:  # a home exists before its first study (made once per project)
        path = tempfile.mkdtemp(prefix="rillet-bench-home-")
        Home.open(path).close()
        return path

    out: dict[str, Any] = {}
    for algorithm in ("tpe", "random"):
        for executor in ("inline", "processes"):
            # warm: imports, the sampler's first use, the worker processes' start
            tune(flows.trivial, space, objective="loss", algorithm=algorithm, seed=0,
                 max_trials=3, home=home(), executor=executor)
            rows: dict[str, list[float]] = {k: [] for k in (
                "rillet", "optuna", "rillet_span", "optuna_span", "ratio", "span_ratio",
                "rillet_cpu", "optuna_cpu", "cpu_ratio", "executions")}
            for _ in range(rounds):
                study = optuna.create_study(sampler=_optuna_sampler(optuna, algorithm))
                t0, c0 = time.perf_counter(), time.thread_time()
                study.optimize(plain, n_trials=TRIALS)
                theirs = (time.perf_counter() - t0) / TRIALS
                their_cpu = (time.thread_time() - c0) / TRIALS
                first, last = study.trials[0], study.trials[-1]
                assert last.datetime_complete is not None and first.datetime_start is not None
                their_span = (last.datetime_complete - first.datetime_start).total_seconds()
                where = home()
                t0, c0 = time.perf_counter(), time.thread_time()
                done = tune(flows.trivial, space, objective="loss", algorithm=algorithm,
                            seed=0, max_trials=TRIALS, home=where, executor=executor)
                ours = (time.perf_counter() - t0) / TRIALS
                our_cpu = (time.thread_time() - c0) / TRIALS
                if executor == "inline":
                    rows["executions"].append(executions(flows, TRIALS, home()))
                assert done.counts()["COMPLETE"] == TRIALS
                end = done.trials[-1].ended_at
                assert end is not None
                our_span = (end - done.trials[0].started_at) / TRIALS
                for key, value in (("rillet", ours), ("optuna", theirs),
                                   ("rillet_span", our_span),
                                   ("optuna_span", their_span / TRIALS),
                                   ("ratio", ours / theirs),
                                   ("span_ratio", our_span * TRIALS / their_span),
                                   ("rillet_cpu", our_cpu), ("optuna_cpu", their_cpu),
                                   ("cpu_ratio", our_cpu / their_cpu)):
                    rows[key].append(value)
            out[f"{algorithm}_{executor}"] = {k: statistics.median(v) if v else None
                                              for k, v in rows.items()}
    return out


def parallel(flows: Any) -> dict[str, Any]:
    import optuna

    from rillet import Float, tune

    home = tempfile.mkdtemp(prefix="rillet-bench-home-")
    tune(flows.napping, {"x": Float(0.0, 1.0)}, objective="loss", algorithm="random",
         max_trials=2, parallel=2, home=home, name="warm")  # workers forked once
    t0 = time.perf_counter()
    study = tune(flows.napping, {"x": Float(0.0, 1.0)}, objective="loss", algorithm="random",
                 seed=0, max_trials=200, parallel=2, home=home, name="p")
    wall = time.perf_counter() - t0
    assert study.counts()["COMPLETE"] == 200

    def nap(trial: Any) -> float:
        time.sleep(0.1)
        return trial.suggest_float("x", 0.0, 1.0)

    s = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    t0 = time.perf_counter()
    s.optimize(nap, n_trials=200, n_jobs=2)
    return {"rillet": wall, "optuna": time.perf_counter() - t0, "ideal": 10.0}


def pruning(flows: Any) -> dict[str, Any]:
    from rillet import Float, tune
    from rillet.store._home import Home

    home = tempfile.mkdtemp(prefix="rillet-bench-home-")
    counter = os.path.join(home, "counter")
    study = tune(flows.stepping, {"x": Float(0.0, 1.0)}, objective="loss", seed=0,
                 algorithm="random", max_trials=16, early_stopping="median", home=home,
                 inputs={"counter": counter})
    gaps = []
    hs = Home.open(home)
    try:
        for t in study.trials:
            if t.state != "PRUNED":
                continue
            (attempt,) = hs.store.attempts(t.execution_id)
            last = max(m.timestamp for m in hs.store.metrics(t.execution_id))
            gaps.append(attempt.ended_at - last)
    finally:
        hs.close()
    return {"pruned": len(gaps), "median": statistics.median(gaps), "max": max(gaps)}


def validation(rounds: int) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    import pandera.pandas as pa
    from pandera.typing import DataFrame, Series

    class Wide(pa.DataFrameModel):
        a: Series[float] = pa.Field(ge=0)
        b: Series[float] = pa.Field(le=1)
        c: Series[float] = pa.Field(in_range={"min_value": 0, "max_value": 1})
        d: Series[int] = pa.Field(ge=0)
        e: Series[int] = pa.Field(lt=1000)
        f: Series[float]
        g: Series[float] = pa.Field(nullable=True)
        h: Series[int]
        i: Series[str] = pa.Field(isin=["x", "y", "z"])
        j: Series[float] = pa.Field(gt=-1)

    rng = np.random.default_rng(0)
    n = 100_000
    df = pd.DataFrame({
        "a": rng.random(n), "b": rng.random(n), "c": rng.random(n),
        "d": rng.integers(0, 100, n), "e": rng.integers(0, 100, n), "f": rng.random(n),
        "g": rng.random(n), "h": rng.integers(0, 5, n), "i": rng.choice(["x", "y", "z"], n),
        "j": rng.random(n),
    })

    from rillet import task

    def count(frame: DataFrame[Wide]) -> int:
        return len(frame)

    typed = task(count)
    ours, theirs, lazy = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        Wide.validate(df)
        theirs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        Wide.validate(df, lazy=True)
        lazy.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert typed(frame=df) == n
        ours.append(time.perf_counter() - t0)
    return {"rillet": statistics.median(ours), "pandera": statistics.median(theirs),
            "pandera_lazy": statistics.median(lazy)}


def _overhead_note(v: dict[str, Any]) -> str:
    note = (f"median of per-round ratios {v['ratio']:.2f}x; within the study "
            f"{v['rillet_span'] * 1e3:.2f} vs {v['optuna_span'] * 1e3:.2f} ms "
            f"({v['span_ratio']:.2f}x); CPU {v['rillet_cpu'] * 1e3:.2f} vs "
            f"{v['optuna_cpu'] * 1e3:.2f} ms ({v['cpu_ratio']:.2f}x)")
    if v.get("executions") is not None:
        note += (f"; the executions alone {v['executions'] * 1e3:.2f} ms, the study's own "
                 f"{(v['rillet'] - v['executions']) * 1e3:.2f} ms (Optuna's included)")
    return note


def main(argv: list[str] | None = None) -> int:
    args, names = h.script_args(
        argv, __doc__, workloads=WORKLOADS, profiles=(), rounds=3,
        peers="(Optuna and pandera always run beside rillet)", results="tuning.json")
    machine = h.machine_info()
    h.print_machine("rillet tuning benchmark", machine)
    flows = h.load_source("bench_tune_flows.py", FLOWS)
    res: dict[str, Any] = {}
    rows: list[h.Row] = []
    if "overhead" in names:
        res["overhead"] = o = overhead(flows, max(args.rounds, 9))
        for key, v in o.items():
            rows.append(h.Row(workload=f"overhead {key.replace('_', ', ')}", unit="ms/trial",
                              value=v["rillet"] * 1e3,
                              target=2 * v["optuna"] * 1e3 if key.startswith("tpe_inline")
                              else None,
                              peers={"optuna": v["optuna"] * 1e3},
                              note=_overhead_note(v)))
    if "parallel" in names:
        res["parallel"] = p = parallel(flows)
        rows.append(h.Row(workload="200 x 0.1 s, parallel=2", unit="s", value=p["rillet"],
                          target=1.15 * p["ideal"], baseline=p["ideal"],
                          peers={"optuna": p["optuna"]}, note="baseline: ideal 10 s"))
    if "pruning" in names:
        res["pruning"] = q = pruning(flows)
        rows.append(h.Row(workload="pruned process ends after step", unit="s",
                          value=q["max"], target=0.2,
                          note=f"{q['pruned']} pruned, median {q['median'] * 1e3:.1f} ms"))
    if "validation" in names:
        res["validation"] = v = validation(max(args.rounds, 9))
        rows.append(h.Row(workload="validate 100k x 10 DataFrame", unit="s", value=v["rillet"],
                          target=1.1 * v["pandera"], peers={"pandera": v["pandera"]},
                          note=f"pandera lazy=True: {v['pandera_lazy']:.3f} s"))
    print()
    h.print_table(rows, peers=["optuna", "pandera"])
    h.write_results(args.json, {"machine": machine, "results": res}, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
