"""One HTTP request with a deadline for the whole of it, for the clients on httpx.

httpx's timeouts are per operation: a server that sends a byte every few seconds never
trips a read timeout and can hold a request (and whoever waits for it) for ever. Every
request of the Weibo and Mastodon clients goes through ``send``, which gives it one
deadline for the whole exchange — waiting for a connection, connecting, sending, the
headers and the body: ``[outreach] request_deadline_seconds`` (60 by default).

On an ``HttpClient`` (what ``http_client`` makes, and what the daemon and the CLI use) the
deadline holds inside every socket operation: each connect, read and write waits at most
what is left, and a watchdog shuts the request's socket when the deadline passes, so a
server that accepts our bytes one at a time cannot stretch a send either. On any other
``httpx.Client`` (tests inject mocked ones) it bounds the wait for a connection and is
checked between chunks of the body.

``DeadlinePassed`` and ``Cancelled`` say whether bytes of the request were written
(``sent``); ``may_have_left`` gives the one answer both clients need: a request that may
have reached the server is an ambiguous outcome when it is a write, one that cannot have
left is transient. ``HttpClient.cancel()`` ends every request in flight at once and
refuses new ones (the daemon stopping).

``exchange`` is ``send`` for the clients: it turns a failure without an HTTP answer into
the contract's error classes through the one classifier, ``transport_error``. The
clients reach it through ``outreach.clients.base.exchange``, which imports this module (and
httpx with it) on the first request only.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx

from outreach.errors import AmbiguousOutcome, ClientError, ConfigError, TransientError

DEFAULT_DEADLINE = 60.0


class DeadlinePassed(httpx.TimeoutException):
    """The request's deadline passed before its answer was complete."""

    def __init__(self, message: str, *, sent: bool,
                 request: httpx.Request | None = None) -> None:
        super().__init__(message, request=request)
        self.sent = sent


class Cancelled(httpx.TransportError):
    """The client was cancelled (the daemon is stopping) while or before the request ran."""

    def __init__(self, message: str, *, sent: bool,
                 request: httpx.Request | None = None) -> None:
        super().__init__(message, request=request)
        self.sent = sent


_NEVER_LEFT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError,
               httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL)


def may_have_left(exc: Exception) -> bool:
    """Whether the request may have reached the server before ``exc`` (then a write is
    ambiguous); False only when it certainly did not."""
    if isinstance(exc, DeadlinePassed | Cancelled):
        return exc.sent
    return not isinstance(exc, _NEVER_LEFT)


_UNUSABLE_URL = (httpx.UnsupportedProtocol, httpx.InvalidURL)


def describe(exc: Exception) -> str:
    """A short account of a transport failure for messages (never the URL: no secrets)."""
    if isinstance(exc, DeadlinePassed | Cancelled):
        return str(exc)
    return type(exc).__name__


# --- the requests in flight --------------------------------------------------------------

_lock = threading.Condition()
_order = itertools.count()


class _Owner:
    """The requests of one HttpClient, for ``cancel()``."""

    def __init__(self) -> None:
        self.cancelled = False
        self.live: set[_Request] = set()


