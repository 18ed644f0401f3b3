"""Chaos: the daemon SIGKILLed at random moments while the peer misbehaves — still exactly once.

200 posts on three Mastodon accounts (the peer's seeded bot and both fans, each with its own
token) are queued ``at now`` with ``queue import``. Then, until every post is settled or the
time budget runs out: a daemon (``python -m outreach run``, a real process) starts, runs a
random 0.5–4 s or until a chosen moment (a post is ``publishing``; a POST is held by the
peer's latency; the dropping proxy just lost an applied POST's answer; a POST's answer just
went back), and is SIGKILLed; meanwhile faults are injected — the peer's own 503s and
malformed 200s (answered *before* applying: ambiguous but not applied), 429s with a reset a
few seconds away, 2–5 s latency, and the proxy's dropped answers (applied, answer lost).
Finally a clean daemon runs with every fault cleared until all is settled and stops on
SIGTERM with exit 0.

Then the server is compared with the database: every post is ``published`` exactly once
(matched by its unique marker and by ``remote_id``) or ``failed`` with a reason after
``max_attempts`` and absent from the server; no text twice; nothing ``queued``,
``publishing`` or ``unconfirmed``; ``PRAGMA integrity_check`` ok. The figures are printed
(``-s``) and written to ``chaos-figures.json`` in the test's tmp dir.

Replay: the seed is printed; ``OUTREACH_CHAOS_SEED=<seed>`` replays the same schedule of
kills and faults (the daemon's timing still varies). ``OUTREACH_CHAOS_POSTS`` and
``OUTREACH_CHAOS_BUDGET`` (seconds of chaos) shrink a run for local work.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import IO, Any

import pytest

from tests.dropping_proxy import DroppingProxy
from tests.factories import make_workspace
from tests.mastodon_peer import BOT_TOKEN, FAN_TOKENS, Peer

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]

N_POSTS = int(os.environ.get("OUTREACH_CHAOS_POSTS") or 200)
CHAOS_BUDGET = float(os.environ.get("OUTREACH_CHAOS_BUDGET") or 360)  # seconds of kills
CLEAN_BUDGET = 150.0  # seconds for the clean run to settle what is left
MAX_ATTEMPTS = 5
STATUSES = "/api/v1/statuses"
UNSETTLED = ("queued", "publishing", "unconfirmed")
SETTLED = ("published", "failed")

# account name -> (token, through the dropping proxy?)
ACCOUNTS: dict[str, tuple[str, bool]] = {
    "bot": (BOT_TOKEN, True),
    "fan1": (FAN_TOKENS["fan1"], True),
    "fan2": (FAN_TOKENS["fan2"], False),  # straight to the peer: its faults only
}
MOMENTS = ("random", "publishing", "in_call", "after_drop", "after_response")

CONFIG_HEAD = """\
[outreach]
database = "sqlite:///outreach.db"
timezone = "UTC"
content_dir = "content"
data_dir = "data"
request_deadline_seconds = 15   # the peer's injected latency is 2–5 s

