"""``rillet tune FILE.py:WORKFLOW ...``, ``rillet tune --resume NAME`` and ``rillet tune
show NAME [--json]``: a study from the command line, with a live table of its trials
(rich, on stderr when it is a terminal); the final table or JSON goes to stdout."""

from __future__ import annotations

import sys
from typing import Any

import click

from rillet.cli._app import CONTEXT, cli, fail, home_of, pick_workflow, task_output_to_stderr
from rillet.errors import RilletError

_ALGORITHMS = ["random", "grid", "tpe", "cmaes", "nsga2"]


class _TuneGroup(click.Group):
    """``tune`` runs a study unless its first word names a subcommand (``show``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["start", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=_TuneGroup, context_settings=CONTEXT)
def tune() -> None:
    """Tune a workflow's inputs: FILE.py:WORKFLOW --space JSON --objective METRIC, or
    --resume NAME; `tune show NAME` prints a stored study."""


@tune.command("start", context_settings={**CONTEXT, "ignore_unknown_options": True,
                                         "allow_extra_args": True})
@click.argument("target", required=False)
@click.option("--space", "space_json", help='JSON: {"lr": {"type": "float", "lo": 1e-4, '
              '"hi": 0.1, "log": true}, "depth": {"type": "int", "lo": 2, "hi": 8}}')
@click.option("--objective", "objectives", multiple=True, help="The metric to optimize "
              "(repeat for several objectives).")
@click.option("--maximize", is_flag=True, help="Maximize (default: minimize).")
@click.option("--direction", "directions", multiple=True,
              type=click.Choice(["minimize", "maximize"]), help="Per objective, in order.")
@click.option("--trials", type=click.IntRange(min=1), default=None, help="Trials in all.")
@click.option("--parallel", type=click.IntRange(min=1), default=1)
@click.option("--algorithm", type=click.Choice(_ALGORITHMS), default=None)
@click.option("--early-stopping", type=click.Choice(["median", "hyperband"]), default=None)
@click.option("--seed", type=int, default=None)
@click.option("--name", default=None, help="The study's name (default: the workflow's).")
@click.option("--resume", "resume", default=None, metavar="NAME",
              help="Continue the stored study NAME.")
@click.option("--executor", type=click.Choice(["inline", "processes"]), default="processes")
@click.option("--json", "as_json", is_flag=True)
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.pass_context
def start(ctx: click.Context, target: str | None, space_json: str | None,
          objectives: tuple[str, ...], maximize: bool, directions: tuple[str, ...],
          trials: int | None, parallel: int, algorithm: str | None,
          early_stopping: str | None, seed: int | None, name: str | None,
          resume: str | None, executor: str, as_json: bool, home: str | None) -> None:
    from rillet.cli._inputs import parse_inputs, split_args
    from rillet.tuning._space import parse_space
    from rillet.tuning._tune import load_study
    from rillet.tuning._tune import tune as run_study

    home = home_of(ctx, home)
    space = None
    inputs: dict[str, Any] = {}
    try:
        if resume is not None:
            if target is not None or space_json is not None:
                fail("--resume NAME takes the stored study's workflow and space; "
                     "give no FILE.py:WORKFLOW or --space")
            stored = load_study(resume, home)
            wf = _stored_workflow(stored.record.workflow, stored.record.source)
            name = resume
        else:
            if target is None or space_json is None or not objectives:
                fail("give FILE.py:WORKFLOW --space JSON --objective METRIC "
                     "(or --resume NAME)")
            wf = pick_workflow(target)
            space = parse_space(space_json)
            inputs = parse_inputs(split_args(list(ctx.args)), wf.interface.inputs,
                                  wf.short_name)
        direction: Any = list(directions) if directions else (
            "maximize" if maximize else "minimize")
        if isinstance(direction, list) and len(direction) == 1:
            direction = direction[0]
        objective: Any = None if not objectives else (
            objectives[0] if len(objectives) == 1 else list(objectives))
        with task_output_to_stderr(), _Live() as live:
            study = run_study(wf, space, objective=objective, direction=direction,
                              algorithm=algorithm, max_trials=trials, parallel=parallel,
                              early_stopping=early_stopping, name=name, seed=seed,
                              inputs=inputs, home=home, executor=executor,
                              on_update=live.update)
    except RilletError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        study_name = name or getattr(wf, "name", "")
        fail(f"interrupted: the running trials are left to run again; continue with "
             f"rillet tune --resume {study_name}", code=130)
    _print(study, as_json)
    sys.exit(0 if study.counts()["COMPLETE"] else 1)


def _stored_workflow(workflow: str, source: str) -> Any:
    from rillet.sdk._run import load_workflow

    return load_workflow(workflow, source)


@tune.command("show", context_settings=CONTEXT)
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.pass_context
def show(ctx: click.Context, name: str, as_json: bool, home: str | None) -> None:
    """A stored study: its trials and the best."""
    from rillet.tuning._tune import load_study

    try:
        study = load_study(name, home_of(ctx, home))
    except RilletError as exc:
        fail(str(exc))
    _print(study, as_json)


def _print(study: Any, as_json: bool) -> None:
    from rillet.cli._output import print_json

    if as_json:
        print_json(study.to_json())
        return
    from rich.console import Console

    Console(soft_wrap=True).print(trials_table(study, final=True))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def trials_table(study: Any, final: bool = False) -> Any:
    """A line of counts, then a rich table: one row per trial, the best marked."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    c = study.counts()
    best = {t.number for t in study.best_trials}
    summary = (f"study {study.name}: {c['COMPLETE']} finished, {c['PRUNED']} pruned, "
               f"{c['FAIL']} failed, {c['RUNNING']} running")
    table = Table()
    for col in ("#", "state", *study.objectives, "params", "execution", ""):
        table.add_column(col)
    for t in study.trials:
        values = t.values or [None] * len(study.objectives)
        table.add_row(str(t.number), t.state, *[_fmt(v) if v is not None else "-"
                                                 for v in values],
                      ", ".join(f"{k}={_fmt(v)}" for k, v in t.params.items()),
                      t.execution_id or "-", "best" if t.number in best else (
                          t.error or "")[:60])
    return Group(Text(summary, no_wrap=True), table)


class _Live:
    """The live table while a study runs (on stderr, only when it is a terminal)."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._live: Any = None

    def __enter__(self) -> _Live:
        if self.enabled:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(stderr=True), refresh_per_second=10,
                              transient=True)
            self._live.__enter__()
        return self

    def update(self, study: Any) -> None:
        if self._live is not None:  # each change drawn now (and by Live's own thread)
            self._live.update(trials_table(study), refresh=True)

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

