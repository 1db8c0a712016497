"""A small HTTP/1.1 load generator: ``concurrency`` keep-alive connections on loopback
send ``total`` POST requests and keep every answer (status, body, latency).

Used by ``benchmarks/serving.py`` for rillet and MLflow alike, and by the serving
tests. asyncio streams (uvloop when installed); no dependency beyond the stdlib.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


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
        times = sorted(a.latency for a in self.answers)
        if not times:
            return float("nan")
        return times[min(len(times) - 1, round(p / 100.0 * (len(times) - 1)))]


def _request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
            ).encode() + body


async def _worker(host: str, port: int, payload: bytes, left: list[int],
                  answers: list[Answer], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while left[0] > 0:
            left[0] -= 1
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


async def _run(host: str, port: int, path: str, body: bytes, total: int, concurrency: int,
               headers: dict[str, str], answers: list[Answer]) -> LoadResult:
    payload = _request(host, port, path, body, headers)
    left = [total]
    errors: list[str] = []
    t0 = time.perf_counter()
    await asyncio.gather(*(_worker(host, port, payload, left, answers, errors)
                           for _ in range(concurrency)))
    return LoadResult(answers, time.perf_counter() - t0, errors)


def load(port: int, body: bytes, total: int, concurrency: int = 16, host: str = "127.0.0.1",
         path: str = "/predict", headers: dict[str, str] | None = None,
         answers: list[Answer] | None = None) -> LoadResult:
    """Send ``total`` requests over ``concurrency`` connections; every answer is kept (in
    ``answers`` when given, which another thread may watch grow)."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    return runner(_run(host, port, path, body, total, concurrency, headers or {},
                       answers if answers is not None else []))
