"""``rillet`` commands: run, recover, and the group that holds the others.

Exit codes: 0 the execution succeeded (or a listing), 1 it failed, 2 a usage or
compile error (the message on stderr).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import click

from rillet.errors import DefinitionError, ExecutorError, RilletError, StoreError

# The largest count an option takes (--limit, --attempt, --max-parallel): beyond it a
# database integer overflows, and no home holds that many of anything.
MAX_COUNT = 2**62

CONTEXT = {"help_option_names": ["-h", "--help"]}


class ExecutorName(click.ParamType):
    """``--executor NAME``: any executor of the registry (``rillet.executors`` entry
    points; a plugin's is as good as a built-in one), checked when parsed; an unknown
    name is one line naming those installed."""

    name = "executor"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        from rillet.executors._registry import executor_factory

        try:
            executor_factory(str(value))
        except DefinitionError as exc:
            self.fail(str(exc), param, ctx)
        return str(value)

    def shell_complete(self, ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        from rillet.executors._registry import executor_names

        return [CompletionItem(n) for n in executor_names() if n.startswith(incomplete)]


EXECUTOR = ExecutorName()


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def home_of(ctx: click.Context, home: str | None) -> str | None:
    if home:
        return home
    root = ctx.find_root()
    return root.obj.get("home") if root.obj else None


def _keep_token(ctx: click.Context, param: Any, value: str | None) -> None:
    if value:
        ctx.meta["rillet.token"] = value


def server_option(fn: Any) -> Any:
    """``--server URL`` (or ``RILLET_SERVER``): talk to that server, not to a home; and
    ``--token T`` (or ``RILLET_TOKEN``) for a server run with ``--auth``."""
    fn = click.option("--token", envvar="RILLET_TOKEN", default=None, metavar="T",
                      expose_value=False, callback=_keep_token,
                      help="The token for a server with --auth (RILLET_TOKEN).")(fn)
    return click.option("--server", envvar="RILLET_SERVER", default=None, metavar="URL",
                        help="A rillet server to ask instead of the home (RILLET_SERVER).")(fn)


def remote(server: str) -> Any:
    """The client of ``--server`` (with ``--token`` / ``RILLET_TOKEN``)."""
    from rillet.remote._client import Remote

    ctx = click.get_current_context(silent=True)
    token = ctx.meta.get("rillet.token") if ctx is not None else None
    return Remote(server, token=token or os.environ.get("RILLET_TOKEN") or None)


# The module of each command that is not in this one: it is imported when the command
# is asked for (``rillet server`` imports none of the others' modules); ``--help``
# imports them all. A test keeps this map equal to what the modules define.
COMMAND_MODULES = {
    "cache": "_cache", "prune": "_cache", "compare": "_compare", "metrics": "_compare",
    "diff": "_diff", "reproduce": "_diff", "executions": "_inspect", "lineage": "_inspect",
    "logs": "_inspect", "launch": "_launch", "register": "_launch", "versions": "_launch",
    "worker": "_launch", "models": "_models", "serve": "_models", "notebook": "_notebook",
    "abort": "_platform", "server": "_platform", "ui": "_platform", "outputs": "_results",
    "audit": "_teams", "launchplan": "_teams", "project": "_teams", "promote": "_teams",
    "token": "_teams", "tune": "_tune",
}


class LazyGroup(click.Group):
    """The top group: a command's module is imported when the command is looked up."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            import importlib

            importlib.import_module(f"rillet.cli.{module}")
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        import_all()
        return super().list_commands(ctx)


def import_all() -> None:
    """Import every command's module (``--help``, and what needs all commands)."""
    import importlib

    for module in sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(f"rillet.cli.{module}")


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.option("--home", type=click.Path(file_okay=False), default=None,
              help="The rillet home (default: $RILLET_HOME or ./.rillet).")
@click.version_option(package_name="rillet")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """rillet: typed, cached, recoverable workflows."""
    ctx.obj = {"home": home}


def _workflows(module: Any) -> dict[str, Any]:
    from rillet.sdk._eager import Eager
    from rillet.sdk._workflow import Workflow

    return {name: obj for name, obj in vars(module).items()
            if isinstance(obj, (Workflow, Eager))}


def load_target(target: str) -> tuple[Any, dict[str, Any], str | None]:
    """Load ``FILE.py[:WORKFLOW]`` (or a notebook); compile errors exit 2 with one line."""
    from rillet.engine._loading import load_file

    path, _, name = target.partition(":")
    if not path.endswith((".py", ".ipynb")):
        fail(f"{target}: expected FILE.py, FILE.py:WORKFLOW or NOTEBOOK.ipynb")
    try:
        module = _load_notebook(path) if path.endswith(".ipynb") else load_file(path)
    except RilletError as exc:
        fail(str(exc))
    except SyntaxError as exc:
        fail(f"{exc.filename}:{exc.lineno}: {exc.msg}")
    except Exception as exc:  # the user's module raised while being imported
        hint = ""
        if isinstance(exc, ModuleNotFoundError) and exc.name in _DATA_EXTRA:
            hint = " (it comes with the data extra: pip install 'rillet[data]')"
        fail(f"{_where(exc, path)}: importing {path} raised {type(exc).__name__}: {exc}{hint}")
    return module, _workflows(module), name or None


_DATA_EXTRA = frozenset({"pandas", "numpy", "pyarrow"})


def _load_notebook(path: str) -> Any:
    """Load a notebook, its warnings (a magic left out) as ``warning:`` lines."""
    import warnings

    from rillet.engine._loading import load_file

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = load_file(path)
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    return module


def _where(exc: BaseException, path: str) -> str:
    """``file:line`` of the last frame of ``path`` in the traceback of ``exc``."""
    import traceback

    full = os.path.abspath(path)
    found = path
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) == full:
            found = f"{full}:{frame.lineno}"
    return found


