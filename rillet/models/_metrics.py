"""Prometheus metrics of a serving process: requests, errors and a latency histogram,
per model version. With several workers (``PROMETHEUS_MULTIPROC_DIR`` set by
``rillet serve``) every worker writes its own files and a scrape sums them all."""

from __future__ import annotations

import os
from typing import Any

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Histogram,
            disable_created_metrics,
        )

        disable_created_metrics()  # type: ignore[no-untyped-call]  # a serving process's own samples only

        self._multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry()
        labels = ("model", "version")
        self.requests = Counter("rillet_serve_requests", "Answered prediction requests",
                                (*labels, "status"), registry=self.registry)
        self.errors = Counter("rillet_serve_errors", "Prediction requests answered with an "
                              "error", labels, registry=self.registry)
        self.latency = Histogram("rillet_serve_latency_seconds", "Time to answer a prediction",
                                 labels, buckets=_BUCKETS, registry=self.registry)
        self._children: dict[tuple[str, int, int], tuple[Any, Any, Any]] = {}

    def observe(self, model: str, version: int, status: int, seconds: float) -> None:
        key = (model, version, status)
        children = self._children.get(key)
        if children is None:
            v = str(version)
            children = self._children[key] = (
                self.requests.labels(model, v, str(status)), self.errors.labels(model, v),
                self.latency.labels(model, v))
        children[0].inc()
        if status >= 400:
            children[1].inc()
        children[2].observe(seconds)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if not self._multiprocess:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
