"""Code bundles: deterministic, content-hashed, leaving out what is not code; unpacked
once, never outside their folder."""

from __future__ import annotations

import io
import os
import shutil
import tarfile

import pytest

from rillet.errors import DefinitionError, StoreError
from rillet.platform._bundle import pack, unpack


def _tree(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_same_content_in_another_place_and_time_packs_to_the_same_bytes(tmp_path):
    files = {"pipe.py": "x = 1\n", "lib/util.py": "y = 2\n", "lib/__init__.py": "",
             "data.json": "{}"}
    _tree(tmp_path / "a", files)
    _tree(tmp_path / "b", dict(reversed(list(files.items()))))  # created in another order
    os.utime(tmp_path / "b" / "pipe.py", (1, 1))
    os.chmod(tmp_path / "b" / "data.json", 0o600)
    one, two = pack(str(tmp_path / "a")), pack(str(tmp_path / "b"))
    assert one.data == two.data and one.digest == two.digest
    assert one.modules == ("lib", "lib.util", "pipe")
    names = tarfile.open(fileobj=io.BytesIO(one.data)).getnames()
    assert names == sorted(names) == ["data.json", "lib/__init__.py", "lib/util.py", "pipe.py"]


def test_what_is_not_code_is_left_out(tmp_path):
    _tree(tmp_path / "p", {"pipe.py": "x = 1\n"})
    before = pack(str(tmp_path / "p")).digest
    _tree(tmp_path / "p", {".rillet/rillet.db": "db", ".venv/lib/x.py": "v",
                           "__pycache__/pipe.cpython-311.pyc": "c", ".git/HEAD": "ref",
                           "sub/__pycache__/m.pyc": "c"})
    assert pack(str(tmp_path / "p")).digest == before
    (tmp_path / "p" / "pipe.py").write_text("x = 2\n")
    assert pack(str(tmp_path / "p")).digest != before


def test_a_file_and_a_package(tmp_path):
    _tree(tmp_path, {"one.py": "a = 1\n", "pkg/__init__.py": "", "pkg/m.py": "b = 2\n"})
    assert pack(str(tmp_path / "one.py")).modules == ("one",)
    assert pack(str(tmp_path / "pkg")).modules == ("pkg", "pkg.m")  # keeps its package name
    with pytest.raises(DefinitionError, match="no such file"):
        pack(str(tmp_path / "missing.py"))
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DefinitionError, match=r"\.py file, a notebook \(\.ipynb\) or a folder"):
        pack(str(tmp_path / "notes.txt"))


def test_unpack_once_and_refuse_escapes_and_corruption(tmp_path):
    _tree(tmp_path / "p", {"pipe.py": "x = 1\n"})
    b = pack(str(tmp_path / "p"))
    cache = tmp_path / "cache"
    folder = unpack(b.data, b.digest, str(cache))
    with open(os.path.join(folder, "pipe.py")) as f:
        assert f.read() == "x = 1\n"
    os.remove(os.path.join(folder, "pipe.py"))  # a second unpack finds the folder: no work
    assert unpack(b.data, b.digest, str(cache)) == folder
    assert not os.path.exists(os.path.join(folder, "pipe.py"))
    shutil.rmtree(folder)
    with pytest.raises(StoreError, match="corrupt"):
        unpack(b.data + b"x", b.digest, str(cache))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.py")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    import hashlib

    evil = raw.getvalue()
    with pytest.raises(StoreError, match="not a file inside the bundle"):
        unpack(evil, hashlib.sha256(evil).hexdigest(), str(cache))
    assert not (tmp_path / "escape.py").exists()
    assert sorted(os.listdir(cache)) == []  # no half-unpacked folder left behind


def test_a_received_bundle_is_checked_and_read(tmp_path):
    from rillet.platform import from_bytes

    _tree(tmp_path / "p", {"pipe.py": "x = 1\n", "lib/__init__.py": ""})
    b = pack(str(tmp_path / "p"))
    got = from_bytes(b.data)
    assert (got.digest, got.modules) == (b.digest, b.modules)
    with pytest.raises(DefinitionError, match="not a gzip tar archive"):
        from_bytes(b"not a tar")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("../../etc/evil.py")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(DefinitionError, match="not a plain file inside it"):
        from_bytes(raw.getvalue())
