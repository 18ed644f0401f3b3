"""The console's users: who may sign in, with which role, and what each role may do.

Roles rank ``officer < approver < admin``: an officer composes, queues drafts and answers
the public; an approver also approves posts and tips, pauses and resumes, retracts; an
admin also manages users. :data:`MIN_ROLE` is the one table of who may do what; a face asks
:func:`require` before it calls an action. Passwords are kept only as Argon2 hashes.

Signing in is throttled in the database (so a restart or a second web process counts the
same failures): :data:`MAX_FAILURES` failed tries within :data:`LOCKOUT` lock that user name,
and separately that address, until :data:`LOCKOUT` after the last of them. Every try is
audited.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, TypedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlmodel import Session, col

from outreach.errors import InputError, NotFound, OutreachError, StateError
from outreach.i18n import _
from outreach.store.audit import audit
from outreach.store.models import LoginAttempt, User

if TYPE_CHECKING:
    from outreach.runtime import Runtime


class Role(StrEnum):
    OFFICER = "officer"
    APPROVER = "approver"
    ADMIN = "admin"


RANK = {Role.OFFICER: 1, Role.APPROVER: 2, Role.ADMIN: 3}


class Permission(StrEnum):
    """What a face may ask to do on a user's behalf."""

    VIEW = "view"  # read every page
    COMPOSE = "compose"  # queue posts (ad-hoc texts become drafts)
    EDIT_QUEUE = "edit_queue"  # edit, reschedule or cancel drafts and queued posts
    REPLY = "reply"  # answer the public, mark answered
    APPROVE = "approve"  # approve or reject drafts and tips
    PAUSE = "pause"  # pause and resume posting
    RETRACT = "retract"  # delete a published post
    MANAGE_USERS = "manage_users"


MIN_ROLE: dict[Permission, Role] = {
    Permission.VIEW: Role.OFFICER,
    Permission.COMPOSE: Role.OFFICER,
    Permission.EDIT_QUEUE: Role.OFFICER,
    Permission.REPLY: Role.OFFICER,
    Permission.APPROVE: Role.APPROVER,
    Permission.PAUSE: Role.APPROVER,
    Permission.RETRACT: Role.APPROVER,
    Permission.MANAGE_USERS: Role.ADMIN,
}


class LoginOutcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    THROTTLED = "throttled"


LANGS = ("zh", "en")
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
NAME_RE = re.compile(r"^[\w.@-]{1,64}$")
MAX_DISPLAY = 100


class Forbidden(OutreachError):
    """The signed-in user's role does not allow this."""


class LoginFailed(OutreachError):
    """Wrong user name or password (or a disabled user): one message for all, so a failure
    does not tell which."""


class LoginThrottled(OutreachError):
    """Too many failed tries for this user name or address; ``until`` is when it ends."""

    def __init__(self, message: str, *, until: datetime) -> None:
        super().__init__(message)
        self.until = until


@dataclass(frozen=True)
class SignedIn:
    """The user a request acts for (what a face keeps of a signed-in user)."""

    id: int
    name: str
    role: Role
    lang: str
    display_name: str | None
    stamp: str  # see :func:`session_stamp`

    def may(self, permission: Permission) -> bool:
        return RANK[self.role] >= RANK[MIN_ROLE[permission]]


class UserRow(TypedDict):
    name: str
    display_name: str | None
    role: str
    lang: str
    disabled: bool
    disabled_at: str | None
    created_at: str | None
    last_login_at: str | None


def require(user: SignedIn, permission: Permission) -> None:
    """Raise :class:`Forbidden` unless the user's role allows ``permission``."""
    if not user.may(permission):
        raise Forbidden(_("{name} is {role}; this needs {value} ({permission})").format(
            name=user.name, role=user.role, value=MIN_ROLE[permission], permission=permission))


