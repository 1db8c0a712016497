"""Helpers of the model tests (imported by name: every test folder's ``conftest`` is a
module called ``conftest``, so helpers do not live there)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def train(module: Any, home: Path, scale: float, n: int = 4) -> Any:
    """One durable execution of ``training`` (inline); returns the Execution."""
    import rillet

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pickle fallback's warning, for Scaler
        ex = rillet.run(module.training, home=str(home), executor="inline", n=n, scale=scale)
    assert ex.status == "SUCCEEDED", ex.error
    return ex
