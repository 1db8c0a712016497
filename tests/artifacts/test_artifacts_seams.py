"""The ArtifactStore contract of ``rillet.testing`` on a folder and on fsspec memory."""

from __future__ import annotations

import uuid

import pytest

from rillet.artifacts import FolderArtifactStore
from rillet.testing import ArtifactStoreContract


class TestFolder(ArtifactStoreContract):
    @pytest.fixture
    def artifacts(self, tmp_path):
        return FolderArtifactStore(str(tmp_path / "artifacts"))


class TestFsspecMemory(ArtifactStoreContract):
    @pytest.fixture
    def artifacts(self):
        return FolderArtifactStore(f"memory://rillet-{uuid.uuid4().hex}/artifacts")
