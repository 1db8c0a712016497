"""What only the process executor does: warm workers, admission, killing on
timeout, replacing dead workers, splitting maps, loading user files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import types
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import tasks_for_tests as t

from rillet import task
from rillet.engine._loading import load_file
from rillet.errors import ExecutorError
from rillet.executors._processes import ProcessExecutor

GiB = 2**30


@pytest.fixture
def pool() -> Iterator[ProcessExecutor]:
    executor = ProcessExecutor(max_parallel=2)
    yield executor
    executor.shutdown()


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def eventually_gone(pid: int, limit: float = 5.0) -> bool:
    deadline = time.monotonic() + limit
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def run_all(executor: ProcessExecutor, jobs: list) -> list:
    """Submit like the engine does: whatever is admitted, then wait, until all are done."""
    pending, results = list(jobs), []
    while pending or executor.running():
        while pending and executor.submit(pending[0]):
            pending.pop(0)
        results.extend(executor.wait(5))
    return results


def test_workers_are_reused(pool, tmp_path: Path) -> None:
    pool_single = ProcessExecutor(max_parallel=1)
    try:
        pids = {t.run_one(pool_single, t.job(t.whoami, tmp_path)).outputs for _ in range(5)}
        assert len(pids) == 1
        assert pids == set(pool_single.worker_pids())
        assert pids.pop() != os.getpid()
    finally:
        pool_single.shutdown()


def test_workers_start_lazily_up_to_max_parallel(pool, tmp_path: Path) -> None:
    assert pool.worker_pids() == []
    jobs = [t.job(t.sleepy, tmp_path, node=f"n{i}", inputs={"seconds": 0.2}) for i in range(5)]
    assert pool.submit(jobs[0]) and pool.submit(jobs[1])
    assert not pool.submit(jobs[2])  # both workers busy
    assert len(pool.worker_pids()) == 2
    assert len(t.collect(pool, 2)) == 2
    run_all(pool, jobs[2:])
    assert len(pool.worker_pids()) == 2


def test_timed_out_worker_is_killed_and_replaced(pool, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    r = t.run_one(
        pool,
        t.job(t.sleepy_with_child, tmp_path, inputs={"seconds": 60, "pidfile": str(pidfile)},
              timeout=1.0),
    )
    assert r.timed_out and not r.ok and r.error_type == "TaskTimeoutError"
    assert r.pid is not None and eventually_gone(r.pid)
    assert eventually_gone(int(pidfile.read_text()))  # the task's own child process too
    assert r.pid not in pool.worker_pids()
    assert len(pool.worker_pids()) == 1  # a fresh worker took its place
    again = t.run_one(pool, t.job(t.whoami, tmp_path))
    assert again.ok and again.outputs != r.pid


def test_worker_that_exits_gives_worker_died_and_is_replaced(pool, tmp_path: Path) -> None:
    r = t.run_one(pool, t.job(t.exits_hard, tmp_path, inputs={"code": 3}))
    assert not r.ok and r.error_type == "WorkerDied" and "exit code 3" in r.error_message
    assert "about to exit" in r.logs
    assert eventually_gone(r.pid) and r.pid not in pool.worker_pids()
    again = t.run_one(pool, t.job(t.whoami, tmp_path))
    assert again.ok and again.outputs != r.pid


def test_segfault_gives_worker_died_with_its_traceback(pool, tmp_path: Path) -> None:
    r = t.run_one(pool, t.job(t.segfaults, tmp_path))
    assert not r.ok and r.error_type == "WorkerDied" and "SIGSEGV" in r.error_message
    assert "Fatal Python error" in r.logs and "segfaults" in r.logs
    assert t.run_one(pool, t.job(t.inc, tmp_path, inputs={"x": 1})).outputs == 2


def test_output_of_subprocesses_is_captured(pool, tmp_path: Path) -> None:
    r = t.run_one(pool, t.job(t.noisy_shell, tmp_path, inputs={"word": "w"}))
    assert r.ok
    assert r.logs.splitlines() == ["py:w", "shell:w"]


def test_two_jobs_that_each_need_the_whole_machine_run_one_after_the_other(tmp_path: Path) -> None:
    executor = ProcessExecutor(max_parallel=2, capacity=(2.0, 8 * GiB, 0))
    try:
        jobs = [t.job(t.hog, tmp_path, node=f"h{i}", inputs={"seconds": 0.5}, cpu=2.0)
                for i in range(2)]
        assert executor.submit(jobs[0])
        assert not executor.submit(jobs[1])
        results = run_all(executor, jobs[1:])  # also collects the first
    finally:
        executor.shutdown()
    spans = sorted(r.outputs for r in results)
    assert len(spans) == 2
    (a_start, a_end), (b_start, b_end) = spans
    assert a_end <= b_start


def test_memory_is_admitted_too(tmp_path: Path) -> None:
    executor = ProcessExecutor(max_parallel=4, capacity=(4.0, 1000, 0))
    try:
        jobs = [t.job(t.sleepy, tmp_path, node=f"m{i}", inputs={"seconds": 0.2}, mem=600)
                for i in range(2)]
        assert executor.submit(jobs[0]) and not executor.submit(jobs[1])
        assert len(run_all(executor, jobs[1:])) == 2
    finally:
        executor.shutdown()


def test_a_job_larger_than_the_machine_is_refused_by_name(tmp_path: Path) -> None:
    executor = ProcessExecutor(capacity=(2.0, 4 * GiB, 0))
    with pytest.raises(ExecutorError) as info:
        executor.submit(t.job(t.hog, tmp_path, inputs={"seconds": 0}, cpu=3.0))
    message = str(info.value)
    assert "tasks_for_tests:hog" in message and "cpu=3" in message and "cpu=2" in message
    with pytest.raises(ExecutorError, match="gpu=1"):
        executor.submit(t.job(t.inc, tmp_path, inputs={"x": 1}, gpu=1))


def test_gpus_are_assigned_per_job(tmp_path: Path) -> None:
    executor = ProcessExecutor(max_parallel=3, capacity=(3.0, 8 * GiB, 2))
    try:
        jobs = [t.job(t.cuda_devices, tmp_path, node=f"g{i}", gpu=1) for i in range(2)]
        jobs.append(t.job(t.cuda_devices, tmp_path, node="g2", gpu=1))
        assert executor.submit(jobs[0]) and executor.submit(jobs[1])
        assert not executor.submit(jobs[2])  # both GPUs taken
        first = t.collect(executor, 2)
        assert sorted(r.outputs for r in first) == ["0", "1"]
        assert t.run_one(executor, jobs[2]).outputs in ("0", "1")
        plain = t.run_one(executor, t.job(t.cuda_devices, tmp_path, node="cpu"))
        assert plain.outputs == os.environ.get("CUDA_VISIBLE_DEVICES")
    finally:
        executor.shutdown()


def test_map_is_split_over_workers(pool, tmp_path: Path) -> None:
    r = t.run_one(pool, t.job(t.element_pid, tmp_path, inputs={"x": list(range(200))},
                              mapped=("x",)))
    assert r.ok and len(r.outputs) == 200 and len(set(r.outputs)) == 2
    assert r.pid is None  # it ran on several workers
    one = t.run_one(pool, t.job(t.element_pid, tmp_path, inputs={"x": list(range(200))},
                                mapped=("x",), concurrency=1))
    assert len(set(one.outputs)) == 1


def test_fixed_inputs_of_a_map_are_pickled_once(pool, tmp_path: Path) -> None:
    t.CountsPickles.pickled = 0
    r = t.run_one(pool, t.job(t.ignores_fixed, tmp_path,
                              inputs={"x": list(range(200)), "fixed": t.CountsPickles()},
                              mapped=("x",)))
    assert r.ok and r.outputs == list(range(200)) and r.pid is None  # several chunks
    assert t.CountsPickles.pickled == 1


def test_map_overhead_per_element_is_small(pool, tmp_path: Path) -> None:
    xs = list(range(1000))
    t.run_one(pool, t.job(t.inc, tmp_path, inputs={"x": xs}, mapped=("x",)))  # warm up
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        r = t.run_one(pool, t.job(t.inc, tmp_path, inputs={"x": xs}, mapped=("x",)))
        best = min(best, time.perf_counter() - started)
        assert r.outputs == [x + 1 for x in xs]
    print(f"map over 1,000 with 2 warm workers: {best * 1000 / len(xs):.4f} ms per element")
    assert best / len(xs) < 0.001


def test_task_from_a_loaded_file_runs_in_a_worker(tmp_path: Path) -> None:
    src = tmp_path / "user_flow_for_executor.py"
    src.write_text(textwrap.dedent("""
        from rillet import task

        @task
        def double(x: int) -> int:
            return 2 * x
    """))
    module = load_file(str(src))
    executor = ProcessExecutor(max_parallel=1)
    try:
        r = t.run_one(executor, t.job(module.double, tmp_path, inputs={"x": 21}))
        assert r.ok and r.outputs == 42 and r.pid != os.getpid()
        late = tmp_path / "late_flow_for_executor.py"  # loaded after the worker started
        late.write_text(src.read_text().replace("2 * x", "3 * x"))
        r = t.run_one(executor, t.job(load_file(str(late)).double, tmp_path, inputs={"x": 2}))
        assert r.ok and r.outputs == 6
    finally:
        executor.shutdown()


def test_task_unknown_to_an_old_worker_runs_on_a_fresh_one(pool, tmp_path: Path) -> None:
    first = t.run_one(pool, t.job(t.whoami, tmp_path)).outputs
    module = types.ModuleType("rillet_test_made_late")
    sys.modules[module.__name__] = module
    try:
        def triple(x: int) -> int:
            return 3 * x

        triple.__module__, triple.__qualname__ = module.__name__, "triple"
        module.triple = task(triple)
        r = t.run_one(pool, t.job(module.triple, tmp_path, inputs={"x": 5}))
        assert r.ok and r.outputs == 15 and r.pid != first
    finally:
        del sys.modules[module.__name__]


def test_unsendable_outputs(pool, tmp_path: Path) -> None:
    r = t.run_one(pool, t.job(t.returns_lambda, tmp_path))
    assert r.ok and r.outputs() == 1  # pickled by value
    r = t.run_one(pool, t.job(t.returns_generator, tmp_path))
    assert not r.ok and not r.retryable and "cannot be sent back" in r.error_message


def test_shutdown_stops_workers_and_can_be_repeated(tmp_path: Path) -> None:
    executor = ProcessExecutor(max_parallel=2)
    t.run_one(executor, t.job(t.inc, tmp_path, inputs={"x": 1}))
    pids = executor.worker_pids()
    executor.submit(t.job(t.sleepy, tmp_path, inputs={"seconds": 60}))  # running at shutdown
    executor.shutdown()
    executor.shutdown()
    assert executor.worker_pids() == [] and executor.running() == 0
    assert all(eventually_gone(pid) for pid in pids)
    r = t.run_one(executor, t.job(t.whoami, tmp_path))  # usable again, with fresh workers
    assert r.ok and r.outputs not in pids
    executor.shutdown()


def test_no_workers_outlive_the_program_and_main_tasks_work(tmp_path: Path) -> None:
    script = tmp_path / "main_script.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(t.__file__).parent)!r})
        from rillet import task
        from rillet.executors._processes import ProcessExecutor
        import tasks_for_tests as t
        from pathlib import Path

        @task
        def in_main(x: int) -> int:
            return x * 100

        executor = ProcessExecutor(max_parallel=2)
        r = t.run_one(executor, t.job(in_main, Path({str(tmp_path)!r}), inputs={{"x": 4}}))
        print(r.outputs)
        print(" ".join(map(str, executor.worker_pids())))
        executor.submit(t.job(t.sleepy, Path({str(tmp_path)!r}), inputs={{"seconds": 60}}))
        # exits without shutdown(), with an attempt still running
    """))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 30
    out, pids = proc.stdout.splitlines()
    assert out == "400"
    assert all(eventually_gone(int(pid)) for pid in pids.split())


