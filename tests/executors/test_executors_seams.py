"""The Executor contract of ``rillet.testing`` on every executor in the registry."""

from __future__ import annotations

import pytest

from rillet.executors import load_executor
from rillet.testing import ExecutorContract


class TestInline(ExecutorContract):
    @pytest.fixture
    def executor(self):
        ex = load_executor("inline")
        yield ex
        ex.shutdown()


@pytest.fixture(scope="module")
def pool():
    ex = load_executor("processes", max_parallel=2)
    yield ex
    ex.shutdown()


class TestProcesses(ExecutorContract):
    @pytest.fixture
    def executor(self, pool):
        return pool


def test_an_unknown_executor_names_those_installed():
    from rillet.errors import DefinitionError
    from rillet.executors import executor_names

    assert {"inline", "processes"} <= set(executor_names())
    with pytest.raises(DefinitionError, match="unknown executor 'nope'.*inline, processes"):
        load_executor("nope")
