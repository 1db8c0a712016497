"""flytekit's ``flytekit.types`` paths."""
