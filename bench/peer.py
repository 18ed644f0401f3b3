"""The Mastodon peer for the sweep and publish benchmarks, and the references measured on it.

``run.py`` starts its own peer with ``.ci/mastodon-peer.sh`` on a port of its own (3041 by
default) unless ``OUTREACH_MASTODON_TEST_URL`` names a running one, and stops it (by the
PID the script recorded) at the end.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.harness import ROOT

SCRIPT = ROOT / ".ci" / "mastodon-peer.sh"
NAIVE_SCRIPT = Path(__file__).with_name("mastodonpy_loop.py")
PAGE = 40


@dataclass
class PeerProcess:
    url: str
    python: str | None
    port: int | None = None  # set when this run started it
    state: Path | None = None

    def stop(self) -> None:
        if self.port is None or self.state is None:
            return
        env = {**os.environ, "PEER_PORT": str(self.port), "PEER_STATE": str(self.state)}
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, text=True,
                       timeout=60, check=False)
        self.port = None


def start_peer(port: int, state: Path) -> tuple[PeerProcess | None, str]:
    """The peer from the environment, else one started here; (None, why) when impossible."""
    url = os.environ.get("OUTREACH_MASTODON_TEST_URL", "").strip().rstrip("/")
    if url:
        return PeerProcess(url, os.environ.get("OUTREACH_PEER_PYTHON") or None), ""
    state.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PEER_PORT": str(port), "PEER_STATE": str(state)}
    try:
        done = subprocess.run(["bash", str(SCRIPT), "start"], env=env, capture_output=True,
                              text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"cannot run {SCRIPT.name}: {exc}"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return None, f"{SCRIPT.name} start failed: {' | '.join(tail)}"
    exports = dict(line.removeprefix("export ").split("=", 1) for line in done.stdout.splitlines()
                   if line.startswith("export ") and "=" in line)
    peer = PeerProcess(exports.get("OUTREACH_MASTODON_TEST_URL", f"http://127.0.0.1:{port}"),
                       exports.get("OUTREACH_PEER_PYTHON"), port=port, state=state)
    return peer, ""


# --- request counting ------------------------------------------------------------------------


@dataclass
class RequestLog:
    """Requests seen by an httpx client (an event hook), by path, with id[] batch sizes."""

    paths: list[str] = field(default_factory=list)
    id_batches: list[int] = field(default_factory=list)

    def hook(self, request: httpx.Request) -> None:
        self.paths.append(request.url.path)
        ids = [k for k, _ in request.url.params.multi_items() if k in ("id[]", "id")]
        if ids:
            self.id_batches.append(len(ids))

    def clear(self) -> None:
        self.paths.clear()
        self.id_batches.clear()

    def status_lists(self) -> int:
        """Requests that return lists of statuses: own timeline pages and id[] batches."""
        return sum(1 for p in self.paths
                   if p == "/api/v1/statuses" or (p.startswith("/api/v1/accounts/")
                                                  and p.endswith("/statuses")))


def counting_client(log: RequestLog) -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(20.0, connect=5.0, pool=5.0),
                        headers={"User-Agent": "outreach/0.1"}, follow_redirects=False,
                        event_hooks={"request": [log.hook]})


# --- seeding ---------------------------------------------------------------------------------


def engage(peer: Any, ids: list[str], share: float, seed: int = 42) -> int:
    """Fans reblog, favourite and reply to a share of the posts, serially (the peer has a
    favourite race in parallel); both fans follow the bot. Returns the actions taken."""
    rnd = random.Random(seed)
    chosen = rnd.sample(ids, max(1, int(len(ids) * share)))
    actions = 0
    for sid in chosen:
        for fan in ("fan1", "fan2"):
            if rnd.random() < 0.5:
                peer.reblog(sid, fan)
                actions += 1
            if rnd.random() < 0.6:
                peer.favourite(sid, fan)
                actions += 1
            if rnd.random() < 0.3:
                peer.reply(sid, fan, "Where do I report a scam call?")
                actions += 1
    for fan in ("fan1", "fan2"):
        peer.follow(fan)
    return actions


# --- references ------------------------------------------------------------------------------


def httpx_paging(url: str, token: str, bot_id: str) -> tuple[dict[str, tuple[int, int, int]], int]:
    """The bare loop: own statuses 40 a page by max_id, stopping at statuses_count (b″ of
    perf-baseline.md). Returns the counts and the number of requests."""
    got: dict[str, tuple[int, int, int]] = {}
    requests = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                      timeout=30.0) as http:
        params: dict[str, Any] = {"limit": PAGE, "exclude_reblogs": "true"}
        total: int | None = None
        while True:
            page = http.get(f"/api/v1/accounts/{bot_id}/statuses", params=params).json()
            requests += 1
            for st in page:
                got[st["id"]] = (st["reblogs_count"], st["replies_count"], st["favourites_count"])
            if not page or len(page) < PAGE:
                break
            if total is None:
                total = page[0]["account"]["statuses_count"]
            if len(got) >= total:
                break
            params = {**params, "max_id": page[-1]["id"]}
    return got, requests


def httpx_poster(url: str, token: str, **fields: str
                 ) -> tuple[httpx.Client, Callable[[str, str], str]]:
    """A bare client posting a text (with ``fields`` beside it in the body) and an
    Idempotency-Key; returns (client, post)."""
    http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0)

    def post(text: str, key: str) -> str:
        resp = http.post("/api/v1/statuses", json={"status": text, **fields},
                         headers={"Idempotency-Key": key})
        resp.raise_for_status()
        return str(resp.json()["id"])

    return http, post


def mastodonpy_loop(python: str, url: str, token: str, ids: list[str]) -> dict[str, Any]:
    """The naive Mastodon.py ``status(id)`` loop, in the peer's venv, timing itself."""
    done = subprocess.run([python, str(NAIVE_SCRIPT)], input=json.dumps(
        {"url": url, "token": token, "ids": ids}), capture_output=True, text=True, timeout=900,
        check=False)
    if done.returncode != 0:
        raise RuntimeError(f"Mastodon.py loop failed: {done.stderr.strip()[-500:]}")
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()
