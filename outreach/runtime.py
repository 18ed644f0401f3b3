"""What a command or the daemon works with: settings, database, library, clients, clock.

Everything is opened lazily, so ``outreach --help`` or ``queue list`` never pays for
what they do not use: the database, the library, the HTTP client and each platform
client are made on first use.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
from collections.abc import Iterable
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING

from outreach.clients import client_class
from outreach.clients.base import (
    Clock,
    HttpClientOwner,
    MicroblogClient,
    cancel_requests,
    default_http_client,
)
from outreach.config.settings import AccountSettings, Settings
from outreach.errors import ContentError
from outreach.i18n import _
from outreach.store.budgets import DatabaseBudget
from outreach.store.db import Database
from outreach.times import utcnow

if TYPE_CHECKING:
    import httpx

    from outreach.library.model import Library

log = logging.getLogger(__name__)


class Runtime:
    """The settings, and what they open: one per command, shared by the daemon's workers.

    ``clock`` gives aware UTC (injected in tests and the demo); ``http`` is the HTTP client
    every network platform client shares (injected in tests, else made with the request
    deadline of the settings); ``client(account)`` is the one platform client per account.
    """

    settings: Settings
    clock: Clock

    def __init__(self, settings: Settings, *, clock: Clock = utcnow,
                 http: httpx.Client | None = None, migrate: bool = True,
                 durable: bool = True) -> None:
        self.settings = settings
        self._durable = durable  # False: a simulation's database (no flush at each commit)
        self.clock = clock
        self._http: httpx.Client | None = http
        self._clients: dict[str, MicroblogClient] = {}
        self._migrate = migrate
        self._lock = threading.RLock()  # the daemon's workers share the clients
        # what a forked child inherited and must leave alone (see ``after_fork``)
        self._inherited: tuple[Database | None, httpx.Client | None,
                               dict[str, MicroblogClient]] | None = None

    @cached_property
    def shared_budget(self) -> DatabaseBudget:
        """Platform apps' hourly budgets, shared with every process on the database."""
        return DatabaseBudget(self.db)

    @cached_property
    def db(self) -> Database:
        db = Database(self.settings.database_url, durable=self._durable)
        if self._migrate:
            db.ensure_schema()
        return db

    @cached_property
    def library(self) -> Library:
        # imported on first use (here and in ``render``): jinja2 and the lunar calendar are
        # about 5 % of every command's start-up, and most commands never read the library
        from outreach.library.load import load_library

        return load_library(self.settings.content_dir)

    @property
    def http(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                self._http = default_http_client(
                    request_deadline=self.settings.request_deadline_seconds)
            return self._http

    def for_accounts(self, names: Iterable[str]) -> Runtime:
        """A view that sees only these accounts (the daemon's publishing lane for one
        account) and shares everything else: database, library, HTTP client, platform
        clients, clock. Close the runtime, never a view."""
        self.db, self.library, self.http  # noqa: B018  (opened once, shared by every view)
        view = copy.copy(self)
        view.settings = dataclasses.replace(self.settings, accounts=MappingProxyType(
            {n: self.settings.accounts[n] for n in names}))
        return view

    def cancel_requests(self) -> int:
        """End every platform request in flight now and refuse new ones (the daemon
        stopping); returns how many were running."""
        return cancel_requests(self._http) if self._http is not None else 0

    def client(self, account: str | AccountSettings) -> MicroblogClient:
        """The account's client (one per account per runtime)."""
        acc = self.settings.account(account) if isinstance(account, str) else account
        with self._lock:
            client = self._clients.get(acc.name)
            if client is None:
                cls = client_class(acc.platform)
                http = self.http if issubclass(cls, HttpClientOwner) else None  # local: no net
                shared = ({"shared_budget": self.shared_budget}
                          if getattr(cls, "shares_rate_budget", False) else {})
                client = cls(acc, http=http, clock=self.clock, **shared)
                self._clients[acc.name] = client
        return client

    def simulated(self, account: AccountSettings) -> bool:
        """Whether the account's audience is simulated (the local platform): reports say so."""
        return client_class(account.platform).simulated

    def configured(self, account: AccountSettings) -> bool:
        """Whether the account has what its platform needs (a token)."""
        if not client_class(account.platform).needs_token:
            return True
        return account.token() is not None

    def render(self, tip_id: str, account: AccountSettings, variant: int = 0) -> str:
        """The exact text a tip would be posted as on this account."""
        lib = self.library
        tip = lib.tip(tip_id)
        texts = tip.texts
        if not 0 <= variant < len(texts):
            raise ContentError(_("tip {tip_id!r} has no variant {variant} (0-{value})").format(
                tip_id=tip_id, variant=variant, value=len(texts) - 1))
        from outreach.library.texts import render_tip

        return render_tip(lib, tip, variant, account)

    def after_fork(self) -> None:
        """In a forked child: leave the parent's connections and clients alone (closing one
        here would end the parent's PostgreSQL session) and open new ones when needed."""
        self._inherited = (self.__dict__.pop("db", None), self._http, dict(self._clients))
        self._http = None
        self._clients = {}
        self._lock = threading.RLock()  # another thread of the parent may have held it
        self._migrate = False  # the parent has checked the schema

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        if self._http is not None:
            self._http.close()
            self._http = None
        if "db" in self.__dict__:
            self.db.dispose()
