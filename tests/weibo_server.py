"""A fake Sina Weibo API server for end-to-end tests and benchmarks.

It speaks the Open API v2 endpoints the Weibo client uses, with bodies shaped like the
fixtures in ``tests/fixtures/weibo/``, and keeps its state in memory:

    /2/statuses/share.json  destroy.json  count.json  show.json  user_timeline.json
    /2/comments/show.json  create.json  reply.json      /2/users/show.json
    /2/account/rate_limit_status.json   /oauth2/get_token_info   /oauth2/access_token

Like Weibo it checks ``Authorization: OAuth2 <token>`` (otherwise HTTP 400, 21332),
counts length by Weibo's rule (20012 over ``max_length``), refuses the same text twice
in a row (20019), requires ``rip`` (10016) and a link in the status (10017; on
``safe_domain`` when one is set), returns only the newest 5 statuses from
user_timeline, rewrites links to ``http://t.cn/…``, and refuses calls beyond
``user_limit`` an hour (10023; 0 = no limit). A share may be multipart/form-data with
one ``pic`` part (JPEG/GIF/PNG by its bytes, 20005 otherwise; under 5 MB, 20006
otherwise); then the status carries ``thumbnail_pic``/``bmiddle_pic``/``original_pic``.

Control plane (not Weibo; JSON in and out):

    POST /_fake/engage     {"id": ID, "reposts": n, "likes": n,
                            "comments": [{"author": NAME, "text": T, "reply_to": CID?,
                                          "minutes_ago": n?}]}
                           adds to the status's figures (a comment dated n minutes back);
                           answers the new comment ids
    POST /_fake/followers  {"count": n}
    POST /_fake/faults     {"path": "/2/statuses/share.json", "kind": KIND, "code": n,
                            "count": n (default 1, -1 = every time), "delay_ms": n,
                            "status": HTTP status, "message": text,
                            "id": STATUS (only calls whose "id" parameter is this status)}
          KIND: "rate" (10023, or code), "expired" (21327), "error_code" (code),
                "http500" (not applied), "malformed" (applied, body cut short),
                "drop_after_apply" (applied, connection closed without an answer),
                "delay" (sleeps delay_ms, then answers normally)
    POST /_fake/limits     {"user_limit": n}
    POST /_fake/settings   {"count_style": "strings"|"ints"|"doc", "token_lifetime": seconds,
                            "token_appkey": KEY, "clock_offset": seconds}  (any subset;
                           /_fake/reset restores them)
                           token_lifetime: what access_token grants and get_token_info counts
                           down; once it has run out every call answers 21327 expired_token
                           (0 = the token has expired now). token_appkey: the appkey
                           get_token_info reports (default: the app's own). clock_offset:
                           how far the server's clock (statuses' created_at, the hour its
                           limit counts in, each request's "at") is from the real one.
    GET  /_fake/requests   [{"method", "path", "query", "at" (the server's time),
                            "encoding" ("form", "multipart" or ""),
                            "parts" (multipart: [{"name", "filename", "content_type",
                            "size"}])}, ...] every Weibo call seen
    GET  /_fake/statuses   the statuses that exist, oldest first ("pic_bytes", "pic_sha256":
                           the picture a multipart share carried, else null)
    GET  /_fake/comments   the comments that exist, oldest first ("own": written by the
                           account itself, e.g. a reply)
    POST /_fake/reset      forget everything (statuses, comments, faults, requests, hits,
                           settings; the token is issued anew)

Run it alone: ``python tests/weibo_server.py --port 8099 --token TOKEN`` prints
``READY <port>`` once it listens (``--port 0`` picks a free port). From Python:

    with WeiboServer(token="t") as weibo:
        account = ... api_base=weibo.url ...
        weibo.engage(status_id, reposts=3, comments=[{"author": "市民", "text": "好"}])
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import select
import subprocess
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

CST = timezone(timedelta(hours=8))
DEFAULT_UID = "1404376560"
DEFAULT_APP_KEY = "1352222456"
DEFAULT_APP_SECRET = "fake-app-secret"
FAULT_KINDS = frozenset(
    {"rate", "expired", "error_code", "http500", "malformed", "drop_after_apply", "delay"}
)
TIMELINE_VISIBLE = 5  # "此接口最多只返回最新的5条数据"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_URL_RE = re.compile(r"https?://[^\s<>\"'，。！？【】（）]+")
_SOURCE = '<a href="http://app.weibo.com/t/feed/outreach" rel="nofollow">outreach</a>'


def weibo_length(text: str) -> int:
    """Weibo's rule, written again here on purpose: full-width 1, half-width ½, rounded up."""
    halves = sum(2 if unicodedata.east_asian_width(c) in ("F", "W") else 1 for c in text)
    return (halves + 1) // 2


