"""FolderArtifactStore: content-addressed bytes under one root, local or fsspec."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest

from rillet.artifacts import FolderArtifactStore
from rillet.engine._protocols import checkpoint_name
from rillet.errors import NotFound, StoreError


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(params=["local", "memory", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return FolderArtifactStore(str(tmp_path / "artifacts"))
    if request.param == "s3":  # SeaweedFS's S3 gateway, started once per session
        return FolderArtifactStore(request.getfixturevalue("s3_url"))
    return FolderArtifactStore(f"memory://rillet-test-{uuid.uuid4().hex}/artifacts")


def test_streaming_put_file_and_open(store, tmp_path):
    big = tmp_path / "model.bin"
    with open(big, "wb") as f:  # larger than one read chunk: hashed and copied in pieces
        for i in range(3):
            f.write(bytes([i]) * (1 << 20) + b"tail")
    data = big.read_bytes()
    h, uri = store.put_file(str(big))
    assert h == digest(data)
    assert uri == f"{h[:2]}/{h[2:]}"
    with store.open(uri) as f:
        assert f.read(5) == b"\x00" * 5
        rest = f.read()
    assert len(rest) + 5 == len(data)
    assert store.get(uri) == data
    assert store.put_file(str(big), h) == (h, uri)  # idempotent
    assert store.size() == len(data)
    with pytest.raises(NotFound):
        store.open("cd/" + "e" * 62)
    with pytest.raises(StoreError, match="outside the artifact store"):
        store.open("../x")


def test_checkpoints_by_name_are_replaced_and_read_back(store):
    name = checkpoint_name("e1", "sub/train[3]")  # a nested node's map element
    assert "/" not in name.split("/", 1)[1]  # the node id cannot make folders
    assert store.get_checkpoint(name) is None
    store.put_checkpoint(name, b"epoch 1")
    store.put_checkpoint(name, b"epoch 2")  # a checkpoint is replaced, not added to
    assert store.get_checkpoint(name) == b"epoch 2"
    assert store.get_checkpoint(checkpoint_name("e2", "sub/train[3]")) is None  # by scope
    again = FolderArtifactStore(store.root)  # another process or machine reads it
    assert again.get_checkpoint(name) == b"epoch 2"
    for bad in ("nosep", "../x", "a/../../b", "a/b/c", "./x", "a/.."):
        with pytest.raises(StoreError):
            store.put_checkpoint(bad, b"x")


def test_round_trip(store):
    data = b"hello" * 1000
    uri = store.put(digest(data), data)
    h = digest(data)
    assert uri == f"{h[:2]}/{h[2:]}"
    assert store.get(uri) == data
    assert store.size() == len(data)


def test_put_is_idempotent(store):
    data = b"same bytes"
    first = store.put(digest(data), data)
    assert store.put(digest(data), data) == first
    assert store.size() == len(data)


def test_get_missing_and_delete(store):
    data = b"x"
    uri = store.put(digest(data), data)
    assert store.exists(uri)
    store.delete(uri)
    assert not store.exists(uri)
    store.delete(uri)  # already gone: fine
    with pytest.raises(NotFound):
        store.get(uri)
    assert store.size() == 0


@pytest.mark.parametrize("uri", [
    "../outside", "ab/../../outside", "/etc/passwd", "file:///etc/passwd", "", ".",
    "s3://bucket/ab/cd", "ab/\x00",
])
def test_refuses_uris_outside_the_root(store, uri):
    with pytest.raises(StoreError, match="outside the artifact store"):
        store.get(uri)
    with pytest.raises(StoreError, match="outside the artifact store"):
        store.delete(uri)
    with pytest.raises(StoreError, match="outside the artifact store"):
        store.exists(uri)


@pytest.mark.parametrize("bad", ["../../../etc/x", "ABCDEF0123", "abc", "g" * 64, ""])
def test_refuses_digests_that_are_not_hex_hashes(store, bad):
    with pytest.raises(StoreError, match="not a lowercase hex"):
        store.put(bad, b"data")


def test_local_layout_is_atomic_and_accepts_paths_inside(tmp_path):
    root = tmp_path / "artifacts"
    store = FolderArtifactStore(str(root))
    data = b"payload"
    h = digest(data)
    uri = store.put(h, data)
    assert (root / h[:2] / h[2:]).read_bytes() == data
    assert [p.name for p in (root / h[:2]).iterdir()] == [h[2:]]  # no temp files left
    assert store.get(str(root / uri)) == data
    assert store.get(f"file://{root / uri}") == data
    mtime = os.stat(root / uri).st_mtime_ns
    store.put(h, data)
    assert os.stat(root / uri).st_mtime_ns == mtime  # not written again


def test_local_refuses_a_link_out_of_the_root(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"secret")
    store = FolderArtifactStore(str(tmp_path / "artifacts"))
    (tmp_path / "artifacts" / "ab").mkdir(parents=True)
    os.symlink(secret, tmp_path / "artifacts" / "ab" / "link")
    with pytest.raises(StoreError, match="outside"):
        store.get("ab/link")


def test_local_reads_of_keys_refuse_links_out_of_the_root(tmp_path):
    """A key as ``put`` returns it (``ab/cdef…``) is read without resolving the whole
    path; a linked file or a linked folder out of the root is still refused, and a link
    that stays inside the root is still read."""
    secret = tmp_path / "secret"
    secret.write_bytes(b"secret")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ("e" * 62)).write_bytes(b"secret too")
    root = tmp_path / "artifacts"
    store = FolderArtifactStore(str(root))
    (root / "ab").mkdir(parents=True)
    os.symlink(secret, root / "ab" / ("c" * 62))
    os.symlink(outside, root / "cd", target_is_directory=True)
    for key in ("ab/" + "c" * 62, "cd/" + "e" * 62):
        with pytest.raises(StoreError, match="outside"):
            store.get(key)
    (root / "ab" / ("d" * 62)).write_bytes(b"inside")
    os.symlink(root / "ab", root / "ef", target_is_directory=True)
    assert store.get("ef/" + "d" * 62) == b"inside"
    with pytest.raises(NotFound):
        store.get("ab/" + "f" * 62)


def test_local_writes_refuse_a_symlinked_folder(tmp_path):
    """``put`` and ``put_file`` both refuse to write through a folder linked out of the root."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "artifacts").mkdir()
    data = b"value"
    h = digest(data)
    os.symlink(outside, tmp_path / "artifacts" / h[:2], target_is_directory=True)
    store = FolderArtifactStore(str(tmp_path / "artifacts"))
    with pytest.raises(StoreError, match="outside the artifact store"):
        store.put(h, data)
    src = tmp_path / "value.bin"
    src.write_bytes(data)
    with pytest.raises(StoreError, match="outside the artifact store"):
        store.put_file(str(src))
    assert list(outside.iterdir()) == []


