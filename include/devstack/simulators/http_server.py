"""A small threaded JSON-over-HTTP server that Pulse's API simulators share.

A simulator is a :class:`JsonApi`: routes (regular expressions over the path) to handlers that take
a :class:`Request` and return a JSON-able object, a :class:`Response` or raise :class:`ApiError`.
The API applies the request-level faults of :mod:`devstack.simulators.faults` before a handler runs,
answers errors as ``{"error": {"status": <int>, "message": "<text>"}}`` and logs one line per
request. :func:`running_server` serves it from a background thread (tests, benchmarks);
:func:`serve_until_stopped` serves it in the foreground until SIGTERM or SIGINT (the CLI).
"""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from json.encoder import encode_basestring
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from devstack.simulators.faults import FaultConfig, FaultDecision, RequestFaults


class ApiError(Exception):
    """An answer other than 200, raised by a handler: becomes the documented error body."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    """Path and query, as the client sent them."""
    path: str
    query: Mapping[str, str]
    """Query parameters; the last one wins when a name repeats."""
    params: Mapping[str, str]
    """Named groups of the route's pattern."""


@dataclass
class Response:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    note: str = ""
    """Appended to the request's log line (e.g. how many records a page held)."""


def json_response(value: Any, status: int = 200, note: str = "") -> Response:
    return Response(json.dumps(value).encode(), status, note=note)


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps({"error": {"status": status, "message": message}}).encode(), status,
                    dict(headers or {}))


def page_target(request: Request) -> tuple[str, int] | None:
    """The ``(resource, page)`` a request asks for, for ``broken_pages``: the route's ``resource`` group
    and the ``page`` parameter (1 when absent). None when the request names no readable page."""
    resource = request.params.get("resource")
    if resource is None:
        return None
    try:
        return resource, int(request.query.get("page", "1"))
    except ValueError:
        return None


def record_encoder(kinds: Mapping[str, str]) -> Callable[[Mapping[str, Any]], str]:
    """A JSON encoder for records of one shape, three times faster than ``json.dumps``.

    ``kinds`` maps each field, in output order, to ``str``, ``int``, ``float`` or ``bool`` (``date``
    and ``timestamp`` are strings). Only for records the simulator generated itself: every field
    present, and ``str`` values that need no JSON escaping (ids, words, ISO dates). Anything else
    (noise records) goes through ``json.dumps``."""
    spec = {"str": '"%%(%s)s"', "date": '"%%(%s)s"', "timestamp": '"%%(%s)s"', "int": "%%(%s)d",
            "float": "%%(%s)r", "bool": "%%(%s)s"}
    pairs = (f"{encode_basestring(name)}: {spec[kind] % name}" for name, kind in kinds.items())
    template = "{" + ", ".join(pairs) + "}"
    booleans = [name for name, kind in kinds.items() if kind == "bool"]
    if not booleans:
        return template.__mod__

    def encode(record: Mapping[str, Any]) -> str:
        values = dict(record)
        for name in booleans:
            values[name] = "true" if values[name] else "false"
        return template % values

    return encode


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern
    handler: Callable[[Request], Any]
    faults: bool