def weibo_time(moment: datetime) -> str:
    """``Wed Oct 24 23:49:17 +0800 2012``, in Beijing time, whatever the locale."""
    t = moment.astimezone(CST)
    return (f"{_DAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:02d} "
            f"{t:%H:%M:%S} +0800 {t.year}")


def short_link(url: str) -> str:
    return "http://t.cn/" + hashlib.sha1(url.encode()).hexdigest()[:8]


class WeiboFault(Exception):
    """A Weibo error answer: HTTP status plus {"error", "error_code", "request"}."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Status:
    id: int
    text: str  # as posted
    created_at: datetime
    reposts: int = 0
    likes: int = 0
    pic: bytes | None = None  # the ``pic`` part of a multipart share


@dataclass
class Part:
    """One part of a multipart/form-data body."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


MAX_PIC_BYTES = 5 * 1024 * 1024  # "pic … JPEG/GIF/PNG, < 5M"
_PIC_MAGIC = (b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"\x89PNG\r\n\x1a\n")


def multipart_parts(content_type: str, body: bytes) -> list[Part]:
    """The parts of a multipart/form-data body (RFC 7578), in order."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise WeiboFault(10001, "System error: multipart body without a boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    parts: list[Part] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise WeiboFault(10001, "System error: a multipart part without headers")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        parts.append(Part(name=name.group(1) if name else "", data=data.removesuffix(b"\r\n"),
                          filename=filename.group(1) if filename else None,
                          content_type=headers.get("content-type")))
    return parts


@dataclass
class Comment:
    id: int
    status_id: int
    author_id: int
    author: str
    text: str
    created_at: datetime
    reply_to: int | None = None


@dataclass
class Fault:
    path: str
    kind: str
    count: int = 1
    code: int | None = None
    status: int | None = None
    delay_ms: int = 0
    message: str | None = None
    only_id: str | None = None  # only calls about this status (the "id" parameter)


@dataclass
class Reply:
    status: int
    body: Any
    raw: bytes | None = None  # sent as is instead of JSON
    drop: bool = False  # close the connection without answering


@dataclass
class FakeWeibo:
    """The server's state and Weibo's rules; every method runs under ``lock``."""

    token: str
    uid: str = DEFAULT_UID
    screen_name: str = "平安北京测试"
    app_key: str = DEFAULT_APP_KEY
    app_secret: str = DEFAULT_APP_SECRET
    max_length: int = 140
    user_limit: int = 150
    safe_domain: str | None = None
    count_style: str = "strings"  # "strings" | "ints" | "doc" (strings, no attitudes)
    token_lifetime: int = 7 * 86400
    token_appkey: str | None = None  # what get_token_info names (None: app_key)
    clock_offset: float = 0.0  # seconds the server's clock is ahead (negative: behind)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self._startup = {"count_style": self.count_style, "token_lifetime": self.token_lifetime,
                         "token_appkey": self.token_appkey, "clock_offset": 0.0}
        self.reset()

    def reset(self) -> None:
        with self.lock:
            for key, value in self._startup.items():
                setattr(self, key, value)
            self.statuses: dict[int, Status] = {}
            self.comments: dict[int, Comment] = {}
            self.next_id = 5_140_000_000_000_000
            self.followers = 1000
            self.friends = 50
            self.faults: list[Fault] = []
            self.requests: list[dict[str, Any]] = []
            self.last_text: str | None = None
            self.hits = 0
            self.hour = self._hour(datetime.now(UTC))
            self.token_created = datetime.now(UTC)
            self.used_codes: set[str] = set()

    # --- helpers ---------------------------------------------------------------------

    def now(self) -> datetime:
        """The server's clock (``clock_offset`` seconds from the real one)."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    @staticmethod
    def _hour(now: datetime) -> datetime:
        return now.replace(minute=0, second=0, microsecond=0)

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def user(self) -> dict[str, Any]:
        return {
            "id": int(self.uid), "idstr": self.uid, "screen_name": self.screen_name,
            "name": self.screen_name, "province": "11", "city": "1", "location": "北京",
            "description": "公安机关官方微博（测试）", "url": "",
            "profile_image_url": f"http://tp1.sinaimg.cn/{self.uid}/50/0/1",
            "profile_url": f"u/{self.uid}", "domain": "", "weihao": "", "gender": "n",
            "followers_count": self.followers, "friends_count": self.friends,
            "statuses_count": len(self.statuses), "favourites_count": 0,
            "created_at": "Fri Aug 28 00:00:00 +0800 2009", "following": False,
            "allow_all_act_msg": False, "geo_enabled": False, "verified": True,
            "verified_type": 1, "allow_all_comment": True,
            "avatar_large": f"http://tp1.sinaimg.cn/{self.uid}/180/0/1",
            "verified_reason": "北京市公安局官方微博", "follow_me": False,
            "online_status": 0, "bi_followers_count": 0, "lang": "zh-cn",
        }

    @staticmethod
    def commenter(author_id: int, name: str) -> dict[str, Any]:
        return {
            "id": author_id, "idstr": str(author_id), "screen_name": name, "name": name,
            "province": "11", "city": "5", "location": "北京 朝阳区", "description": "",
            "url": "", "profile_image_url": f"http://tp1.sinaimg.cn/{author_id}/50/0/1",
            "domain": "", "gender": "n", "followers_count": 12, "friends_count": 34,
            "statuses_count": 56, "favourites_count": 0,
            "created_at": "Sat Dec 25 14:12:35 +0800 2010", "following": False,
            "allow_all_act_msg": False, "remark": "", "geo_enabled": False,
            "verified": False, "allow_all_comment": True,
            "avatar_large": f"http://tp1.sinaimg.cn/{author_id}/180/0/1",
            "verified_reason": "", "follow_me": False, "online_status": 0,
            "bi_followers_count": 0,
        }

    def status_json(self, s: Status, *, trim_user: bool = False) -> dict[str, Any]:
        return {
            "created_at": weibo_time(s.created_at), "id": s.id, "mid": str(s.id),
            "idstr": str(s.id), "text": _URL_RE.sub(lambda m: short_link(m.group(0)), s.text),
            "source": _SOURCE, "favorited": False, "truncated": False,
            "in_reply_to_status_id": "", "in_reply_to_user_id": "",
            "in_reply_to_screen_name": "", "geo": None,
            "user": int(self.uid) if trim_user else self.user(),
            "reposts_count": s.reposts,
            "comments_count": sum(1 for c in self.comments.values() if c.status_id == s.id),
            "attitudes_count": s.likes, "mlevel": 0, "visible": {"type": 0, "list_id": 0},
            "annotations": [],
            **({} if s.pic is None else {  # only a status with a picture carries these
                f"{size}_pic": f"http://wx1.sinaimg.cn/{size}/{s.id:x}.jpg"
                for size in ("thumbnail", "bmiddle", "original")}),
        }

    def comment_json(self, c: Comment) -> dict[str, Any]:
        author = self.user() if str(c.author_id) == self.uid else self.commenter(
            c.author_id, c.author)
        body: dict[str, Any] = {
            "created_at": weibo_time(c.created_at), "id": c.id, "idstr": str(c.id),
            "mid": str(c.id), "text": c.text, "source": _SOURCE, "user": author,
            "status": self.status_json(self.statuses[c.status_id]),
        }
        target = self.comments.get(c.reply_to) if c.reply_to else None
        if target is not None:
            body["reply_comment"] = {
                "created_at": weibo_time(target.created_at), "id": target.id,
                "idstr": str(target.id), "mid": str(target.id), "text": target.text,
                "user": self.commenter(target.author_id, target.author),
            }
        return body

    def _status(self, value: str | None) -> Status:
        if not value or not value.isdigit():
            raise WeiboFault(10016, "miss required parameter (id), see doc for more info.")
        found = self.statuses.get(int(value))
        if found is None:
            raise WeiboFault(20101, "target weibo does not exist!")
        return found

    def _check_text(self, text: str) -> None:
        if not text.strip():
            raise WeiboFault(20008, "content is null!")
        if weibo_length(text) > self.max_length:
            raise WeiboFault(
                20012, f"Text too long, please input text less than {self.max_length} characters!"
            )

    # --- the plumbing around every Weibo call -----------------------------------------

    def take_fault(self, path: str, params: Mapping[str, str] | None = None) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.only_id is not None and (params or {}).get("id") != fault.only_id:
                    continue
                if fault.path == path and fault.count != 0:
                    if fault.count > 0:
                        fault.count -= 1
                    return fault
            return None

    def admit(self, method: str, path: str, query: str, headers: Mapping[str, str],
              body: Mapping[str, Any] | None = None) -> None:
        """Record the call (with how its body came: ``encoding`` and, for multipart, each
        part's name, file name, type and size), check the token and the hourly budget."""
        with self.lock:
            self.requests.append({"method": method, "path": path, "query": query,
                                  "at": self.now().isoformat(), **(body or {})})
            if path == "/oauth2/access_token":
                return
            if headers.get("Authorization", "") != f"OAuth2 {self.token}":
                raise WeiboFault(21332, "invalid_access_token")
            if self.token_left() <= 0:
                raise WeiboFault(21327, "expired_token")
            if path == "/2/account/rate_limit_status.json":
                return
            now = self.now()
            if self._hour(now) != self.hour:
                self.hour, self.hits = self._hour(now), 0
            self.hits += 1
            if self.user_limit and self.hits > self.user_limit:
                raise WeiboFault(10023, "User requests out of rate limit!", status=403)

    def dispatch(self, method: str, path: str, params: dict[str, str],
                 files: list[Part] | None = None) -> Reply:
        handler = _ROUTES.get(path)
        if handler is None:
            raise WeiboFault(10020, f"Request api not found! ({path})", status=404)
        want, func = handler
        if method != want:
            raise WeiboFault(10021, "HTTP method is not suported for this request!", status=405)
        with self.lock:
            if path == "/2/statuses/share.json":
                return self.share(params, files or [])
            if files:
                raise WeiboFault(10001, f"System error: {path} takes no file")
            return func(self, params)

    # --- Weibo endpoints ---------------------------------------------------------------

    def share(self, p: dict[str, str], files: list[Part] | None = None) -> Reply:
        pics = [f for f in files or [] if f.name == "pic"]
        if len(pics) > 1 or any(f.name != "pic" for f in files or []):
            raise WeiboFault(10017, "Parameter (pic)'s value invalid: one picture")
        pic = pics[0].data if pics else None
        if pic is not None and len(pic) >= MAX_PIC_BYTES:
            raise WeiboFault(20006, "Image size too large!")
        if pic is not None and not pic.startswith(_PIC_MAGIC):
            raise WeiboFault(20005, "Unsupported image type, only suport JPG, GIF, PNG!")
        text = p.get("status")
        if text is None:
            raise WeiboFault(10016, "miss required parameter (status), see doc for more info.")
        if not p.get("rip", "").strip():
            raise WeiboFault(10016, "miss required parameter (rip), see doc for more info.")
        self._check_text(text)
        hosts = [urlsplit(u).hostname or "" for u in _URL_RE.findall(text)]
        domain = self.safe_domain
        if not hosts or (domain and not any(h == domain or h.endswith("." + domain)
                                            for h in hosts)):
            raise WeiboFault(10017, "text not find domain!")
        if text == self.last_text:
            raise WeiboFault(20019, "repeat content!")
        status = Status(id=self._new_id(), text=text, created_at=self.now(), pic=pic)
        self.statuses[status.id] = status
        self.last_text = text
        return Reply(200, self.status_json(status))

    def destroy(self, p: dict[str, str]) -> Reply:
        status = self._status(p.get("id"))
        body = self.status_json(status)
        del self.statuses[status.id]
        for cid in [c.id for c in self.comments.values() if c.status_id == status.id]:
            del self.comments[cid]
        return Reply(200, body)

    def count(self, p: dict[str, str]) -> Reply:
        ids = [i for i in p.get("ids", "").split(",") if i]
        if not ids:
            raise WeiboFault(10016, "miss required parameter (ids), see doc for more info.")
        if len(ids) > 100:
            raise WeiboFault(10017, f"Parameter (ids)'s value invalid, expect (ids <= 100), "
                                    f"but get ({len(ids)}), see doc for more info.")
        out = []
        for i in ids:
            s = self.statuses.get(int(i)) if i.isdigit() else None
            if s is None:
                continue
            comments = sum(1 for c in self.comments.values() if c.status_id == s.id)
            item: dict[str, Any] = {"id": s.id, "comments": comments, "reposts": s.reposts,
                                    "attitudes": s.likes}
            if self.count_style in ("strings", "doc"):
                item = {k: str(v) for k, v in item.items()}
            if self.count_style == "doc":
                del item["attitudes"]
            out.append(item)
        return Reply(200, out)

    def show(self, p: dict[str, str]) -> Reply:
        return Reply(200, self.status_json(self._status(p.get("id"))))

    def user_timeline(self, p: dict[str, str]) -> Reply:
        count = min(_int(p.get("count"), 20), 100)
        since, until = _int(p.get("since_id"), 0), _int(p.get("max_id"), 0)
        trim = p.get("trim_user") == "1"
        newest = sorted(self.statuses.values(), key=lambda s: s.id, reverse=True)
        shown = [s for s in newest[:TIMELINE_VISIBLE]
                 if s.id > since and (not until or s.id <= until)][:count]
        return Reply(200, {
            "statuses": [self.status_json(s, trim_user=trim) for s in shown],
            "hasvisible": False, "previous_cursor": 0,
            "next_cursor": shown[-1].id - 1 if len(shown) == count and shown else 0,
            "total_number": len(self.statuses), "interval": 0,
        })

    def comments_show(self, p: dict[str, str]) -> Reply:
        status = self._status(p.get("id"))
        count = max(1, min(_int(p.get("count"), 50), 200))
        page = max(1, _int(p.get("page"), 1))
        since, until = _int(p.get("since_id"), 0), _int(p.get("max_id"), 0)
        matching = sorted(
            (c for c in self.comments.values() if c.status_id == status.id
             and c.id > since and (not until or c.id <= until)),
            key=lambda c: c.id, reverse=True,
        )
        shown = matching[(page - 1) * count:page * count]
        return Reply(200, {
            "comments": [self.comment_json(c) for c in shown], "hasvisible": False,
            "previous_cursor": 0, "next_cursor": 0, "total_number": len(matching),
        })

    def _add_comment(self, status: Status, author_id: int, author: str, text: str,
                     reply_to: int | None = None, minutes_ago: float = 0) -> Comment:
        comment = Comment(id=self._new_id(), status_id=status.id, author_id=author_id,
                          author=author, text=text,
                          created_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
                          reply_to=reply_to)
        self.comments[comment.id] = comment
        return comment

    def comments_create(self, p: dict[str, str]) -> Reply:
        status = self._status(p.get("id"))
        text = p.get("comment", "")
        self._check_text(text)
        comment = self._add_comment(status, int(self.uid), self.screen_name, text)
        return Reply(200, self.comment_json(comment))

    def comments_reply(self, p: dict[str, str]) -> Reply:
        status = self._status(p.get("id"))
        cid = p.get("cid", "")
        target = self.comments.get(int(cid)) if cid.isdigit() else None
        if target is None or target.status_id != status.id:
            raise WeiboFault(10017, "Parameter (cid)'s value invalid, see doc for more info.")
        text = p.get("comment", "")
        self._check_text(text)
        shown = text if p.get("without_mention") == "1" else f"回复@{target.author}:{text}"
        comment = self._add_comment(status, int(self.uid), self.screen_name, shown, target.id)
        return Reply(200, self.comment_json(comment))

    def users_show(self, p: dict[str, str]) -> Reply:
        if p.get("uid") != self.uid and p.get("screen_name") != self.screen_name:
            raise WeiboFault(20003, "User does not exists!")
        body = self.user()
        if self.statuses:
            latest = max(self.statuses.values(), key=lambda s: s.id)
            body["status"] = {k: v for k, v in self.status_json(latest).items() if k != "user"}
        return Reply(200, body)

    def rate_limit_status(self, p: dict[str, str]) -> Reply:
        now = datetime.now(UTC)
        reset = self._hour(now) + timedelta(hours=1)
        limit = self.user_limit or 10000
        return Reply(200, {
            "ip_limit": 10000, "limit_time_unit": "HOURS",
            "remaining_ip_hits": max(0, 10000 - self.hits),
            "remaining_user_hits": max(0, limit - self.hits),
            "reset_time": reset.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S"),
            "reset_time_in_seconds": int((reset - now).total_seconds()),
            "user_limit": limit,
        })

    def token_left(self) -> float:
        """Seconds the token has left."""
        return self.token_lifetime - (datetime.now(UTC) - self.token_created).total_seconds()

    def get_token_info(self, p: dict[str, str]) -> Reply:
        return Reply(200, {
            "uid": int(self.uid), "appkey": self.token_appkey or self.app_key, "scope": None,
            "create_at": int(self.token_created.timestamp()),
            "expire_in": max(0, int(self.token_left())),
        })

    def access_token(self, p: dict[str, str]) -> Reply:
        if p.get("client_id") != self.app_key or p.get("client_secret") != self.app_secret:
            raise WeiboFault(21324, "invalid_client")
        if p.get("grant_type") != "authorization_code":
            raise WeiboFault(21328, "unsupported_grant_type")
        if not p.get("redirect_uri"):
            raise WeiboFault(21323, "invalid_request")
        code = p.get("code", "")
        if not code or code == "bad" or code in self.used_codes:
            raise WeiboFault(21325, "invalid_grant")
        self.used_codes.add(code)
        self.token_created = datetime.now(UTC)
        return Reply(200, {"access_token": self.token, "expires_in": str(self.token_lifetime),
                           "remind_in": str(self.token_lifetime), "uid": self.uid})

    # --- control plane ---------------------------------------------------------------

    def control(self, method: str, path: str, payload: Any) -> Any:
        with self.lock:
            if (method, path) == ("GET", "/_fake/requests"):
                return self.requests
            if (method, path) == ("GET", "/_fake/statuses"):
                return [{"id": s.id, "idstr": str(s.id), "text": s.text,
                         "created_at": s.created_at.isoformat(), "reposts": s.reposts,
                         "likes": s.likes, "pic_bytes": None if s.pic is None else len(s.pic),
                         "pic_sha256": None if s.pic is None else hashlib.sha256(
                             s.pic).hexdigest(),
                         "comments": sum(1 for c in self.comments.values()
                                         if c.status_id == s.id)}
                        for s in sorted(self.statuses.values(), key=lambda s: s.id)]
            if (method, path) == ("GET", "/_fake/comments"):
                return [{"id": c.id, "idstr": str(c.id), "status_id": str(c.status_id),
                         "author_id": str(c.author_id), "author": c.author, "text": c.text,
                         "reply_to": None if c.reply_to is None else str(c.reply_to),
                         "own": str(c.author_id) == self.uid}
                        for c in sorted(self.comments.values(), key=lambda c: c.id)]
            if method != "POST":
                raise ValueError(f"unknown control call {method} {path}")
            if not isinstance(payload, dict):
                raise ValueError("expected a JSON object")
            if path == "/_fake/reset":
                self.reset()
                return {}
            if path == "/_fake/followers":
                self.followers = int(payload["count"])
                return {"followers_count": self.followers}
            if path == "/_fake/limits":
                self.user_limit = int(payload["user_limit"])
                return {"user_limit": self.user_limit}
            if path == "/_fake/settings":
                unknown = set(payload) - set(self._startup)
                if unknown:
                    raise ValueError(f"unknown setting(s): {sorted(unknown)}")
                if "count_style" in payload:
                    if payload["count_style"] not in ("strings", "ints", "doc"):
                        raise ValueError("count_style must be strings, ints or doc")
                    self.count_style = str(payload["count_style"])
                if "token_lifetime" in payload:
                    self.token_lifetime = int(payload["token_lifetime"])
                if "token_appkey" in payload:
                    appkey = payload["token_appkey"]
                    self.token_appkey = None if appkey is None else str(appkey)
                if "clock_offset" in payload:
                    self.clock_offset = float(payload["clock_offset"])
                return {k: getattr(self, k) for k in self._startup}
            if path == "/_fake/faults":
                kind = payload.get("kind")
                if kind not in FAULT_KINDS:
                    raise ValueError(f"kind must be one of {sorted(FAULT_KINDS)}")
                fault = Fault(path=str(payload["path"]), kind=str(kind),
                              count=int(payload.get("count", 1)),
                              code=_opt_int(payload.get("code")),
                              status=_opt_int(payload.get("status")),
                              delay_ms=int(payload.get("delay_ms") or 0),
                              message=payload.get("message"),
                              only_id=None if payload.get("id") is None else str(payload["id"]))
                self.faults.append(fault)
                return {"faults": len(self.faults)}
            if path == "/_fake/engage":
                status = self.statuses.get(int(payload["id"]))
                if status is None:
                    raise KeyError(f"no status {payload['id']}")
                status.reposts += int(payload.get("reposts", 0))
                status.likes += int(payload.get("likes", 0))
                ids = []
                for item in payload.get("comments", []):
                    author = str(item.get("author", "网友"))
                    author_id = 6_000_000_000 + int(
                        hashlib.sha1(author.encode()).hexdigest()[:8], 16) % 1_000_000_000
                    reply_to = _opt_int(item.get("reply_to"))
                    ids.append(str(self._add_comment(
                        status, author_id, author, str(item.get("text", "")), reply_to,
                        float(item.get("minutes_ago", 0))).id))
                body = self.status_json(status)
                return {"id": str(status.id), "reposts_count": status.reposts,
                        "comments_count": body["comments_count"],
                        "attitudes_count": status.likes, "comment_ids": ids}
            raise ValueError(f"unknown control call {method} {path}")


