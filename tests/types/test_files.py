"""File and Directory: local paths, stored content, lazy fetch on decode."""

from __future__ import annotations

import io
import os
import pathlib
import stat
import tarfile
from pathlib import Path

import pytest

from rillet.errors import StoreError
from rillet.types._files import Directory, File, archive_directory, extract_archive
from rillet.types._literal import content_hash, decode, decode_literal, encode


class CountingLoader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.calls = 0

    def __call__(self) -> bytes:
        self.calls += 1
        return self.data


def _tree(root: Path) -> dict[str, str | None]:
    """{relative path: text, or None for a directory}"""
    out: dict[str, str | None] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = None if path.is_dir() else path.read_text()
    return out


# -- File -----------------------------------------------------------------------------------


def test_file_is_a_path_like_with_a_path_and_a_name(tmp_path: Path) -> None:
    p = tmp_path / "data.csv"
    p.write_text("a,b\n")
    f = File(p)
    assert isinstance(f, os.PathLike)
    assert f.path == str(p) and os.fspath(f) == str(p) and pathlib.Path(f) == p
    assert f.name == "data.csv"
    with f.open() as fh:
        assert fh.read() == "a,b\n"
    with f.open("rb") as fh:
        assert fh.read() == b"a,b\n"
    with open(f) as fh:  # noqa: PTH123 - the builtin takes it too
        assert fh.read() == "a,b\n"
    assert repr(f) == f"File({str(p)!r})"


def test_file_takes_only_text_paths() -> None:
    with pytest.raises(TypeError):
        File(b"/tmp/x")  # type: ignore[arg-type]


def test_file_equality(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.txt").write_text("same")
    (tmp_path / "b" / "x.txt").write_text("same")
    (tmp_path / "b" / "y.txt").write_text("same")
    (tmp_path / "a" / "z.txt").write_text("other")
    (tmp_path / "b" / "z.txt").write_text("different")
    assert File(tmp_path / "a" / "x.txt") == File(str(tmp_path / "a" / "x.txt"))
    assert File(tmp_path / "a" / "x.txt") == File(tmp_path / "b" / "x.txt")  # same content
    assert File(tmp_path / "a" / "x.txt") != File(tmp_path / "b" / "y.txt")  # another name
    assert File(tmp_path / "a" / "z.txt") != File(tmp_path / "b" / "z.txt")  # another content
    assert File(tmp_path / "a" / "x.txt") != Directory(tmp_path / "a")
    assert hash(File(tmp_path / "a" / "x.txt")) == hash(File(tmp_path / "b" / "x.txt"))


def test_file_round_trip_fetches_only_when_the_path_is_used(tmp_path: Path) -> None:
    src = tmp_path / "model.bin"
    src.write_bytes(b"\x00weights\xff")
    lit = encode(File(src), File)
    assert lit.format == "file" and lit.blob == b"\x00weights\xff"
    assert lit.inline == {"name": "model.bin"} and lit.size == 9

    loader = CountingLoader(lit.blob)
    work = tmp_path / "work"
    work.mkdir()
    f = decode(lit.format, lit.inline, loader, File, workdir=str(work))
    assert isinstance(f, File)
    assert loader.calls == 0
    assert f.name == "model.bin" and "not fetched" in repr(f)
    assert loader.calls == 0

    path = f.path
    assert loader.calls == 1
    assert Path(path).name == "model.bin" and Path(path).read_bytes() == b"\x00weights\xff"
    assert Path(path).is_relative_to(work)
    assert f.path == path and os.fspath(f) == path
    assert loader.calls == 1  # fetched once
    assert f == File(src)


def test_open_fetches_too(tmp_path: Path) -> None:
    loader = CountingLoader(b"hello")
    f = File._from_loader("greeting.txt", loader, str(tmp_path))
    with f.open() as fh:
        assert fh.read() == "hello"
    assert loader.calls == 1


def test_a_file_passed_on_unfetched_is_stored_without_being_written_out(tmp_path: Path) -> None:
    src = tmp_path / "x.txt"
    src.write_text("payload")
    lit = encode(File(src), File)
    assert lit.blob is not None
    received = decode_literal(lit, File)
    again = encode(received, File)
    assert again.hash == lit.hash and again.blob == lit.blob
    assert "not fetched" in repr(received)


def test_a_stored_name_cannot_leave_the_fetch_folder(tmp_path: Path) -> None:
    f = decode("file", {"name": "../../escape.txt"}, lambda: b"x", File, workdir=str(tmp_path))
    assert f.name == "escape.txt"
    assert Path(f.path).parent.parent == tmp_path
    g = decode("file", None, lambda: b"x", File, workdir=str(tmp_path))  # no name kept
    assert g.name == "file" and Path(g.path).read_bytes() == b"x"


def test_a_missing_file_cannot_be_stored(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        encode(File(tmp_path / "nope"), File)


def test_files_inside_containers_round_trip_lazily(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name)
    files = {"a": File(tmp_path / "a.txt"), "b": File(tmp_path / "b.txt")}
    lit = encode(files, dict[str, File])
    back = decode_literal(lit, dict[str, File])
    assert all("not fetched" in repr(f) for f in back.values())
    assert Path(back["b"].path).read_text() == "b.txt"
    assert back == files


# -- Directory ------------------------------------------------------------------------------


def _make_tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "top.txt").write_text("top")
    (root / "sub" / "one.txt").write_text("one")
    (root / "sub" / "deeper" / "two.txt").write_text("two")
    script = root / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)


