"""Fixtures of the model tests: the ``wf_models`` workflows (helpers: ``modelkit``)."""

from __future__ import annotations

from typing import Any

import pytest
from clikit import WORKFLOWS


@pytest.fixture(scope="module")
def wf_models() -> Any:
    from rillet.engine._loading import load_file

    return load_file(str(WORKFLOWS / "wf_models.py"))
