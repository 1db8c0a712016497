"""What a user reads of a study: :class:`Study` and its :class:`Trial` list, built from
the stored rows (no Optuna needed), and its JSON form for ``rillet tune show --json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rillet.store._studies import StudyRecord, TrialRecord

FINISHED = ("COMPLETE", "PRUNED", "FAIL")


@dataclass(frozen=True, slots=True)
class Trial:
    """One trial: the sampled ``params``, its state (RUNNING, COMPLETE, PRUNED, FAIL),
    the objective value(s) and the durable execution that ran it."""

    number: int
    params: dict[str, Any]
    state: str
    values: list[float] | None
    execution_id: str | None
    intermediate: list[tuple[int, float]]
    started_at: float
    ended_at: float | None
    error: str | None

    @property
    def value(self) -> float | None:
        """The (first) objective's value; None unless COMPLETE."""
        return self.values[0] if self.values else None

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at

    @classmethod
    def of(cls, r: TrialRecord) -> Trial:
        return cls(number=r.number, params=dict(r.params), state=r.state,
                   values=None if r.values is None else list(r.values),
                   execution_id=r.execution_id, intermediate=list(r.intermediate),
                   started_at=r.started_at, ended_at=r.ended_at, error=r.error)

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "state": self.state, "params": self.params,
                "value": self.value, "values": self.values, "execution_id": self.execution_id,
                "intermediate": [list(x) for x in self.intermediate],
                "started_at": self.started_at, "ended_at": self.ended_at, "error": self.error}


class Study:
    """A stored study and its trials, as they stood when read."""

    def __init__(self, record: StudyRecord, trials: list[TrialRecord]) -> None:
        self.record = record
        self.name = record.name
        self.objectives = list(record.objectives)
        self.directions = list(record.directions)
        self.trials = [Trial.of(t) for t in trials]

    @property
    def best_trials(self) -> list[Trial]:
        """The Pareto front of the COMPLETE trials (for one objective: the best ones)."""
        done = [t for t in self.trials if t.state == "COMPLETE" and t.values is not None]
        signs = [1.0 if d == "minimize" else -1.0 for d in self.directions]

        def key(t: Trial) -> list[float]:
            assert t.values is not None
            return [s * v for s, v in zip(signs, t.values, strict=True)]

        keys = {t.number: key(t) for t in done}

        def dominated(a: list[float]) -> bool:
            return any(all(x <= y for x, y in zip(b, a, strict=True)) and b != a
                       for b in keys.values())

        return [t for t in done if not dominated(keys[t.number])]

    @property
    def best(self) -> Trial:
        """The best COMPLETE trial of a single-objective study (the lowest number on ties)."""
        if len(self.objectives) > 1:
            raise ValueError(f"study '{self.name}' has {len(self.objectives)} objectives: "
                             "use study.best_trials (the Pareto front)")
        front = self.best_trials
        if not front:
            raise ValueError(f"study '{self.name}' has no COMPLETE trial yet")
        return front[0]

    @property
    def best_value(self) -> float | None:
        return self.best.value

    def counts(self) -> dict[str, int]:
        out = {"RUNNING": 0, "COMPLETE": 0, "PRUNED": 0, "FAIL": 0}
        for t in self.trials:
            out[t.state] = out.get(t.state, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        r = self.record
        front = self.best_trials
        return {
            "name": r.name, "workflow": r.workflow, "source": r.source, "space": r.space,
            "objectives": r.objectives, "directions": r.directions, "settings": r.settings,
            "created_at": r.created_at, "counts": self.counts(),
            "best_trials": [t.number for t in front],
            "trials": [t.to_json() for t in self.trials],
        }

    def __repr__(self) -> str:
        c = self.counts()
        return (f"Study(name={self.name!r}, trials={len(self.trials)}, complete={c['COMPLETE']}, "
                f"pruned={c['PRUNED']}, failed={c['FAIL']})")
