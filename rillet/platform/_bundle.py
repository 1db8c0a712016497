"""Code bundles: a file or a package folder packed into a deterministic, content-hashed
archive, and unpacked once per machine into a cache keyed by that hash.

The same content always gives the same bytes (sorted entries, fixed mtimes, owner and
mode), so the hash is the version of the code. ``.rillet/``, ``.venv/``, ``__pycache__``
and ``.git`` are left out. Unpacking refuses any entry that would land outside its
folder. This module reads and writes files only; it never imports the user's code.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass

from rillet.errors import DefinitionError, StoreError

SKIPPED = frozenset({".rillet", ".venv", "__pycache__", ".git", ".bench", ".mypy_cache",
                     ".pytest_cache", ".ruff_cache"})
MTIME = 946684800  # 2000-01-01: every entry gets this time, so equal content packs equally
MAX_BYTES = 256 * 2**20
NOTEBOOK = ".ipynb"  # a notebook at a bundle's top is registered like a module
CODE_SUFFIXES = (".py", NOTEBOOK)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bundle:
    """Packed code: ``data`` (tar.gz bytes), its ``digest`` (sha256 hex), and the
    modules it holds (dotted names, importable with the unpacked folder on sys.path)."""

    data: bytes
    digest: str
    modules: tuple[str, ...]

    @property
    def short(self) -> str:
        return self.digest[:12]


def _files(path: str) -> list[tuple[str, str]]:
    """(name in the archive, file on disk) of what a bundle of ``path`` holds, sorted."""
    full = os.path.abspath(path)
    if os.path.isfile(full):
        if not full.endswith(CODE_SUFFIXES):
            raise DefinitionError(f"{path}: register a .py file, a notebook (.ipynb) or a "
                                  "folder of Python code")
        return [(os.path.basename(full), full)]
    if not os.path.isdir(full):
        raise DefinitionError(f"{path}: no such file or folder")
    # A package (it has __init__.py) keeps its name as the top folder; a plain project
    # folder puts its contents at the top, as `python file.py` would see them.
    top = os.path.basename(full) + "/" if os.path.isfile(os.path.join(full, "__init__.py")) else ""
    out: list[tuple[str, str]] = []
    for root, dirs, names in os.walk(full):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED and not d.startswith("."))
        for name in names:
            if name.endswith((".pyc", ".pyo")) or name.startswith("."):
                continue
            disk = os.path.join(root, name)
            if os.path.islink(disk) or not os.path.isfile(disk):
                continue
            rel = os.path.relpath(disk, full).replace(os.sep, "/")
            out.append((top + rel, disk))
    out.sort()
    if not module_names([n for n, _ in out]):
        raise DefinitionError(f"{path}: the folder holds no .py file or notebook to register")
    return out


def module_names(names: list[str]) -> tuple[str, ...]:
    """Dotted module names of the ``.py`` entries of a bundle (packages by __init__),
    and of the notebooks at its top (``nb.ipynb`` is the module ``nb_ipynb``, loaded by
    ``rillet.engine._loading.load_file``)."""
    from rillet.engine._loading import module_name_for

    mods: list[str] = []
    for name in names:
        if name.endswith(NOTEBOOK) and "/" not in name and not name.startswith("."):
            mods.append(module_name_for(name))
            continue
        if not name.endswith(".py"):
            continue
        parts = name[:-3].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and all(p.isidentifier() for p in parts):
            mods.append(".".join(parts))
    return tuple(sorted(mods))


def pack(path: str) -> Bundle:
    """Pack ``path`` (a ``.py`` file or a folder) into a deterministic bundle."""
    files = _files(path)
    raw = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, disk in files:
            with open(disk, "rb") as f:
                data = f.read()
            total += len(data)
            if total > MAX_BYTES:
                raise DefinitionError(
                    f"{path}: the code bundle passes {MAX_BYTES // 2**20} MiB; keep data out "
                    "of the code folder (it is stored as an artifact and passed as an input)")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = MTIME
            info.mode = 0o755 if os.access(disk, os.X_OK) else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0, compresslevel=6) as gz:
        gz.write(raw.getvalue())
    data = packed.getvalue()
    return Bundle(data=data, digest=hashlib.sha256(data).hexdigest(),
                  modules=module_names([n for n, _ in files]))


def from_bytes(data: bytes) -> Bundle:
    """A bundle received as bytes (an upload): its hash computed here, its modules read
    from its entries; anything but a gzip tar of plain files is refused."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = tar.getmembers()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DefinitionError(f"the code bundle is not a gzip tar archive: {exc}") from None
    names = [m.name for m in members]
    bad = [m.name for m in members if not m.isfile() or m.name.startswith("/")
           or ".." in m.name.split("/")]
    if bad:
        raise DefinitionError(f"the code bundle holds {bad[0]!r}, which is not a plain file "
                              "inside it")
    return Bundle(data=data, digest=hashlib.sha256(data).hexdigest(),
                  modules=module_names(names))


def unpack(data: bytes, digest: str, cache: str) -> str:
    """The folder holding the bundle ``digest`` under ``cache``, unpacked once (atomic:
    a temp folder renamed into place, so concurrent unpackers both succeed)."""
    if hashlib.sha256(data).hexdigest() != digest:
        raise StoreError(f"code bundle {digest[:12]} is corrupt: its bytes do not match its hash")
    final = os.path.join(cache, digest)
    if os.path.isdir(final):
        return final
    os.makedirs(cache, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{digest[:12]}.", dir=cache)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                target = os.path.realpath(os.path.join(tmp, member.name))
                if not member.isfile() or not target.startswith(os.path.realpath(tmp) + os.sep):
                    raise StoreError(
                        f"code bundle {digest[:12]} holds {member.name!r}, which is not a file "
                        "inside the bundle; refusing to unpack it")
                os.makedirs(os.path.dirname(target), exist_ok=True)
                src = tar.extractfile(member)
                assert src is not None  # a regular file always has content
                with open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
        try:
            os.rename(tmp, final)
        except OSError:  # another process unpacked it first
            if not os.path.isdir(final):
                raise
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def module_file(folder: str, module: str) -> str | None:
    """The notebook at the top of the unpacked bundle ``folder`` whose module is
    ``module`` (None for a Python module, found by import)."""
    from rillet.engine._loading import module_name_for

    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return None
    for name in names:
        if name.endswith(NOTEBOOK) and not name.startswith(".") \
                and module_name_for(name) == module:
            return os.path.join(folder, name)
    return None


def cached_modules(folder: str) -> tuple[str, ...]:
    names = []
    for root, _dirs, files in os.walk(folder):
        for f in files:
            names.append(os.path.relpath(os.path.join(root, f), folder).replace(os.sep, "/"))
    return module_names(names)
