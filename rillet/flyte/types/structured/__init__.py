"""``flytekit.types.structured``: ``StructuredDataset`` over pandas (and pyarrow), and
flytekit's encoder/decoder API (see ``structured_dataset``). Importing it imports pandas."""

from rillet.flyte.types.structured.structured_dataset import (
    CSV,
    PARQUET,
    StructuredDataset,
    StructuredDatasetDecoder,
    StructuredDatasetEncoder,
    StructuredDatasetTransformerEngine,
    StructuredDatasetType,
    register_csv_handlers,
)

__all__ = [
    "CSV", "PARQUET", "StructuredDataset", "StructuredDatasetDecoder",
    "StructuredDatasetEncoder", "StructuredDatasetTransformerEngine", "StructuredDatasetType",
    "register_csv_handlers",
]
