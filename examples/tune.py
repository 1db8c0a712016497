"""Tuning a small numpy model: 30 trials of TPE with median early stopping.

The model is a polynomial of degree ``depth`` fitted to noisy ``sin`` data by
gradient descent with learning rate ``lr``; each epoch logs ``val_loss``, which is
both the objective (its last value) and what early stopping watches. Each trial is
a durable execution in the home: ``rillet tune show lr-depth`` lists them, and the
cached ``make_data`` runs once for the whole study.

    python examples/tune.py                     # the study, then its best trial
    rillet tune examples/tune.py:fit --objective val_loss --trials 30 \
        --space '{"lr": ["float", 0.001, 0.5], "depth": ["int", 1, 9]}' --early-stopping median
"""

from __future__ import annotations

import numpy as np

from rillet import Float, Int, current_context, task, tune, workflow

EPOCHS = 40


@task(cache=True)
def make_data(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, size=n)
    return np.stack([x, np.sin(x) + rng.normal(0.0, 0.1, size=n)], axis=1)


@task
def train(data: np.ndarray, lr: float, depth: int) -> float:
    x, y = data[:, 0] / 3.0, data[:, 1]
    split = int(len(x) * 0.8)
    features = np.stack([x**k for k in range(depth + 1)], axis=1)
    weights = np.zeros(depth + 1)
    ctx = current_context()
    val_loss = float("inf")
    for epoch in range(EPOCHS):
        for _ in range(20):  # full-batch steps per epoch
            error = features[:split] @ weights - y[:split]
            weights -= lr * features[:split].T @ error / split
        val_loss = float(np.mean((features[split:] @ weights - y[split:]) ** 2))
        if not np.isfinite(val_loss):
            val_loss = 1e6  # diverged: a bad trial, logged as such
        ctx.log_metric("val_loss", val_loss, step=epoch)
        if val_loss >= 1e6:
            break
    return val_loss


@workflow
def fit(lr: float = 0.1, depth: int = 3, n: int = 400, seed: int = 0) -> float:
    return train(data=make_data(n=n, seed=seed), lr=lr, depth=depth)


def main(home: str | None = None, trials: int = 30) -> None:
    study = tune(fit, {"lr": Float(1e-3, 0.5, log=True), "depth": Int(1, 9)},
                 objective="val_loss", direction="minimize", algorithm="tpe",
                 max_trials=trials, early_stopping="median", name="lr-depth", seed=0,
                 home=home)
    counts = study.counts()
    best = study.best
    print(f"study {study.name}: {counts['COMPLETE']} finished, {counts['PRUNED']} pruned, "
          f"{counts['FAIL']} failed")
    print(f"best: trial {best.number} val_loss={best.value:.4f} "
          f"lr={best.params['lr']:.4g} depth={best.params['depth']} "
          f"execution {best.execution_id}")


if __name__ == "__main__":
    main()
