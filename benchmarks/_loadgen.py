"""A small HTTP/1.1 load generator: ``concurrency`` keep-alive connections on loopback
send ``total`` requests (POST, or GET) and keep every answer (status, body, latency).

Used by ``benchmarks/serving.py`` for rillet and MLflow alike, by ``_platform_api.py``
(GETs of the API server) and by the serving tests. asyncio streams (uvloop when
installed); no dependency beyond the stdlib.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from _harness import percentile


@dataclass
class Answer:
    status: int
    body: bytes
    latency: float  # seconds
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LoadResult:
    answers: list[Answer]
    seconds: float
    errors: list[str]  # connection-level failures (a request that got no answer)

    @property
    def rate(self) -> float:
        return len(self.answers) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        return percentile([a.latency for a in self.answers], p)

    @property
    def failed(self) -> int:
        """Requests without an answer or answered other than 200."""
        return len(self.errors) + sum(1 for a in self.answers if a.status != 200)


def _request(method: str, host: str, port: int, path: str, body: bytes,
             headers: dict[str, str]) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    content = (f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
               if method == "POST" else "")
    return (f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{content}{extra}\r\n"
            ).encode() + body


async def _worker(host: str, port: int, payloads: list[bytes], left: list[int],
                  answers: list[Answer], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while left[0] > 0:
            left[0] -= 1
            payload = payloads[left[0] % len(payloads)]
            t0 = time.perf_counter()
            try:
                writer.write(payload)
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            answers.append(Answer(status, body, time.perf_counter() - t0, headers))
            if headers.get("connection", "").lower() == "close":
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _run(host: str, port: int, payloads: list[bytes], total: int, concurrency: int,
               answers: list[Answer]) -> LoadResult:
    left = [total]
    errors: list[str] = []
    t0 = time.perf_counter()
    await asyncio.gather(*(_worker(host, port, payloads, left, answers, errors)
                           for _ in range(concurrency)))
    return LoadResult(answers, time.perf_counter() - t0, errors)


def load(port: int, body: bytes, total: int, concurrency: int = 16, host: str = "127.0.0.1",
         path: str | Sequence[str] = "/predict", headers: dict[str, str] | None = None,
         answers: list[Answer] | None = None, method: str = "POST") -> LoadResult:
    """Send ``total`` requests over ``concurrency`` connections; every answer is kept (in
    ``answers`` when given, which another thread may watch grow). ``path`` may be several
    paths, taken in turn; ``method="GET"`` sends no body."""
    paths = [path] if isinstance(path, str) else list(path)
    payloads = [_request(method, host, port, p, body, headers or {}) for p in paths]
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    return runner(_run(host, port, payloads, total, concurrency,
                       answers if answers is not None else []))
