"""``rillet.Remote``: the HTTP client of a rillet server (httpx), returning the same
``Execution`` view as ``rillet.run``."""
