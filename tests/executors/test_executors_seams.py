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


class _EntryPoint:
    """An installed plugin's entry point in the group ``rillet.executors``."""

    def __init__(self, name, factory):
        self.name = name
        self._factory = factory

    def load(self):
        return self._factory


def test_the_command_line_takes_a_plugins_executor_and_refuses_an_unknown_one(
        tmp_path, monkeypatch):
    from click.testing import CliRunner

    from rillet.cli._app import cli
    from rillet.executors import _registry

    made = []

    def mine(max_parallel=None):
        made.append(max_parallel)
        return _registry.inline(max_parallel)

    monkeypatch.setattr(_registry, "_entry_points",
                        lambda: {"mine": _EntryPoint("mine", mine)})
    flow = tmp_path / "plugflow.py"
    flow.write_text("from rillet import task, workflow\n\n"
                    "@task\ndef inc(x: int) -> int:\n    return x + 1\n\n"
                    "@workflow\ndef wf(x: int) -> int:\n    return inc(x=x)\n")
    home = str(tmp_path / "home")
    runner = CliRunner()
    done = runner.invoke(cli, ["run", f"{flow}:wf", "--x", "41", "--executor", "mine",
                               "--max-parallel", "3", "--home", home, "--json", "-q"])
    assert done.exit_code == 0, done.output
    assert '"o0": 42' in done.output and made == [3]
    bad = runner.invoke(cli, ["run", f"{flow}:wf", "--x", "1", "--executor", "nope",
                              "--home", home])
    assert bad.exit_code == 2
    assert "unknown executor 'nope'; installed executors: inline, mine, processes" in \
        bad.output, bad.output
    for command in (["recover", "abc"], ["worker", "--home", home]):
        refused = runner.invoke(cli, [*command, "--executor", "nope"])
        assert refused.exit_code == 2 and "unknown executor 'nope'" in refused.output
