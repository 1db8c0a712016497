"""Issue 16 (launch form, Directory inputs): POST /uploads/directory takes a folder as a
tar, tar.gz or zip, unpacks it safely and stores it as the Directory value a task
returning that folder would store (same digest); a launch gives it as
``artifact:<hash>`` and the worker's task reads the folder. Traversal (``..``, absolute
names), links and special files are a 400 JSON with nothing written; an archive that
unpacks past the limit is a 413."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from serverkit import Served, register_file

from rillet import Remote

DIR_FLOWS = ("import os\n"
             "from rillet import task, workflow, Directory\n\n"
             "@task\ndef listing(d: Directory) -> str:\n"
             "    out = []\n"
             "    for root, _dirs, files in os.walk(d.path):\n"
             "        for f in files:\n"
             "            p = os.path.join(root, f)\n"
             "            with open(p) as fh:\n"
             "                out.append(os.path.relpath(p, d.path) + '=' + fh.read())\n"
             "    return d.name + ': ' + ','.join(sorted(out))\n\n"
             "@workflow\ndef tree(d: Directory) -> str:\n"
             "    return listing(d=d)\n")

FILES = {"a.txt": b"alpha", "sub/b.txt": b"beta"}


def tar_bytes(entries: dict[str, bytes], gz: bool = False,
              extra: list[tarfile.TarInfo] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return buf.getvalue()


def zip_bytes(entries: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, target)
    return buf.getvalue()


@pytest.fixture(scope="module")
def registered(with_workers: Served) -> None:
    register_file(with_workers, "dirflows.py", DIR_FLOWS, "dirs")


def upload(served: Served, body: bytes, fmt: str, name: str = "data") -> object:
    return served.client.post("/api/v1/uploads/directory",
                              params={"name": name, "format": fmt, "project": "dirs"},
                              content=body)


def test_an_uploaded_folder_is_a_launchs_directory_input(
        with_workers: Served, registered: None, tmp_path: Path) -> None:
    from rillet.types._files import Directory
    from rillet.types._literal import encode

    local = tmp_path / "data"
    for name, data in FILES.items():
        (local / name).parent.mkdir(parents=True, exist_ok=True)
        (local / name).write_bytes(data)
    expected = encode(Directory(str(local)), Directory).hash
    c = with_workers.client
    shown = []
    for body, fmt in ((tar_bytes(FILES), "tar"), (tar_bytes(FILES, gz=True), "tgz"),
                      (zip_bytes(FILES), "zip"),
                      (tar_bytes({"./" + k: v for k, v in FILES.items()}), "tar")):
        r = upload(with_workers, body, fmt)
        assert r.status_code == 201, (fmt, r.text)  # type: ignore[attr-defined]
        shown.append(r.json())  # type: ignore[attr-defined]
    up = shown[0]
    assert all(s == up for s in shown)  # one folder, however it was sent: stored once
    assert up["hash"] == expected and up["format"] == "dir" and up["name"] == "data"
    assert up["ref"] == f"artifact:{expected}"
    record = c.get(f"/api/v1/artifacts/{expected}").json()
    assert record["format"] == "dir"

    launched = c.post("/api/v1/launch", json={"name": "dirflows.tree", "project": "dirs",
                                               "inputs": {"d": up["ref"]}})
    assert launched.status_code == 200, launched.text
    with Remote(with_workers.url) as remote:
        done = remote.execution(launched.json()["execution_id"]).wait(timeout=60)
        assert done.status.value == "SUCCEEDED", done.record.error
        assert done.output("o0") == "data: a.txt=alpha,sub/b.txt=beta"
    # A File upload is not a Directory: the launch refuses it by kind.
    f = c.post("/api/v1/uploads", params={"name": "x.txt", "project": "dirs"}, content=b"x")
    r = c.post("/api/v1/launch", json={"name": "dirflows.tree", "project": "dirs",
                                        "inputs": {"d": f.json()["ref"]}})
    assert r.status_code == 400 and "not a stored directory" in r.json()["error"], r.text


def test_an_executable_file_keeps_its_mode(with_workers: Served, tmp_path: Path) -> None:
    """The stored tar says 0755 for an executable file (as for a task's folder): an
    uploaded one keeps it, so the digest is that of the folder it came from."""
    from rillet.types._files import Directory
    from rillet.types._literal import encode

    local = tmp_path / "tools"
    local.mkdir()
    (local / "run.sh").write_bytes(b"#!/bin/sh\necho hi\n")
    (local / "run.sh").chmod(0o755)
    (local / "notes.txt").write_bytes(b"plain")
    expected = encode(Directory(str(local)), Directory).hash
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(str(local), arcname=".")
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        for name in ("run.sh", "notes.txt"):
            z.write(local / name, name)
    for body, fmt in ((buf.getvalue(), "tar"), (zipped.getvalue(), "zip")):
        r = upload(with_workers, body, fmt, name="tools")
        assert r.status_code == 201, r.text  # type: ignore[attr-defined]
        assert r.json()["hash"] == expected, fmt  # type: ignore[attr-defined]


def _link(name: str, kind: bytes, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def _device(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    return info


@pytest.mark.parametrize(("body", "fmt", "says"), [
    (tar_bytes({"../evil.txt": b"x"}), "tar", "not a plain relative path"),
    (tar_bytes({"ok.txt": b"x", "sub/../../evil.txt": b"x"}), "tar", "not a plain relative"),
    (tar_bytes({"/tmp/evil.txt": b"x"}), "tar", "not a plain relative path"),
    (tar_bytes({"a\\..\\evil.txt": b"x"}), "tar", "not a plain relative path"),
    (tar_bytes({"C:/evil.txt": b"x"}), "tar", "not a plain relative path"),
    (tar_bytes({"a.txt": b"x"}, extra=[_link("up", tarfile.SYMTYPE, "../..")]), "tar",
     "is a link"),
    (tar_bytes({"a.txt": b"x"}, extra=[_link("hard", tarfile.LNKTYPE, "/etc/passwd")]),
     "tar", "is a link"),
    (tar_bytes({"a.txt": b"x"}, extra=[_device("dev")]), "tar", "special file"),
    (tar_bytes({"a.txt": b"x", "./a.txt": b"y"}), "tar", "twice"),
    (tar_bytes({"a": b"x", "a/b": b"y"}), "tar", "both a file and a folder"),
    (zip_bytes({"a/b": b"y", "a": b"x"}), "zip", "twice"),
    (zip_bytes({"../evil.txt": b"x"}), "zip", "not a plain relative path"),
    (zip_bytes({"/abs/evil.txt": b"x"}), "zip", "not a plain relative path"),
    (zip_bytes({"a.txt": b"x"}, links={"up": "../../.."}), "zip", "is a link"),
    (b"not an archive at all", "zip", "not a zip archive"),
    (b"not an archive at all", "tar", "not a tar archive"),
    (tar_bytes({}), "tar", "empty"),
    (tar_bytes({".": b"x"}), "tar", "'.' is not a folder"),
    (tar_bytes({"big.bin": bytes(range(256)) * 400}, gz=True)[:-200], "tgz", "not a readable"),
    (zip_bytes({"big.bin": bytes(range(256)) * 400}).replace(b"PK\x01\x02", b"XX\x01\x02"),
     "zip", "not a zip archive"),
])
def test_unsafe_or_broken_archives_are_refused_with_nothing_written(
        with_workers: Served, body: bytes, fmt: str, says: str) -> None:
    r = upload(with_workers, body, fmt)
    assert r.status_code == 400, r.text  # type: ignore[attr-defined]
    assert says in r.json()["error"], r.text  # type: ignore[attr-defined]
    home = with_workers.home
    assert not list(home.parent.rglob("evil.txt"))
    assert [p for p in home.rglob(".upload-*")] == []


def test_an_entry_whose_bytes_are_corrupt_is_a_400(with_workers: Served) -> None:
    body = bytearray(zip_bytes({"f.bin": bytes(range(256)) * 40}))
    body[40:60] = b"\xff" * 20  # inside the compressed data; the directory is intact
    r = upload(with_workers, bytes(body), "zip")
    assert r.status_code == 400, r.text  # type: ignore[attr-defined]
    assert "'f.bin' cannot be read" in r.json()["error"], r.text  # type: ignore[attr-defined]
    assert [p for p in with_workers.home.rglob(".upload-*")] == []


def test_bad_parameters_and_bombs_are_4xx(with_workers: Served) -> None:
    c = with_workers.client
    for params in ({"name": "d", "format": "rar"}, {"name": "a/b"}, {"format": "tar"}):
        r = c.post("/api/v1/uploads/directory", params=params, content=tar_bytes(FILES))
        assert r.status_code == 400 and "error" in r.json(), (params, r.text)
    bomb = zip_bytes({"zeros.bin": b"\0" * 200_000})
    assert len(bomb) < 2_000
    with_workers.app.state.upload_limit = 10_000
    try:
        r = upload(with_workers, bomb, "zip")
        assert r.status_code == 413 and "unpacks to more than" in r.json()["error"], r.text
        r = upload(with_workers, b"x" * 20_000, "tar")
        assert r.status_code == 413 and "nothing was stored" in r.json()["error"], r.text
    finally:
        with_workers.app.state.upload_limit = 0
    assert [p for p in with_workers.home.rglob(".upload-*")] == []
