"""Issue 15 point 6: a launch plan's webhooks get one signed POST when its execution
ends, retried with backoff, every attempt recorded; executions not from a plan (or of an
event the webhook did not ask for) send nothing. A real server and a real receiver."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clikit import run, wait_for
from serverkit import Receiver, Served, serve

from rillet import Remote, Webhook
from rillet.errors import DefinitionError, NotFound
from rillet.platform import queue_state
from rillet.platform._notify import deliveries

SECRET_ENV = "RILLET_TEST_WEBHOOK_SECRET"
SECRET = "s3cret-for-the-test"


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Receiver]]:
    root = tmp_path_factory.mktemp("hooks")
    receiver = Receiver()
    old = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = SECRET
    try:
        with serve(root, root / "home", workers=1,
                   notifier={"tries": 4, "backoff": 0.05, "tick": 0.2}) as served:
            code = served.home / "hookflows.py"
            code.write_text(_code(receiver.url, served.home / 'release'))
            with Remote(served.url) as r:
                r.create_project("hooks")
                r.register(str(code), project="hooks", version="v1")
            yield served, receiver
    finally:
        receiver.close()
        if old is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = old


def _code(url: str, release: Path) -> str:
    return ("from rillet import LaunchPlan, Webhook, task, workflow\n\n"
            "@task\ndef double(x: int) -> int:\n    return 2 * x\n\n"
            "@workflow\ndef twice(x: int) -> int:\n    return double(x=x)\n\n"
            "notified = LaunchPlan.get_or_create(twice, name='notified',\n"
            f"    notifications=[Webhook('{url}/ok', on=['SUCCEEDED', 'FAILED'],\n"
            f"                           secret_env='{SECRET_ENV}')])\n"
            "flaky = LaunchPlan.get_or_create(twice, name='flaky',\n"
            f"    notifications=[Webhook('{url}/flaky', secret_env='{SECRET_ENV}')])\n"
            "failures = LaunchPlan.get_or_create(twice, name='failures',\n"
            f"    notifications=[Webhook('{url}/ok', on=['FAILED', 'TIMED_OUT'])])\n\n"
            "@task(timeout=0.5)\ndef stall(x: int) -> int:\n"
            "    import time\n    time.sleep(120)\n    return x\n\n"
            "@workflow\ndef stalled(x: int) -> int:\n    return stall(x=x)\n\n"
            "slow = LaunchPlan.get_or_create(stalled, name='slow',\n"
            f"    notifications=[Webhook('{url}/timeouts', on=['TIMED_OUT'])])\n"
            # held until the test releases it (no timeout: only the abort ends it)
            "@task\ndef hold(x: int) -> int:\n"
            "    import os, time\n"
            f"    while not os.path.exists({str(release)!r}):\n"
            "        time.sleep(0.05)\n    return x\n\n"
            "@workflow\ndef held(x: int) -> int:\n    return hold(x=x)\n\n"
            "stopped = LaunchPlan.get_or_create(held, name='stopped', default_inputs={'x': 1},\n"
            f"    notifications=[Webhook('{url}/aborted', on=['ABORTED'])])\n")


def _store(served: Served) -> Any:
    return served.app.state.notifier.store


def test_a_plan_execution_sends_one_signed_post_and_others_send_nothing(
        hooked: tuple[Served, Receiver]) -> None:
    served, receiver = hooked
    with Remote(served.url) as r:
        # not from a plan, and from a plan whose webhook wants failures only: they end first
        direct = r.launch("hookflows.twice", project="hooks", x=1).wait(timeout=60)
        quiet = r.launch("failures", project="hooks", x=2).wait(timeout=60)
        assert direct.status.value == quiet.status.value == "SUCCEEDED"
        done = r.launch("notified", project="hooks", x=3).wait(timeout=60)
        assert done.status.value == "SUCCEEDED"
    (headers, body, raw), = wait_for(lambda: receiver.bodies("/ok"), limit=60, every=0.1)
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Rillet-Signature"], expected)
    assert headers["Content-Type"] == "application/json"
    assert body["execution_id"] == done.id
    assert (body["launch_plan"], body["workflow"], body["status"], body["project"],
            body["domain"], body["version"]) == ("notified", "hookflows.twice", "SUCCEEDED",
                                                 "hooks", "development", "v1")
    assert body["ended_at"].endswith("+00:00")
    (row,) = wait_for(lambda: [d for d in deliveries(_store(served), done.id)
                               if d["state"] != "sending"], limit=60, every=0.1)
    assert (row["attempt"], row["state"], row["http_status"], row["event"]) == (
        1, "delivered", 200, "SUCCEEDED")
    # the two earlier executions ended before this one and were looked at first
    assert deliveries(_store(served), direct.id) == []
    assert deliveries(_store(served), quiet.id) == []
    assert len(receiver.bodies("/ok")) == 1


def test_a_failing_receiver_is_retried_and_every_attempt_recorded(
        hooked: tuple[Served, Receiver]) -> None:
    served, receiver = hooked
    with Remote(served.url) as r:
        done = r.launch("flaky", project="hooks", x=4).wait(timeout=60)
    assert done.status.value == "SUCCEEDED"
    rows = wait_for(lambda: [d for d in deliveries(_store(served), done.id)
                             if d["state"] == "delivered"] and
                    deliveries(_store(served), done.id), limit=60, every=0.1)
    assert [(d["attempt"], d["state"], d["http_status"]) for d in rows] == [
        (1, "failed", 503), (2, "failed", 503), (3, "delivered", 200)]
    got = receiver.bodies("/flaky")
    assert len(got) == 3 and {b["execution_id"] for _, b, _ in got} == {done.id}
    for headers, _, raw in got:  # every retry carries the same signed body
        assert headers["X-Rillet-Signature"] == "sha256=" + hmac.new(
            SECRET.encode(), raw, hashlib.sha256).hexdigest()


def test_a_timed_out_execution_is_the_timed_out_event(hooked: tuple[Served, Receiver]) -> None:
    served, receiver = hooked
    with Remote(served.url) as r:
        done = r.launch("slow", project="hooks", x=5).wait(timeout=90)
    assert done.status.value == "FAILED"
    (headers, body, _), = wait_for(lambda: receiver.bodies("/timeouts"), limit=60, every=0.1)
    assert (body["execution_id"], body["status"], headers["X-Rillet-Event"]) == (
        done.id, "TIMED_OUT", "TIMED_OUT")
    assert "X-Rillet-Signature" not in headers  # this webhook names no secret


def test_an_aborted_execution_is_the_aborted_event(hooked: tuple[Served, Receiver]) -> None:
    """Aborted at once after its launch: queued, claimed, loading or running in the
    server's worker, it ends ABORTED and stays so once its held task is released and
    the worker is done with it (the store refuses the engine's end over the abort)."""
    served, receiver = hooked
    with Remote(served.url) as r:
        launched = r.launch("stopped", project="hooks")
        try:
            r.abort(launched.id)
            done = launched.wait(timeout=90)
        finally:
            (served.home / "release").touch()  # ends the held task's thread
    assert done.status.value == "ABORTED"
    (_, body, _), = wait_for(lambda: receiver.bodies("/aborted"), limit=60, every=0.1)
    assert (body["execution_id"], body["status"]) == (done.id, "ABORTED")
    store = _store(served)
    # aborted in the queue, it is never claimed; claimed, its worker is done with it
    wait_for(lambda: queue_state(store, done.id)[0] in ("queued", "done"), limit=90,
             every=0.1)
    assert store.get_execution(done.id).status.value == "ABORTED"
    assert [b for _, b, _ in receiver.bodies("/aborted")] == [body]  # one end, one POST


def test_deliveries_are_listed_through_the_api_and_the_cli(
        hooked: tuple[Served, Receiver]) -> None:
    served, _ = hooked
    with Remote(served.url) as r:
        done = r.launch("notified", project="hooks", x=6).wait(timeout=60)
        wait_for(lambda: [d for d in deliveries(_store(served), done.id)
                          if d["state"] == "delivered"], limit=60, every=0.1)
        listed = [d for d in r.deliveries("notified", project="hooks")
                  if d["execution_id"] == done.id]
        assert [(d["hook"], d["attempt"], d["event"], d["state"], d["http_status"])
                for d in listed] == [(0, 1, "SUCCEEDED", "delivered", 200)]
        assert listed[0]["url"].endswith("/ok") and listed[0]["sent_by"]
        with pytest.raises(NotFound, match="nope is not registered in hooks/development"):
            r.deliveries("nope", project="hooks")
        with pytest.raises(DefinitionError, match="is a workflow, not a launch plan"):
            r.deliveries("hookflows.twice", project="hooks")
    # the CLI: through the server, and on the store (the server's home) directly
    for where in (["--server", served.url], ["--home", str(served.home / "home")]):
        got = run(["launchplan", "deliveries", "notified", "--project", "hooks", "--json",
                   *where], served.home)
        assert got.code == 0, got
        assert done.id in {d["execution_id"] for d in got.json}
    text = run(["launchplan", "deliveries", "notified", "--project", "hooks", "--server",
                served.url], served.home)
    assert text.code == 0 and f"{done.id}" in text.out and "delivered" in text.out, text
    bad = run(["launchplan", "deliveries", "notified", "--project", "hooks", "--domain",
               "prod", "--server", served.url], served.home)
    assert bad.code == 2 and "unknown domain 'prod'" in bad.err, bad


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"url": "ftp://x"}, "http:// or https://"),
    ({"url": "http://x", "on": ["DONE"]}, "events are SUCCEEDED"),
    ({"url": "http://x", "on": []}, "events are"),
    ({"url": "http://x", "secret_env": ""}, "environment variable name"),
])
def test_bad_webhooks_are_refused(kwargs: dict[str, Any], says: str) -> None:
    with pytest.raises(DefinitionError, match=says):
        Webhook(**kwargs)
