"""``rillet.flyte.extras.tasks.shell.ShellTask``: a bash script run as a real subprocess,
``{inputs.x}``/``{outputs.y}`` templating, outputs found at their OutputLocation."""

from __future__ import annotations

from pathlib import Path

import pytest

import rillet
from rillet import Directory, File, task, workflow
from rillet.errors import DefinitionError, UserCodeError
from rillet.flyte import kwtypes
from rillet.flyte.extras.tasks.shell import OutputLocation, ShellTask

count_words = ShellTask(
    name="count_words",
    script="""
    set -e
    wc -w < {inputs.text} | tr -d ' ' > {outputs.count}
    echo "{inputs.label}: $$(cat {outputs.count})" >&2
    """.replace("$$", "$"),
    inputs=kwtypes(text=File, label=str),
    output_locs=[OutputLocation(var="count", var_type=File, location="{inputs.label}.txt")],
)

pack = ShellTask(
    name="pack",
    script="mkdir -p out && cp {inputs.f} out/ && tar -czf {outputs.archive} -C out . && "
           "ls out > {outputs.listing}",
    inputs=kwtypes(f=File),
    output_locs=[
        OutputLocation(var="archive", var_type=File, location="packed.tar.gz"),
        OutputLocation(var="listing", var_type=File, location="listing.txt"),
    ],
)

into_dir = ShellTask(
    name="into_dir",
    script="mkdir -p made && cp {inputs.d}/* made/ && echo extra > made/extra.txt",
    inputs=kwtypes(d=Directory),
    output_locs=[OutputLocation(var="made", var_type=Directory, location="made")],
)


@task
def write(text: str) -> File:
    path = Path(rillet.current_context().working_directory) / "in.txt"
    path.write_text(text)
    return File(str(path))


@task
def read(f: File) -> str:
    return Path(f.path).read_text().strip()


@workflow
def words(text: str = "one two three") -> str:
    return read(f=count_words(text=write(text=text), label="n"))


def test_a_shell_task_runs_its_script_with_the_inputs_templated() -> None:
    assert words() == "3"
    out = count_words(text=File(str(_file("a b", "x.txt"))), label="two")
    assert Path(out.path).name == "two.txt" and Path(out.path).read_text().strip() == "2"


def test_several_outputs_and_directories() -> None:
    archive, listing = pack(f=File(str(_file("hello", "greeting.txt"))))
    assert Path(listing.path).read_text().split() == ["greeting.txt"]
    assert Path(archive.path).stat().st_size > 0
    folder = _file("hi", "a.txt").parent
    made = into_dir(d=Directory(str(folder)))
    assert sorted(p.name for p in Path(made.path).iterdir()) == ["a.txt", "extra.txt"]


def test_a_shell_task_runs_durably_in_a_worker_process(tmp_path: Path) -> None:
    ex = rillet.run(words, home=str(tmp_path / "home"), text="a b c d")
    assert ex.status == "SUCCEEDED", ex
    assert ex.output("o0") == "4"


def test_a_failing_script_fails_the_task_with_its_exit_code_and_stderr(tmp_path: Path) -> None:
    bad = ShellTask(name="bad", script="echo oops >&2; exit 3", inputs=kwtypes(x=int))
    with pytest.raises(RuntimeError, match=r"exited with 3: oops"):
        bad(x=1)

    @workflow
    def wf() -> None:
        bad(x=1)

    with pytest.raises(UserCodeError, match=r"exited with 3: oops"):
        wf()
    ex = rillet.run(wf, home=str(tmp_path / "home"), executor="inline")
    assert ex.status == "FAILED" and "exited with 3" in (ex.node("bad").error or "")


def test_an_output_the_script_did_not_make_is_a_clear_error() -> None:
    lazy = ShellTask(name="lazy", script="true", inputs=kwtypes(x=int),
                     output_locs=[OutputLocation(var="o", var_type=File, location="o.txt")])
    with pytest.raises(FileNotFoundError, match=r"output 'o' should be at .*o.txt"):
        lazy(x=1)


def test_an_unknown_template_name_names_it() -> None:
    typo = ShellTask(name="typo", script="cat {inputs.nope}", inputs=kwtypes(x=int))
    with pytest.raises(ValueError, match=r"\{inputs.nope\}: no input named 'nope'"):
        typo(x=1)


def test_bad_definitions_are_refused() -> None:
    with pytest.raises(DefinitionError, match="FlyteFile or a FlyteDirectory"):
        ShellTask(name="n", script="true",
                  output_locs=[OutputLocation(var="o", var_type=int, location="o")])
    with pytest.raises(DefinitionError, match="script= or script_file="):
        ShellTask(name="n")


def test_a_cached_shell_tasks_version_follows_its_script() -> None:
    a = ShellTask(name="c", script="echo 1", cache=True)
    b = ShellTask(name="c", script="echo 2", cache=True)
    assert a.cache is not None and b.cache is not None
    assert a.cache.version != b.cache.version


def _file(text: str, name: str) -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="rillet-shell-"))
    path = folder / name
    path.write_text(text)
    return path
