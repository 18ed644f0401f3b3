"""A real HTTP server on 127.0.0.1 that is slow on purpose: it answers one byte at a time
(``headers``: from the status line on; ``body``: headers at once, then the body), or never
reads what it is sent (``stall``). Every socket read of a client succeeds in time, so only a
deadline for the whole request ends one.

Run as a thread (``with TrickleServer(...) as s``) or as a process
(``python -m tests.trickle_server PORT_FILE INTERVAL MODE``, for the real daemon).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

BODY = json.dumps({"id": 1, "idstr": "1", "uid": 1, "screen_name": "slow"}).encode()


class TrickleServer:
    def __init__(self, interval: float, mode: str = "headers") -> None:
        assert mode in ("headers", "body", "stall")
        self.interval = interval
        self.mode = mode
        self.requests = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []

    def __enter__(self) -> TrickleServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        t = threading.Thread(target=self._accept, name="trickle-accept", daemon=True)
        t.start()
        self._threads.append(t)

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        for conn in list(self._conns):
            with contextlib.suppress(OSError):
                conn.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            if self.mode == "stall":  # accept, never read: the sender's buffers fill up
                self.requests += 1
                self._stop.wait()
                return
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.requests += 1
            head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n")
            if self.mode == "body":
                conn.sendall(head)
                slow = BODY
            else:
                slow = head + BODY
            for i in range(len(slow)):
                if self._stop.wait(self.interval):
                    return
                conn.sendall(slow[i:i + 1])


def main() -> None:
    port_file, interval, mode = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    server = TrickleServer(interval, mode)
    server.start()
    port_file.write_text(str(server.port))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
