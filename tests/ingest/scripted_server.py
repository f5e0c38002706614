"""An HTTP server that answers from a script: for tests of the client's retry behaviour only."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def scripted_server(script):
    """``script(path, n, path_with_query)`` returns ``(status, headers, body)`` for the n-th request (from 0) to a path.

    Yields ``(base_url, log)``; ``log`` records ``(monotonic time, path with query, status)`` of each request
    as it is answered, before the answer is sent."""
    log: list[tuple[float, str, int]] = []
    counts: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            path = self.path.split("?")[0]
            with lock:
                n = counts.get(path, 0)
                counts[path] = n + 1
            status, headers, body = script(path, n, self.path)
            # Logged before the answer is sent: a client's next request cannot be logged ahead of this one.
            log.append((time.monotonic(), self.path, status))
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_GET  # noqa: N815 (a token endpoint: the body is not read, the script answers)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()