[policy]
require_approval = false
min_gap_minutes = 0
lease_seconds = 5
max_attempts = {max_attempts}
"""

ACCOUNT_BLOCK = """
[accounts.{name}]
platform = "mastodon"
api_base = "{api_base}"
token_env = "{token_env}"
lang = "en"
vars = {{ city = "Beijing", hashtag = "SafeBeijing", hotline = {{ police = "110", \
fraud = "96110", fire = "119", traffic = "122", medical = "120" }} }}
"""

# texts vary so that reconciliation by text sees escaping, links and CJK too
BODIES = (
    "Never share SMS verification codes with callers",
    "Lock your bike & note its frame number",
    "Fraud hotline 96110 <free, 24 h> — call before you transfer",
    "陌生来电要求转账，一律挂断，拨打96110核实。",
    "Check the official notice at https://www.beijing.gov.cn/ before you act",
    "Smoke alarms: test them monthly; replace batteries yearly",
    "\"Safe account\" transfers are always a scam",
    "夜间骑车请佩戴头盔，开启车灯。",
)
MARKER_RE = re.compile(r"\[chaos ([0-9a-f]+)-(\d{3})\]")


def token_env(name: str) -> str:
    return f"OUTREACH_CHAOS_{name.upper()}_TOKEN"


class Proxy(DroppingProxy):
    """The dropping proxy, plus: forget every pending drop (for the clean run), and quiet
    about the connections a SIGKILLed daemon leaves half-open."""

    def __init__(self, upstream_url: str) -> None:
        super().__init__(upstream_url)
        default = self._server.handle_error

        def handle_error(request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):
                default(request, client_address)

        self._server.handle_error = handle_error  # type: ignore[method-assign]

    def clear(self) -> int:
        with self._lock:
            pending = sum(int(rule[0]) for rule in self._rules)
            self._rules.clear()
        return pending

    def answered_posts(self) -> int:
        """How many POST /api/v1/statuses answers went back to the daemon so far."""
        with self._lock:
            return sum(1 for m, p, _ in self.forwarded
                       if m == "POST" and p.split("?", 1)[0] == STATUSES)


@dataclass
class Figures:
    seed: int
    posts: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    moments_reached: Counter[str] = field(default_factory=Counter)
    faults_injected: Counter[str] = field(default_factory=Counter)
    peer_rules: dict[str, tuple[str, int]] = field(default_factory=dict)  # rule id -> kind, count
    daemon_runs: int = 0
    chaos_seconds: float = 0.0
    clean_seconds: float = 0.0


# --- the workspace and the daemon ----------------------------------------------------------


@pytest.fixture
def proxy(fresh: Peer) -> Iterator[Proxy]:
    p = Proxy(fresh.url)
    p.start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def chaos_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: Peer, proxy: Proxy) -> Path:
    text = CONFIG_HEAD.format(max_attempts=MAX_ATTEMPTS)
    for name, (_token, proxied) in ACCOUNTS.items():
        text += ACCOUNT_BLOCK.format(name=name, api_base=proxy.url if proxied else fresh.url,
                                     token_env=token_env(name))
    ws = make_workspace(tmp_path / "ws", text, monkeypatch, user="chaos")
    for name, (token, _proxied) in ACCOUNTS.items():
        monkeypatch.setenv(token_env(name), token)
    return ws


def outreach(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OUTREACH_CONFIG=str(ws / "config.toml"))
    return subprocess.run([sys.executable, "-m", "outreach", *args], cwd=ws, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                          check=False)


def start_daemon(ws: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    env = dict(os.environ, OUTREACH_CONFIG=str(ws / "config.toml"), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "outreach", "run"], cwd=ws, env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def rows(ws: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(ws / "outreach.db", timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def unsettled(ws: Path) -> int:
    marks = ",".join("?" * len(UNSETTLED))
    return int(rows(ws, f"SELECT count(*) FROM posts WHERE status IN ({marks})", *UNSETTLED)[0][0])


def wait_until(predicate: Callable[[], bool], timeout: float, poll: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return False


# --- faults ----------------------------------------------------------------------------------


def inject(kind: str, rng: random.Random, peer: Peer, proxy: Proxy, figs: Figures) -> None:
    """One fault of ``kind`` (counted as injected; the peer's rules are tracked to count fired)."""
    if kind == "drop":
        n = rng.randint(1, 2)
        proxy.drop_next(n, "POST", STATUSES)
        figs.faults_injected[kind] += n
        return
    count = 1
    if kind == "503":
        count = rng.randint(1, 3)
        rule = peer.fault("status", path=STATUSES, methods=["POST"], status=503, count=count)
    elif kind == "429":
        reset = int(time.time()) + 3
        rule = peer.fault("ratelimit", path=STATUSES, methods=["POST"], count=count,
                          headers={"X-RateLimit-Reset": str(reset), "Retry-After": "3"})
    elif kind == "latency":
        count = rng.randint(1, 2)
        rule = peer.fault("latency", path=STATUSES, methods=["POST"], count=count,
                          delay_ms=rng.randint(2000, 5000))
    elif kind == "malformed":
        count = rng.randint(1, 2)
        rule = peer.fault("malformed", path=STATUSES, methods=["POST"], count=count,
                          truncate=rng.random() < 0.5)
    elif kind == "get_latency":  # reads slow down too (instance limits, lookups)
        rule = peer.fault("latency", methods=["GET"], count=count, delay_ms=rng.randint(500, 2000))
    elif kind == "instance_503":
        rule = peer.fault("status", path="/api/v2/instance", methods=["GET"], status=503,
                          count=count)
    else:
        raise AssertionError(kind)
    figs.faults_injected[kind] += count
    figs.peer_rules[str(rule["id"])] = (kind, count)


FAULT_KINDS = ("503", "429", "latency", "malformed", "drop", "get_latency", "instance_503")
FAULT_WEIGHTS = (4, 2, 2, 3, 4, 1, 1)


def wait_for_moment(moment: str, rng: random.Random, ws: Path, proc: subprocess.Popen[bytes],
                    proxy: Proxy) -> bool:
    """Let the daemon run until the moment to kill it; whether the moment came (else 8 s)."""
    dropped_before = len(proxy.dropped)
    answered_before = proxy.answered_posts()
    extra = rng.uniform(0.0, 1.2)
    run_for = rng.uniform(0.5, 4.0)
    pause = rng.choice((0.0, 0.0, 0.005, 0.02, 0.2))
    if moment == "random":
        time.sleep(run_for)
        return True
    if moment in ("publishing", "in_call"):  # claimed: the POST is about to leave or held
        claim = f"%:{proc.pid}"
        reached = wait_until(lambda: bool(rows(
            ws, "SELECT 1 FROM posts WHERE status = 'publishing' AND claimed_by LIKE ? LIMIT 1",
            claim)), 8)
        if reached and moment == "in_call":
            time.sleep(extra)  # inside the 2–5 s the peer holds the POST
        return reached
    if moment == "after_drop":  # applied, answer lost: the daemon is recording `unconfirmed`
        reached = wait_until(lambda: len(proxy.dropped) > dropped_before, 8, 0.002)
    elif moment == "after_response":  # the answer is going back: the DB write is next
        reached = wait_until(lambda: proxy.answered_posts() > answered_before, 8, 0.001)
    else:
        raise AssertionError(moment)
    time.sleep(pause)
    return reached


# --- the server's view -------------------------------------------------------------------------


def server_statuses(peer: Peer, token: str) -> list[dict[str, Any]]:
    """Every status of the account with this token, newest first."""
    me = peer.call("GET", "/api/v1/accounts/verify_credentials", token=token).json()
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 40, "exclude_reblogs": "true"}
    while True:
        page = peer.call("GET", f"/api/v1/accounts/{me['id']}/statuses", token=token,
                         params=params).json()
        out.extend(page)
        if len(page) < 40:
            return out
        params["max_id"] = page[-1]["id"]


