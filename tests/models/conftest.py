"""Fixtures of the model tests: a home with trained executions of ``wf_models``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from clikit import WORKFLOWS


@pytest.fixture(scope="module")
def wf_models() -> Any:
    from rillet.engine._loading import load_file

    return load_file(str(WORKFLOWS / "wf_models.py"))


def train(module: Any, home: Path, scale: float, n: int = 4) -> Any:
    """One durable execution of ``training`` (inline); returns the Execution."""
    import rillet

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pickle fallback's warning, for Scaler
        ex = rillet.run(module.training, home=str(home), executor="inline", n=n, scale=scale)
    assert ex.status == "SUCCEEDED", ex.error
    return ex