def require_by_name(rt: Runtime, name: str, permission: Permission) -> None:
    """For an action taken in someone's name (the command line's ``--by``): when the name is
    a console user's, their role must allow ``permission`` and they must not be disabled, so
    a name cannot do on the command line what its role forbids in the console. A name that
    is no console user's (an operator at the server) is not limited here."""
    with rt.db.reader() as s:
        user = s.execute(select(User).where(col(User.name) == name)).scalars().first()
    if user is None:
        return
    if user.disabled_at is not None:
        raise Forbidden(_("console user {name} is disabled").format(name=name))
    require(signed_in(user), permission)


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    return _hasher().hash("an unknown user is checked as long as a known one")


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InputError(_("unknown role {value!r} (known: {known})").format(
            value=value, known=', '.join(Role))) from None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(_("the password is shorter than {MIN_PASSWORD} characters").format(
            MIN_PASSWORD=MIN_PASSWORD))
    if len(password) > MAX_PASSWORD:
        raise InputError(_("the password is over {MAX_PASSWORD} characters").format(
            MAX_PASSWORD=MAX_PASSWORD))


def _lang(value: str) -> str:
    if value not in LANGS:
        raise InputError(_("unknown language {value!r} (known: {known})").format(
            value=value, known=', '.join(LANGS)))
    return value


def _get(s: Session, name: str) -> User:
    user: User | None = s.execute(select(User).where(col(User.name) == name)).scalars().first()
    if user is None:
        raise NotFound(_("no console user {name!r}").format(name=name))
    return user


def signed_in(user: User) -> SignedIn:
    assert user.id is not None
    return SignedIn(user.id, user.name, Role(user.role), user.lang, user.display_name,
                    session_stamp(user))


def add_user(rt: Runtime, name: str, *, role: str, password: str, by: str,
             display_name: str | None = None, lang: str = "zh") -> User:
    """A new console user (the name is unique), audited; the password is kept hashed.
    ``by`` must be an admin when it names a console user (see :func:`require_by_name`)."""
    require_by_name(rt, by, Permission.MANAGE_USERS)
    name = name.strip()
    if not NAME_RE.match(name):
        raise InputError(_("user name {name!r} must be 1-64 letters, digits or . _ @ -").format(name=name))
    the_role = _role(role)
    _check_password(password)
    shown = (display_name or "").strip() or None
    if shown is not None and len(shown) > MAX_DISPLAY:
        raise InputError(_("--display-name is over {MAX_DISPLAY} characters").format(
            MAX_DISPLAY=MAX_DISPLAY))
    the_lang = _lang(lang)
    digest = _hasher().hash(password)
    now = rt.clock()
    with rt.db.session() as s:
        if s.execute(select(col(User.id)).where(col(User.name) == name)).first() is not None:
            raise StateError(_("console user {name!r} exists (use `outreach users set-password`)").format(
                name=name))
        user = User(name=name, display_name=shown, role=the_role, password_hash=digest,
                    lang=the_lang, created_by=by, created_at=now, password_changed_at=now)
        s.add(user)
        audit(s, now, by, "user_add", target=name, detail={"role": the_role})
        s.commit()
        return user