_ROUTES: dict[str, tuple[str, Any]] = {
    "/2/statuses/share.json": ("POST", FakeWeibo.share),
    "/2/statuses/destroy.json": ("POST", FakeWeibo.destroy),
    "/2/statuses/count.json": ("GET", FakeWeibo.count),
    "/2/statuses/show.json": ("GET", FakeWeibo.show),
    "/2/statuses/user_timeline.json": ("GET", FakeWeibo.user_timeline),
    "/2/comments/show.json": ("GET", FakeWeibo.comments_show),
    "/2/comments/create.json": ("POST", FakeWeibo.comments_create),
    "/2/comments/reply.json": ("POST", FakeWeibo.comments_reply),
    "/2/users/show.json": ("GET", FakeWeibo.users_show),
    "/2/account/rate_limit_status.json": ("GET", FakeWeibo.rate_limit_status),
    "/oauth2/get_token_info": ("POST", FakeWeibo.get_token_info),
    "/oauth2/access_token": ("POST", FakeWeibo.access_token),
}


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _fault_reply(fault: Fault, path: str) -> Reply | None:
    """The answer a fault gives instead of Weibo's, or None when Weibo still answers."""
    def error(code: int, message: str, status: int) -> Reply:
        return Reply(fault.status or status,
                     {"error": fault.message or message, "error_code": code, "request": path})

    if fault.kind == "rate":
        return error(fault.code or 10023, "User requests out of rate limit!", 403)
    if fault.kind == "expired":
        return error(fault.code or 21327, "expired_token", 400)
    if fault.kind == "error_code":
        return error(fault.code or 10001, "system error!", 400)
    if fault.kind == "http500":
        return Reply(fault.status or 500, None,
                     raw=b"<html><body><h1>500 Internal Server Error</h1></body></html>")
    return None


