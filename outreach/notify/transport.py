"""Sending one message to one target: through apprise (WeCom, DingTalk, e-mail, Slack,
Matrix, ``json://`` webhooks …) or a target's ``command``.

Target URLs carry keys: they never reach output, logs, exceptions or the database. Every
piece of a URL that could be a key is remembered and masked (``scrub``) wherever text is
written, and apprise's and urllib3's log records pass through a filter that masks them.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import apprise

from outreach.config.settings import NotifyTarget
from outreach.errors import OutreachError
from outreach.i18n import _

log = logging.getLogger("outreach.notify")

COMMAND_TIMEOUT = 20  # seconds; shorter than the sender's lease


class NotifyFailed(OutreachError):
    """A target did not take a message (the reason never shows the target's URL)."""


def send(target: NotifyTarget, title: str, body: str, envelope: dict[str, Any]) -> None:
    """One message to one target; NotifyFailed (without the URL) when it was not taken."""
    if target.command:
        _run_command(target, title, body, envelope)
        return
    url = target.url().reveal()
    _remember(url)
    _route_library_logs()
    obj = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))  # in this thread
    if not obj.add(url):
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        raise NotifyFailed(_("target {name!r}: not a URL apprise can use (scheme {value!r})").format(
            name=target.name, value=scheme[:20]))
    with _capture() as problems:
        try:
            ok = bool(obj.notify(title=title, body=body))
        except Exception as exc:  # a plugin's own bug must not stop the sender
            raise NotifyFailed(_("target {name!r}: {error}").format(
                name=target.name, error=type(exc).__name__)) from None
    if not ok:
        reason = "; ".join(problems[-2:]) or "not delivered"
        raise NotifyFailed(_("target {name!r}: {reason}").format(name=target.name, reason=reason))


def _run_command(target: NotifyTarget, title: str, body: str, envelope: dict[str, Any]) -> None:
    assert target.command is not None
    data = json.dumps(dict(envelope, title=title, body=body), ensure_ascii=False)
    try:
        proc = subprocess.run(shlex.split(target.command), input=data, text=True,
                              capture_output=True, timeout=COMMAND_TIMEOUT, check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise NotifyFailed(_("target {name!r}: command failed: {error}").format(
            name=target.name, error=type(exc).__name__)) from None
    if proc.returncode != 0:
        raise NotifyFailed(_("target {name!r}: command exited {returncode}").format(
            name=target.name, returncode=proc.returncode))



_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_SEND_LOCK = threading.Lock()
_problems: list[str] | None = None
_routed = False


def _remember(url: str) -> None:
    """Every piece of a target URL that could be a key is masked wherever we write text."""
    pieces = {url}
    pieces.update(p for p in re.split(r"[/:@?&=#+,;]+", url.split("://", 1)[-1]) if len(p) >= 6)
    with _SECRETS_LOCK:
        _SECRETS.update(pieces)


def scrub(text: str) -> str:
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for s in secrets:
        text = text.replace(s, "***")
    return text


class _Forward(logging.Handler):
    """apprise's and urllib3's records: masked, collected for ``last_error``, and passed on
    to our log at WARNING and above (their DEBUG lines print whole URLs)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = scrub(record.getMessage())
        except Exception:
            return
        if _problems is not None and record.levelno >= logging.WARNING:
            _problems.append(text[:300])
        if record.levelno >= logging.WARNING:
            log.log(record.levelno, "%s: %s", record.name, text)


def _route_library_logs() -> None:
    global _routed
    if _routed:
        return
    handler = _Forward(level=logging.DEBUG)
    for name in ("apprise", "urllib3", "requests"):
        lib = logging.getLogger(name)
        lib.handlers = [handler]
        lib.propagate = False
        lib.setLevel(logging.WARNING)
    _routed = True


@contextmanager
def _capture() -> Iterator[list[str]]:
    """What apprise warns about during one send (sends are one at a time in a process)."""
    global _problems
    with _SEND_LOCK:
        _problems = []
        try:
            yield _problems
        finally:
            _problems = None
