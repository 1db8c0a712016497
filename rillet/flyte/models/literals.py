"""``flytekit.models.literals``: ``StructuredDataset`` (a uri and its metadata) and
``StructuredDatasetMetadata``, as an encoder returns them and a decoder reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StructuredDatasetMetadata:
    structured_dataset_type: Any = None


@dataclass
class StructuredDataset:
    """Where an encoded dataset lies (a local folder here) and its format."""

    uri: str
    metadata: StructuredDatasetMetadata = field(default_factory=StructuredDatasetMetadata)


__all__ = ["StructuredDataset", "StructuredDatasetMetadata"]
