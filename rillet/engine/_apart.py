"""A value built apart: decoded, put together and encoded in a child process forked for
it, which exits after, so that the engine's process never decodes (never unpickles) a
stored value it did not compute.

The engine uses it for a literal (``f(p=pair())``, ``f(xs=[a, b])`` under a Union) or a
path (``h.choice``, ``d[2]`` of a dict with int keys) over values it does not hold whose
stored form ``types._compose`` cannot build from the stored forms of its parts, when the
executor's workers decode the values they use (``reads_stored_inputs``). The child gets
the parts' checked bytes from the engine (it reads no store: a database connection must
not cross a fork) and sends back the encoded literal: its JSON fields and its bytes,
nothing that the engine unpickles. Its errors come back as one line each.
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
from collections.abc import Callable

from rillet.compiler._access import AccessError
from rillet.errors import StoreError, TypeMismatchError
from rillet.types._literal import Literal

__all__ = ["available", "encoded_apart"]

TIMEOUT = 600.0  # seconds a child may take (a value that hangs when decoded)


def available() -> bool:
    """Whether values can be built apart here (a platform with ``fork``)."""
    return hasattr(os, "fork")


def encoded_apart(make: Callable[[], Literal], timeout: float = TIMEOUT) -> Literal:
    """``make()`` run in a forked child: the Literal it returns, or its error raised
    here (AccessError and TypeMismatchError as they are, anything else as StoreError;
    a child that does not answer within ``timeout`` seconds is killed: StoreError)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(read_end)
            _write_all(write_end, _reply(make))
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise StoreError(f"the process that decodes a value apart did not answer "
                                 f"within {timeout:g} s (ended)")
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
    _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    head, sep, blob = data.partition(b"\n")
    if not sep:
        raise StoreError(f"the process that decodes a value apart ended without a result "
                         f"(wait status {status})")
    fields = json.loads(head)
    if "error" in fields:
        etype, message = fields["error"], fields["message"]
        if etype == "AccessError":
            raise AccessError(message)
        if etype == "TypeMismatchError":
            raise TypeMismatchError(message)
        raise StoreError(f"a value decoded apart failed: {etype}: {message}")
    return Literal(hash=fields["hash"], format=fields["format"], inline=fields["inline"],
                   blob=blob if fields["blob"] else None, size=fields["size"],
                   tag=fields["tag"])


def _reply(make: Callable[[], Literal]) -> bytes:
    """The child's answer: a JSON line (the Literal's fields, or the error), then the
    Literal's bytes."""
    try:
        lit = make()
        head = {"hash": lit.hash, "format": lit.format, "inline": lit.inline,
                "size": lit.size, "tag": lit.tag, "blob": lit.blob is not None}
        return json.dumps(head).encode() + b"\n" + (lit.blob or b"")
    except BaseException as exc:  # the child reports whatever ended it
        name = type(exc).__name__
        if isinstance(exc, AccessError):
            name = "AccessError"
        elif isinstance(exc, TypeMismatchError):
            name = "TypeMismatchError"
        return json.dumps({"error": name, "message": str(exc)}).encode() + b"\n"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
