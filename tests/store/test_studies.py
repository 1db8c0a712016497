"""The study tables (``rillet/store/_studies.py``) on SQLite, SQLite through SQLAlchemy
and PostgreSQL: a study by name, its trials upserted by number (issue 18, 4)."""

from __future__ import annotations

import pytest

from rillet.errors import AlreadyExists, NotFound
from rillet.store import SqlMetadataStore
from rillet.store._studies import StudyRecord, StudyStore, TrialRecord


@pytest.fixture(params=["sqlite", "sqlalchemy", "postgresql"])
def studies(request, tmp_path):
    if request.param == "sqlite":
        s = SqlMetadataStore(f"sqlite:///{tmp_path / 'store.db'}")
    elif request.param == "sqlalchemy":
        s = SqlMetadataStore(f"sqlite+pysqlite:///{tmp_path / 'store.db'}")
    else:
        s = SqlMetadataStore(request.getfixturevalue("pg_url"))
    yield StudyStore(s.database)
    s.close()


def study(name: str = "s") -> StudyRecord:
    return StudyRecord(name=name, workflow="m:wf", source="wf.py",
                       space={"lr": {"type": "float", "lo": 0.001, "hi": 0.1, "log": True,
                                     "step": None}},
                       objectives=["loss"], directions=["minimize"],
                       settings={"algorithm": "tpe", "seed": 3}, created_at=1.0)


def test_a_study_is_created_once_and_read_back(studies: StudyStore) -> None:
    studies.create(study())
    with pytest.raises(AlreadyExists, match="'s' exists already"):
        studies.create(study())
    assert studies.get("s") == study()
    studies.create(study("t"))
    assert [s.name for s in studies.studies()] == ["s", "t"]
    with pytest.raises(NotFound, match=r"no study named 'nope' .*\(studies: s, t\)"):
        studies.get("nope")


def test_trials_are_upserted_by_number(studies: StudyStore) -> None:
    studies.create(study())
    running = TrialRecord(study="s", number=0, state="RUNNING", params={"lr": 0.01},
                          execution_id="e0", started_at=2.0, sampler_attrs={"grid_id": 4})
    studies.save_trial(running)
    assert studies.trials("s") == [running]
    done = TrialRecord(study="s", number=0, state="COMPLETE", params={"lr": 0.01},
                       values=[0.5], intermediate=[(0, 0.9), (1, 0.5)], execution_id="e0",
                       started_at=2.0, ended_at=3.0, sampler_attrs={"grid_id": 4})
    studies.save_trial(done)
    pruned = TrialRecord(study="s", number=1, state="PRUNED", params={"lr": 0.05},
                         intermediate=[(0, 2.0)], execution_id="e1", started_at=3.0,
                         ended_at=3.5, error="pruned at step 0")
    studies.save_trial(pruned)
    assert studies.trials("s") == [done, pruned]
    assert studies.trials("other") == []
