"""``flytekit.models``: the literal records a StructuredDataset handler returns."""

from rillet.flyte.models import literals

__all__ = ["literals"]
