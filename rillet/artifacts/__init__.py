"""Artifact stores: bytes by content hash (a local folder; any fsspec URL)."""
