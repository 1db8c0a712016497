"""``flytekit.extras.tasks.shell``: ``ShellTask``, a bash script run as a task.

The script is a template: ``{inputs.x}`` becomes input ``x`` (a File or Directory by its
local path, anything else by ``str``), ``{outputs.y}`` the location of output ``y``.
Each ``OutputLocation(var, var_type, location)`` names an output, a File or Directory
found at ``location`` (itself a template over the inputs) once the script has run. The
script runs as a real ``bash`` subprocess in the attempt's working directory; a non-zero
exit fails the task with the exit code and the end of what the script wrote to stderr.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, NamedTuple

from rillet.errors import DefinitionError
from rillet.flyte import current_context, task
from rillet.types._files import Directory, File


@dataclass(frozen=True)
class OutputLocation:
    """flytekit's ``OutputLocation``: output ``var`` of type ``var_type`` (a File or a
    Directory) is found at ``location`` after the script ran."""

    var: str
    var_type: Any
    location: str


class _Names:
    """``{inputs.x}``: attribute access over the values of one template."""

    def __init__(self, kind: str, values: dict[str, str]) -> None:
        self._kind, self._values = kind, values

    def __getattr__(self, name: str) -> str:
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(f"{{{self._kind}.{name}}}: no {self._kind[:-1]} named {name!r} "
                           f"(known: {', '.join(self._values) or 'none'})") from None


def _text(value: Any) -> str:
    if isinstance(value, (File, Directory)):
        return value.path
    return str(value)


def _render(template: str, what: str, **names: _Names) -> str:
    try:
        return template.format(**names)
    except (KeyError, IndexError, ValueError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise ValueError(f"{what}: {message}") from None


class _Spec(NamedTuple):
    name: str
    script: str
    inputs: dict[str, Any]
    outputs: tuple[OutputLocation, ...]
    debug: bool
    several: type | None


def _run(spec: _Spec, kwargs: dict[str, Any]) -> Any:
    workdir = current_context().working_directory
    ins = _Names("inputs", {k: _text(v) for k, v in kwargs.items()})
    where = {
        loc.var: os.path.join(workdir, _render(loc.location, f"output '{loc.var}'", inputs=ins))
        for loc in spec.outputs
    }
    script = _render(spec.script, f"shell task '{spec.name}'", inputs=ins,
                     outputs=_Names("outputs", where))
    if spec.debug:
        print(f"shell task '{spec.name}' runs in {workdir}:\n{script}", file=sys.stderr)
    proc = subprocess.run(["bash", "-c", script], cwd=workdir, capture_output=True,
                          text=True, check=False)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise RuntimeError(
            f"shell task '{spec.name}' exited with {proc.returncode}"
            + (f": {tail}" if tail else "")
        )
    values = []
    for loc in spec.outputs:
        path = where[loc.var]
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"shell task '{spec.name}': output '{loc.var}' should be at {path}, "
                "but the script made nothing there"
            )
        values.append(loc.var_type(path))
    if spec.several is not None:
        return spec.several(*values)
    return values[0] if values else None


def _plain(tp: Any) -> Any:
    """The File or Directory class an output type names (``FlyteFile[typing.TypeVar("csv")]``)."""
    base = getattr(tp, "__origin__", tp)
    for kind in (File, Directory):
        if isinstance(base, type) and issubclass(base, kind):
            return kind
    return None


def ShellTask(  # flytekit's name
    name: str,
    script: str | None = None,
    inputs: dict[str, Any] | None = None,
    output_locs: list[OutputLocation] | None = None,
    debug: bool = False,
    script_file: str | None = None,
    cache: bool = False,
    cache_version: str = "",
    **options: Any,
) -> Any:
    """flytekit's ``ShellTask(name, script=..., inputs=kwtypes(...), output_locs=[...])``.

    Returns a task (call it in a workflow, or directly). ``script_file`` reads the script
    from a file. The script and the output locations are the task's version: a cached
    shell task is computed again when either changes.
    """
    if (script is None) == (script_file is None):
        raise DefinitionError(f"ShellTask '{name}': give script= or script_file=, one of them")
    if script_file is not None:
        with open(script_file) as fh:
            script = fh.read()
    assert script is not None
    inputs = dict(inputs or {})
    outs = tuple(output_locs or ())
    for n in [name, *inputs, *(o.var for o in outs)]:
        if not n.isidentifier():
            raise DefinitionError(f"ShellTask '{name}': {n!r} is not a valid name")
    for loc in outs:
        if _plain(loc.var_type) is None:
            raise DefinitionError(
                f"ShellTask '{name}': output '{loc.var}' is {loc.var_type!r}; an output "
                "location holds a FlyteFile or a FlyteDirectory"
            )
    outs = tuple(OutputLocation(o.var, _plain(o.var_type), o.location) for o in outs)
    several: Any = None
    ret: Any = None
    if len(outs) == 1:
        ret = outs[0].var_type
    elif outs:
        several = NamedTuple(  # type: ignore[misc,no-redef]
            f"{name}_outputs", [(o.var, o.var_type) for o in outs])
        ret = several
    spec = _Spec(name, script, inputs, outs, debug, several)
    names = list(inputs)
    ns: dict[str, Any] = {"_run": _run, "_spec": spec}
    exec(  # a plain def, so that the interface is read from a real signature
        f"def {name}({'*, ' if names else ''}{', '.join(names)}):\n"
        f"    return _run(_spec, {{{', '.join(f'{n!r}: {n}' for n in names)}}})\n",
        ns,
    )
    fn = ns[name]
    fn.__annotations__ = {**inputs, "return": ret}
    fn.__module__ = __name__
    fn.__qualname__ = f"ShellTask.{name}"
    kw: dict[str, Any] = dict(options)
    if cache:
        digest = hashlib.sha256(repr((script, outs, sorted(inputs))).encode()).hexdigest()
        kw["cache"] = True
        kw["cache_version"] = f"{cache_version}-{digest[:16]}" if cache_version else digest[:16]
    t = task(**kw)(fn)
    t.shell_script = script
    caller = sys._getframe(1).f_globals
    module, file = caller.get("__name__", ""), caller.get("__file__")
    _TASKS[(module, name)] = t
    # Pickled by where it was defined (a worker process imports that module again).
    t.__reduce_ex__ = lambda protocol: (_restore, (module, file, name))
    return t


_TASKS: dict[tuple[str, str], Any] = {}


def _restore(module: str, file: str | None, name: str) -> Any:
    """The shell task ``name`` defined in ``module``, importing it if needed."""
    found = _TASKS.get((module, name))
    if found is None:
        from rillet.engine._loading import resolve

        resolve(module, "__name__", file)
        found = _TASKS.get((module, name)) or _TASKS.get(
            (module_name_of(file), name) if file else (module, name))
    if found is None:
        raise DefinitionError(f"shell task '{name}' is not defined in {module}")
    return found


def module_name_of(file: str) -> str:
    from rillet.engine._loading import module_name_for

    return module_name_for(file)


__all__ = ["OutputLocation", "ShellTask"]