def test_workers_go_when_the_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "killed_parent.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(t.__file__).parent)!r})
        from rillet.executors._processes import ProcessExecutor
        import tasks_for_tests as t
        from pathlib import Path

        executor = ProcessExecutor(max_parallel=1)
        executor.submit(t.job(t.sleepy, Path({str(tmp_path)!r}), inputs={{"seconds": 60}}))
        print(" ".join(map(str, executor.worker_pids())), flush=True)
        time.sleep(60)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert pids
        proc.kill()
        proc.wait()
        assert all(eventually_gone(pid, limit=5) for pid in pids)
    finally:
        proc.kill()
        proc.stdout.close()


def test_a_worker_that_died_while_idle_does_not_fail_the_next_job(tmp_path: Path) -> None:
    executor = ProcessExecutor(max_parallel=1)
    try:
        pid = t.run_one(executor, t.job(t.whoami, tmp_path)).outputs
        os.kill(pid, 9)
        assert eventually_gone(pid)
        time.sleep(0.5)  # until it is reported ended (its threads are gone too)
        r = t.run_one(executor, t.job(t.whoami, tmp_path))
        assert r.ok and r.outputs != pid
    finally:
        executor.shutdown()


def test_inputs_that_cannot_be_sent_fail_the_attempt(pool, tmp_path: Path) -> None:
    import threading

    r = t.run_one(pool, t.job(t.inc, tmp_path, inputs={"x": threading.Lock()}))
    assert not r.ok and not r.retryable and "cannot be sent to a worker" in r.error_message
    assert pool.running() == 0
    assert t.run_one(pool, t.job(t.inc, tmp_path, inputs={"x": 1})).outputs == 2