class _Request:
    def __init__(self, seconds: float, owner: _Owner | None) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.owner = owner
        self.sent = False
        self.expired = False
        self.cancelled = False
        self.sockets: set[socket.socket] = set()

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def passed(self) -> bool:
        return self.expired or self.left() <= 0

    def timeout(self, timeout: float | None, error: type[Exception]) -> float:
        """``timeout`` cut to what is left of the deadline; raises ``error`` once it passed
        or the client was cancelled."""
        if self.cancelled:
            raise error("cancelled")
        left = self.left()
        if left <= 0:
            raise error("deadline passed")
        return left if timeout is None else min(timeout, left)

    @contextlib.contextmanager
    def using(self, sock: socket.socket | None) -> Iterator[None]:
        """While a socket operation runs, the watchdog and ``cancel()`` may shut ``sock``."""
        if sock is None:
            yield
            return
        with _lock:
            self.sockets.add(sock)
        try:
            yield
        finally:
            with _lock:
                self.sockets.discard(sock)

    def shut(self) -> None:
        """Wake whatever blocks on this request's sockets. Holds ``_lock``."""
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                # the plain socket's shutdown, also for an SSLSocket: the TLS state is left
                # to the thread that owns it, which sees the end of the stream and fails
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that shuts the sockets of requests whose deadline has passed."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Request]] = []
        self._live: set[_Request] = set()
        self._thread: threading.Thread | None = None

    def add(self, req: _Request) -> None:
        with _lock:
            if req.owner is not None:
                if req.owner.cancelled:
                    raise Cancelled("cancelled: the client is shutting down", sent=False)
                req.owner.live.add(req)
            self._live.add(req)
            heapq.heappush(self._heap, (req.deadline, next(_order), req))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="request-deadlines",
                                                daemon=True)
                self._thread.start()
            _lock.notify()

    def discard(self, req: _Request) -> None:
        with _lock:
            self._live.discard(req)
            if req.owner is not None:
                req.owner.live.discard(req)

    def _run(self) -> None:
        with _lock:
            while True:
                while self._heap and self._heap[0][2] not in self._live:
                    heapq.heappop(self._heap)  # finished in time
                if not self._heap:
                    _lock.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    _lock.wait(wait)
                    continue
                _, _, req = heapq.heappop(self._heap)
                req.expired = True
                req.shut()


_watchdog = _Watchdog()
_current: contextvars.ContextVar[_Request | None] = contextvars.ContextVar(
    "outreach_request", default=None)


