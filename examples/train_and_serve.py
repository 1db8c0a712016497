"""Train, register, serve with a canary, promote, and trace one prediction back to its data.

    python examples/train_and_serve.py [HOME]      (needs rillet[data,serve])

1. ``training`` runs twice (a durable run each: params, metrics and lineage recorded):
   ordinary least squares, then ridge regression, on the same generated data.
2. The two models are registered as versions 1 and 2 of ``houses``: ``production`` -> 1,
   ``challenger`` -> 2.
3. ``rillet serve houses@production --canary houses@challenger:20`` answers requests;
   about a fifth go to the challenger.
4. The challenger is promoted (``production`` -> 2); the server swaps it in place.
5. ``rillet lineage request:ID`` walks from one answer to the data the model learned from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections import Counter

import numpy as np

import rillet
from rillet import current_context, models, task, workflow

# A model is any Python object; rillet stores this class with cloudpickle, and says so
# where the task is defined (once per type).
warnings.filterwarnings("ignore", message="rillet has no dedicated format")


class LinearModel:
    """y = X @ weights + bias; ``predict`` takes rows of features."""

    def __init__(self, weights: np.ndarray, bias: float) -> None:
        self.weights = weights
        self.bias = bias

    def predict(self, rows: list[list[float]]) -> list[float]:
        return (np.asarray(rows, dtype=float) @ self.weights + self.bias).tolist()


@task
def make_data(n: int, seed: int) -> np.ndarray:
    """n houses: size (100 m2), rooms, age (10 y) -> price (100k), with noise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 3.0, size=(n, 3))
    y = x @ np.array([2.0, 0.5, -0.3]) + 1.0 + rng.normal(0, 0.1, size=n)
    return np.column_stack([x, y])


@task
def train(data: np.ndarray, ridge: float) -> LinearModel:
    x, y = data[:, :-1], data[:, -1]
    xb = np.column_stack([x, np.ones(len(x))])
    penalty = ridge * np.eye(xb.shape[1])
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    w = np.linalg.solve(xb.T @ xb + penalty, xb.T @ y)
    ctx = current_context()
    ctx.log_param("ridge", ridge)
    ctx.log_metric("mse", float(np.mean((xb @ w - y) ** 2)))
    return LinearModel(w[:-1], float(w[-1]))


@workflow
def training(n: int = 500, seed: int = 0, ridge: float = 0.0) -> LinearModel:
    return train(data=make_data(n=n, seed=seed), ridge=ridge)


def post(port: int, rows: list[list[float]]) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/predict",
                                     data=json.dumps({"inputs": rows}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def primary_version(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=60) as answer:
        serving = json.loads(answer.read())["serving"]
    return next(s["version"] for s in serving if s["route"] == "primary")


def rillet_cli(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "rillet.cli", *args], check=True,
                          capture_output=True, text=True).stdout


def main(home: str) -> None:
    ols = rillet.run(training, home=home, executor="inline", ridge=0.0)
    ridge = rillet.run(training, home=home, executor="inline", ridge=50.0)
    print(f"trained: {ols.id} (ols), {ridge.id} (ridge)")
    print(rillet_cli("compare", ols.id, ridge.id, "--home", home), end="")

    v1 = models.register("houses", execution=ols.id, node="train", alias="production",
                         home=home)
    v2 = models.register("houses", execution=ridge.id, node="train", alias="challenger",
                         home=home)
    print(f"registered houses versions {v1} (production) and {v2} (challenger)")

    server = subprocess.Popen(
        [sys.executable, "-m", "rillet.cli", "serve", "houses@production", "--canary",
         "houses@challenger:20", "--port", "0", "--home", home],
        stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()  # type: ignore[union-attr]
        print(line.strip())
        port = int(line.split("http://127.0.0.1:")[1].split()[0])
        answers = [post(port, [[1.2, 3.0, 0.5]]) for _ in range(200)]
        split = Counter(a["version"] for a in answers)
        print(f"200 requests: {split[v1]} answered by version {v1}, "
              f"{split[v2]} by version {v2} (the 20% canary)")

        previous = models.set_alias("houses", "production", version=v2, home=home)
        print(f"promoted: houses@production {previous} -> {v2}")
        deadline = time.monotonic() + 30
        while primary_version(port) != v2:  # the server swaps within ~0.1 s
            if time.monotonic() > deadline:
                raise SystemExit("the server did not swap to the promoted version")
            time.sleep(0.05)
        answer = post(port, [[2.0, 4.0, 1.0]])
        print(f"now: {answer['outputs'][0]:.3f} from version {answer['version']} "
              f"(request {answer['request_id']})")
        time.sleep(0.3)  # the request log is written every 0.1 s
        print(f"lineage of request {answer['request_id']}:")
        print(rillet_cli("lineage", f"request:{answer['request_id']}", "--home", home),
              end="")
    finally:
        server.terminate()
        server.wait(timeout=60)
    for event in models.history("houses", home=home):
        print(f"history: {event.event} alias={event.alias} version={event.version} "
              f"previous={event.previous} by {event.who}")


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]) if len(sys.argv) > 1
         else os.path.join(tempfile.mkdtemp(prefix="rillet-models-"), "home"))
