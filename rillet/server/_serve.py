"""Running the app with uvicorn: ``rillet server`` and ``rillet ui``."""

from __future__ import annotations

import signal
import socket
import sys

from rillet.store._instance import Instance, InstanceConfig


def open_instance(home: str | None, db: str | None, artifacts: str | None) -> Instance:
    if db is not None and artifacts is not None:
        return Instance.open(InstanceConfig(metadata_url=db, artifacts_url=artifacts))
    return Instance.home(home)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve(*, home: str | None, db: str | None, artifacts: str | None, host: str, port: int,
          workers: int, auth: bool = False) -> None:
    import uvicorn

    from rillet.server._app import create_app
    from rillet.server._ui import not_built_note

    if not auth and host not in LOOPBACK and not host.startswith("127."):
        from rillet.errors import RilletError

        raise RilletError(f"refusing to listen on {host} without --auth: an open server "
                          "listens on loopback only (127.0.0.1); add --auth and make a "
                          "token with `rillet token create`")
    inst = open_instance(home, db, artifacts)
    try:
        app = create_app(inst, workers=workers, auth=auth)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                access_log=False, lifespan="on")
        server = uvicorn.Server(config)
        sock = _bind(host, port)  # port 0: a free one, said on stderr
        where = inst.home_path or inst.url
        bound = sock.getsockname()[1]
        sys.stderr.write(f"rillet server on http://{host}:{bound} serving {where}\n")
        note = not_built_note()
        if note is not None:
            sys.stderr.write(note + "\n")
        sys.stderr.flush()
        # uvicorn shuts down gracefully on SIGTERM / Ctrl-C, then raises the signal
        # again to the handler that was there before: make that a clean exit (0).
        signal.signal(signal.SIGTERM, lambda *_: None)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass
    finally:
        inst.close()


def _bind(host: str, port: int) -> socket.socket:
    from rillet.errors import RilletError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise RilletError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock
