"""The example workflows in ``examples/``, run as scripts and called directly.

Expected values are computed here independently (plain Python, pandas, numpy),
so a broken example or a broken direct call fails these tests.
"""

import importlib.util
import math
import random
import re
import statistics
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEAVY_MODULES = ("pandas", "numpy", "pyarrow", "sqlalchemy", "alembic", "fsspec", "ray")


def run_script(name: str, cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    # Direct calls run in memory and write nothing to disk.
    assert list(cwd.iterdir()) == []
    return proc.stdout


def load(name: str) -> ModuleType:
    module_name = f"rillet_example_{name}"
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


@pytest.fixture(scope="module")
def hello() -> ModuleType:
    return load("hello")


@pytest.fixture(scope="module")
def linreg() -> ModuleType:
    return load("linear_regression")


@pytest.fixture(scope="module")
def features() -> ModuleType:
    return load("features")


@pytest.fixture
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert list(tmp_path.iterdir()) == [], "a direct call wrote to disk"


# -- hello --------------------------------------------------------------------


def test_hello_script(tmp_path: Path) -> None:
    assert run_script("hello.py", tmp_path) == "Hello, world!\n"


def test_hello_script_imports_nothing_heavy(tmp_path: Path) -> None:
    code = (
        "import runpy, sys\n"
        f"runpy.run_path({str(EXAMPLES / 'hello.py')!r}, run_name='__main__')\n"
        f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["Hello, world!", "[]"]


def test_hello_direct(hello: ModuleType, empty_cwd: Path) -> None:
    assert hello.hello_world() == "Hello, world!"
    assert hello.hello_world(name="rillet") == "Hello, rillet!"
    assert hello.greet(name="task") == "Hello, task!"


# -- linear regression --------------------------------------------------------


def reference_fit(linreg: ModuleType, n: int, seed: int) -> tuple[float, float, float]:
    """Slope, intercept and test MSE by least squares, computed without rillet."""
    rng = random.Random(seed)
    x = [rng.uniform(-2.0, 2.0) for _ in range(n)]
    y = [linreg.TRUE_SLOPE * xi + linreg.TRUE_INTERCEPT + rng.gauss(0.0, linreg.NOISE) for xi in x]
    k = round(n * 0.7)
    slope, intercept = statistics.linear_regression(x[:k], y[:k])
    mse = statistics.fmean((slope * xi + intercept - yi) ** 2 for xi, yi in zip(x[k:], y[k:]))
    return slope, intercept, mse


def test_linear_regression_script(linreg: ModuleType, tmp_path: Path) -> None:
    out = run_script("linear_regression.py", tmp_path)
    match = re.fullmatch(r"slope=(\S+) intercept=(\S+) mse=(\S+)\n", out)
    assert match, out
    slope, intercept, mse = map(float, match.groups())
    ref_slope, ref_intercept, ref_mse = reference_fit(linreg, n=200, seed=0)
    assert slope == pytest.approx(ref_slope, abs=0.02)
    assert intercept == pytest.approx(ref_intercept, abs=0.02)
    assert mse == pytest.approx(ref_mse, abs=0.01)


@pytest.mark.parametrize("seed", [0, 7])
def test_linear_regression_closed_form(linreg: ModuleType, empty_cwd: Path, seed: int) -> None:
    metrics = linreg.train(n=300, seed=seed, epochs=0)
    assert isinstance(metrics, linreg.Metrics)
    ref_slope, ref_intercept, ref_mse = reference_fit(linreg, n=300, seed=seed)
    assert metrics.slope == pytest.approx(ref_slope, rel=1e-9)
    assert metrics.intercept == pytest.approx(ref_intercept, rel=1e-9)
    assert metrics.mse == pytest.approx(ref_mse, rel=1e-9)
    assert metrics.slope == pytest.approx(linreg.TRUE_SLOPE, abs=0.1)
    assert metrics.intercept == pytest.approx(linreg.TRUE_INTERCEPT, abs=0.1)


def test_linear_regression_gradient_descent(linreg: ModuleType, empty_cwd: Path) -> None:
    metrics = linreg.train()
    assert isinstance(metrics, linreg.Metrics)
    ref_slope, ref_intercept, ref_mse = reference_fit(linreg, n=200, seed=0)
    assert metrics.slope == pytest.approx(ref_slope, abs=0.02)
    assert metrics.intercept == pytest.approx(ref_intercept, abs=0.02)
    assert metrics.mse == pytest.approx(ref_mse, abs=0.01)
    assert metrics.mse < 2 * linreg.NOISE**2
    # A direct call is deterministic, and its inputs change its result.
    assert linreg.train() == metrics
    assert linreg.train(seed=1) != metrics
    # Too few epochs from a zero start leaves the fit far from the data.
    assert linreg.train(lr=0.0001, epochs=1).mse > 10 * metrics.mse


def test_linear_regression_split_outputs(linreg: ModuleType, empty_cwd: Path) -> None:
    parts = linreg.split(data=linreg.generate(n=10, seed=0))
    assert len(parts.train.x) == 7 and len(parts.test.y) == 3


# -- features -----------------------------------------------------------------


def reference_frame(features: ModuleType, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({col: rng.standard_normal(n) for col in features.WEIGHTS})
    noise = rng.normal(0.0, 0.5, n)
    df["y"] = sum(w * df[col] for col, w in features.WEIGHTS.items()) + noise
    return df


def reference_mse(
    features: ModuleType, n: int, seed: int, k: int, model_kind: str, alpha: float
) -> float:
    """What ``fit_on_features`` computes, in plain pandas and numpy."""
    df = reference_frame(features, n, seed)
    cut = round(n * 0.75)
    train, test = df.iloc[:cut], df.iloc[cut:]
    scores = train.corr()["y"].drop("y").abs()
    chosen = sorted(scores.index, key=lambda col: (-scores[col], col))[:k]

    def design(part: pd.DataFrame) -> np.ndarray:
        return np.column_stack([np.ones(len(part)), part[chosen].to_numpy()])

    y_train, y_test = train["y"].to_numpy(), test["y"].to_numpy()
    if model_kind == "linear":
        coef = np.linalg.lstsq(design(train), y_train, rcond=None)[0]
        pred = design(test) @ coef
    elif model_kind == "ridge" and alpha > 0:
        x = design(train)
        penalty = np.diag([0.0] + [alpha] * k)
        pred = design(test) @ np.linalg.solve(x.T @ x + penalty, x.T @ y_train)
    else:
        pred = np.full(len(test), y_train.mean())
    return float(np.mean((pred - y_test) ** 2))


def test_features_script(features: ModuleType, tmp_path: Path) -> None:
    out = run_script("features.py", tmp_path)
    printed = dict(re.findall(r"^(\w+): test mse=(\S+)$", out, flags=re.M))
    assert list(printed) == ["linear", "ridge", "mean"], out
    for kind, value in printed.items():
        expected = reference_mse(features, n=400, seed=0, k=2, model_kind=kind, alpha=1.0)
        assert float(value) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("model_kind", "alpha", "k"),
    [
        ("linear", 1.0, 2),
        ("linear", 1.0, 3),
        ("ridge", 5.0, 3),
        ("ridge", 0.0, 3),  # alpha > 0 fails: falls through to the baseline
        ("mean", 1.0, 2),
    ],
)
def test_features_direct(
    features: ModuleType, empty_cwd: Path, model_kind: str, alpha: float, k: int
) -> None:
    result = features.fit_on_features(n=300, seed=4, k=k, model_kind=model_kind, alpha=alpha)
    assert isinstance(result, float)
    expected = reference_mse(features, n=300, seed=4, k=k, model_kind=model_kind, alpha=alpha)
    assert result == pytest.approx(expected, rel=1e-9)


def test_features_models_rank_as_expected(features: ModuleType, empty_cwd: Path) -> None:
    linear = features.fit_on_features(k=3, model_kind="linear")
    baseline = features.fit_on_features(k=3, model_kind="mean")
    # With a, b and c the model explains all but the noise (variance 0.25).
    assert linear == pytest.approx(0.25, abs=0.1)
    assert baseline > 10 * linear
    assert not math.isclose(features.fit_on_features(k=1), linear)


def test_features_tasks_and_subworkflow(features: ModuleType, empty_cwd: Path) -> None:
    df = features.make_frame(n=200, seed=1)
    pd.testing.assert_frame_equal(df, reference_frame(features, 200, 1))
    parts = features.split_frame(df=df)
    assert (len(parts.train), len(parts.test)) == (150, 50)
    assert features.rank_features(df=parts.train, k=2) == ["a", "b"]
    assert features.rank_features(df=parts.train, k=5)[:3] == ["a", "b", "c"]
