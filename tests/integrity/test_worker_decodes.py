"""Point 2 of issue 11, where values are decoded: a value the engine did not compute (a
recovered input, a cached node's output) goes to the process executor's worker by
reference, and the worker reads, checks and decodes it. ``wf_integrity.Marked`` writes
the pid of each process that unpickles it: never the engine's (this test's) pid."""

from __future__ import annotations

import os

import pytest

import rillet

pytestmark = pytest.mark.filterwarnings("ignore::rillet.types.PickleFallbackWarning")


@pytest.fixture
def processes(unpickled):
    """A process executor of this test's own: its workers are forked with this test's
    $RILLET_TEST_UNPICKLED (the warm executor of ``"processes"`` may predate it)."""
    from rillet.executors._processes import ProcessExecutor

    ex = ProcessExecutor(max_parallel=2)
    yield ex
    ex.shutdown()


def _marks(marks) -> list[tuple[str, int]]:
    """(pid, n) of each unpickling of a ``Marked``."""
    lines = marks.read_text().splitlines() if marks.exists() else []
    return [(pid, int(n)) for pid, n in (line.split() for line in lines)]


def _pids(marks) -> list[str]:
    return [pid for pid, _ in _marks(marks)]


def test_a_recovered_pickled_input_is_unpickled_by_the_worker_only(load, home, unpickled,
                                                                     processes):
    mod = load("wf_integrity")
    first = rillet.run(mod.takes_marked, home=home, executor="inline", m=mod.Marked(5))
    unpickled.unlink(missing_ok=True)
    again = rillet.recover(first.id, home=home, executor=processes, from_nodes=("use",))
    assert [n.status.value for n in again.nodes] == ["SUCCEEDED"]
    assert again.outputs == {"o0": 5}
    pids = _pids(unpickled)
    assert pids, "the worker that ran `use` unpickled its input"
    assert str(os.getpid()) not in pids, pids


def test_a_cached_pickled_output_is_unpickled_by_the_worker_that_uses_it(load, home,
                                                                          unpickled, processes):
    mod = load("wf_integrity")
    first = rillet.run(mod.made_then_used, home=home, executor=processes, n=4)
    assert first.outputs == {"o0": 4}
    unpickled.unlink(missing_ok=True)
    second = rillet.run(mod.made_then_used, home=home, executor=processes, n=4)
    assert {n.id: n.status.value for n in second.nodes} == {"make": "CACHED",
                                                             "use": "SUCCEEDED"}
    assert second.outputs == {"o0": 4}
    pids = _pids(unpickled)
    assert pids and str(os.getpid()) not in pids, pids


def test_a_reference_checks_the_bytes_it_reads(load, home, unpickled):
    """What a worker loads is checked again where it is read: bytes that went bad after
    the engine checked them are refused as corrupt, never unpickled."""
    from rillet.engine._values import StoredInput, ValueStore
    from rillet.errors import ValueUnavailable
    from rillet.store._home import Home

    mod = load("wf_integrity")
    first = rillet.run(mod.takes_marked, home=home, executor="inline", m=mod.Marked(5))
    digest = first.record.inputs["m"]
    with Home.open(home) as h:
        ref = ValueStore(h.store, h.artifacts).stored_input(digest, mod.Marked)
    assert isinstance(ref, StoredInput) and ref.load().n == 5
    path = os.path.join(home, "artifacts", ref.record.uri or "")
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data.replace(b"xxxx", b"xxxy", 1))
    unpickled.unlink(missing_ok=True)
    with pytest.raises(ValueUnavailable, match="corrupt"):
        ref.load()
    assert not unpickled.exists()


def _inputs(home, execution_id: str, node_id: str) -> dict[str, str]:
    from rillet.store._home import Home

    with Home.open(home) as h:
        return next(n.inputs for n in h.store.nodes(execution_id) if n.node_id == node_id)


def test_a_recovered_map_over_pickled_elements_unpickles_them_in_the_workers(
        load, home, unpickled, processes):
    """The mapped input (a recovered list of pickles) is split into elements by
    reference: the engine reads the list's checked JSON, the workers unpickle."""
    mod = load("wf_integrity")
    first = rillet.run(mod.mapped_marked, home=home, executor="inline", n=5)
    assert first.outputs == {"o0": [0, 1, 2, 3, 4]}
    map_node = next(n.id for n in first.nodes if n.kind == "map")
    unpickled.unlink(missing_ok=True)
    again = rillet.recover(first.id, home=home, executor=processes, from_nodes=(map_node,))
    assert {n.id: n.status.value for n in again.nodes} == {"make_all": "RECOVERED",
                                                            map_node: "SUCCEEDED"}
    assert again.outputs == {"o0": [0, 1, 2, 3, 4]}
    pids = _pids(unpickled)
    assert len(pids) >= 5, pids  # each element unpickled where it ran
    assert str(os.getpid()) not in pids, pids


