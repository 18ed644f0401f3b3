"""Receivers for notifications: an SMTP server process (aiosmtpd) and an HTTP server that
takes apprise ``json://`` webhooks. Both record what arrived, as JSON lines or in memory."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from email import message_from_string
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.daemon_process import wait_for as wait_until  # noqa: F401  (re-exported)

SMTP_SCRIPT = '''
import asyncio, json, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

out, port = sys.argv[1], int(sys.argv[2])

class Handler:
    async def handle_DATA(self, server, session, envelope):
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                                 "data": envelope.content.decode("utf-8", "replace")}) + "\\n")
        return "250 OK"

def accept(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=True)

controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=accept,
                        auth_require_tls=False)
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    """aiosmtpd in its own process; every message it takes is a line of ``messages``."""

    def __init__(self, folder: Path) -> None:
        self.file = folder / "smtp.jsonl"
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-c", SMTP_SCRIPT, str(self.file),
                                      str(self.port)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.close()
            raise RuntimeError("the SMTP server did not start")

    def messages(self) -> list[dict[str, Any]]:
        if not self.file.exists():
            return []
        return [json.loads(x) for x in self.file.read_text(encoding="utf-8").splitlines()]

    def subjects(self) -> list[str]:
        return [str(make_header(decode_header(message_from_string(m["data"])["Subject"])))
                for m in self.messages()]

    def url(self, password: str) -> str:
        return (f"mailto://duty:{password}@127.0.0.1:{self.port}"
                "?from=bot@example.com&to=duty@example.com")

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


class WebhookServer:
    """An HTTP server for apprise ``json://`` posts; ``status`` is what it answers."""

    def __init__(self, port: int | None = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        self.port = port or free_port()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if outer.status == 200:
                    outer.received.append({"path": self.path, "json": json.loads(body)})
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, key: str) -> str:
        return f"json://127.0.0.1:{self.port}/hook/{key}"

    def bodies(self) -> list[str]:
        return [r["json"]["message"] for r in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
