"""Studies and their trials in the metadata database (``studies``, ``study_trials``).

Plain SQL on the store's ``Database`` (SQLite or SQLAlchemy): one short transaction
per write, or a row added to a transaction the caller holds. It knows rows, not
Optuna: ``rillet.tuning`` turns them into a sampler's history. It never imports Optuna.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rillet.errors import AlreadyExists, NotFound
from rillet.store._db import Database


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyRecord:
    name: str
    workflow: str  # module:qualname
    source: str  # the workflow's file (or module)
    space: dict[str, Any]  # name -> descriptor ({"type": "float", "lo": ..., ...})
    objectives: list[str]
    directions: list[str]
    settings: dict[str, Any]
    created_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialRecord:
    study: str
    number: int
    state: str  # RUNNING | COMPLETE | PRUNED | FAIL
    params: dict[str, Any]
    values: list[float] | None = None
    intermediate: list[tuple[int, float]] = field(default_factory=list)
    execution_id: str | None = None
    started_at: float = 0.0
    ended_at: float | None = None
    error: str | None = None
    sampler_attrs: dict[str, Any] = field(default_factory=dict)  # Optuna's system attrs


_STUDY_COLS = ("name", "workflow", "source", "space", "objectives", "directions", "settings",
               "created_at")
_TRIAL_COLS = ("study", "number", "state", "params", "values", "intermediate",
               "execution_id", "started_at", "ended_at", "error", "sampler_attrs")


def _cols(cols: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in cols)


_UPSERT_TRIAL = (
    f"INSERT INTO study_trials ({_cols(_TRIAL_COLS)}) VALUES ({', '.join('?' * 11)}) "
    'ON CONFLICT ("study", "number") DO UPDATE SET '
    + ", ".join(f'"{c}" = excluded."{c}"' for c in _TRIAL_COLS[2:])
)


class StudyStore:
    """Studies by name and their trials, on one metadata database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, study: StudyRecord) -> None:
        """Record a new study; ``AlreadyExists`` when the name is taken."""
        row = (study.name, study.workflow, study.source, json.dumps(study.space),
               json.dumps(study.objectives), json.dumps(study.directions),
               json.dumps(study.settings), study.created_at)
        with self._db.write() as c:
            found = c.execute("SELECT 1 FROM studies WHERE name = ?", (study.name,)).fetchall()
            if found:
                raise AlreadyExists(f"a study named {study.name!r} exists already")
            c.execute(f"INSERT INTO studies ({_cols(_STUDY_COLS)}) VALUES "
                      f"({', '.join('?' * len(_STUDY_COLS))})", row)

    def get(self, name: str) -> StudyRecord:
        rows = self._db.read(f"SELECT {_cols(_STUDY_COLS)} FROM studies WHERE name = ?",
                             (name,))
        if not rows:
            known = [r[0] for r in self._db.read("SELECT name FROM studies ORDER BY name")]
            raise NotFound(f"no study named {name!r} in this home"
                           + (f" (studies: {', '.join(known)})" if known else " (none yet)"))
        return _study(rows[0])

    def studies(self) -> list[StudyRecord]:
        rows = self._db.read(f"SELECT {_cols(_STUDY_COLS)} FROM studies ORDER BY created_at")
        return [_study(r) for r in rows]

    def save_trial(self, trial: TrialRecord) -> None:
        with self._db.write() as c:
            self.save_trial_in(c, trial)

    @staticmethod
    def save_trial_in(c: Any, trial: TrialRecord) -> None:
        """Upsert ``trial`` in a transaction the caller holds (``c``: its cursor), e.g.
        the one that writes its execution's records (``SqlMetadataStore.apply(also=)``)."""
        row = (trial.study, trial.number, trial.state, json.dumps(trial.params),
               None if trial.values is None else json.dumps(trial.values),
               json.dumps([list(x) for x in trial.intermediate]), trial.execution_id,
               trial.started_at, trial.ended_at, trial.error, json.dumps(trial.sampler_attrs))
        c.execute(_UPSERT_TRIAL, row)

    def trials(self, name: str) -> list[TrialRecord]:
        rows = self._db.read(
            f"SELECT {_cols(_TRIAL_COLS)} FROM study_trials WHERE study = ? ORDER BY number",
            (name,))
        return [_trial(r) for r in rows]


def _study(r: tuple[Any, ...]) -> StudyRecord:
    return StudyRecord(name=r[0], workflow=r[1], source=r[2], space=json.loads(r[3]),
                       objectives=json.loads(r[4]), directions=json.loads(r[5]),
                       settings=json.loads(r[6]), created_at=r[7])


def _trial(r: tuple[Any, ...]) -> TrialRecord:
    return TrialRecord(study=r[0], number=r[1], state=r[2], params=json.loads(r[3]),
                       values=None if r[4] is None else json.loads(r[4]),
                       intermediate=[(int(s), float(v)) for s, v in json.loads(r[5])],
                       execution_id=r[6], started_at=r[7], ended_at=r[8], error=r[9],
                       sampler_attrs=json.loads(r[10]))
