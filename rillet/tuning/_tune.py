"""``tune()``: a study over a workflow's inputs, each trial a durable execution.

Optuna asks for params and is told results (its samplers and pruners, in memory);
the study and every trial are written to the home as they change (a trial's row in
its execution's own transactions, ``_records``), so a killed study continues from
what is stored (finished trials are replayed into the sampler, interrupted ones run
again, recovering what their execution finished).
Trials run on lanes of one executor (``_lanes``); the metrics a trial's tasks log
reach the pruner as they are logged and a pruned attempt is stopped there.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from rillet.engine._durable import Engine, Reuse, new_execution_id
from rillet.engine._protocols import AttemptJob, MetadataStore, StoppableExecutor
from rillet.engine._reaper import reap
from rillet.engine._records import ExecutionRecord, ExecutionStatus
from rillet.errors import AlreadyExists, DefinitionError, NotFound, RilletError
from rillet.sdk._run import check_resources, make_executor, source_of
from rillet.store._home import Home
from rillet.store._studies import StudyRecord, StudyStore, TrialRecord
from rillet.tuning import _optuna as opt
from rillet.tuning._lanes import Lane, SharedExecutor
from rillet.tuning._records import Series, TrialRecords
from rillet.tuning._space import Dimension, check_space, describe_space, distributions
from rillet.tuning._study import FINISHED, Study

OnUpdate = Callable[[Study], None]


class _Active:
    """A trial while its execution runs."""

    __slots__ = ("auto_step", "number", "ot", "pruned_at", "reported", "row")

    def __init__(self, number: int, ot: Any, row: TrialRecord) -> None:
        self.number = number
        self.ot = ot  # Optuna's Trial (ask/tell)
        self.row = row
        self.reported: set[int] = set()
        self.auto_step = 0
        self.pruned_at: int | None = None


def tune(workflow: Any, space: dict[str, Dimension] | None = None, *,
         objective: str | list[str] | None = None,
         direction: str | list[str] = "minimize", algorithm: Any = None,
         max_trials: int | None = None, parallel: int = 1, early_stopping: Any = None,
         name: str | None = None, seed: int | None = None,
         inputs: dict[str, Any] | None = None, home: str | None = None,
         executor: str = "processes", on_update: OnUpdate | None = None) -> Study:
    """Run (or continue) the study ``name`` over ``workflow``'s inputs; see DESIGN.md.

    Each trial is a durable execution with ``inputs`` plus the sampled params; the
    objective is the last value of the metric ``objective`` its tasks logged.
    Called again with the same name (after a crash too), it continues: finished
    trials count towards ``max_trials`` and are not run again.
    """
    if not hasattr(workflow, "spec"):
        raise DefinitionError(f"tune() needs a @workflow, got {type(workflow).__name__}")
    h = Home.open(home)
    try:
        tuner = _Tuner(h, workflow, space, objective=objective, direction=direction,
                       algorithm=algorithm, max_trials=max_trials, parallel=parallel,
                       early_stopping=early_stopping, name=name or workflow.name, seed=seed,
                       inputs=inputs or {}, executor=executor, on_update=on_update)
        tuner.run()
        return tuner.view()
    finally:
        h.close(behind=True)  # the WAL's checkpoint and syncs need not hold the caller


def load_study(name: str, home: str | None = None) -> Study:
    """A stored study as it stands (``rillet tune show``)."""
    h = Home.open(home, create=False)  # reading a study makes no home
    try:
        studies = StudyStore(h.store.database)
        return Study(studies.get(name), studies.trials(name))
    finally:
        h.close()


class _Tuner:
    def __init__(self, h: Home, workflow: Any, space: dict[str, Dimension] | None, *,
                 objective: str | list[str] | None, direction: str | list[str],
                 algorithm: Any, max_trials: int | None, parallel: int, early_stopping: Any,
                 name: str, seed: int | None, inputs: dict[str, Any], executor: str,
                 on_update: OnUpdate | None) -> None:
        self.h = h
        self.workflow = workflow
        self.studies = StudyStore(h.store.database)
        self.on_update = on_update
        if parallel < 1:
            raise DefinitionError(f"tune(parallel={parallel}): must be >= 1")
        if parallel > 1 and executor == "inline":
            raise DefinitionError("parallel trials need the 'processes' executor, not 'inline'")
        self.parallel = parallel
        self.fixed = dict(inputs)
        self.record, self.space = self._study(workflow, space, objective, direction, algorithm,
                                              early_stopping, name, seed)
        settings = self.record.settings
        if not self.fixed:  # continued without inputs (rillet tune --resume): the stored ones
            stored = settings.get("inputs")
            self.fixed = dict(stored) if isinstance(stored, dict) else {}
        self.objectives = self.record.objectives
        n_obj = len(self.objectives)
        self.algorithm = algorithm if algorithm is not None else settings["algorithm"]
        self.early_stopping = early_stopping if early_stopping is not None else settings.get(
            "early_stopping")
        self.dists = distributions(self.space)
        optuna = opt.optuna_module()
        self.optuna = optuna.create_study(
            study_name=self.record.name, directions=self.record.directions,
            sampler=opt.sampler(self.algorithm, self.space, n_obj, settings.get("seed")),
            pruner=opt.pruner(self.early_stopping, n_obj) or optuna.pruners.NopPruner())
        self.prunes = self.early_stopping is not None
        self.rows = {t.number: t for t in self.studies.trials(self.record.name)}
        self.finished = sum(1 for t in self.rows.values() if t.state in FINISHED)
        opt.replay(self.optuna, sorted(self.rows.values(), key=lambda t: t.number), self.dists)
        limit = max_trials if max_trials is not None else settings.get("max_trials", 20)
        if self.algorithm == "grid":
            limit = min(limit if max_trials is not None else 10**9, opt.grid_size(self.space))
        self.max_trials = limit
        check_resources(workflow.spec)
        # The trials' engines write through this: a trial's row goes with its
        # execution's first and last batches, in the same transactions.
        self.trials = TrialRecords(h.store, self._end_of)
        real = make_executor(executor, parallel if parallel > 1 else None)
        if self.prunes and not isinstance(real, StoppableExecutor):
            raise DefinitionError(f"early stopping needs an executor that can stop an attempt; "
                                  f"the {real.name} executor cannot")
        self.shared = SharedExecutor(real, live_metrics=self.prunes,
                                     listener=self._on_metric if self.prunes else None)
        self.lock = threading.RLock()
        self.active: dict[str, _Active] = {}
        self.interrupted = [t for t in self.rows.values() if t.state == "RUNNING"]
        self.next_number = max(self.rows, default=-1) + 1
        self.errors: list[BaseException] = []

    # -- the study record --------------------------------------------------------
    def _study(self, workflow: Any, space: dict[str, Dimension] | None,
               objective: str | list[str] | None, direction: str | list[str],
               algorithm: Any, early_stopping: Any, name: str, seed: int | None
               ) -> tuple[StudyRecord, dict[str, Dimension]]:
        from rillet.tuning._space import dimension_from

        try:
            found: StudyRecord | None = self.studies.get(name)
        except NotFound:
            found = None
        if found is not None and space is None:
            space = {k: dimension_from(k, d) for k, d in found.space.items()}
        if space is None:
            raise DefinitionError(f"study {name!r} does not exist yet: give its space=")
        space = check_space(space, workflow.interface.inputs)
        if objective is None:
            if found is None:
                raise DefinitionError("tune() needs objective='<metric name>'")
            objective = found.objectives
        objectives = [objective] if isinstance(objective, str) else list(objective)
        directions = [direction] * len(objectives) if isinstance(direction, str) \
            else list(direction)
        if len(directions) != len(objectives) or any(
                d not in ("minimize", "maximize") for d in directions):
            raise DefinitionError(
                f"direction={direction!r}: give 'minimize' or 'maximize' for each of the "
                f"{len(objectives)} objective(s) {objectives}")
        described = describe_space(space)
        if found is not None:
            for what, mine, theirs in (("space", described, found.space),
                                       ("objective", objectives, found.objectives),
                                       ("direction", directions, found.directions),
                                       ("workflow", workflow.name, found.workflow)):
                if mine != theirs:
                    raise DefinitionError(
                        f"study {name!r} exists with a different {what} ({theirs} here, "
                        f"{mine} given); use another name or the same {what}")
            return found, space
        algorithm_name = algorithm if isinstance(algorithm, str) else (
            type(algorithm).__name__ if algorithm is not None else (
                "tpe" if len(objectives) == 1 else "nsga2"))
        record = StudyRecord(
            name=name, workflow=workflow.name, source=source_of(workflow), space=described,
            objectives=objectives, directions=directions,
            settings={"algorithm": algorithm_name, "seed": seed,
                      "early_stopping": early_stopping if isinstance(early_stopping, str)
                      else None, "inputs": _jsonable(self.fixed)},
            created_at=time.time())
        opt.sampler(algorithm or algorithm_name, space, len(objectives), seed)  # refuse
        opt.pruner(early_stopping, len(objectives))  # bad settings before anything is stored
        try:
            self.studies.create(record)
        except AlreadyExists:  # created meanwhile by another process: compare with it
            return self._study(workflow, space, objective, direction, algorithm,
                               early_stopping, name, seed)
        return record, space

    # -- running -------------------------------------------------------------------
    def run(self) -> None:
        self._update()
        threads = [threading.Thread(target=self._lane, args=(self.shared.lane(), False),
                                    name=f"rillet-trial-{i}", daemon=True)
                   for i in range(self.parallel - 1)]
        for t in threads:
            t.start()
        try:
            self._lane(self.shared.lane(), True)
        except KeyboardInterrupt:  # Ctrl-C: every lane's execution is ABORTED and its
            self.shared.closed = True  # trial left RUNNING, run again by a resume
            raise
        finally:
            for t in threads:
                t.join()
        if self.errors:
            raise self.errors[0]

    def _take(self) -> tuple[_Active, Reuse | None, ExecutionRecord | None] | None:
        """The next trial to run (an interrupted one first), or None when done."""
        with self.lock:
            if self.errors:
                return None
            running = len(self.active)
            if self.interrupted:
                old = self.interrupted.pop(0)
                ot = opt.readd_running(self.optuna, old, self.dists)
                number, reuse, parent = old.number, *self._recovery(old)
            else:
                if self.finished + running >= self.max_trials:
                    return None
                ot = opt.ask(self.optuna, self.dists)
                number, reuse, parent = self.next_number, None, None
                self.next_number += 1
            row = TrialRecord(study=self.record.name, number=number, state="RUNNING",
                              params=dict(ot.params), execution_id=new_execution_id(),
                              started_at=time.time(),
                              sampler_attrs=opt.system_attrs(self.optuna, ot))
            assert row.execution_id is not None
            self.trials.begin(row)  # written with its execution's first batch
            active = _Active(number, ot, row)
            self.active[row.execution_id] = active
            self._keep(row)
            return active, reuse, parent

    def _recovery(self, old: TrialRecord) -> tuple[Reuse | None, ExecutionRecord | None]:
        """What the interrupted trial's execution finished, to reuse in its new one."""
        store = self.h.store
        try:
            (parent,) = reap(store, [store.get_execution(old.execution_id or "")])
        except NotFound:
            return None, None
        nodes = {n.node_id: n for n in store.nodes(parent.id)}
        return Reuse(execution_id=parent.id, nodes=nodes), parent

    def _lane(self, lane: Lane, main: bool) -> None:
        # A trial's checkpoint and work folders are made by what writes into them (the
        # executors' sinks do): a mkdir each per trial cost about 1 ms on a busy disk.
        store = cast(MetadataStore, self.trials)  # the home's store, with the trials' rows
        engine = Engine(store=store, artifacts=self.h.artifacts, executor=lane,
                        checkpoint_path=functools.partial(self.h.checkpoint_path, make=False),
                        work_dir=functools.partial(self.h.work_dir, make=False))
        try:
            while True:
                taken = self._take()
                if taken is None:
                    return
                active, reuse, parent = taken
                self._run_trial(engine, lane, active, reuse, parent)
        except BaseException as exc:
            with self.lock:
                self.errors.append(exc)
            if main:
                raise

    def _run_trial(self, engine: Engine, lane: Lane, active: _Active, reuse: Reuse | None,
                   parent: ExecutionRecord | None) -> None:
        row = active.row
        assert row.execution_id is not None
        lane.execution_id = row.execution_id
        values = self.workflow.resolve_inputs((), {**self.fixed, **row.params})
        record: ExecutionRecord | None = None
        try:
            record = engine.execute(
                self.workflow, values, source=self.record.source, reuse=reuse, parent=parent,
                execution_id=row.execution_id)
            error = record.error
        except RilletError as exc:
            error = f"{type(exc).__name__}: {exc}"
        self._end_trial(active, record, error)

    def _end_trial(self, active: _Active, record: ExecutionRecord | None,
                   error: str | None) -> None:
        row = active.row
        seen = self.trials.finish(row.execution_id or "")
        if record is not None and seen.end is not None and seen.end[0] is record.status:
            done = seen.end[1]  # written with the execution's end
        else:  # no end of the trial's was written: the execution could not start, or
            # it was aborted on request
            done = self._ended(active, record, error, self.trials.series(seen))
            self.studies.save_trial(done)
        with self.lock:
            opt.tell(self.optuna, active.ot, done.state, done.values)
            self.active.pop(row.execution_id or "", None)
            self._keep(done)

    def _end_of(self, start: TrialRecord, record: ExecutionRecord,
                series: Series) -> TrialRecord | None:
        """The trial's end, written with its execution's (``TrialRecords``); None for an
        execution aborted without being pruned (interrupted: the trial stays RUNNING)."""
        active = self.active.get(start.execution_id or "")
        if active is None or (record.status is ExecutionStatus.ABORTED
                              and active.pruned_at is None):
            return None
        return self._ended(active, record, record.error, series)

    def _ended(self, active: _Active, record: ExecutionRecord | None, error: str | None,
               series: Series) -> TrialRecord:
        """The trial's row once its execution ended (``record``; None: it never ran)."""
        row = active.row
        first = series.get(self.objectives[0], [])
        intermediate = [(step, value) for step, value, _ in first]
        values: list[float] | None = None
        if active.pruned_at is not None and (record is None or
                                             record.status is not ExecutionStatus.SUCCEEDED):
            state, error = "PRUNED", f"pruned at step {active.pruned_at}"
        elif record is not None and record.status is ExecutionStatus.SUCCEEDED:
            missing = [k for k in self.objectives if not series.get(k)]
            if missing:
                state = "FAIL"
                error = (f"the workflow logged no metric {', '.join(map(repr, missing))} "
                         f"(log it with current_context().log_metric({missing[0]!r}, value))")
            else:
                state, values = "COMPLETE", [series[k][-1][1] for k in self.objectives]
        else:
            state = "FAIL"
        return TrialRecord(
            study=row.study, number=row.number, state=state, params=row.params,
            values=values, intermediate=intermediate, execution_id=row.execution_id,
            started_at=row.started_at, ended_at=time.time(),
            error=None if state == "COMPLETE" else error,
            sampler_attrs=opt.system_attrs(self.optuna, active.ot))

    # -- early stopping --------------------------------------------------------------
    def _on_metric(self, job: AttemptJob, key: str, value: float, step: int | None,
                   at: float) -> None:
        """A metric just logged by a running trial (in the pumping lane's thread)."""
        active = self.active.get(job.execution_id)
        if active is None or key != self.objectives[0] or active.pruned_at is not None:
            return
        if step is None:
            step = active.auto_step
        active.auto_step = step + 1
        if step in active.reported:
            return
        active.reported.add(step)
        active.ot.report(value, step)
        if active.ot.should_prune():
            active.pruned_at = step
            rule = self.early_stopping if isinstance(self.early_stopping, str) else type(
                self.early_stopping).__name__
            self.shared.stop(job.execution_id, job.node_id,
                             f"trial {active.number} of study '{self.record.name}' pruned at "
                             f"step {step} ({rule})")

    # -- records -------------------------------------------------------------------------
    def _keep(self, row: TrialRecord) -> None:
        """``row`` as the trial stands now (the finished ones counted as they end)."""
        before = self.rows.get(row.number)
        if row.state in FINISHED and (before is None or before.state not in FINISHED):
            self.finished += 1
        self.rows[row.number] = row
        self._update()

    def _update(self) -> None:
        if self.on_update is not None:
            self.on_update(self.view())

    def view(self) -> Study:
        return Study(self.record, sorted(self.rows.values(), key=lambda t: t.number))


def _jsonable(inputs: dict[str, Any]) -> dict[str, Any]:
    """The fixed inputs that JSON can keep (a resume from the command line reuses them)."""
    import json

    kept: dict[str, Any] = {}
    for key, value in inputs.items():
        try:
            if json.loads(json.dumps(value)) == value:
                kept[key] = value
        except (TypeError, ValueError):
            pass
    return kept
