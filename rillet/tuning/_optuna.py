"""Optuna's samplers and pruners by rillet's names, and its study rebuilt from stored
trials. Every algorithm is Optuna's own; nothing here samples or prunes by itself.
"""

from __future__ import annotations

import warnings
from typing import Any

from rillet.errors import DefinitionError
from rillet.store._studies import TrialRecord
from rillet.tuning._space import Dimension

ALGORITHMS = ("random", "grid", "tpe", "cmaes", "nsga2")
EARLY_STOPPING = ("median", "hyperband")


_QUIET: list[Any] = []  # Optuna, once its logging is set


def optuna_module() -> Any:
    if _QUIET:  # called per trial: setting the log level each time cost ~0.3 ms
        return _QUIET[0]
    try:
        import optuna
    except ImportError:
        raise DefinitionError(
            "tuning needs Optuna: pip install 'rillet[tune]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per trial on stderr
    _QUIET.append(optuna)
    return optuna


def sampler(algorithm: Any, space: dict[str, Dimension], objectives: int,
            seed: int | None) -> Any:
    optuna = optuna_module()
    if not isinstance(algorithm, str):
        return algorithm  # an Optuna sampler given as it is
    if algorithm == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if algorithm == "grid":
        return optuna.samplers.GridSampler(grid_of(space), seed=seed)
    if algorithm == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if algorithm == "cmaes":
        if objectives > 1:
            raise DefinitionError("algorithm='cmaes' takes one objective; use 'nsga2' or 'tpe'")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if algorithm == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    raise DefinitionError(
        f"unknown algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")


def grid_of(space: dict[str, Dimension]) -> dict[str, list[Any]]:
    return {name: dim.grid(name) for name, dim in space.items()}


def grid_size(space: dict[str, Dimension]) -> int:
    size = 1
    for values in grid_of(space).values():
        size *= len(values)
    return size


def pruner(early_stopping: Any, objectives: int) -> Any:
    if early_stopping is None:
        return None
    if objectives > 1:
        raise DefinitionError("early stopping works on one objective; this study has "
                              f"{objectives}")
    optuna = optuna_module()
    if not isinstance(early_stopping, str):
        return early_stopping  # an Optuna pruner given as it is
    if early_stopping == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if early_stopping == "hyperband":
        return optuna.pruners.HyperbandPruner()
    raise DefinitionError(f"unknown early_stopping {early_stopping!r}; use "
                          f"{' or '.join(map(repr, EARLY_STOPPING))}")


def replay(study: Any, trials: list[TrialRecord], dists: dict[str, Any]) -> None:
    """Give the sampler the stored history: finished trials as they ended."""
    optuna = optuna_module()
    states = {"COMPLETE": optuna.trial.TrialState.COMPLETE,
              "PRUNED": optuna.trial.TrialState.PRUNED, "FAIL": optuna.trial.TrialState.FAIL}
    for t in trials:
        if t.state not in states:
            continue
        study.add_trial(optuna.trial.create_trial(
            state=states[t.state], values=t.values if t.state == "COMPLETE" else None,
            params=t.params, distributions=dists, system_attrs=t.sampler_attrs,
            intermediate_values={s: v for s, v in t.intermediate},
        ))


def readd_running(study: Any, t: TrialRecord, dists: dict[str, Any]) -> Any:
    """A trial that was running when its study was killed, added back as RUNNING with
    its params and sampler state (a grid keeps its cell); returns Optuna's ``Trial``."""
    optuna = optuna_module()
    study.add_trial(optuna.trial.create_trial(
        state=optuna.trial.TrialState.RUNNING, params=t.params, distributions=dists,
        system_attrs=t.sampler_attrs))
    frozen = study.get_trials(deepcopy=False)[-1]
    return optuna.trial.Trial(study, frozen._trial_id)  # Optuna's ask/tell handle on it


def ask(study: Any, dists: dict[str, Any]) -> Any:
    with warnings.catch_warnings():  # e.g. CMA-ES falling back for a Choice
        warnings.simplefilter("ignore")
        return study.ask(dists)


def _teller() -> Any:
    """What tells Optuna a trial's end: the function ``Study.optimize`` itself uses
    (``Study.tell`` runs it and then deep-copies the trial it returns, ~0.16 ms per
    trial that nobody reads); ``Study.tell`` where an Optuna lacks it."""
    if not _TELL:
        try:
            from optuna.study._tell import _tell_with_warning
        except ImportError:  # pragma: no cover - Optuna moved it
            _TELL.append(None)
        else:
            _TELL.append(_tell_with_warning)
    return _TELL[0]


_TELL: list[Any] = []


def tell(study: Any, trial: Any, state: str, values: list[float] | None) -> None:
    optuna = optuna_module()
    st = {"COMPLETE": optuna.trial.TrialState.COMPLETE,
          "PRUNED": optuna.trial.TrialState.PRUNED, "FAIL": optuna.trial.TrialState.FAIL}[state]
    told = values if st == optuna.trial.TrialState.COMPLETE else None
    teller = _teller()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if teller is None:
                study.tell(trial, told, state=st)
            else:
                teller(study=study, trial=trial, value_or_values=told, state=st)
        except RuntimeError:  # GridSampler calls study.stop() when the grid is done;
            pass              # outside optimize() that raises, after the state is stored


def system_attrs(study: Any, trial: Any) -> dict[str, Any]:
    return dict(study._storage.get_trial_system_attrs(trial._trial_id))
