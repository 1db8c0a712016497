"""Executors run task attempts: inline (this process) and processes (a warm pool)."""
