"""Helpers of the server tests (a module of its own: ``conftest`` names collide
across test folders)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from clikit import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "workflows"))


@dataclass
class Served:
    url: str
    home: Path
    app: Any
    client: httpx.Client

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)


@contextmanager
def serve(root: Path, home: Path, **app_kw: Any) -> Iterator[Served]:
    """uvicorn serving ``create_app`` (``app_kw`` passed on) on a free loopback port, in a
    thread of the test process (so a test can look at the app), on the home ``home``."""
    import uvicorn

    from rillet.server._app import create_app
    from rillet.store import Instance

    inst = Instance.home(str(home), executor="inline")
    app = create_app(inst, **app_kw)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=60)
    wait_for(lambda: server.started)
    try:
        yield Served(url, root, app, client)
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=60)
        app.state.runner.join()
        inst.close()


def register_file(served: Served, name: str, text: str, project: str,
                  **options: Any) -> list[dict[str, Any]]:
    """Write ``text`` as the file ``name`` in the served home, make ``project`` and
    register the file there (through the REST API); what the server registered."""
    from rillet import Remote

    flows = served.home / name
    flows.write_text(text)
    with Remote(served.url) as remote:
        remote.create_project(project)
        return list(remote.register(str(flows), project=project, **options))


def load_model_in_a_fresh_process(served: Served, ref: str, show: str, cwd: Path,
                                  project: str = "default") -> str:
    """What ``print(SHOW)`` prints (stripped) after ``m = models.load(REF)`` (a model of
    ``project``) on the server's home, in a new Python process whose bundle cache is
    empty (``cwd/fresh-cache``): the model's class is in no file of this machine, only in
    its registered bundle."""
    code = ("from rillet import models\n"
            f"m = models.load({ref!r}, home={str(served.home / 'home')!r}, "
            f"project={project!r})\n"
            f"print({show})")
    env = dict(os.environ, RILLET_BUNDLE_CACHE=str(cwd / "fresh-cache"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=cwd, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


class Receiver:
    """A local HTTP receiver: ``/ok`` answers 200, ``/flaky`` 503 twice then 200."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict[str, str], bytes]] = []
        self.flaky_calls = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.got.append((self.path, dict(self.headers), body))
                    code = 200
                    if self.path == "/flaky":
                        receiver.flaky_calls += 1
                        code = 503 if receiver.flaky_calls <= 2 else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self, path: str) -> list[tuple[dict[str, str], dict[str, Any], bytes]]:
        with self.lock:
            return [(h, json.loads(b), b) for p, h, b in self.got if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
