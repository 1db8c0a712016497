"""A real server for the API tests: uvicorn serving ``create_app`` on a free
loopback port, in a thread of the test process (so a test can look at the app's
broadcaster), on a home of its own."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from serverkit import Served, wait_for


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import uvicorn

    from rillet.server._app import create_app
    from rillet.store import Instance

    home = tmp_path_factory.mktemp("served") / "home"
    inst = Instance.home(str(home), executor="inline")
    app = create_app(inst)
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
        yield Served(url, home, app, client)
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=30)
        app.state.runner.join()
        inst.close()
