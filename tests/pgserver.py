"""A real PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` on a temporary
folder and a free loopback port, one empty database per test.

The server runs as the ``postgres`` user when the tests run as root (``initdb``
refuses root). Under ``CI=true`` a missing PostgreSQL fails the tests that need it;
elsewhere they are skipped with the command that installs it.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from missing import missing

INSTALL = "apt-get install -y postgresql (or run `make test`, which installs it)"


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One running cluster; ``url()`` makes a fresh database and returns its URL."""

    def __init__(self, root: Path) -> None:
        bindir = _bin_dir()
        if bindir is None:
            missing(f"PostgreSQL is not installed: {INSTALL}")
        self.bin = bindir
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                pytest.fail("running as root, PostgreSQL needs `runuser` to drop to 'postgres'")
            self._as = [runuser, "-u", "postgres", "--"]
            shutil.chown(root, "postgres")
        self._numbers = itertools.count()
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "rillet",
                  "-E", "UTF8", "--no-locale", "--no-sync")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(root / "server.log"), "-w",
                  "-t", "60", "start", "-o",
                  f"-p {self.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")

    def _run(self, tool: str, *args: str) -> None:
        cmd = [*self._as, str(self.bin / tool), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n"
                               f"{done.stdout}\n{done.stderr}\n{tail}")

    def url(self, driver: str = "postgresql+psycopg") -> str:
        import psycopg

        name = f"t{next(self._numbers)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=rillet dbname=postgres",
                             autocommit=True) as conn:
            # ICU's en-US collation, as most servers have, not the bytewise "C" one:
            # the store must not depend on how the server sorts text.
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                         "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'")
        return f"{driver}://rillet@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    # Not under pytest's temporary folder: that one is private to the user running
    # the tests, and the server may run as 'postgres'.
    root = Path(tempfile.mkdtemp(prefix="rillet-pg-"))
    try:
        server = PgServer(root)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A URL of a new, empty PostgreSQL database."""
    return pg_server.url()