# --- httpcore plumbing: every socket operation sees the request's deadline ----------------


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self._sock = inner.get_extra_info("socket")

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        req = _current.get()
        if req is None:
            return self._inner.read(max_bytes, timeout)
        with req.using(self._sock):
            return self._inner.read(max_bytes, req.timeout(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        req = _current.get()
        if req is None:
            self._inner.write(buffer, timeout)
            return
        limit = req.timeout(timeout, httpcore.WriteTimeout)
        if buffer:
            req.sent = True  # from the first byte on, the server may act on what it got
        with req.using(self._sock):
            self._inner.write(buffer, limit)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        req = _current.get()
        if req is not None:
            timeout = req.timeout(timeout, httpcore.ConnectTimeout)
        with req.using(self._sock) if req is not None else contextlib.nullcontext():
            return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        req = _current.get()
        if req is not None:
            timeout = req.timeout(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, timeout, local_address,
                                               socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        req = _current.get()
        if req is not None:
            timeout = req.timeout(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _Transport(httpx.HTTPTransport):
    """httpx's own transport, its connections made through the deadline-aware backend."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("app", None)  # httpx < 0.28 passes it along
        super().__init__(**kwargs)
        pool = getattr(self, "_pool", None)
        if pool is None or not hasattr(pool, "_network_backend"):
            raise RuntimeError("this httpx/httpcore version hides its network backend; "
                               "request deadlines cannot be enforced")
        pool._network_backend = _Backend(pool._network_backend)


class HttpClient(httpx.Client):
    """An ``httpx.Client`` whose requests through ``send`` keep ``request_deadline`` within
    every socket operation, and which ``cancel()`` can stop at once. Proxies from the
    environment are honoured as by httpx itself."""

    def __init__(self, *, request_deadline: float = DEFAULT_DEADLINE, **kwargs: Any) -> None:
        self.request_deadline = float(request_deadline)
        self._owner = _Owner()
        super().__init__(**kwargs)

    def _init_transport(self, *args: Any, transport: httpx.BaseTransport | None = None,
                        **kwargs: Any) -> httpx.BaseTransport:
        return transport if transport is not None else _Transport(**kwargs)

    def _init_proxy_transport(self, proxy: httpx.Proxy, *args: Any,
                              **kwargs: Any) -> httpx.BaseTransport:
        return _Transport(proxy=proxy, **kwargs)

    def cancel(self) -> int:
        """End every request in flight now and refuse new ones; returns how many ran."""
        with _lock:
            self._owner.cancelled = True
            live = list(self._owner.live)
            for req in live:
                req.cancelled = True
                req.shut()
        return len(live)


def http_client(*, connect: float = 5.0, read: float = 20.0,
                request_deadline: float = DEFAULT_DEADLINE) -> HttpClient:
    """The client every platform client uses unless one is injected: explicit per-operation
    timeouts and a deadline for each whole request."""
    return HttpClient(
        request_deadline=request_deadline,
        timeout=httpx.Timeout(read, connect=connect, pool=connect),
        headers={"User-Agent": "outreach/0.1"},
        follow_redirects=False,
    )


def _cut(timeout: httpx.Timeout, seconds: float) -> httpx.Timeout:
    def cut(value: float | None) -> float:
        return seconds if value is None else min(value, seconds)

    return httpx.Timeout(connect=cut(timeout.connect), read=cut(timeout.read),
                         write=cut(timeout.write), pool=cut(timeout.pool))


def send(http: httpx.Client, method: str, url: str, *, max_bytes: int,
         **kwargs: Any) -> tuple[httpx.Response, bytes | None]:
    """One request within the client's deadline: the (closed) response and its body, None
    when the body is larger than ``max_bytes``. Raises httpx's errors, ``DeadlinePassed``
    and ``Cancelled``; ``may_have_left`` tells them apart for a write."""
    seconds = http.request_deadline if isinstance(http, HttpClient) else DEFAULT_DEADLINE
    owner = http._owner if isinstance(http, HttpClient) else None
    req = _Request(seconds, owner)
    _watchdog.add(req)
    token = _current.set(req)
    answered = False
    try:
        with http.stream(method, url, timeout=_cut(http.timeout, seconds), **kwargs) as response:
            answered = True
            return response, _read(response, max_bytes, req)
    except (DeadlinePassed, Cancelled):
        raise
    except httpx.HTTPError as exc:
        sent = req.sent or answered
        if req.cancelled:
            raise Cancelled("cancelled: the client is shutting down", sent=sent) from exc
        if req.passed():
            raise _late(req, sent) from exc
        raise
    finally:
        _current.reset(token)
        _watchdog.discard(req)


def _late(req: _Request, sent: bool) -> DeadlinePassed:
    return DeadlinePassed(f"no complete answer within the {req.seconds:g} s request deadline",
                          sent=sent)


def _read(response: httpx.Response, max_bytes: int, req: _Request) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        if req.cancelled:
            raise Cancelled("cancelled: the client is shutting down", sent=True)
        if req.passed():
            raise _late(req, True)
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


# --- what the clients call ----------------------------------------------------------------


def exchange(http: httpx.Client, method: str, url: str, *, max_bytes: int, what: str,
             write: bool, url_key: str, **kwargs: Any) -> tuple[httpx.Response, bytes | None]:
    """``send``, with a failure that has no HTTP answer translated by ``transport_error``."""
    try:
        return send(http, method, url, max_bytes=max_bytes, **kwargs)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL is no HTTPError
        raise transport_error(exc, what=what, write=write, url_key=url_key) from exc


def transport_error(exc: Exception, *, what: str, write: bool,
                    url_key: str) -> ClientError | ConfigError:
    """The one translation of a failed exchange (no HTTP answer) into the exception tree.

    A URL httpx cannot use (a scheme other than http or https, a malformed address) is a
    ``ConfigError`` naming ``url_key``: the user must fix the configuration, and retrying
    cannot help. Otherwise a request that cannot have left is transient; one that may
    have reached the server is ambiguous when it is a write (``write``), else transient.
    """
    kind = describe(exc)
    if isinstance(exc, _UNUSABLE_URL):
        return ConfigError(f"{url_key}: not a usable URL ({kind})")
    if not may_have_left(exc):
        return TransientError(f"{what}: {kind}; the request never reached the server")
    if write:
        return AmbiguousOutcome(f"{what}: {kind} after the request was sent; it may have "
                                "been applied, reconcile before any retry")
    return TransientError(f"{what}: {kind}; try again later")