class JsonApi:
    """Routes, request-level faults and a request log, independent of any socket.

    ``answer(method, target)`` is the whole behaviour; the HTTP server only moves bytes."""

    def __init__(self, name: str, *, faults: FaultConfig | None = None, seed: int = 0,
                 logger: logging.Logger | None = None,
                 fault_target: Callable[[Request], tuple[str, int] | None] = page_target) -> None:
        self.name = name
        self.faults = RequestFaults(faults or FaultConfig(), seed)
        self.log = logger or logging.getLogger(f"devstack.simulators.{name}")
        self.fault_target = fault_target
        self.routes: list[Route] = []

    def route(self, pattern: str, handler: Callable[[Request], Any], *, faults: bool = True) -> None:
        """Serve GET requests whose path matches ``pattern`` (whole path). ``faults=False``: only the
        ``down`` fault applies (health checks)."""
        self.routes.append(Route(re.compile(pattern), handler, faults))

    def answer(self, method: str, target: str, client: str = "-") -> Response:
        started = time.perf_counter()
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        request = Request(method, target, parts.path, query, {})
        route = None
        for candidate in self.routes:
            match = candidate.pattern.fullmatch(parts.path)
            if match:
                route = candidate
                request = Request(method, target, parts.path, request.query, match.groupdict())
                break
        request_key = f"{method} {parts.path}?{urlencode(sorted(query.items()))}"
        decision = self.faults.decide(self.fault_target(request) if route else None,
                                      route is not None and route.faults, request_key)
        if decision.delay:
            time.sleep(decision.delay)
        response = self._respond(route, request, decision)
        notes = [*decision.notes]
        if response.note:
            notes.append(response.note)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.log.info('%s "%s %s" %d %dB %.1fms%s', client, method, target, response.status,
                      len(response.body), elapsed_ms, "".join(f" {n}" for n in notes))
        return response

    def _respond(self, route: Route | None, request: Request, decision: FaultDecision) -> Response:
        if decision.status is not None:
            if decision.status == 429:
                return error_response(429, f"rate limit exceeded: retry after {decision.retry_after}s",
                                      {"Retry-After": str(decision.retry_after)})
            messages = {502: "bad gateway: the upstream did not answer", 503: f"{self.name} is down"}
            return error_response(decision.status, messages.get(decision.status, "simulated failure"))
        if route is None:
            return error_response(404, f"nothing at {request.path}")
        if request.method not in ("GET", "HEAD"):
            return error_response(405, f"{request.method} is not supported: use GET", {"Allow": "GET, HEAD"})
        try:
            result = route.handler(request)
        except ApiError as exc:
            return error_response(exc.status, exc.message, exc.headers)
        except Exception as exc:  # a bug in the simulator: say so in the answer and the log
            self.log.exception("%s failed on %s", self.name, request.target)
            return error_response(500, f"simulator error: {type(exc).__name__}: {exc}")
        response = result if isinstance(result, Response) else json_response(result)
        if decision.truncate is not None and response.status == 200:
            full = len(response.body)
            cut = max(1, min(full - 1, int(full * decision.truncate)))
            response = Response(response.body[:cut], 200, response.headers,
                                f"{response.note} (cut to {cut} of {full} bytes)".strip())
        return response


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse their connection between pages
    timeout = 60  # an idle kept-alive connection frees its thread after this long
    disable_nagle_algorithm = True  # headers and body go out in two writes: don't wait for an ACK between
    server: _Server

    def _serve(self) -> None:
        if self.command not in ("GET", "HEAD"):
            self.close_connection = True  # a body we do not read must not be taken for the next request
        response = self.server.api.answer(self.command, self.path, self.client_address[0])
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # http.server calls do_<METHOD>

    def log_message(self, format: str, *args: Any) -> None:
        pass  # JsonApi logs every request itself


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: JsonApi) -> None:
        self.api = api
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End kept-alive connections too: a stopped server must not go on answering them."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def make_server(api: JsonApi, host: str = "127.0.0.1", port: int = 0, handler: type | None = None) -> _Server:
    """A threaded server for ``api`` bound to ``host:port`` (0: a free port), not yet serving; ``handler``
    replaces the request handler class (a simulator that needs more than GET and HEAD)."""
    server = _Server((host, port), api)
    if handler is not None:
        server.RequestHandlerClass = handler
    return server


def base_url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


@contextmanager
def running_server(api: JsonApi, host: str = "127.0.0.1", port: int = 0, handler: type | None = None
                   ) -> Iterator[str]:
    """Serve ``api`` from a background thread; yields its base URL. Stopped on exit."""
    server = make_server(api, host, port, handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name=f"{api.name}-server", daemon=True)
    thread.start()
    try:
        yield base_url_of(server)
    finally:
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)


def serve_until_stopped(api: JsonApi, host: str, port: int, banner: Sequence[str] = (),
                        handler: type | None = None) -> None:
    """Serve ``api`` in the foreground until SIGTERM or SIGINT, logging the ``banner`` lines first."""
    server = make_server(api, host, port, handler)

    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    api.log.info("%s listening on %s", api.name, base_url_of(server))
    for line in banner:
        api.log.info("%s", line)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt as exc:
        api.log.info("%s stopping (%s)", api.name, exc.args[0] if exc.args else "SIGINT")
    finally:
        server.close_connections()
        server.server_close()
