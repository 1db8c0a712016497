"""Each element of a map node has a checkpoint of its own (and knows its index), on
both executors (the process executor splitting the map into chunks) and in direct
calls: a retried map resumes every element from its own checkpoint, not another's."""

from __future__ import annotations

import pytest

import rillet

XS = [10, 20, 30]
EXPECTED = [f"element {i} saw {x}" for i, x in enumerate(XS)]


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_a_retried_map_resumes_each_element_from_its_own_checkpoint(load, home, executor):
    execution = rillet.run(load("wf_mapckpt").saves, home=home, executor=executor, xs=XS)
    assert execution.status == "SUCCEEDED", execution.nodes
    assert execution.outputs == {"o0": EXPECTED}


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_a_tolerant_map_keeps_each_elements_checkpoint(load, home, executor):
    """With min_success_ratio, every element runs in each attempt: attempt 1 fails all
    three (below the ratio), attempt 2 finds three checkpoints."""
    execution = rillet.run(load("wf_mapckpt").saves_tolerant, home=home, executor=executor,
                           xs=XS)
    assert execution.status == "SUCCEEDED", execution.nodes
    assert execution.outputs == {"o0": EXPECTED}
    (node,) = execution.nodes
    assert node.attempts == 2


def test_direct_calls_keep_a_checkpoint_per_element(load):
    assert load("wf_mapckpt").saves(xs=XS) == EXPECTED


def test_outside_a_map_the_index_is_none(load):
    from rillet import current_context

    assert current_context().map_index is None


@pytest.mark.parametrize("executor", ["inline", "processes"])
def test_a_map_over_inputs_of_different_lengths_fails_once_without_retries(
        load, home, executor):
    execution = rillet.run(load("wf_mapckpt").pairs, home=home, executor=executor,
                           xs=[1, 2], ys=[1])
    assert execution.status == "FAILED"
    (node,) = execution.nodes
    assert node.attempts == 1  # the task allows 3; another would meet the same inputs
    assert "different lengths" in node.error