def pick_workflow(target: str) -> Any:
    """The workflow ``FILE.py:NAME`` names (a task named so runs as a one-node
    workflow); ``FILE.py`` alone lists the file's workflows and exits."""
    from rillet.sdk._task import Task
    from rillet.sdk._taskflow import workflow_of_task

    module, found, name = load_target(target)
    if name is None and target.endswith(".ipynb") and len(found) == 1:
        return next(iter(found.values()))  # a notebook makes one workflow
    if name is None:
        for wf_name in sorted(found):
            click.echo(wf_name)
        sys.exit(0)
    if name not in found:
        task = getattr(module, name, None)
        if isinstance(task, Task):
            return workflow_of_task(task)
        known = ", ".join(sorted(found)) or "none"
        fail(f"{target}: no workflow or task named '{name}' in {module.__file__} "
             f"(workflows: {known})")
    return found[name]


def resolved_inputs(ctx: click.Context, wf: Any) -> dict[str, Any]:
    """The ``--NAME VALUE`` arguments as ``wf``'s typed inputs with its defaults filled in,
    as an execution would get them (bad ones exit 2)."""
    from rillet.cli._inputs import parse_inputs, split_args

    try:
        raw = parse_inputs(split_args(list(ctx.args)), wf.interface.inputs, wf.short_name)
        values: dict[str, Any] = wf.resolve_inputs((), raw)
    except DefinitionError as exc:
        fail(str(exc))
    return values


