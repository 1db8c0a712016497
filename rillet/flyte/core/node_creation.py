"""``flytekit.core.node_creation``."""

from rillet.sdk._imperative import create_node

__all__ = ["create_node"]
