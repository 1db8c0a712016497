"""``flytekit.testing``: ``SecretsManager`` tells which environment variable holds a
secret locally (``_FSEC_<GROUP>_<KEY>``), as ``current_context().secrets`` reads it."""

from rillet.flyte import _Secrets as SecretsManager

__all__ = ["SecretsManager"]