@contextlib.contextmanager
def task_output_to_stderr() -> Iterator[None]:
    """While an execution runs, what tasks print (inline executor, failure handler,
    subprocesses) goes to stderr, so stdout holds only the result."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def report(execution: Any, as_json: bool) -> NoReturn:
    from rillet.cli._output import jsonable, opaque

    outputs: dict[str, Any] = {}
    root = execution.artifact_root
    for name, record in execution.output_artifacts().items():
        if record is not None and record.format != "json":  # shown by reference, never read
            outputs[name] = opaque(record, root=root)
        else:
            outputs[name] = jsonable(execution.output(name), record, root,
                                     execution.artifact)
    print_report(execution.id, execution.status.value, outputs, execution.error, as_json)


def print_report(execution_id: str, status: str, outputs: dict[str, Any], error: str | None,
                 as_json: bool) -> NoReturn:
    """An ended execution's report (``run``, ``recover``, ``launch --wait``); exit 0 when it
    succeeded, else 1."""
    from rillet.cli._output import print_json

    if as_json:
        body: dict[str, Any] = {"execution_id": execution_id, "status": status, "outputs": outputs}
        if error:
            body["error"] = error
        print_json(body)
    else:
        click.echo(f"execution {execution_id} {status}")
        for name, value in outputs.items():
            click.echo(f"{name} = {value}")
        if error:
            click.echo(f"error: {error}", err=True)
    sys.exit(0 if status == "SUCCEEDED" else 1)


@cli.command(context_settings={"help_option_names": [], "ignore_unknown_options": True,
                               "allow_extra_args": True})
@click.argument("target", required=False)
@click.option("-h", "--help", "show_help", is_flag=True,
              help="Show this message; with FILE.py:WORKFLOW, that workflow's inputs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--executor", type=EXECUTOR, default="processes",
              help="Where attempts run: inline, processes, ray ($RAY_ADDRESS or a local Ray) "
              "or an installed plugin's executor.")
@click.option("--max-parallel", type=click.IntRange(min=1, max=MAX_COUNT), default=None,
              help="At most N attempts at once.")
@click.option("-q", "--quiet", is_flag=True, help="Do not echo what tasks print.")
@click.option("--home", type=click.Path(file_okay=False), default=None)
@click.pass_context
def run(ctx: click.Context, target: str | None, show_help: bool, as_json: bool, executor: str,
        max_parallel: int | None, quiet: bool, home: str | None) -> None:
    """Run FILE.py:WORKFLOW or NOTEBOOK.ipynb [--INPUT VALUE ...] (or FILE.py:TASK, a
    single task); FILE.py alone lists its workflows. --name N and --tag K=V label the
    execution."""
    from rillet.cli._inputs import parse_inputs, split_args
    from rillet.cli._labels import take_labels
    from rillet.cli._progress import Progress
    from rillet.sdk._run import run as run_workflow

    if show_help or target is None:
        from rillet.cli._help import workflow_help

        if target is None and not show_help:
            fail("give FILE.py:WORKFLOW to run (rillet run --help)")
        click.echo(workflow_help(pick_workflow(target), target)
                   if target and (":" in target or target.endswith(".ipynb"))
                   else ctx.get_help())
        sys.exit(0)
    wf = pick_workflow(target)
    try:
        raw = split_args(list(ctx.args))
        name, tags = take_labels(raw, wf.interface.inputs)
        inputs = parse_inputs(raw, wf.interface.inputs, wf.short_name)
    except DefinitionError as exc:
        fail(str(exc))
    try:  # run_workflow checks the inputs (missing, wrong type) before it opens the home
        if executor == "ray":
            from rillet.sdk._rayadmit import show_cluster

            show_cluster(max_parallel)
        with interrupted(ctx, home), task_output_to_stderr(), Progress() as progress:
            execution = run_workflow(wf, home=home_of(ctx, home), executor=executor,
                                     max_parallel=max_parallel, observer=progress,
                                     execution_name=name, execution_tags=tags,
                                     echo_output=console_echo(quiet), **inputs)
    except (DefinitionError, StoreError, ExecutorError) as exc:
        fail(str(exc))
    report(execution, as_json)


@cli.command(context_settings={**CONTEXT, "ignore_unknown_options": True,
                               "allow_extra_args": True})
@click.argument("execution_id")
@click.option("--from", "from_nodes", multiple=True, help="Re-run this node and what follows.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--executor", type=EXECUTOR, default="processes",
              help="Where attempts run: inline, processes, ray ($RAY_ADDRESS or a local Ray) "
              "or an installed plugin's executor.")
@click.option("--max-parallel", type=click.IntRange(min=1, max=MAX_COUNT), default=None,
              help="At most N attempts at once.")
@click.option("-q", "--quiet", is_flag=True, help="Do not echo what tasks print.")
@click.option("--home", type=click.Path(file_okay=False), default=None)
@server_option
@click.pass_context
def recover(ctx: click.Context, execution_id: str, from_nodes: tuple[str, ...], as_json: bool,
            executor: str, max_parallel: int | None, quiet: bool, home: str | None,
            server: str | None) -> None:
    """Start a new execution reusing what EXECUTION_ID finished [--INPUT VALUE ...]
    (inputs given again replace the recorded ones)."""
    from rillet.cli._inputs import parse_inputs, split_args
    from rillet.cli._progress import Progress
    from rillet.sdk._run import recover as recover_execution
    from rillet.sdk._run import recovered_workflow

    if server:  # the server runs it; follow it to its end
        if ctx.args:
            fail("recover --server takes no --INPUT values yet; recover on the home instead")
        try:
            execution = remote(server).recover(execution_id, from_nodes).wait()
        except RilletError as exc:
            fail(str(exc))
        report(execution, as_json)
    try:
        raw = split_args(list(ctx.args))
        wf = given = None
        if raw:  # typed by the workflow as it is now
            wf = recovered_workflow(execution_id, home=home_of(ctx, home))
            given = parse_inputs(raw, wf.interface.inputs, wf.short_name)
        with interrupted(ctx, home), task_output_to_stderr(), Progress() as progress:
            execution = recover_execution(execution_id, home=home_of(ctx, home),
                                          from_nodes=from_nodes, executor=executor,
                                          max_parallel=max_parallel, observer=progress,
                                          workflow=wf, inputs=given,
                                          echo_output=console_echo(quiet))
    except RilletError as exc:
        fail(str(exc))
    report(execution, as_json)


def console_echo(quiet: bool) -> Callable[[str, str], None]:
    """How a line a task printed is shown live: on stderr (as it is now, before a task
    may redirect ``sys.stderr``) with its node's id; with ``--quiet``, not at all (nor
    passed on to the console by an inline task)."""
    stream = sys.stderr

    def echo_line(node_id: str, line: str) -> None:
        stream.write(f"{node_id} | {line}\n")
        stream.flush()

    def silent(node_id: str, line: str) -> None:
        pass

    return silent if quiet else echo_line


@contextlib.contextmanager
def interrupted(ctx: click.Context, home: str | None) -> Iterator[None]:
    """Ctrl-C during an execution: say which execution was aborted and how to recover
    it (exit 1)."""
    try:
        yield
    except KeyboardInterrupt as exc:
        execution_id = getattr(exc, "execution_id", None)
        if execution_id is None:
            raise
        where = home_of(ctx, home)
        option = f" --home {where}" if where else ""
        click.echo(f"\ninterrupted: execution {execution_id} ABORTED; recover it with "
                   f"`rillet recover {execution_id}{option}`", err=True)
        sys.exit(1)


def open_store(ctx: click.Context, home: str | None) -> Any:
    from rillet.store._home import Home

    try:  # a missing or empty folder is "no rillet home", and is not created
        return Home.open(home_of(ctx, home), create=False)
    except StoreError as exc:
        fail(str(exc))


def open_instance(ctx: click.Context, home: str | None) -> Any:
    """The ``Instance`` of the home (``--home``), not created when missing."""
    from rillet.store._instance import Instance

    try:
        return Instance.home(home_of(ctx, home), create=False)
    except StoreError as exc:
        fail(str(exc))
