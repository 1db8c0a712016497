"""Contract suites for plug-in implementations: pytest base classes that a store,
artifact store or executor test subclasses, providing one fixture.

    from rillet.testing import MetadataStoreContract

    class TestMyStore(MetadataStoreContract):
        @pytest.fixture
        def store(self):
            yield MyStore(...)

Importing this package imports pytest; nothing else in rillet imports it.
"""

from __future__ import annotations

from rillet.testing._artifacts import ArtifactStoreContract
from rillet.testing._executors import ExecutorContract
from rillet.testing._store import MetadataStoreContract

__all__ = ["ArtifactStoreContract", "ExecutorContract", "MetadataStoreContract"]
