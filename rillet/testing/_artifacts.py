"""``ArtifactStoreContract``: bytes by content hash under one root. A subclass
provides the ``artifacts`` fixture (an empty store)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from rillet.errors import NotFound


class ArtifactStoreContract:
    """Subclass and provide ``artifacts`` (a fixture yielding an empty store)."""

    @pytest.fixture
    def artifacts(self) -> Any:  # pragma: no cover - every subclass provides it
        raise NotImplementedError("an ArtifactStoreContract subclass provides `artifacts`")

    def test_put_get_exists_delete(self, artifacts: Any) -> None:
        data = b"rillet" * 1000
        digest = hashlib.sha256(data).hexdigest()
        uri = artifacts.put(digest, data)
        assert artifacts.put(digest, data) == uri  # idempotent
        assert artifacts.get(uri) == data and artifacts.exists(uri)
        assert artifacts.size() >= len(data)
        artifacts.delete(uri)
        assert not artifacts.exists(uri)
        with pytest.raises(NotFound):
            artifacts.get(uri)

    def test_distinct_values_distinct_uris(self, artifacts: Any) -> None:
        a, b = b"a" * 10, b"b" * 10
        ua = artifacts.put(hashlib.sha256(a).hexdigest(), a)
        ub = artifacts.put(hashlib.sha256(b).hexdigest(), b)
        assert ua != ub and artifacts.get(ua) == a and artifacts.get(ub) == b