@pytest.mark.parametrize("wf, node", [("marked", "size_of"), ("marked_dict", "pair_of")])
def test_a_literal_of_recovered_pickles_is_unpickled_by_the_worker_only(
        load, home, unpickled, processes, wf, node):
    """``size_of(items=[a, b])`` (and a dict literal) of recovered pickled values: the
    engine stores the literal from the items' checked bytes, with the hash a decoded
    literal has; the worker unpickles it."""
    mod = load("wf_integrity")
    first = rillet.run(getattr(mod, wf), home=home, executor="inline", n=3, m=4)
    assert first.outputs == {"o0": 7}
    unpickled.unlink(missing_ok=True)
    again = rillet.recover(first.id, home=home, executor=processes, from_nodes=(node,))
    assert {n.id: n.status.value for n in again.nodes}[node] == "SUCCEEDED"
    assert again.outputs == {"o0": 7}
    pids = _pids(unpickled)
    assert pids and str(os.getpid()) not in pids, pids
    assert _inputs(home, again.id, node) == _inputs(home, first.id, node)


def test_a_literal_of_pickles_on_the_inline_executor_is_decoded_in_its_process(
        load, home, unpickled):
    """Inline, the engine's process is the one that runs the task: it decodes there."""
    mod = load("wf_integrity")
    first = rillet.run(mod.marked, home=home, executor="inline", n=3, m=4)
    unpickled.unlink(missing_ok=True)
    again = rillet.recover(first.id, home=home, executor="inline", from_nodes=("size_of",))
    assert again.outputs == {"o0": 7}
    assert set(_pids(unpickled)) == {str(os.getpid())}


def test_recovered_elements_of_a_map_are_not_unpickled_to_put_its_list_together(
        load, home, unpickled, processes, monkeypatch):
    """A recovery of a map runs only the elements that did not succeed (2 failed, 3 was
    never reached); the pickled values of 0 and 1, taken from the first run, are nested
    in the map's list as they are stored (same hash as the whole list) and unpickled
    only by the worker that uses the list. (The values of 2 and 3 are unpickled in the
    engine: the workers that computed them send them back pickled, as any output.)"""
    mod = load("wf_integrity")
    monkeypatch.setenv("RILLET_TEST_FAIL_AT", "2")
    first = rillet.run(mod.marks_summed, home=home, executor="inline", xs=[0, 1, 2, 3])
    assert first.status.value == "FAILED"
    monkeypatch.delenv("RILLET_TEST_FAIL_AT")
    unpickled.unlink(missing_ok=True)
    again = rillet.recover(first.id, home=home, executor=processes)
    assert again.outputs == {"o0": 6}
    here = sorted(n for pid, n in _marks(unpickled) if pid == str(os.getpid()))
    assert here == [2, 3], _marks(unpickled)
    assert sorted(n for pid, n in _marks(unpickled) if pid != str(os.getpid())) == [0, 1, 2, 3]
    fresh = rillet.run(mod.marks_summed, home=home, executor="inline", xs=[0, 1, 2, 3])
    map_node = next(n.id for n in fresh.nodes if n.kind == "map")
    assert _inputs(home, fresh.id, "size_of") == _inputs(home, again.id, "size_of")
    assert {n.id: n.status.value for n in fresh.nodes} == {map_node: "SUCCEEDED",
                                                             "size_of": "CACHED"}


def test_a_path_into_a_recovered_value_is_read_from_its_stored_form(
        load, home, unpickled, processes):
    """``use(m=b.items[1])`` of a recovered ``Box``: the part is stored from the Box's
    checked JSON (its pickled item's bytes as they are), with the hash of the decoded
    part; only the worker unpickles it."""
    mod = load("wf_integrity")
    first = rillet.run(mod.box_first, home=home, executor="inline", n=3)
    assert first.outputs == {"o0": 4, "o1": "box 3"}
    unpickled.unlink(missing_ok=True)
    again = rillet.recover(first.id, home=home, executor=processes,
                           from_nodes=("use", "label_of"))
    assert again.outputs == {"o0": 4, "o1": "box 3"}
    marks = _marks(unpickled)
    assert marks and all(pid != str(os.getpid()) for pid, _ in marks), marks
    for node in ("use", "label_of"):
        assert _inputs(home, again.id, node) == _inputs(home, first.id, node)


@pytest.mark.parametrize("wf, nodes, outputs", [
    ("pair_whole", ("both",), {"o0": 7}),  # a NamedTuple's named outputs passed whole
    ("marked_either", ("size_of_either",), {"o0": 7}),  # items under a Union
    ("holder_parts", ("either", "use"), {"o0": 3, "o1": 5}),  # a Union part; an int key
])
def test_shapes_compose_does_not_build_are_not_unpickled_by_the_engine(
        load, home, unpickled, processes, wf, nodes, outputs):
    """Literals and paths whose stored form ``types._compose`` does not build from the
    items' stored forms: still never unpickled in the engine's process (the value is
    built and encoded apart, then sent by reference), and with the hashes a decoded
    value has (the recorded inputs equal the first run's)."""
    mod = load("wf_integrity")
    first = rillet.run(getattr(mod, wf), home=home, executor="inline")
    assert first.outputs == outputs
    unpickled.unlink(missing_ok=True)
    again = rillet.recover(first.id, home=home, executor=processes, from_nodes=nodes)
    assert again.outputs == outputs
    statuses = {n.id: n.status.value for n in again.nodes}
    assert all(statuses[node] == "SUCCEEDED" for node in nodes), statuses
    marks = _marks(unpickled)
    assert marks and all(pid != str(os.getpid()) for pid, _ in marks), marks
    for node in nodes:
        assert _inputs(home, again.id, node) == _inputs(home, first.id, node)
