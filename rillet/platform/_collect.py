"""What a code bundle defines: imported in a process of its own (``python -m
rillet.platform._collect FOLDER``), it prints one JSON document listing every task,
workflow and launch plan of the bundle's modules with its interface (type
descriptors), IR and code hash.

The registering process never imports the user's code itself: a bundle's import side
effects, and its modules, stay in the child. Only this module runs user code.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from typing import Any

from rillet.errors import DefinitionError

TIMEOUT = 300.0


def _jsonable(value: Any) -> tuple[bool, Any]:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return True, value
    import dataclasses
    import enum

    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, (list, tuple)):
        items = [_jsonable(v) for v in value]
        return all(ok for ok, _ in items), [v for _, v in items]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        pairs = {k: _jsonable(v) for k, v in value.items()}
        return all(ok for ok, _ in pairs.values()), {k: v for k, (_, v) in pairs.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    return False, None


def _interface(iface: Any) -> dict[str, Any]:
    from rillet.types._descriptor import describe

    defaults: dict[str, Any] = {}
    opaque: list[str] = []
    for key, value in iface.defaults.items():
        ok, encoded = _jsonable(value)
        if ok:
            defaults[key] = encoded
        else:
            opaque.append(key)
    return {
        "inputs": {k: describe(t) for k, t in iface.inputs.items()},
        "defaults": defaults,
        "defaulted": opaque,
        "outputs": {k: describe(t) for k, t in iface.outputs.items()},
    }


def public_name(identity: str) -> str:
    """``module:qualname`` -> ``module.qualname`` (the registered NAME)."""
    return identity.replace(":", ".", 1)


def _entity(obj: Any) -> dict[str, Any] | None:
    from rillet.compiler._serialize import spec_hash, spec_json
    from rillet.engine._cachekey import code_hash_of
    from rillet.sdk._task import Task
    from rillet.sdk._workflow import Workflow

    if isinstance(obj, Workflow):
        return {"kind": "workflow", "name": public_name(obj.name), "identity": obj.name,
                "interface": _interface(obj.interface), "spec": spec_json(obj.spec),
                "code_hash": spec_hash(obj.spec)}
    if isinstance(obj, Task):
        return {"kind": "task", "name": public_name(obj.name), "identity": obj.name,
                "interface": _interface(obj.interface), "spec": None,
                "code_hash": str(code_hash_of(obj).digest)}
    return None


def _schedule(schedule: Any) -> dict[str, Any] | None:
    """A schedule as JSON: ``{type: CronSchedule, schedule, kickoff_time_input_arg}`` or
    ``{type: FixedRate, seconds, kickoff_time_input_arg}`` (what the scheduler reads)."""
    if schedule is None:
        return None
    out: dict[str, Any] = {"type": type(schedule).__name__,
                           "kickoff_time_input_arg": schedule.kickoff_time_input_arg}
    if out["type"] == "FixedRate":
        out["seconds"] = schedule.duration.total_seconds()
    else:
        out["schedule"] = schedule.schedule
    return out


def _launch_plan(plan: Any, workflow: dict[str, Any]) -> dict[str, Any]:
    iface = json.loads(json.dumps(workflow["interface"]))
    fixed: dict[str, Any] = {}
    for label, values in (("default_inputs", plan.default_inputs),
                          ("fixed_inputs", plan.fixed_inputs)):
        for key, value in values.items():
            ok, encoded = _jsonable(value)
            if not ok:
                raise DefinitionError(
                    f"launch plan '{plan.name}': {label}['{key}'] has no JSON form; a registered "
                    "launch plan's inputs must be JSON values")
            if label == "fixed_inputs":
                fixed[key] = encoded
            else:
                iface["defaults"][key] = encoded
    iface["fixed"] = fixed
    detail: dict[str, Any] = {"workflow": workflow["name"], "schedule": _schedule(plan.schedule)}
    if plan.notifications:  # only when named: plans without them keep their hash
        detail["notifications"] = [{"url": h.url, "on": list(h.on), "secret_env": h.secret_env}
                                   for h in plan.notifications]
    name = plan.name if plan.name != plan.workflow.name else workflow["name"]
    digest = hashlib.sha256(json.dumps([workflow["code_hash"], iface, detail],
                                       sort_keys=True).encode()).hexdigest()
    return {"kind": "launch_plan", "name": name, "identity": plan.workflow.name,
            "interface": iface, "spec": detail, "code_hash": digest}


def collect(folder: str, modules: list[str]) -> list[dict[str, Any]]:
    """Import ``modules`` from ``folder`` and describe what they define (in this process)."""
    import importlib

    from rillet.engine._loading import load_file
    from rillet.platform._bundle import module_file
    from rillet.sdk._launchplan import LaunchPlan

    sys.path.insert(0, folder)
    found: dict[str, dict[str, Any]] = {}
    for module in modules:
        notebook = module_file(folder, module)  # a notebook loads by its own loader
        mod = load_file(notebook) if notebook else importlib.import_module(module)
        for obj in list(vars(mod).values()):
            fn = getattr(obj, "fn", None)
            if getattr(fn, "__module__", None) != module:
                continue  # imported from elsewhere: registered where it is defined
            entity = _entity(obj)
            if entity is not None:
                found.setdefault(entity["name"], entity)
    workflows = {e["identity"]: e for e in found.values() if e["kind"] == "workflow"}
    for plan in list(LaunchPlan._registry.values()):
        wf = workflows.get(plan.workflow.name)
        if wf is not None and not (plan.name == plan.workflow.name and not plan.default_inputs
                                   and not plan.fixed_inputs and plan.schedule is None
                                   and not plan.notifications):
            lp = _launch_plan(plan, wf)
            found.setdefault(lp["name"], lp)
    return [found[k] for k in sorted(found)]


def collect_in_child(folder: str, modules: tuple[str, ...]) -> list[dict[str, Any]]:
    """Run :func:`collect` in a new Python process; raise ``DefinitionError`` with the
    child's last error line when the bundle cannot be imported."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "rillet.platform._collect", folder, *modules],
            capture_output=True, text=True, timeout=TIMEOUT, cwd=folder, env=env)
    except subprocess.TimeoutExpired:
        raise DefinitionError(f"importing the bundle took over {TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        raise DefinitionError(
            "importing the code to register failed: " + (lines[-1] if lines else
                                                         f"exit {done.returncode}"))
    out: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def _main(argv: list[str]) -> int:
    folder, modules = argv[0], argv[1:]
    entities = collect(folder, modules)
    sys.stdout.write("\n" + json.dumps(entities, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
