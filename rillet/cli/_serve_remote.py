"""``rillet serve NAME@ALIAS --server URL``: the serving app reading aliases and loading
models through a rillet server, and sending its request log there in batches. It lives
in the CLI layer because it joins ``rillet.models`` (the app) and ``rillet.remote``
(the client), which may not import each other."""

from __future__ import annotations

from typing import Any

from rillet.models._serving import ServeConfig, ServingApp


class RemoteServingApp(ServingApp):
    """A ``ServingApp`` whose registry and request log are the server's."""

    def _open_registry(self) -> Any:
        import os

        from rillet.remote._client import Remote

        assert self.config.server is not None
        self._remote = Remote(self.config.server, token=os.environ.get("RILLET_TOKEN") or None)
        return self._remote.models_in(self.config.project, self.config.domain)

    def _open_log(self) -> Any:
        from rillet.models._requestlog import RequestLog

        return RequestLog(None, sink=self._registry.record_requests)

    def stop(self) -> None:
        super().stop()
        remote = getattr(self, "_remote", None)
        if remote is not None:
            remote.close()


def app_from_env() -> ServingApp:
    """The uvicorn factory of a worker process of ``serve --server``."""
    return RemoteServingApp(ServeConfig.from_env())