def test_directory_round_trip_fetches_lazily(tmp_path: Path) -> None:
    src = tmp_path / "dataset"
    _make_tree(src)
    d = Directory(src)
    assert isinstance(d, os.PathLike) and d.path == str(src) and d.name == "dataset"
    lit = encode(d, Directory)
    assert lit.format == "dir" and lit.inline == {"name": "dataset"}
    assert lit.blob is not None and lit.size == len(lit.blob)
    assert content_hash(d, Directory) == lit.hash

    loader = CountingLoader(lit.blob)
    back = decode("dir", lit.inline, loader, Directory, workdir=str(tmp_path))
    assert loader.calls == 0 and "not fetched" in repr(back)
    local = Path(back.path)
    assert loader.calls == 1 and local.name == "dataset"
    assert _tree(local) == _tree(src)
    assert os.stat(local / "run.sh").st_mode & stat.S_IXUSR
    assert not os.stat(local / "top.txt").st_mode & stat.S_IXUSR
    assert back == d
    assert os.fspath(back) == str(local) and loader.calls == 1


def test_directory_equality_is_by_name_and_tree(tmp_path: Path) -> None:
    _make_tree(tmp_path / "a" / "data")
    _make_tree(tmp_path / "b" / "data")
    _make_tree(tmp_path / "c" / "other")
    assert Directory(tmp_path / "a" / "data") == Directory(tmp_path / "b" / "data")
    assert Directory(tmp_path / "a" / "data") != Directory(tmp_path / "c" / "other")
    (tmp_path / "b" / "data" / "extra").write_text("x")
    assert Directory(tmp_path / "a" / "data") != Directory(tmp_path / "b" / "data")


def test_archive_is_deterministic_and_owner_free(tmp_path: Path) -> None:
    _make_tree(tmp_path / "t")
    first, second = io.BytesIO(), io.BytesIO()
    archive_directory(str(tmp_path / "t"), first)
    os.utime(tmp_path / "t" / "top.txt", (0, 12345))
    archive_directory(str(tmp_path / "t"), second)
    assert first.getvalue() == second.getvalue()
    with tarfile.open(fileobj=io.BytesIO(first.getvalue())) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names, key=lambda n: n.split("/"))
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.uname == "" for m in members)


def test_symlinks_are_followed_and_loops_left_out(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "d").mkdir(parents=True)
    (root / "f.txt").write_text("target")
    (root / "link.txt").symlink_to("f.txt")
    (root / "d" / "loop").symlink_to("..", target_is_directory=True)
    (root / "broken").symlink_to("nowhere")
    back = decode_literal(encode(Directory(root), Directory), Directory)
    tree = _tree(Path(back.path))
    assert tree == {"d": None, "f.txt": "target", "link.txt": "target"}


def test_an_empty_directory_round_trips(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    back = decode_literal(encode(Directory(tmp_path / "nothing"), Directory), Directory)
    assert os.listdir(back.path) == []


def test_a_file_is_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError):
        encode(Directory(tmp_path / "f"), Directory)


@pytest.mark.parametrize("name", ["../evil.txt", "/abs.txt", "a/../../evil.txt"])
def test_an_archive_with_unsafe_entries_is_refused(tmp_path: Path, name: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(StoreError):
        extract_archive(buf.getvalue(), str(tmp_path / "out"))
    assert not (tmp_path / "evil.txt").exists()


def test_an_archive_with_a_link_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(StoreError):
        extract_archive(buf.getvalue(), str(tmp_path / "out"))
