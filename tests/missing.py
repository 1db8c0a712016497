"""The one rule for a component a test needs that this machine lacks (PostgreSQL,
SeaweedFS, Ray, a tmpfs mount): under ``CI=true``, where ``make test`` installs
everything, the test fails; elsewhere it is skipped with ``message`` (how to get it)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(message: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
