"""Teams (issue 15): the scheduler and auth.

- ``fire``: a FixedRate plan (every 0.25 s) on the embedded home, fired by the
  server's ``Scheduler`` thread; the time from each slot to its execution being queued
  (``executions.created_at - scheduled_at``), median and max over the fires.
- ``slots``: 1,000 simulated slots of a catch-up plan, looked at by a "server" that is
  restarted (a new store handle) at random points, twice per look: fires lost and
  doubled (both must be 0).
- ``auth``: GET /api/v1/versions on a server without and with ``auth`` (a token whose
  lookup is cached per process), sequential requests on one keep-alive client, p50 of
  each and their difference (target <= 1 ms).

    python benchmarks/teams_bench.py [--fires 20] [--requests 400]
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

PLAN = '''
from datetime import timedelta
from rillet import FixedRate, LaunchPlan, task, workflow

@task
def one(x: int) -> int:
    return x

@workflow
def wf(x: int = 1) -> int:
    return one(x=x)

tick = LaunchPlan.get_or_create(wf, name="tick",
                                schedule=FixedRate(duration=timedelta(seconds=0.25)))
'''


def _registered(folder: Path) -> tuple[object, str]:
    from rillet.platform import register
    from rillet.platform._stores import open_stores

    code = folder / "code"
    code.mkdir(parents=True)
    (code / "plans.py").write_text(PLAN)
    s = open_stores(str(folder / "home"))
    register(str(code / "plans.py"), store=s.store, artifacts=s.artifacts, version="v1")
    return s, str(folder / "home")


def bench_fire(fires: int) -> dict[str, float]:
    from rillet.platform._schedule import Scheduler, activate

    with tempfile.TemporaryDirectory() as tmp:
        s, _ = _registered(Path(tmp))
        activate(s.store, "tick")
        sched = Scheduler(s.store).start()
        deadline = time.time() + fires * 0.25 + 60
        while time.time() < deadline:
            n = s.store.database.read("SELECT COUNT(*) FROM schedule_fires")[0][0]
            if n >= fires:
                break
            time.sleep(0.05)
        sched.stop()
        rows = s.store.database.read(
            "SELECT f.scheduled_at, e.created_at FROM schedule_fires f JOIN executions e "
            "ON e.id = f.execution_id ORDER BY f.scheduled_at")
        s.close()
    lags = [(created - slot) * 1000 for slot, created in rows]
    return {"fires": len(lags), "median_ms": statistics.median(lags), "max_ms": max(lags)}


def bench_slots(total: int = 1000) -> dict[str, int]:
    from rillet.platform._schedule import activate, fire_due
    from rillet.platform._stores import open_stores

    rng = random.Random(15)
    with tempfile.TemporaryDirectory() as tmp:
        s, home = _registered(Path(tmp))
        activate(s.store, "tick", catch_up=True)
        anchor = float(s.store.database.read(
            "SELECT activated_at FROM launch_plan_states")[0][0])
        now, restarts = anchor, 0
        while now < anchor + total * 0.25:
            now = min(anchor + total * 0.25 + 0.01, now + rng.uniform(0.1, 20.0))
            handle = open_stores(home)  # a restarted server
            restarts += 1
            fire_due(handle.store, now=now, by="a")
            fire_due(handle.store, now=now, by="b")
            handle.close()
        slots = [round((float(r[0]) - anchor) / 0.25) for r in s.store.database.read(
            "SELECT scheduled_at FROM schedule_fires")]
        executions = s.store.database.read("SELECT COUNT(*) FROM executions")[0][0]
        s.close()
    expected = set(range(1, total + 1))
    return {"slots": total, "restarts": restarts, "lost": len(expected - set(slots)),
            "doubled": len(slots) - len(set(slots)) + (int(executions) - len(slots))}


def _serve(app: object) -> tuple[str, object, threading.Thread]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def bench_auth(requests: int) -> dict[str, float]:
    import httpx

    from rillet.platform._stores import open_stores
    from rillet.platform._tokens import create_token
    from rillet.server._app import create_app
    from rillet.store import Instance

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        s = open_stores(str(Path(tmp) / "home"))
        token = create_token(s.store, "bench", project="default", role="viewer")["token"]
        s.close()
        inst = Instance.home(str(Path(tmp) / "home"), executor="inline")
        for label, auth in (("open", False), ("auth", True), ("open2", False),
                            ("auth2", True)):
            url, server, thread = _serve(create_app(inst, auth=auth, scheduler=False))
            headers = {"authorization": f"Bearer {token}"} if auth else {}
            with httpx.Client(base_url=url, headers=headers) as c:
                for _ in range(50):
                    c.get("/api/v1/versions").raise_for_status()
                times = []
                for _ in range(requests):
                    t = time.perf_counter()
                    c.get("/api/v1/versions").raise_for_status()
                    times.append((time.perf_counter() - t) * 1000)
            server.should_exit = True  # type: ignore[attr-defined]
            thread.join()
            out[label] = statistics.median(times)
        inst.close()
    out["open_p50_ms"] = min(out.pop("open"), out.pop("open2"))
    out["auth_p50_ms"] = min(out.pop("auth"), out.pop("auth2"))
    out["added_ms"] = out["auth_p50_ms"] - out["open_p50_ms"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fires", type=int, default=20)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    fire = bench_fire(args.fires)
    print(f"scheduled fire -> execution queued: median {fire['median_ms']:.1f} ms, "
          f"max {fire['max_ms']:.1f} ms over {fire['fires']} fires (target <= 100 ms)")
    slots = bench_slots()
    print(f"{slots['slots']} simulated slots, {slots['restarts']} restarts: "
          f"{slots['lost']} lost, {slots['doubled']} doubled (target 0 and 0)")
    auth = bench_auth(args.requests)
    print(f"GET /versions p50: open {auth['open_p50_ms']:.2f} ms, with auth "
          f"{auth['auth_p50_ms']:.2f} ms: +{auth['added_ms']:.2f} ms (target <= 1 ms)")
    ok = (fire["median_ms"] <= 100 and slots["lost"] == 0 and slots["doubled"] == 0
          and auth["added_ms"] <= 1.0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
