"""The platform server (FastAPI): pydantic schemas (the wire) -> ``rillet.services`` -> thin
routes. Imported only by ``rillet server`` / ``rillet ui`` and tests; FastAPI and uvicorn are
the ``server`` extra."""
