"""The serving ASGI app: ``POST /predict``, ``GET /health``, ``GET /metrics``.

One app serves a model by alias (``NAME@ALIAS``) and optionally a canary alias that
gets a percentage of the traffic, chosen per request; ``X-Rillet-Version: N`` pins a
version. A watcher thread reads the served aliases every ``poll`` seconds; when one
moved, it loads the new version beside the old one and swaps the reference, so no
request fails or waits for a load. Every answer is recorded (``RequestLog``).

A plain ASGI callable (no framework): three routes, and the request path is the
benchmark's. Runs under uvicorn (``rillet serve``); it never starts a server itself.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import random
import threading
import time
import typing
from dataclasses import dataclass
from typing import Any

from rillet.errors import RilletError

_JSON = [(b"content-type", b"application/json")]
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=lambda o: _plain(o)
                          ).encode
_MAX_BODY = 64 * 1024 * 1024


def _plain(obj: Any) -> Any:
    """numpy arrays and scalars (and anything with ``tolist``/``item``) as JSON values."""
    for attr in ("tolist", "item"):
        method = getattr(obj, attr, None)
        if callable(method):
            return method()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"a {type(obj).__name__} has no JSON form")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeConfig:
    home: str | None
    name: str
    alias: str
    canary_name: str | None = None
    canary_alias: str | None = None
    canary_percent: float = 0.0
    log_bodies: bool = False
    poll: float = 0.1
    server: str | None = None  # a rillet server's URL instead of a home (the CLI's app)
    project: str = "default"  # the models' project and domain (every alias is read there)
    domain: str = "development"

    def to_env(self) -> str:
        return json.dumps({f: getattr(self, f) for f in self.__dataclass_fields__})

    @classmethod
    def from_env(cls) -> ServeConfig:
        return cls(**json.loads(os.environ["RILLET_SERVE_CONFIG"]))


class Loaded:
    """A loaded version: the callable that predicts and the input type it declared."""

    __slots__ = ("call", "input_type", "name", "type_name", "version")

    def __init__(self, name: str, version: int, model: Any) -> None:
        self.name = name
        self.version = version
        predict = getattr(model, "predict", None)
        self.call = predict if callable(predict) else model
        if not callable(self.call):
            raise RilletError(f"model {name}/{version} ({type(model).__name__}) has no "
                              "predict method and is not callable")
        self.input_type = _input_type(self.call)
        self.type_name = ""
        if self.input_type is not None:
            from rillet.types._compat import type_name

            self.type_name = type_name(self.input_type)


def _input_type(call: Any) -> Any:
    """The annotation of the first parameter of ``predict`` (None when there is none)."""
    import inspect

    try:
        params = [p for p in inspect.signature(call).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if not params:
            return None
        hints = typing.get_type_hints(call)
    except Exception:  # unresolvable annotations: serve without validation
        return None
    return hints.get(params[0].name)


class ServingApp:
    """The ASGI app. Loads the models at startup (lifespan) or on the first request."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self._routes: dict[str, Loaded] = {}  # "primary" / "canary" -> the version served
        self._versions: dict[tuple[str, int], Loaded] = {}
        self._started = False
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self._home: Any = None
        self._registry: Any = None
        self._log: Any = None
        self._metrics: Any = None
        self.swaps = 0

    # -- life cycle ------------------------------------------------------------------
    def start(self) -> None:
        with self._start_lock:
            if self._started:
                return
            from rillet.models._metrics import Metrics

            self._registry = self._open_registry()
            self._metrics = Metrics()
            for route, name, alias in self._targets():
                self._routes[route] = self._load(name, self._registry.alias_version(name,
                                                                                   alias))
            self._log = self._open_log()
            threading.Thread(target=self._watch, name="rillet-alias-watch", daemon=True).start()
            self._started = True
            gc.freeze()  # the loaded models and modules: not scanned by every collection

    def _open_registry(self) -> Any:
        """Where the aliases are read and the models loaded from: the home's registry
        (an app on a server overrides this and ``_open_log``)."""
        from rillet.services._model_registry import Registry
        from rillet.store._home import Home

        self._home = Home.open(self.config.home, create=False)
        return Registry(self._home.store, self._home.artifacts, project=self.config.project,
                        domain=self.config.domain)

    def _open_log(self) -> Any:
        from rillet.models._requestlog import RequestLog

        return RequestLog(self._home.store.database,
                          scope=(self.config.project, self.config.domain))

    def stop(self) -> None:
        self._stop.set()
        if self._log is not None:
            self._log.close()

    def _targets(self) -> list[tuple[str, str, str]]:
        c = self.config
        found = [("primary", c.name, c.alias)]
        if c.canary_name and c.canary_alias and c.canary_percent > 0:
            found.append(("canary", c.canary_name, c.canary_alias))
        return found

    def _load(self, name: str, version: int) -> Loaded:
        key = (name, version)
        found = self._versions.get(key)
        if found is None:
            found = Loaded(name, version, self._registry.load(self._registry.version(
                name, version)))
            self._versions[key] = found
        return found

    def _watch(self) -> None:
        """Swap a route to the version its alias names now (loaded before the swap)."""
        while not self._stop.wait(self.config.poll):
            for route, name, alias in self._targets():
                try:
                    version = self._registry.alias_version(name, alias)
                    if self._routes[route].version != version:
                        self._routes[route] = self._load(name, version)
                        self.swaps += 1
                except Exception:  # a bad version stays unserved; the old one serves on
                    continue

    # -- ASGI ------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            if not self._started:
                self.start()
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path, method = scope["path"], scope["method"]
        if path == "/predict":
            if method != "POST":
                return await _answer(send, 405, {"error": "POST /predict with "
                                                 '{"inputs": [...]}'})
            body = await _read_body(receive)
            status, answer, headers = self.predict(body, scope["headers"])
            return await _answer(send, status, answer, headers)
        if path not in ("/health", "/metrics"):
            return await _answer(send, 404, {"error": f"no route {path} (routes: POST "
                                             "/predict, GET /health, GET /metrics)"})
        if method != "GET":
            return await _answer(send, 405, {"error": f"{method} {path} is not allowed"})
        if path == "/health":
            return await _answer(send, 200, self.health())
        text, content_type = self._metrics.render()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", content_type.encode()),
                                (b"content-length", str(len(text)).encode())]})
        await send({"type": "http.response.body", "body": text})

    def health(self) -> dict[str, Any]:
        c = self.config
        served = [{"route": route, "model": r.name, "version": r.version,
                   "alias": c.alias if route == "primary" else c.canary_alias,
                   "percent": (100 - c.canary_percent if "canary" in self._routes else 100)
                   if route == "primary" else c.canary_percent}
                  for route, r in self._routes.items()]
        return {"status": "ok", "serving": served}

    # -- one prediction --------------------------------------------------------------
    def predict(self, body: bytes | None, headers: list[tuple[bytes, bytes]]
                ) -> tuple[int, dict[str, Any] | bytes, list[tuple[bytes, bytes]]]:
        """(status, JSON answer, extra headers) of one request; every answer is logged."""
        t0 = time.perf_counter()
        pinned = None
        for key, value in headers:
            if key == b"x-rillet-version":
                pinned = value
        try:
            served, route = self._choose(pinned)
        except _BadRequest as bad:
            return bad.status, {"error": bad.message}, []
        request_id = os.urandom(8).hex()
        status, answer, inputs_text, out = self._call(served, body)
        latency = time.perf_counter() - t0
        log_bodies = self.config.log_bodies
        self._log.add((
            request_id, time.time(), served.name, served.version, route, status,
            latency * 1000.0,
            hashlib.sha256(inputs_text).hexdigest() if inputs_text is not None else None,
            hashlib.sha256(out).hexdigest() if out is not None else None,
            inputs_text.decode() if log_bodies and inputs_text is not None else None,
            out.decode() if log_bodies and out is not None else None))
        self._metrics.observe(served.name, served.version, status, latency)
        extra = [(b"x-rillet-version", str(served.version).encode()),
                 (b"x-rillet-request-id", request_id.encode())]
        if status != 200:
            answer["request_id"] = request_id  # type: ignore[index]
            return status, answer, extra
        text = (b'{"outputs":' + out + b',"model":' + _dumps(served.name).encode()  # type: ignore[operator]
                + b',"version":' + str(served.version).encode()
                + b',"request_id":"' + request_id.encode() + b'"}')
        return status, text, extra

    def _choose(self, pinned: bytes | None) -> tuple[Loaded, str]:
        routes = self._routes
        if pinned is not None:
            text = pinned.decode("latin-1").strip()
            if not text.isdigit():
                raise _BadRequest(400, f"X-Rillet-Version: {text!r} is not a version number")
            name = self.config.name
            try:
                return self._load(name, int(text)), "pinned"
            except RilletError as exc:
                raise _BadRequest(404, str(exc)) from None
        canary = routes.get("canary")
        if canary is not None and random.random() * 100.0 < self.config.canary_percent:
            return canary, "canary"
        return routes["primary"], "primary"

    def _call(self, served: Loaded, body: bytes | None
              ) -> tuple[int, dict[str, Any], bytes | None, bytes | None]:
        """(status, error answer, the inputs' canonical JSON, the outputs' JSON)."""
        if body is None:
            return 413, {"error": f"the body is larger than {_MAX_BODY} bytes"}, None, None
        try:
            request = json.loads(body)
        except ValueError as exc:
            return 400, {"error": f"the body is not JSON: {exc}"}, None, None
        if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
            return 400, {"error": 'expected a JSON object {"inputs": [...]}'}, None, None
        inputs = request["inputs"]
        inputs_text = _dumps(inputs).encode()
        if served.input_type is not None:
            from rillet.types._compat import check_value, value_type_name

            if not check_value(inputs, served.input_type):
                return 422, {"error": f"inputs do not match the input type of "
                             f"{served.name}/{served.version}: expected {served.type_name}, "
                             f"got {value_type_name(inputs)}"}, inputs_text, None
        try:
            outputs = served.call(inputs)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            return 422, {"error": f"{served.name}/{served.version} rejected the inputs: "
                         f"{type(exc).__name__}: {exc}"}, inputs_text, None
        except Exception as exc:
            return 500, {"error": f"{served.name}/{served.version} failed: "
                         f"{type(exc).__name__}: {exc}"}, inputs_text, None
        try:
            out = _dumps(outputs).encode()
        except (TypeError, ValueError) as exc:
            return 500, {"error": f"the outputs of {served.name}/{served.version} have no "
                         f"JSON form: {exc}"}, inputs_text, None
        return 200, {}, inputs_text, out


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


async def _read_body(receive: Any) -> bytes | None:
    """The request body, or None when it is over the limit."""
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        return body  # type: ignore[no-any-return]
    parts = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def _answer(send: Any, status: int, answer: dict[str, Any] | bytes,
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = answer if isinstance(answer, bytes) else _dumps(answer).encode()
    head = [*_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status,
                "headers": head + headers if headers else head})
    await send({"type": "http.response.body", "body": body})


def app_from_env() -> ServingApp:
    """The uvicorn factory of a worker process: the config comes in the environment."""
    return ServingApp(ServeConfig.from_env())
