"""Launch plans: default and fixed inputs, schedules validated at creation, immutable names."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from rillet import CronSchedule, FixedRate, LaunchPlan, task, workflow
from rillet.errors import Conflict, DefinitionError, TypeMismatchError


@task
def scale(n: int, factor: float) -> float:
    return n * factor


@workflow
def scaled(n: int = 1, factor: float = 2.0, run_at: str = "") -> float:
    return scale(n=n, factor=factor)


def test_defaults_then_given_then_fixed_inputs():
    plan = LaunchPlan.get_or_create(scaled, name="lp-inputs", default_inputs={"n": 10},
                                    fixed_inputs={"factor": 0.5})
    assert plan.inputs_for({}) == {"n": 10, "factor": 0.5}
    assert plan.inputs_for({"n": 4}) == {"n": 4, "factor": 0.5}
    assert plan() == 5.0
    assert plan(n=4) == 2.0
    with pytest.raises(DefinitionError, match="factor are fixed"):
        plan.inputs_for({"factor": 3.0})


def test_same_name_same_content_is_the_same_plan_and_other_content_conflicts():
    first = LaunchPlan.get_or_create(scaled, name="lp-immutable", default_inputs={"n": 3})
    assert LaunchPlan.get_or_create(scaled, name="lp-immutable", default_inputs={"n": 3}) is first
    with pytest.raises(Conflict, match="lp-immutable"):
        LaunchPlan.get_or_create(scaled, name="lp-immutable", default_inputs={"n": 4})


def test_bad_inputs_are_refused_naming_plan_and_input():
    with pytest.raises(DefinitionError, match="unknown input 'nope'"):
        LaunchPlan.get_or_create(scaled, name="lp-bad", default_inputs={"nope": 1})
    with pytest.raises(TypeMismatchError, match=r"fixed_inputs\['n'\] expects int"):
        LaunchPlan.get_or_create(scaled, name="lp-bad", fixed_inputs={"n": "ten"})
    with pytest.raises(DefinitionError, match="kickoff_time_input_arg 'when'"):
        LaunchPlan.get_or_create(scaled, name="lp-bad",
                                 schedule=CronSchedule(schedule="0 2 * * *",
                                                       kickoff_time_input_arg="when"))


def test_schedules_are_validated_and_give_the_next_fire_time():
    with pytest.raises(DefinitionError, match="not a valid cron expression"):
        CronSchedule(schedule="every night")
    with pytest.raises(DefinitionError, match="positive timedelta"):
        FixedRate(duration=timedelta(0))
    cron = CronSchedule(schedule="0 2 * * *", kickoff_time_input_arg="run_at")
    assert cron.next_after(datetime(2026, 1, 1, 3, 0)) == datetime(2026, 1, 2, 2, 0)
    rate = FixedRate(duration=timedelta(minutes=15))
    assert rate.next_after(datetime(2026, 1, 1, 3, 0)) == datetime(2026, 1, 1, 3, 15)
    plan = LaunchPlan.get_or_create(scaled, name="lp-nightly", schedule=cron)
    assert plan.schedule is cron