def marker(status: dict[str, Any]) -> str | None:
    m = MARKER_RE.search(unescape(str(status.get("content") or "")))
    return m.group(0) if m else None


# --- the test --------------------------------------------------------------------------------


@pytest.mark.timeout(900)
def test_chaos_kills_and_faults_publish_every_post_exactly_once(
    chaos_ws: Path, fresh: Peer, proxy: Proxy, tmp_path: Path
) -> None:
    ws = chaos_ws
    seed = int(os.environ.get("OUTREACH_CHAOS_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\nchaos seed {seed} (replay: OUTREACH_CHAOS_SEED={seed})", flush=True)
    rng = random.Random(seed)
    figs = Figures(seed=seed)
    started = time.monotonic()

    # 200 unique texts across three accounts, queued "at now"
    tag = f"{seed:x}"
    names = list(ACCOUNTS)
    lines = []
    for i in range(N_POSTS):
        body = BODIES[rng.randrange(len(BODIES))]
        lines.append(json.dumps({"account": names[i % len(names)], "at": "now",
                                 "text": f"[chaos {tag}-{i:03d}] {body}"}, ensure_ascii=False))
    (ws / "posts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = outreach(ws, "queue", "import", "posts.jsonl", "--json")
    assert done.returncode == 0, done.stderr
    figs.posts = len(json.loads(done.stdout))
    assert figs.posts == N_POSTS

    log_path = tmp_path / "daemon.log"
    with log_path.open("ab") as log:
        # --- chaos: kill, inject, restart -----------------------------------------------------
        chaos_start = time.monotonic()
        while unsettled(ws) and time.monotonic() - chaos_start < CHAOS_BUDGET:
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                inject(rng.choices(FAULT_KINDS, FAULT_WEIGHTS)[0], rng, fresh, proxy, figs)
            moment = rng.choice(MOMENTS)
            if moment == "in_call":
                inject("latency", rng, fresh, proxy, figs)
            elif moment == "after_drop":
                inject("drop", rng, fresh, proxy, figs)
            proc = start_daemon(ws, log)
            figs.daemon_runs += 1
            log.write(f"\n===== chaos run {figs.daemon_runs} pid {proc.pid}: {moment}\n".encode())
            log.flush()
            reached = wait_for_moment(moment, rng, ws, proc, proxy)
            kill(proc)
            figs.kills[moment] += 1
            figs.moments_reached[moment] += reached
        figs.chaos_seconds = time.monotonic() - chaos_start
        chaos_left = unsettled(ws)

        # which injected faults fired, before they are cleared
        remaining = {str(r["id"]): int(r["remaining"] or 0)
                     for r in fresh.call("GET", "/api/v1/_mock/faults", token=None).json()}
        fired: Counter[str] = Counter()
        for rule_id, (kind, count) in figs.peer_rules.items():
            fired[kind] += count - remaining.get(rule_id, 0)
        fired["drop"] = len(proxy.dropped)
        fresh.clear_faults()
        drops_pending = proxy.clear()

        # --- a clean run settles the rest, then SIGTERM -------------------------------------
        clean_start = time.monotonic()
        log.write(b"\n===== clean run\n")
        log.flush()
        proc = start_daemon(ws, log)
        figs.daemon_runs += 1
        try:
            settled = wait_until(lambda: unsettled(ws) == 0, CLEAN_BUDGET, 0.2)
            # let it come up before asking it to stop, as an operator would
            wait_until(lambda: bool(rows(ws, "SELECT 1 FROM daemon_heartbeats WHERE pid = ? "
                                              "AND stopped_at IS NULL", proc.pid)), 30, 0.2)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                kill(proc)
                code = -9
        figs.clean_seconds = time.monotonic() - clean_start

    log_text = log_path.read_text("utf-8", errors="replace")

    # --- the database's view ----------------------------------------------------------------
    posts = rows(ws, "SELECT id, account, status, text, remote_id, attempts, ambiguous, last_error "
                     "FROM posts ORDER BY id")
    by_marker = {MARKER_RE.search(p[3]).group(0): p for p in posts}  # type: ignore[union-attr]
    status_counts = Counter(p[2] for p in posts)
    attempts = Counter(int(p[5]) for p in posts)
    resent = {int(m) for m in re.findall(r"post (\d+): resending with the same idempotency key",
                                         log_text)}
    looked_up = {int(m) for m in re.findall(r"post (\d+): found on the platform as", log_text)}
    ambiguous = {int(p[0]) for p in posts if p[6]}
    integrity = rows(ws, "PRAGMA integrity_check")

    # --- the server's view ------------------------------------------------------------------
    problems: list[str] = []
    on_server: dict[str, list[tuple[str, str]]] = {}  # marker -> [(account, status id)]
    strays: list[str] = []
    for name, (token, _) in ACCOUNTS.items():
        for st in server_statuses(fresh, token):
            mk = marker(st)
            if mk is None or not mk.startswith(f"[chaos {tag}-"):
                strays.append(f"{name}:{st['id']}")
                continue
            on_server.setdefault(mk, []).append((name, str(st["id"])))
    duplicates = {mk: found for mk, found in on_server.items() if len(found) > 1}
    lost: list[int] = []  # on the server, but the database does not say published there
    for mk, (pid, account, status, _text, remote_id, n, _amb, error) in by_marker.items():
        found = on_server.get(mk, [])
        if status == "published":
            if len(found) != 1 or found[0] != (account, remote_id):
                problems.append(f"post {pid} ({mk}) published as {account}:{remote_id}; "
                                f"server has {found}")
        elif status == "failed":
            if found:
                lost.append(pid)
                problems.append(f"post {pid} ({mk}) is failed ({error}) but on the server: {found}")
            if not error or n < MAX_ATTEMPTS:
                problems.append(f"post {pid} failed after {n} attempt(s): {error!r}")
        else:
            problems.append(f"post {pid} ({mk}) left {status} (attempts {n}, {error!r})")
            if found:
                lost.append(pid)
    unknown = sorted(set(on_server) - set(by_marker))
    total = time.monotonic() - started

    figures: dict[str, Any] = {
        "seed": seed,
        "posts": figs.posts,
        "accounts": len(ACCOUNTS),
        "published": status_counts.get("published", 0),
        "failed": status_counts.get("failed", 0),
        "left_unsettled": sum(status_counts.get(s, 0) for s in UNSETTLED),
        "unsettled_after_chaos": chaos_left,
        "server_statuses": sum(len(v) for v in on_server.values()) + len(strays),
        "server_duplicates": len(duplicates),
        "server_unknown_or_stray": len(unknown) + len(strays),
        "on_server_but_not_published": len(lost),
        "kills": sum(figs.kills.values()),
        "kills_by_moment": dict(figs.kills),
        "moments_reached": dict(figs.moments_reached),
        "daemon_runs": figs.daemon_runs,
        "faults_injected": dict(figs.faults_injected),
        "faults_fired": dict(fired),
        "proxy_drops_pending_at_clean_run": drops_pending,
        "reconciled_posts": len(ambiguous | resent | looked_up),
        "posts_marked_ambiguous": len(ambiguous),
        "posts_resent_same_key": len(resent),
        "posts_found_by_lookup": len(looked_up),
        "attempts_distribution": {str(k): v for k, v in sorted(attempts.items())},
        "failed_reasons": dict(Counter(str(p[7])[:60] for p in posts if p[2] == "failed")),
        "tracebacks_in_daemon_logs": log_text.count("Traceback"),
        "integrity_check": integrity[0][0] if integrity else None,
        "clean_exit_code": code,
        "chaos_seconds": round(figs.chaos_seconds, 1),
        "clean_run_seconds": round(figs.clean_seconds, 1),
        "total_seconds": round(total, 1),
        "problems": problems[:50],
    }
    out = tmp_path / "chaos-figures.json"
    out.write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")
    width = max(len(k) for k in figures)
    print("\nchaos figures")
    for key, value in figures.items():
        if key != "problems":
            print(f"  {key:<{width}}  {value}")
    for problem in problems[:20]:
        print(f"  PROBLEM {problem}")
    print(f"  (written to {out}; daemon log {log_path})", flush=True)

    replay = f"replay with OUTREACH_CHAOS_SEED={seed}; daemon log {log_path}"
    assert settled, f"not settled within {CLEAN_BUDGET} s of the clean run; {replay}"
    assert code == 0, f"the clean daemon exited {code} on SIGTERM; {replay}"
    assert "Traceback" not in log_text, f"a daemon logged a traceback; {replay}"
    assert not duplicates, f"duplicates on the server: {duplicates}; {replay}"
    assert not unknown and not strays, f"statuses with no post: {unknown} {strays}; {replay}"
    assert not problems, "\n".join(problems[:20]) + f"\n{replay}"
    assert set(status_counts) <= set(SETTLED), status_counts
    assert integrity == [("ok",)], integrity


# --- one moment, made deterministic ----------------------------------------------------------


@pytest.mark.timeout(180)
@pytest.mark.parametrize("attempts_before", [0, MAX_ATTEMPTS - 1], ids=["resend", "last-attempt"])
def test_a_killed_workers_slow_post_that_lands_after_its_lease_is_published_once(
    chaos_ws: Path, fresh: Peer, proxy: Proxy, tmp_path: Path, attempts_before: int
) -> None:
    """The daemon dies while the peer holds its POST longer than the lease (but within the
    client's read timeout); the proxy still delivers it, so it lands after the lease expired.
    The next daemon must end with the post published once — by resending with the same key
    (attempts left) or by finding it (last attempt) — never ``failed`` while it is online."""
    ws = chaos_ws
    text = f"[chaos lease-{attempts_before}] Hang up on callers who ask for SMS codes"
    done = outreach(ws, "queue", "add", "--account", "bot", "--text", text, "--json")
    assert done.returncode == 0, done.stderr
    post_id = json.loads(done.stdout)["id"]
    conn = sqlite3.connect(ws / "outreach.db", timeout=30)
    with conn:
        conn.execute("UPDATE posts SET attempts = ? WHERE id = ?", (attempts_before, post_id))
    conn.close()
    held_ms = 9000  # > lease_seconds (5), < the client's read timeout (20 s)
    fresh.fault("latency", path=STATUSES, methods=["POST"], delay_ms=held_ms)

    log_path = tmp_path / "daemon.log"
    with log_path.open("ab") as log:
        proc = start_daemon(ws, log)
        try:
            assert wait_until(lambda: rows(ws, "SELECT status FROM posts WHERE id = ?", post_id)
                              == [("publishing",)], 30), "the POST never left"
            time.sleep(0.3)
        finally:
            kill(proc)
        killed_at = time.monotonic()
        proc = start_daemon(ws, log)
        try:
            assert wait_until(lambda: unsettled(ws) == 0, 60, 0.1), "not settled"
            # let the held POST land, then give the daemon a few ticks to notice anything
            time.sleep(max(0.0, killed_at + held_ms / 1000 + 3 - time.monotonic()))
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
    assert code == 0

    [(status, remote_id, attempts, error)] = rows(
        ws, "SELECT status, remote_id, attempts, last_error FROM posts WHERE id = ?", post_id)
    landed = [str(st["id"]) for st in server_statuses(fresh, BOT_TOKEN)
              if f"[chaos lease-{attempts_before}]" in unescape(str(st.get("content")))]
    assert len(landed) == 1, f"the held POST should land exactly once: {landed}"
    assert (status, remote_id) == ("published", landed[0]), (
        f"post {post_id} is {status} (attempts {attempts}, {error!r}) but the server has it as "
        f"{landed[0]}; daemon log {log_path}")
