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


def _pids(marks) -> list[str]:
    return marks.read_text().split() if marks.exists() else []


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
