"""The one exception tree of outreach.

The library raises, the CLI reports: every error a user can cause or meet is an
``OutreachError``; ``cli.py`` prints its one-line message and exits 1.

    OutreachError
     ├── ConfigError          config.toml is wrong (names the file, key and line)
     ├── ContentError         a tip, template, calendar or blocklist is wrong
     ├── InputError           a command-line value or an import row is wrong
     │    └── NotFound        no account, tip, post or comment by that name or id
     ├── StateError           the request does not fit the current state (e.g. retract a draft)
     ├── DatabaseError        the database cannot be opened or migrated
     └── ClientError          a microblog platform said no (translated in clients/)
          ├── AuthError            token expired or invalid; never retried
          ├── RateLimited          wait until ``retry_at``; never slept on
          ├── DuplicateContent     the platform already has this text
          ├── ContentRejected      too long, blank, sensitive
          ├── TransientError       the request never left; safe to retry
          ├── AmbiguousOutcome     it may have been applied; reconcile first
          └── RemoteError          any other answer, with the platform's code
"""

from __future__ import annotations

from datetime import datetime


class OutreachError(Exception):
    """Base of every error outreach raises on purpose."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(OutreachError):
    """The configuration file is missing, malformed or inconsistent."""


class ContentError(OutreachError):
    """The content library (tips, templates, calendar, blocklist) is invalid."""


class InputError(OutreachError):
    """A value given on the command line or in an import file is invalid."""


class NotFound(InputError):
    """A named account, tip, post or comment does not exist."""


class StateError(OutreachError):
    """The operation does not apply to the object's current state."""


class DatabaseError(OutreachError):
    """The database cannot be opened, locked or migrated."""


class ClientError(OutreachError):
    """A microblog platform refused or failed a request."""


class AuthError(ClientError):
    """The token is expired, revoked or invalid: a person must re-authorise."""


class RateLimited(ClientError):
    """The platform asks us to wait until ``retry_at`` (aware UTC)."""

    def __init__(self, message: str, *, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class DuplicateContent(ClientError):
    """The platform says this text was already posted."""


class ContentRejected(ClientError):
    """The platform refuses the text itself (too long, blank, sensitive)."""


class TransientError(ClientError):
    """The request never reached the platform (connect error, pool timeout)."""


class AmbiguousOutcome(ClientError):
    """The request may have been applied: reconcile before any retry."""


class MediaExpired(ClientError):
    """The server does not know an upload id ``publish`` named (unattached uploads expire)."""


class RemoteError(ClientError):
    """An answer we have no better class for, with the platform's own code."""

    def __init__(self, message: str, *, code: str | int | None = None) -> None:
        super().__init__(f"{message} (code {code})" if code is not None else message)
        self.code = code
