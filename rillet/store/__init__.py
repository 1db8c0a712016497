"""The metadata store: SQLite (embedded home) and SQL databases through SQLAlchemy."""