def test_a_task_changing_directory_does_not_move_the_next(tmp_path: Path) -> None:
    executor = ProcessExecutor(max_parallel=1)
    try:
        moved = t.run_one(executor, t.job(t.moves_away, tmp_path, inputs={"to": str(tmp_path)}))
        assert moved.ok and moved.outputs == os.path.realpath(tmp_path)
        assert t.run_one(executor, t.job(t.where, tmp_path)).outputs == os.getcwd()
    finally:
        executor.shutdown()


def test_a_worker_lets_go_of_the_parents_server_sockets(pool, tmp_path: Path) -> None:
    """A server (``rillet server``) forks its executions' workers while it holds client
    connections: a connection it then closes must really close (the client sees the
    end), not stay open in the worker, where the client's next request would be lost."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    outgoing = socket.create_connection(listener.getsockname())  # a client socket of ours
    server_side, _ = listener.accept()
    try:
        assert t.run_one(pool, t.job(t.whoami, tmp_path)).outputs != os.getpid()  # forked
        accepted.close()  # the server closes an idle connection
        client.settimeout(30)
        assert client.recv(1) == b""  # the end reaches the client (it did not, held)
        outgoing.sendall(b"x")  # a client socket of the parent is not touched
        server_side.settimeout(30)
        assert server_side.recv(1) == b"x"
    finally:
        for s in (client, accepted, outgoing, server_side, listener):
            s.close()