def test_local_size_ignores_unfinished_writes(tmp_path):
    store = FolderArtifactStore(str(tmp_path))
    store.put(digest(b"abc"), b"abc")
    (tmp_path / "ab").mkdir(exist_ok=True)
    (tmp_path / "ab" / ".cdef.123.tmp").write_bytes(b"partial" * 100)
    assert store.size() == 3
    assert FolderArtifactStore(str(tmp_path / "missing")).size() == 0


def test_local_store_does_not_import_fsspec(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from rillet.artifacts import FolderArtifactStore\n"
        f"s = FolderArtifactStore({str(tmp_path)!r})\n"
        "u = s.put('ab' * 32, b'x'); s.get(u); s.size(); s.delete(u)\n"
        "print('fsspec' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_live_log_chunks_by_offset(store):
    """A worker's live log: chunks named by the offset they start at, listed, read, and
    removed with every chunk of the execution; an id with a slash stays one folder."""
    eid = "ex/1"
    assert store.get_log_chunk(eid, 0) is None and store.log_chunks(eid) == []
    store.put_log_chunk(eid, 0, b"a#1| one\n")
    store.put_log_chunk(eid, 9, b"a#1| two\n")
    store.put_log_chunk("other", 0, b"b#1| x\n")
    assert store.log_chunks(eid) == [0, 9]
    assert store.get_log_chunk(eid, 9) == b"a#1| two\n"
    assert store.live_logs() == ["ex/1", "other"]
    assert store.remove_live_log(eid, dry_run=True) == 18
    assert store.log_chunks(eid) == [0, 9]
    assert store.remove_live_log(eid) == 18
    assert store.log_chunks(eid) == [] and store.live_logs() == ["other"]
    assert store.remove_live_log(eid) == 0
    with pytest.raises(StoreError):
        store.put_log_chunk("..", 0, b"x")
    with pytest.raises(StoreError):
        store.put_log_chunk(eid, -1, b"x")
