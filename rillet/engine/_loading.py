"""Loading user code: a workflow file given on the command line, and finding a
task again by its identity (module, qualname, file) in another process.

It imports user code and nothing else; it never runs a workflow.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

from rillet.errors import DefinitionError

# Files that are not Python source but load as a module, by suffix: the module that
# provides ``load_module(path) -> ModuleType``, imported when first needed (so this
# layer does not depend on it). Their module is named ``<stem>_<suffix>``.
FILE_LOADERS: dict[str, str] = {".ipynb": "rillet.notebook._load"}


def module_name_for(path: str) -> str:
    stem, suffix = os.path.splitext(os.path.basename(path))
    if suffix in FILE_LOADERS:
        stem = f"{stem}_{suffix[1:]}"
    return stem if stem.isidentifier() else "rillet_user_" + "".join(
        c if c.isalnum() else "_" for c in stem
    )


def load_file(path: str) -> ModuleType:
    """Import a user's ``.py`` file as a module named after it (like ``python file.py``
    would put its folder on ``sys.path``). Loading the same file twice returns the same
    module. A notebook (``.ipynb``) loads through its own loader."""
    full = os.path.abspath(path)
    if not os.path.isfile(full):
        raise DefinitionError(f"{path}: no such file")
    loader = FILE_LOADERS.get(os.path.splitext(full)[1])
    if loader is not None:
        loaded: ModuleType = importlib.import_module(loader).load_module(full)
        return loaded
    name = module_name_for(full)
    existing = sys.modules.get(name)
    if existing is not None and os.path.abspath(getattr(existing, "__file__", "") or "") == full:
        return existing
    folder = os.path.dirname(full)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, full)
    if spec is None or spec.loader is None:
        raise DefinitionError(f"{path}: cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def resolve(module: str, qualname: str, file: str | None) -> Any:
    """Find an object again by module and qualname (loading ``file`` if needed)."""
    mod = sys.modules.get(module)
    if mod is not None and file and os.path.isfile(file) and _other_file(mod, file):
        mod = None  # another bundle's copy of this module: import the one named
    if mod is None:
        if file and os.path.isfile(file) and module_name_for(file) == module:
            mod = load_file(file)
        elif file and "." in module and os.path.isfile(file):
            mod = _import_package_module(module, file)
        else:
            mod = importlib.import_module(module)
    obj: Any = mod
    for part in qualname.split("."):
        if part == "<locals>":
            raise DefinitionError(
                f"{module}:{qualname} is defined inside a function; define tasks at module level "
                "to run them in worker processes"
            )
        obj = getattr(obj, part)
    return obj


def _other_file(mod: ModuleType, file: str) -> bool:
    have = getattr(mod, "__file__", None)
    return bool(have) and os.path.abspath(str(have)) != os.path.abspath(file)


def _import_package_module(module: str, file: str) -> ModuleType:
    """Import ``module`` (dotted) from the folder that holds its package, as found
    from its file: a module of a registered bundle, in a process that has not yet
    put that bundle on ``sys.path``. A copy of the package from elsewhere is dropped."""
    parts = module.split(".")
    path = os.path.abspath(file)
    tail = os.path.join(*parts) + ".py"
    init = os.path.join(*parts, "__init__.py")
    for suffix in (tail, init):
        if path.endswith(os.sep + suffix):
            root = path[: -len(suffix) - 1]
            break
    else:
        return importlib.import_module(module)
    top = parts[0]
    loaded = sys.modules.get(top)
    if loaded is not None and _other_file(loaded, os.path.join(root, top, "__init__.py")):
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[name]
    if root in sys.path:
        sys.path.remove(root)
    sys.path.insert(0, root)
    importlib.invalidate_caches()
    return importlib.import_module(module)


def _restore(module: str, qualname: str, file: str | None) -> Any:
    return resolve(module, qualname, file)


def reduce_entity(entity: Any) -> tuple[Any, tuple[str, str, str | None]]:
    """``__reduce__`` for tasks and workflows: pickled by identity, not by value."""
    fn = entity.fn
    module = fn.__module__
    mod = sys.modules.get(module)
    file = getattr(mod, "__file__", None) if mod is not None else None
    return _restore, (module, fn.__qualname__, file)
