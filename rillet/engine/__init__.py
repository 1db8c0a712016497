"""The engine: the direct runner, and the durable state machine over the IR (no I/O of its own)."""
