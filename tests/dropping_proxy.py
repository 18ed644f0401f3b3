"""A forwarding HTTP proxy that can lose an answer after the server applied the request.

``DroppingProxy(upstream_url)`` listens on 127.0.0.1 (a free port) and forwards every
request to the upstream server. After ``drop_next(n, method, path_prefix)``, the next
``n`` matching requests are still forwarded and fully answered by the upstream, but the
proxy then closes the client's connection without sending the answer: the write was
applied, and the client sees a dropped connection. This is what principle 2 calls an
ambiguous outcome, and what the peer's own ``timeout`` fault cannot stand for (it loses
the request instead).

    with DroppingProxy(peer_url) as proxy:
        proxy.drop_next()
        client_pointed_at(proxy.url).publish(...)   # -> AmbiguousOutcome, status exists
"""

from __future__ import annotations

import http.client
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailers", "transfer-encoding", "upgrade", "content-length",
})


class DroppingProxy:
    """A small threaded HTTP/1.1 proxy in front of one upstream server."""

    def __init__(self, upstream_url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"expected an http:// upstream URL, got {upstream_url!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.timeout = timeout
        self._lock = threading.Lock()
        self._rules: list[list[Any]] = []  # [remaining, method, path_prefix]
        self.dropped: list[tuple[str, str, int]] = []  # (method, path, upstream status)
        self.forwarded: list[tuple[str, str, int]] = []
        self._connections: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread: threading.Thread | None = None

    # --- control ---------------------------------------------------------------------

    def drop_next(
        self, n: int = 1, method: str = "POST", path_prefix: str = "/api/v1/statuses"
    ) -> None:
        """Lose the answers of the next ``n`` requests with this method and path prefix."""
        with self._lock:
            self._rules.append([n, method.upper(), path_prefix])

    def _should_drop(self, method: str, path: str) -> bool:
        with self._lock:
            for rule in self._rules:
                if rule[1] == method and path.split("?", 1)[0].startswith(rule[2]):
                    rule[0] -= 1
                    if rule[0] <= 0:
                        self._rules.remove(rule)
                    return True
        return False

    def start(self) -> DroppingProxy:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="dropping-proxy", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            conns = list(self._connections)
        for conn in conns:  # idle keep-alive handlers are waiting on these
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()

    def __enter__(self) -> DroppingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads
    block_on_close = True
    proxy: DroppingProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        proxy = self.server.proxy
        self.connection.settimeout(proxy.timeout)
        with proxy._lock:
            proxy._connections.add(self.connection)

    def finish(self) -> None:
        proxy = self.server.proxy
        with proxy._lock:
            proxy._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _forward(self) -> None:
        proxy = self.server.proxy
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.send_error(501, "chunked request bodies are not supported by this proxy")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = http.client.HTTPConnection(
            proxy.upstream_host, proxy.upstream_port, timeout=proxy.timeout
        )
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            resp = upstream.getresponse()
            payload = resp.read()
            status, reason, resp_headers = resp.status, resp.reason, resp.getheaders()
        finally:
            upstream.close()
        if proxy._should_drop(self.command, self.path):
            with proxy._lock:
                proxy.dropped.append((self.command, self.path, status))
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        with proxy._lock:
            proxy.forwarded.append((self.command, self.path, status))
        self.send_response_only(status, reason)
        for key, value in resp_headers:
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward
