"""``ImageSpec`` and the environment record a task carries.

A Flyte ``ImageSpec`` names a container image; here it names the Python packages
and version a task needs. ``Environment`` is the small frozen record the executors
use (the processes executor builds a virtual environment per ``hash``; the Ray
executor maps it to a ``runtime_env``). Nothing here installs anything.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from rillet.errors import DefinitionError


@dataclass(frozen=True, slots=True)
class Environment:
    """The packages (pip requirement strings) and Python version a task runs with."""

    packages: tuple[str, ...] = ()
    python_version: str | None = None
    hash: str = field(init=False, default="")

    def __post_init__(self) -> None:
        pkgs = (self.packages,) if isinstance(self.packages, str) else tuple(self.packages)
        for p in pkgs:
            if not isinstance(p, str) or not p.strip():
                raise DefinitionError(f"Environment(packages=...): {p!r} is not a requirement")
        pkgs = tuple(sorted({p.strip() for p in pkgs}))
        object.__setattr__(self, "packages", pkgs)
        version = self.python_version
        if version is not None:
            version = str(version)
            parts = version.split(".")
            if not (1 < len(parts) < 4 and all(p.isdigit() for p in parts)):
                raise DefinitionError(
                    f"Environment(python_version={self.python_version!r}): give e.g. '3.11'"
                )
            object.__setattr__(self, "python_version", version)
        body = json.dumps({"packages": pkgs, "python": version}, sort_keys=True)
        object.__setattr__(self, "hash", hashlib.sha256(body.encode()).hexdigest()[:16])

    def to_json(self) -> dict[str, Any]:
        return {"packages": list(self.packages), "python_version": self.python_version,
                "hash": self.hash}

    def runs_here(self) -> bool:
        """Whether this interpreter is the requested Python version."""
        if self.python_version is None:
            return True
        here = ".".join(map(str, sys.version_info[: len(self.python_version.split("."))]))
        return here == self.python_version


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageSpec:
    """flytekit's ``ImageSpec``: ``packages`` and ``python_version`` are used (a
    virtual environment per task environment); the image fields (``name``,
    ``registry``, ``base_image``, ``apt_packages``...) are kept as given and recorded,
    since no container is built here."""

    name: str = "rillet"
    packages: tuple[str, ...] | list[str] = ()
    python_version: str | None = None
    requirements: str | None = None
    registry: str | None = None
    base_image: str | None = None
    apt_packages: tuple[str, ...] | list[str] = ()
    conda_packages: tuple[str, ...] | list[str] = ()
    env: dict[str, str] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __init__(self, name: str = "rillet", packages: Any = (), python_version: Any = None,
                 requirements: str | None = None, registry: str | None = None,
                 base_image: str | None = None, apt_packages: Any = (),
                 conda_packages: Any = (), env: dict[str, str] | None = None,
                 **options: Any) -> None:
        for key, value in (("name", name), ("packages", tuple(packages or ())),
                           ("python_version", python_version), ("requirements", requirements),
                           ("registry", registry), ("base_image", base_image),
                           ("apt_packages", tuple(apt_packages or ())),
                           ("conda_packages", tuple(conda_packages or ())), ("env", env),
                           ("options", options)):
            object.__setattr__(self, key, value)

    def environment(self) -> Environment:
        packages = list(self.packages)
        if self.requirements:
            try:
                with open(self.requirements) as fh:
                    packages += [ln.split("#")[0].strip() for ln in fh
                                 if ln.split("#")[0].strip()]
            except OSError as exc:
                raise DefinitionError(
                    f"ImageSpec(requirements={self.requirements!r}): cannot read it: {exc}"
                ) from None
        return Environment(packages=tuple(packages), python_version=self.python_version)

    def with_packages(self, packages: Any) -> ImageSpec:
        """flytekit's ``ImageSpec.with_packages``: a copy with more packages."""
        extra = [packages] if isinstance(packages, str) else list(packages)
        return ImageSpec(name=self.name, packages=(*self.packages, *extra),
                         python_version=self.python_version, requirements=self.requirements,
                         registry=self.registry, base_image=self.base_image,
                         apt_packages=self.apt_packages, conda_packages=self.conda_packages,
                         env=self.env, **self.options)

    def is_container(self) -> bool:
        """flytekit asks this to know whether it runs inside the image: here, always."""
        return True

    def exist(self) -> bool:
        return True


def environment_of(value: Any, task_name: str) -> Environment | None:
    """The Environment of ``@task(container_image=...)`` or ``environment=...``: an
    ImageSpec, an Environment, or a container image name (a str: recorded, nothing to
    build here, so no Environment)."""
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, Environment):
        return value
    if isinstance(value, ImageSpec):
        env = value.environment()
        return env if env.packages or env.python_version else None
    raise DefinitionError(
        f"task '{task_name}': container_image/environment takes an ImageSpec, an "
        f"Environment or an image name, got {type(value).__name__}"
    )
