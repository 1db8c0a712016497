"""``flytekit.core`` paths that Flyte's examples import."""
