"""The code hash follows the user's own code it uses, and nothing else."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rillet.compiler._codehash import CodeHash, _reset_caches, changed_parts, code_hash

_counter = itertools.count()


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    _reset_caches()
    yield
    _reset_caches()


class Loader:
    """Writes user modules under a unique name each time and imports them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.names: list[str] = []

    def load(self, source: str, *, name: str | None = None) -> ModuleType:
        name = name or f"cht_mod_{next(_counter)}"
        path = self.root / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        self.names.append(name)
        spec.loader.exec_module(module)
        return module

    def hash(self, source: str, task: str = "task", **kwargs: Any) -> CodeHash:
        module = self.load(source)
        return code_hash(getattr(module, task), **kwargs)


@pytest.fixture
def loader(tmp_path: Path) -> Iterator[Loader]:
    user = tmp_path / "user"
    user.mkdir()
    sys.path.insert(0, str(user))
    made = Loader(user)
    yield made
    sys.path.remove(str(user))
    for name in made.names:
        sys.modules.pop(name, None)


def _names(result: CodeHash) -> set[str]:
    """Part names without the (unique per test) module name."""
    return {name.split(":", 1)[1] if ":" in name else name for name in result.parts}


def _changed(old: CodeHash, new: CodeHash) -> list[str]:
    """changed_parts, with the unique module names made equal first."""

    def strip(parts: Any) -> dict[str, str]:
        return {
            (k if k.startswith("dist:") or ":" not in k else k.split(":", 1)[1]): v
            for k, v in parts.items()
        }

    return changed_parts(strip(old.parts), strip(new.parts))


BASE = """
    LIMIT = 10

    def helper(x):
        return x * 2

    def unrelated(x):
        return x - 1

    def task(x):
        return helper(x) + LIMIT
"""


def test_helper_edit_changes_hash_and_is_named(loader: Loader) -> None:
    old = loader.hash(BASE)
    new = loader.hash(BASE.replace("x * 2", "x * 3"))
    assert old.digest != new.digest
    assert _changed(old, new) == ["helper"]
    assert "helper" in _names(old) and "task" in _names(old)


def test_unrelated_function_edit_keeps_hash(loader: Loader) -> None:
    old = loader.hash(BASE)
    new = loader.hash(BASE.replace("x - 1", "x - 100"))
    assert old.digest == new.digest
    assert "unrelated" not in _names(old)


def test_comments_formatting_and_docstrings_change_nothing(loader: Loader) -> None:
    old = loader.hash(BASE)
    reformatted = """
        # a comment at the top
        LIMIT = 10  # the limit

        def helper(x):
            '''Doubles x.'''
            return (
                x   *   2   # spaced out
            )


        def task(x):
            \"\"\"The task's docstring.\"\"\"
            # the call
            return helper(x) + LIMIT
    """
    new = loader.hash(reformatted)
    assert old.digest == new.digest


def test_interface_is_part_of_the_hash(loader: Loader) -> None:
    module = loader.load(BASE)
    first = code_hash(module.task, interface="(x: int) -> int")
    second = code_hash(module.task, interface="(x: float) -> int")
    assert first.digest != second.digest
    assert changed_parts(first.parts, second.parts) == ["interface"]


def test_module_constant_read_by_task(loader: Loader) -> None:
    old = loader.hash(BASE)
    new = loader.hash(BASE.replace("LIMIT = 10", "LIMIT = 11"))
    assert old.digest != new.digest
    assert _changed(old, new) == ["LIMIT"]


def test_constant_not_read_is_ignored(loader: Loader) -> None:
    source = BASE + "\n    OTHER = 1\n"
    old = loader.hash(source)
    new = loader.hash(source.replace("OTHER = 1", "OTHER = 2"))
    assert old.digest == new.digest


CLASSES = """
    class Base:
        def scale(self):
            return 2

    class Model(Base):
        def predict(self, x):
            return x * self.scale()

    class Unused:
        def f(self):
            return 0

    def task(x):
        return Model().predict(x)
"""


def test_method_of_used_class_changes_hash(loader: Loader) -> None:
    old = loader.hash(CLASSES)
    new = loader.hash(CLASSES.replace("x * self.scale()", "x + self.scale()"))
    assert old.digest != new.digest
    assert _changed(old, new) == ["Model"]


def test_base_class_of_used_class_is_followed(loader: Loader) -> None:
    old = loader.hash(CLASSES)
    new = loader.hash(CLASSES.replace("return 2", "return 3"))
    assert _changed(old, new) == ["Base"]
    unused = loader.hash(CLASSES.replace("return 0", "return 1"))
    assert unused.digest == old.digest


