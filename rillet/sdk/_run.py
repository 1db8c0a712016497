"""``rillet.run()`` and ``rillet.recover()``: durable executions from Python.

Wires a home (metadata store + artifact store), an executor and the engine
together. The CLI calls these same functions.
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
from typing import Any

from rillet.compiler._spec import WorkflowSpec, walk
from rillet.engine._durable import Engine, Observer, Reuse
from rillet.engine._loading import load_file, resolve
from rillet.engine._protocols import Executor
from rillet.engine._reaper import reap
from rillet.engine._records import ExecutionStatus
from rillet.engine._streams import Echo
from rillet.engine._values import ValueStore
from rillet.engine._views import Execution
from rillet.errors import DefinitionError, RilletError
from rillet.sdk._taskflow import as_workflow

_EXECUTORS: dict[tuple[str, int | None], Executor] = {}
EXECUTOR_KINDS = ("inline", "processes", "ray")


def make_executor(kind: str | Executor, max_parallel: int | None = None) -> Executor:
    """A warm executor, reused by later runs in this process (or the one given)."""
    if not isinstance(kind, str):
        return kind
    key = (kind, max_parallel)
    ex = _EXECUTORS.get(key)
    if ex is not None:
        return ex
    from rillet.executors._registry import load_executor

    ex = _EXECUTORS[key] = load_executor(kind, max_parallel)
    return ex


@atexit.register
def _shutdown_executors() -> None:
    for ex in _EXECUTORS.values():
        try:
            ex.shutdown()
        except Exception:
            pass
    _EXECUTORS.clear()


def check_resources(spec: WorkflowSpec, executor: str = "processes",
                    max_parallel: int | None = None) -> None:
    """Refuse, before anything starts, a task asking for more than the whole capacity
    (on Ray: more than any one node of the cluster offers)."""
    asking = [n for n in walk(spec.nodes) if getattr(n.entity, "requests", None) is not None]
    if executor == "ray":
        from rillet.sdk._rayadmit import check_cluster

        check_cluster(make_executor("ray", max_parallel), asking)
        return
    if not asking:
        return  # nothing declared: the machine's capacity need not even be read
    custom = [n for n in asking if getattr(n.entity.requests, "custom", None)]
    if custom:
        task = custom[0].entity
        raise DefinitionError(
            f"task '{task.name}' (node '{custom[0].id}') requests custom resources "
            f"{dict(task.requests.custom)}, which only executor='ray' provides")
    from rillet.executors._capacity import machine_capacity

    cpu, mem, gpu = machine_capacity()
    for node in asking:
        task = node.entity
        req = task.requests
        for label, asked, have in (("cpu", req.cpu_cores, cpu), ("mem", req.mem_bytes, mem),
                                   ("gpu", req.gpu_count, gpu)):
            if asked and asked > have:
                raise DefinitionError(
                    f"task '{task.name}' (node '{node.id}') requests {label}={getattr(req, label)}"
                    f" but this machine's capacity is {label}={_show(label, have)}; lower the "
                    "request or run on a bigger machine"
                )


def _show(label: str, value: float) -> str:
    if label == "mem":
        return f"{value / 2**30:.1f}Gi"
    return f"{value:g}"


def source_of(workflow: Any) -> str:
    mod = sys.modules.get(workflow.fn.__module__)
    file = getattr(mod, "__file__", None)
    return os.path.abspath(file) if file else str(workflow.fn.__module__)


def _open_home(home: str | None) -> Any:
    from rillet.store._home import Home

    return Home.shared(home)


def _engine(h: Any, executor: str | Executor, max_parallel: int | None,
            observer: Observer | None, echo: Echo | None = None) -> Engine:
    # A run's checkpoint and work folders are made by what writes into them (the
    # executors' sinks, ``working_directory``), as a study's trials do: not two mkdirs
    # for every execution.
    return Engine(store=h.store, artifacts=h.artifacts,
                  executor=make_executor(executor, max_parallel),
                  checkpoint_path=functools.partial(h.checkpoint_path, make=False),
                  work_dir=functools.partial(h.work_dir, make=False), observer=observer,
                  log_path=h.log_path, echo=echo)


def run(workflow: Any, *, home: str | None = None, executor: str = "processes",
        max_parallel: int | None = None, observer: Observer | None = None,
        execution_name: str | None = None, execution_tags: dict[str, str] | None = None,
        echo_output: Echo | None = None, **inputs: Any) -> Execution:
    """Run ``workflow`` durably in a home (default ``$RILLET_HOME`` or ``./.rillet``).

    ``execution_name`` and ``execution_tags`` label the execution (``rillet executions
    list --name/--tag`` find it by them). ``echo_output(node_id, line)`` gets each
    line the tasks print while they run (the processes executor)."""
    if not hasattr(workflow, "spec"):
        raise DefinitionError(f"rillet.run() needs a @workflow, got {type(workflow).__name__}")
    values = workflow.resolve_inputs((), inputs)
    check_resources(workflow.spec, executor, max_parallel)
    h = _open_home(home)
    engine = _engine(h, executor, max_parallel, observer, echo_output)
    record = engine.execute(workflow, values, source=source_of(workflow),
                            name=execution_name, tags=execution_tags)
    keep_record(h, workflow, record.id)
    return Execution(record, h.store, ValueStore(h.store, h.artifacts), workflow)


def keep_record(h: Any, workflow: Any, execution_id: str) -> None:
    """Store the code and environment the execution ran with (``rillet diff``/``reproduce``);
    a failure to record is reported, never fatal to the run."""
    from rillet.sdk._record import save_record

    try:
        save_record(h, workflow, execution_id)
    except Exception as exc:
        print(f"rillet: could not record the code and environment of {execution_id}: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)


def load_workflow(workflow_name: str, source: str) -> Any:
    """The workflow an execution ran, from its file as it is now (or its module)."""
    module, _, qualname = workflow_name.partition(":")
    is_file = source.endswith((".py", ".ipynb"))
    if is_file and not os.path.exists(source):
        raise DefinitionError(
            f"the file of workflow {workflow_name}, {source}, is gone (deleted or moved); "
            "put it back to recover this execution")
    try:
        if is_file and os.path.isfile(source):  # it may have run as a script (__main__)
            module = load_file(source).__name__
        return as_workflow(resolve(module, qualname, source if is_file else None))
    except (AttributeError, ImportError) as exc:
        raise DefinitionError(
            f"cannot find workflow '{qualname}' of {workflow_name} in {source}: "
            f"{type(exc).__name__}: {exc}"
        ) from None


def recovered_workflow(execution_id: str, *, home: str | None = None) -> Any:
    """The workflow a recovery of ``execution_id`` would run (from its file as it is now)."""
    from rillet.store._home import Home

    with Home.open(home, create=False) as h:
        old = h.store.get_execution(execution_id)
    return load_workflow(old.workflow, old.source)


def recover(execution_id: str, *, home: str | None = None, from_nodes: tuple[str, ...] = (),
            executor: str | Executor = "processes", max_parallel: int | None = None,
            observer: Observer | None = None, workflow: Any = None,
            inputs: dict[str, Any] | None = None, echo_output: Echo | None = None,
            instance: Any = None, new_id: str | None = None) -> Execution:
    """Start a new execution that reuses what ``execution_id`` finished (see DESIGN.md).

    ``inputs`` supply inputs the workflow now requires, or override recorded ones; the
    recorded inputs are checked against the workflow's interface as it is today.
    ``instance`` (a ``rillet.store.Instance``) replaces the home; ``new_id`` names the
    new execution (a server returns it before the recovery ends)."""
    from rillet.sdk._recoverinputs import recovery_inputs

    h = instance if instance is not None else _open_home(home)
    store = h.store
    (old,) = reap(store, [store.get_execution(execution_id)])
    if old.status in (ExecutionStatus.RUNNING, ExecutionStatus.QUEUED):
        raise RilletError(
            f"execution {old.id} is still {old.status.value} (owner pid {old.owner_pid} on "
            f"{old.owner_host}); wait for it or stop it before recovering"
        )
    wf = workflow if workflow is not None else load_workflow(old.workflow, old.source)
    values = ValueStore(store, h.artifacts)
    resolved = recovery_inputs(old, wf, values, dict(inputs or {}))
    nodes = {n.node_id: n for n in store.nodes(old.id)}
    unknown = [n for n in from_nodes if n not in nodes]
    if unknown:
        raise DefinitionError(
            f"execution {old.id} has no node {', '.join(map(repr, unknown))} "
            f"(its nodes: {', '.join(sorted(nodes))})"
        )
    check_resources(wf.spec, executor if isinstance(executor, str) else executor.name,
                    max_parallel)
    engine = _engine(h, executor, max_parallel, observer, echo_output)
    produced = [digest for n in nodes.values() for digest in n.outputs.values()]
    pruned = frozenset(d for d, a in store.artifacts(produced).items() if a.purged)
    reuse = Reuse(execution_id=old.id, nodes=nodes, rerun=frozenset(from_nodes), pruned=pruned)
    record = engine.execute(wf, resolved, source=old.source, reuse=reuse, parent=old,
                            execution_id=new_id)
    keep_record(h, wf, record.id)
    return Execution(record, store, values, wf)
