"""The compiler: runs a workflow body with promises and produces a WorkflowSpec (the IR).

It runs no task and does no I/O; it never imports the engine, a store or an executor.
"""
