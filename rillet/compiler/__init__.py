"""The compiler: a workflow body run once with promises becomes a WorkflowSpec (IR)."""