def test_closure_and_default_argument_functions_are_followed(loader: Loader) -> None:
    source = """
        def in_closure(x):
            return x + 1

        def as_default(x):
            return x + 2

        def make():
            fn = in_closure
            default = as_default
            def task(x, g=default):
                return fn(x) + g(x)
            return task

        task = make()
    """
    old = loader.hash(source)
    assert {"in_closure", "as_default"} <= _names(old)
    by_closure = loader.hash(source.replace("x + 1", "x + 10"))
    by_default = loader.hash(source.replace("x + 2", "x + 20"))
    assert _changed(old, by_closure) == ["in_closure"]
    assert _changed(old, by_default) == ["as_default"]


def test_closure_constant_is_part_of_the_function(loader: Loader) -> None:
    source = """
        def make(k):
            def task(x):
                return x * k
            return task

        task = make(3)
    """
    old = loader.hash(source)
    new = loader.hash(source.replace("make(3)", "make(4)"))
    assert old.digest != new.digest


def test_mutual_recursion_terminates(loader: Loader) -> None:
    source = """
        def even(n):
            return True if n == 0 else odd(n - 1)

        def odd(n):
            return False if n == 0 else even(n - 1)

        def task(n):
            return even(n)
    """
    old = loader.hash(source)
    assert {"even", "odd", "task"} <= _names(old)
    new = loader.hash(source.replace("False if", "bool(0) if"))
    assert _changed(old, new) == ["odd"]


def test_helper_in_another_user_module_through_attribute(loader: Loader) -> None:
    helpers = loader.load(
        """
        FACTOR = 3
        def scale(x):
            return x * FACTOR
        def other(x):
            return x
        """,
        name=f"cht_helpers_{next(_counter)}",
    )
    source = f"""
        import {helpers.__name__} as h

        def task(x):
            return h.scale(x)
    """
    result = loader.hash(source)
    assert f"{helpers.__name__}:scale" in result.parts
    assert f"{helpers.__name__}:FACTOR" in result.parts
    assert f"{helpers.__name__}:other" not in result.parts
    assert result.files[f"{helpers.__name__}:scale"].endswith(f"{helpers.__name__}.py")


def test_user_decorator_and_task_like_wrapper_are_followed(loader: Loader) -> None:
    source = """
        import functools

        def logged(fn):
            @functools.wraps(fn)
            def wrapper(*args):
                return fn(*args)
            return wrapper

        class FakeTask:
            def __init__(self, fn):
                self.fn = fn

        def helper(x):
            return x + 1

        @logged
        def inner(x):
            return helper(x)

        task = FakeTask(inner)
    """
    old = loader.hash(source)
    assert {"logged.<locals>.wrapper", "inner", "helper", "logged"} <= _names(old)
    new = loader.hash(source.replace("x + 1", "x + 2"))
    assert _changed(old, new) == ["helper"]


def test_local_import_of_user_module_is_followed(loader: Loader) -> None:
    name = f"cht_local_{next(_counter)}"
    loader.load("def f(x):\n    return x\n", name=name)
    result = loader.hash(
        f"""
        def task(x):
            from {name} import f
            return f(x)
        """
    )
    assert f"{name}:f" in result.parts


def test_module_level_instance_is_hashed_by_its_statement(loader: Loader) -> None:
    source = """
        from dataclasses import dataclass

        @dataclass
        class Config:
            lr: float

        CFG = Config(lr=0.1)

        def task(x):
            return x * CFG.lr
    """
    old = loader.hash(source)
    assert {"CFG", "Config"} <= _names(old)
    new = loader.hash(source.replace("lr=0.1", "lr=0.2"))
    assert _changed(old, new) == ["CFG"]


def test_lambdas_and_bound_methods(loader: Loader) -> None:
    source = """
        scale = lambda x: x * 2

        class Runner:
            def run(self, x):
                return scale(x)

        task = Runner().run
    """
    old = loader.hash(source)
    assert {"Runner", "Runner.run", "<lambda>"} <= _names(old)
    new = loader.hash(source.replace("x * 2", "x * 3"))
    assert _changed(old, new) == ["<lambda>"]


def test_class_and_method_docstrings_change_nothing(loader: Loader) -> None:
    old = loader.hash(CLASSES)
    documented = CLASSES.replace(
        "class Model(Base):", 'class Model(Base):\n        """A model."""\n'
    ).replace("def scale(self):", 'def scale(self):\n            """Two."""')
    new = loader.hash(documented)
    assert old.digest == new.digest


def test_rillet_task_decorator_arguments_are_not_code(loader: Loader) -> None:
    source = """
        from rillet import task

        @task(retries=1)
        def helper(x: int) -> int:
            return x + 1

        @task
        def outer(x: int) -> int:
            return helper(x=x) * 2
    """
    old = loader.hash(source, task="outer")
    assert {"outer", "helper"} <= _names(old)
    assert "dist:rillet" not in old.parts  # only @task names rillet: that is no dependency
    retried = loader.hash(source.replace("retries=1", "retries=5"), task="outer")
    assert retried.digest == old.digest
    edited = loader.hash(source.replace("x + 1", "x + 2"), task="outer")
    assert _changed(old, edited) == ["helper"]


