"""Artifact stores: bytes by content hash (a local folder; any fsspec URL)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rillet.artifacts._folder import FolderArtifactStore

__all__ = ["FolderArtifactStore", "fetch_url"]


def fetch_url(url: str, target: str, recursive: bool) -> None:
    """Fetch a URL (any fsspec protocol) to a local path: see ``_urls.fetch_url``."""
    from rillet.artifacts._urls import fetch_url as fetch

    fetch(url, target, recursive)


def __getattr__(name: str) -> Any:
    if name == "FolderArtifactStore":
        from rillet.artifacts._folder import FolderArtifactStore

        return FolderArtifactStore
    raise AttributeError(f"module 'rillet.artifacts' has no attribute {name!r}")