def list_users(rt: Runtime) -> list[UserRow]:
    """Every console user, by name (never a hash)."""
    with rt.db.reader() as s:
        users = s.execute(select(User).order_by(col(User.name))).scalars().all()
    return [{"name": u.name, "display_name": u.display_name, "role": u.role, "lang": u.lang,
             "disabled": u.disabled_at is not None,
             "disabled_at": u.disabled_at.isoformat() if u.disabled_at else None,
             "created_at": u.created_at.isoformat() if u.created_at else None,
             "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
            for u in users]


def disable_user(rt: Runtime, name: str, *, by: str) -> User:
    """The user can no longer sign in, and their open sessions end; audited."""
    require_by_name(rt, by, Permission.MANAGE_USERS)
    now = rt.clock()
    with rt.db.session() as s:
        user = _get(s, name)
        if user.disabled_at is not None:
            raise StateError(_("console user {name!r} is already disabled").format(name=name))
        user.disabled_at, user.disabled_by = now, by
        audit(s, now, by, "user_disable", target=name)
        s.commit()
        return user


def set_password(rt: Runtime, name: str, password: str, *, by: str) -> User:
    """A new password (the user's open sessions end); audited, never the password."""
    require_by_name(rt, by, Permission.MANAGE_USERS)
    _check_password(password)
    digest = _hasher().hash(password)
    now = rt.clock()
    with rt.db.session() as s:
        user = _get(s, name)
        user.password_hash, user.password_changed_at = digest, now
        audit(s, now, by, "user_set_password", target=name)
        s.commit()
        return user


def set_language(rt: Runtime, user_id: int, lang: str) -> None:
    """The language the console speaks to this user."""
    the_lang = _lang(lang)
    with rt.db.session() as s:
        user = s.get(User, user_id)
        if user is None:
            raise NotFound(_("no console user with id {user_id}").format(user_id=user_id))
        user.lang = the_lang
        s.commit()


def session_stamp(user: User) -> str:
    """Changes when the password changes: a session carries it, so a new password (or a
    leaked old session cookie) ends every session made before."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def session_user(rt: Runtime, user_id: int, stamp: str) -> SignedIn | None:
    """The user of a session, if they may still be signed in."""
    with rt.db.reader() as s:
        user = s.get(User, user_id)
    if user is None or user.disabled_at is not None or session_stamp(user) != stamp:
        return None
    return signed_in(user)


def _key(name: str) -> str:
    return name.strip().lower()[:64]


def throttled_until(s: Session, username: str, address: str, now: datetime) -> datetime | None:
    """When the lock on this user name or address ends, if one holds now: after
    :data:`MAX_FAILURES` failures within :data:`LOCKOUT`, until :data:`LOCKOUT` after the
    last. A user's successful sign-in clears that user's count (not the address's)."""
    ends = []
    last_ok = s.execute(select(func.max(col(LoginAttempt.at))).where(
        col(LoginAttempt.username) == username,
        col(LoginAttempt.outcome) == LoginOutcome.OK)).scalar()
    for column, value, since in ((LoginAttempt.username, username, last_ok),
                                 (LoginAttempt.address, address, None)):
        q = select(col(LoginAttempt.at)).where(
            col(column) == value, col(LoginAttempt.outcome) == LoginOutcome.FAILED,
            col(LoginAttempt.at) > now - 2 * LOCKOUT)
        if since is not None:
            q = q.where(col(LoginAttempt.at) > since)
        times = list(s.execute(q.order_by(col(LoginAttempt.at).desc())
                               .limit(MAX_FAILURES)).scalars())
        if len(times) == MAX_FAILURES and times[0] - times[-1] <= LOCKOUT \
                and times[0] + LOCKOUT > now:
            ends.append(times[0] + LOCKOUT)
    return max(ends) if ends else None


def _record(rt: Runtime, username: str, address: str, outcome: LoginOutcome, now: datetime,
            action: str, reason: str | None = None, user: User | None = None) -> None:
    with rt.db.session() as s:
        s.add(LoginAttempt(at=now, username=username, address=address[:64], outcome=outcome))
        audit(s, now, username or "?", action, target=address[:120], reason=reason)
        if user is not None:
            s.add(user)
            user.last_login_at = now
        s.commit()


def authenticate(rt: Runtime, name: str, password: str, *, address: str) -> SignedIn:
    """Sign a user in, or raise :class:`LoginFailed` / :class:`LoginThrottled`; every try
    is recorded and audited (never the password)."""
    username = _key(name)
    now = rt.clock()
    with rt.db.reader() as s:
        until = throttled_until(s, username, address, now)
        user = s.execute(select(User).where(col(User.name) == name.strip())).scalars().first()
    if until is not None:
        _record(rt, username, address, LoginOutcome.THROTTLED, now, "login_throttled")
        raise LoginThrottled(_("too many failed sign-ins; try again later"), until=until)
    hasher = _hasher()
    try:
        hasher.verify(user.password_hash if user is not None else _dummy_hash(), password)
        ok = user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or user.disabled_at is not None:
        why = ("unknown user" if user is None else "disabled" if user.disabled_at is not None
               and ok else "wrong password")
        _record(rt, username, address, LoginOutcome.FAILED, now, "login_failed", why)
        raise LoginFailed(_("wrong user name or password"))
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    _record(rt, username, address, LoginOutcome.OK, now, "login", user=user)
    return signed_in(user)


def log_out(rt: Runtime, user: SignedIn, *, address: str) -> None:
    """Audited: who signed out, from where."""
    now = rt.clock()
    with rt.db.session() as s:
        audit(s, now, user.name, "logout", target=address[:120])
        s.commit()
