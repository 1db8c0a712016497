"""``flytekit.extras``: the shell task."""