def test_memoized_per_function_object(loader: Loader) -> None:
    module = loader.load(BASE)
    first = code_hash(module.task)
    fastest = float("inf")
    for _ in range(20):
        start = time.perf_counter()
        again = code_hash(module.task)
        fastest = min(fastest, time.perf_counter() - start)
        assert again is first
    assert fastest < 0.0005
    assert code_hash(module.task, interface="other") is not first


EXECUTED = """
class Base:
    def k(self):
        return 1

class Model(Base):
    pass

def task(x):
    return x + Model().k()
"""


def _exec_task(source: str) -> CodeHash:
    namespace: dict[str, Any] = {"__name__": "cht_exec"}
    exec(source, namespace)  # noqa: S102
    return code_hash(namespace["task"])


def test_source_less_code_falls_back_to_bytecode() -> None:
    first = _exec_task(EXECUTED)
    assert {"cht_exec:task", "cht_exec:Model", "cht_exec:Base"} <= set(first.parts)
    assert _exec_task(EXECUTED).digest == first.digest
    assert changed_parts(first.parts, _exec_task(EXECUTED.replace("x +", "x -")).parts) == [
        "cht_exec:task"
    ]
    base_edited = _exec_task(EXECUTED.replace("return 1", "return 2"))
    assert changed_parts(first.parts, base_edited.parts) == ["cht_exec:Base"]


def test_stdlib_is_not_a_part(loader: Loader) -> None:
    result = loader.hash(
        """
        import os.path
        import json

        def task(x):
            return json.dumps(os.path.join("a", x))
        """
    )
    assert _names(result) == {"task", "interface"}


# -- third-party distributions ------------------------------------------------------------


def _write_tinydep(site: Path, version: str) -> None:
    package = site / "tinydep"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("def double(x):\n    return 2 * x\n")
    info = site / f"tinydep-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: tinydep\nVersion: {version}\n"
    )
    (info / "top_level.txt").write_text("tinydep\n")
    (info / "RECORD").write_text(
        "tinydep/__init__.py,,\n"
        f"tinydep-{version}.dist-info/METADATA,,\n"
        f"tinydep-{version}.dist-info/RECORD,,\n"
        f"tinydep-{version}.dist-info/top_level.txt,,\n"
    )


@pytest.fixture
def tinydep_sites(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Installs tinydep at a version: a fresh ``site-packages`` dir put first on sys.path."""
    added: list[str] = []

    def install(version: str) -> Path:
        for path in added:
            sys.path.remove(path)
        added.clear()
        sys.modules.pop("tinydep", None)
        site = tmp_path / f"v{version}" / "site-packages"
        _write_tinydep(site, version)
        sys.path.insert(0, str(site))
        added.append(str(site))
        _reset_caches()
        return site

    yield install
    for path in added:
        sys.path.remove(path)
    sys.modules.pop("tinydep", None)


USES_TINYDEP = """
    import tinydep

    def task(x):
        return tinydep.double(x)
"""


def test_distribution_version_change_changes_hash(
    loader: Loader, tinydep_sites: Callable[[str], Path]
) -> None:
    tinydep_sites("1.0")
    old = loader.hash(USES_TINYDEP)
    assert old.parts["dist:tinydep"] == "1.0"
    tinydep_sites("1.1")
    new = loader.hash(USES_TINYDEP)
    assert new.parts["dist:tinydep"] == "1.1"
    assert old.digest != new.digest
    assert _changed(old, new) == ["dist:tinydep"]


def test_third_party_function_imported_by_name(
    loader: Loader, tinydep_sites: Callable[[str], Path]
) -> None:
    tinydep_sites("2.0")
    result = loader.hash(
        """
        from tinydep import double

        def task(x):
            return double(x)
        """
    )
    assert result.parts["dist:tinydep"] == "2.0"
    assert not any(name.startswith("tinydep:") for name in result.parts)


def test_rillet_itself_counts_as_a_distribution(loader: Loader) -> None:
    result = loader.hash(
        """
        from rillet.compiler import _codehash

        def task(x):
            return _codehash.changed_parts({}, {})
        """
    )
    assert "dist:rillet" in result.parts


def test_distribution_named_unlike_its_module(
    loader: Loader, tinydep_sites: Callable[[str], Path]
) -> None:
    """Like PyYAML providing ``yaml``: found through importlib.metadata."""
    site = tinydep_sites("1.0")
    (site / "tinyalt.py").write_text("def f(x):\n    return x\n")
    info = site / "Tiny_Other-3.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: Tiny-Other\nVersion: 3.2\n")
    (info / "RECORD").write_text("tinyalt.py,,\nTiny_Other-3.2.dist-info/METADATA,,\n")
    _reset_caches()
    try:
        result = loader.hash(
            """
            def task(x):
                import tinyalt
                return tinyalt.f(x)
            """
        )
    finally:
        sys.modules.pop("tinyalt", None)
    assert result.parts["dist:Tiny-Other"] == "3.2"