# --- HTTP --------------------------------------------------------------------------------


class FakeWeiboServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], weibo: FakeWeibo) -> None:
        super().__init__(address, _Handler)
        self.weibo = weibo


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server: FakeWeiboServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet: stdout carries READY
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _send(self, status: int, body: Any = None, raw: bytes | None = None,
              content_type: str = "application/json;charset=UTF-8") -> None:
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        if raw is not None:
            content_type = "text/html;charset=UTF-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        weibo = self.server.weibo
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if url.path.startswith("/_fake/"):
            try:
                payload = json.loads(raw) if raw else {}
                self._send(200, weibo.control(method, url.path, payload))
            except (ValueError, KeyError, TypeError) as exc:
                self._send(400, {"error": str(exc)})
            return
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        ctype = self.headers.get("Content-Type", "")
        body: dict[str, Any] = {"encoding": "form" if "form-urlencoded" in ctype else (
            "multipart" if ctype.startswith("multipart/form-data") else "")}
        files: list[Part] = []
        fault: Fault | None = None
        instead: Reply | None = None
        try:
            if body["encoding"] == "form":
                form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
                params.update({k: v[-1] for k, v in form.items()})
            elif body["encoding"] == "multipart":
                parts = multipart_parts(ctype, raw)
                body["parts"] = [{"name": p.name, "filename": p.filename, "size": len(p.data),
                                  "content_type": p.content_type} for p in parts]
                files = [p for p in parts if p.filename is not None]
                params.update({p.name: p.data.decode("utf-8", "replace")
                               for p in parts if p.filename is None})
            weibo.admit(method, url.path, url.query, dict(self.headers), body)
            fault = weibo.take_fault(url.path, params)
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.delay_ms / 1000)
            instead = _fault_reply(fault, url.path) if fault is not None else None
            reply = instead or weibo.dispatch(method, url.path, params, files)
        except WeiboFault as exc:
            reply = Reply(exc.status, {"error": exc.message, "error_code": exc.code,
                                       "request": url.path})
        if fault is not None and fault.kind == "drop_after_apply" and instead is None:
            self.close_connection = True  # applied; the answer is lost
            return
        if fault is not None and fault.kind == "malformed" and reply.status == 200:
            text = json.dumps(reply.body, ensure_ascii=False).encode()
            reply = Reply(200, None, raw=text[: max(1, len(text) // 2)])
        self._send(reply.status, reply.body, reply.raw)


def main(argv: Iterable[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="A fake Sina Weibo API server for tests.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--token", required=True, help="the only access token accepted")
    ap.add_argument("--uid", default=DEFAULT_UID)
    ap.add_argument("--screen-name", default="平安北京测试")
    ap.add_argument("--app-key", default=DEFAULT_APP_KEY)
    ap.add_argument("--app-secret", default=DEFAULT_APP_SECRET)
    ap.add_argument("--max-length", type=int, default=140)
    ap.add_argument("--user-limit", type=int, default=150, help="calls an hour; 0 = no limit")
    ap.add_argument("--safe-domain", default=None)
    ap.add_argument("--count-style", choices=("strings", "ints", "doc"), default="strings")
    args = ap.parse_args(list(argv) if argv is not None else None)
    weibo = FakeWeibo(token=args.token, uid=args.uid, screen_name=args.screen_name,
                      app_key=args.app_key, app_secret=args.app_secret,
                      max_length=args.max_length, user_limit=args.user_limit,
                      safe_domain=args.safe_domain, count_style=args.count_style)
    server = FakeWeiboServer((args.host, args.port), weibo)
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# --- the harness tests and benchmarks import ---------------------------------------------


class WeiboServer:
    """The fake server in a subprocess, with its control plane as methods.

    ``with WeiboServer(token="t") as weibo: ...`` starts it on a free port; ``weibo.url``
    is the ``api_base`` to give a Weibo account.
    """

    def __init__(
        self,
        token: str = "fake-weibo-token",
        *,
        uid: str = DEFAULT_UID,
        screen_name: str = "平安北京测试",
        app_key: str = DEFAULT_APP_KEY,
        app_secret: str = DEFAULT_APP_SECRET,
        max_length: int = 140,
        user_limit: int = 150,
        safe_domain: str | None = None,
        count_style: str = "strings",
        host: str = "127.0.0.1",
        startup_timeout: float = 15.0,
    ) -> None:
        self.token = token
        self.uid = uid
        self.app_key = app_key
        self.app_secret = app_secret
        self.host = host
        self.port: int | None = None
        self._args = [
            "--host", host, "--token", token, "--uid", uid, "--screen-name", screen_name,
            "--app-key", app_key, "--app-secret", app_secret,
            "--max-length", str(max_length), "--user-limit", str(user_limit),
            "--count-style", count_style,
            *(["--safe-domain", safe_domain] if safe_domain else []),
        ]
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[str] | None = None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the fake Weibo server is not running")
        return f"http://{self.host}:{self.port}"

    def start(self) -> WeiboServer:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--port", "0", *self._args]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      text=True, encoding="utf-8")
        assert self._proc.stdout is not None
        deadline = time.monotonic() + self._startup_timeout
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._proc.stdout], [], [], max(0.0, left))
            if not ready:
                self.stop()
                raise RuntimeError("the fake Weibo server did not start in time")
            line = self._proc.stdout.readline()
            if not line:
                code = self._proc.wait()
                self.stop()
                raise RuntimeError(f"the fake Weibo server exited with status {code}")
            if line.startswith("READY"):
                self.port = int(line.split()[1])
                return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        self.port = None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> WeiboServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def account(
        self,
        data_dir: Path,
        *,
        name: str = "pingan",
        token_env: str = "OUTREACH_TEST_WEIBO_TOKEN",
        share_url: str = "https://example.gov.cn/safety",
        rip: str = "203.0.113.7",
        uid: str | None = None,
        max_length: int | None = None,
    ) -> Any:
        """An ``AccountSettings`` pointing at this server. Put ``self.token`` in
        ``$token_env`` (e.g. ``monkeypatch.setenv``) before the client calls out."""
        from tests.factories import account_settings  # the server alone runs without outreach

        options = {"share_url": share_url, "rip": rip, **({"uid": uid} if uid else {})}
        return account_settings(
            data_dir=Path(data_dir), name=name, platform="weibo", api_base=self.url,
            token_env=token_env, max_length=max_length, options=options,
        )

    # control plane

    def _control(self, method: str, path: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                raise RuntimeError(f"fake Weibo {path}: {exc.read().decode()}") from None

    def engage(self, status_id: str | int, *, reposts: int = 0, likes: int = 0,
               comments: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
        """Add reposts, likes and comments ({"author", "text", "reply_to"?}) to a status."""
        return self._control("POST", "/_fake/engage", {
            "id": str(status_id), "reposts": reposts, "likes": likes,
            "comments": [dict(c) for c in comments],
        })

    def set_followers(self, count: int) -> None:
        self._control("POST", "/_fake/followers", {"count": count})

    def set_user_limit(self, user_limit: int) -> None:
        self._control("POST", "/_fake/limits", {"user_limit": user_limit})

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change ``count_style``, ``token_lifetime`` (seconds; 0 = the token has expired
        now) or ``token_appkey`` until the next ``reset()``."""
        changed: dict[str, Any] = self._control("POST", "/_fake/settings", settings)
        return changed

    def fault(self, path: str, kind: str, *, code: int | None = None, count: int = 1,
              delay_ms: int | None = None, status: int | None = None,
              message: str | None = None, status_id: str | int | None = None) -> None:
        """Make the next ``count`` calls to ``path`` fail as ``kind`` (-1: every call);
        with ``status_id``, only calls about that status."""
        spec: dict[str, Any] = {"path": path, "kind": kind, "count": count}
        for key, value in (("code", code), ("delay_ms", delay_ms), ("status", status),
                           ("message", message), ("id", status_id)):
            if value is not None:
                spec[key] = value
        self._control("POST", "/_fake/faults", spec)

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """Every Weibo call seen since the last reset: {method, path, query, encoding,
        parts (multipart only)}."""
        seen: list[dict[str, Any]] = self._control("GET", "/_fake/requests")
        return [r for r in seen if path is None or r["path"] == path]

    def statuses(self) -> list[dict[str, Any]]:
        """The statuses that exist, oldest first."""
        found: list[dict[str, Any]] = self._control("GET", "/_fake/statuses")
        return found

    def comments(self) -> list[dict[str, Any]]:
        """The comments that exist, oldest first (``own``: the account's own, e.g. replies)."""
        found: list[dict[str, Any]] = self._control("GET", "/_fake/comments")
        return found

    def reset(self) -> None:
        self._control("POST", "/_fake/reset", {})


if __name__ == "__main__":
    main()
