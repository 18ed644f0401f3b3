"""Benchmarks 1 and 2: a counts sweep (``outreach.collect.counts.collect``) against the Mastodon
peer and the fake Weibo server, with the references measured in the same run.

The sweep is the real one: ``collect(rt, force=True)`` over N published posts in a real
database — tracked posts read, the client's batched ``fetch_counts``, change-only snapshots
written, ``metrics_checked_at`` stamped, followers read. A first sweep (not timed) writes the
first snapshots and reads the replies; the timed sweeps then see no change, which is also
where "a sweep with no changes adds no rows" (benchmark 8) is checked.
"""

from __future__ import annotations

import math
import os
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from bench import datasets
from bench.harness import Context, Result, median
from bench.peer import RequestLog, counting_client, engage, httpx_paging, mastodonpy_loop

MASTODON_TOKEN_ENV = "OUTREACH_BENCH_MASTODON_TOKEN"
WEIBO_TOKEN_ENV = "OUTREACH_BENCH_WEIBO_TOKEN"
COUNT_PATH = "/2/statuses/count.json"


def _db_counts(rt: Any, post_ids: list[int]) -> dict[int, tuple[Any, Any, Any]]:
    from outreach.collect.counts import latest_counts

    with rt.db.reader() as s:
        return latest_counts(s, post_ids)


def _post_ids(rt: Any) -> dict[str, int]:
    from sqlalchemy import select
    from sqlmodel import col

    from outreach.store.models import Post

    with rt.db.reader() as s:
        return {r: i for i, r in s.execute(select(col(Post.id), col(Post.remote_id))).all()}


# --- 1. Mastodon -----------------------------------------------------------------------------


def bench_mastodon(ctx: Context) -> list[Result]:
    from outreach.collect.counts import collect
    from outreach.runtime import Runtime
    from tests.mastodon_peer import BOT_TOKEN, Peer

    assert ctx.peer_url is not None
    n = int(ctx.params.mastodon_n)
    name = "peerbot"
    t0 = time.perf_counter()
    with Peer(ctx.peer_url) as peer:
        peer.reset()
        ctx.log(f"mastodon: posting {n} statuses on the peer and seeding engagement")
        texts = [f"Safety tip {i}: never share a verification code with anyone." for i in range(n)]
        ids = [peer.post(t) for t in texts]
        actions = engage(peer, ids, share=ctx.params.engage_share)
        bot_id = peer.bot_id
    root = datasets.platform_workspace(
        ctx.work / "mastodon-sweep", platform="mastodon", name=name, lang="en",
        account={"api_base": ctx.peer_url, "token_env": MASTODON_TOKEN_ENV})
    os.environ[MASTODON_TOKEN_ENV] = BOT_TOKEN
    log = RequestLog()
    rt = Runtime(datasets.load(root), http=counting_client(log))
    try:
        datasets.insert_posts(rt, datasets.published_rows(name, ids, texts, datetime.now(UTC)))
        ctx.builds[f"mastodon peer, {n} statuses"] = time.perf_counter() - t0
        account = rt.settings.accounts[name]
        first, _ = _timed_collect(collect, rt, account)
        before = datasets.table_counts(root / "outreach.db")
        sweeps: list[float] = []
        refs: list[float] = []
        naive: list[float] = []
        lists: list[int] = []
        batches: list[int] = []
        naive_req = 0
        got: dict[str, tuple[int, int, int]] = {}
        naive_ok = True
        for rep in range(ctx.reps):
            ctx.log(f"mastodon: round {rep + 1}/{ctx.reps}")
            log.clear()
            seconds, summary = _timed_collect(collect, rt, account)
            if summary.skipped:
                raise RuntimeError(f"the sweep skipped the account: {summary.skipped}")
            sweeps.append(seconds)
            lists.append(log.status_lists())
            batches.extend(log.id_batches)
            t = time.perf_counter()
            got, _ = httpx_paging(ctx.peer_url, BOT_TOKEN, bot_id)
            refs.append(time.perf_counter() - t)
            if ctx.peer_python:
                loop = mastodonpy_loop(ctx.peer_python, ctx.peer_url, BOT_TOKEN, ids)
                naive.append(float(loop["wall"]))
                naive_req = int(loop["requests"])
                naive_ok = naive_ok and {k: tuple(v) for k, v in loop["counts"].items()} == {
                    i: got[i] for i in ids}
        after = datasets.table_counts(root / "outreach.db")
        by_remote = _post_ids(rt)
        stored = _db_counts(rt, list(by_remote.values()))
        wrong = [r for r in ids if stored.get(by_remote[r]) != got.get(r)]
    finally:
        rt.close()
    limit = math.ceil(n / 40) + 1
    sweep, ref = median(sweeps), median(refs)
    correct = not wrong
    details: dict[str, Any] = {"n": n, "engagement_actions": actions, "first_sweep_s": round(first, 3),
               "status_list_requests": lists, "sweeps_s": sweeps, "httpx_s": refs,
               "wrong_counts": len(wrong)}
    out: list[Result] = [
        Result("mastodon.requests", f"Mastodon sweep N={n}: status-list requests", max(lists),
               "req", f"≤ ⌈N/40⌉+1 = {limit}", ok=max(lists) <= limit, timed=False,
               details=details),
        Result("mastodon.id_chunk", "Mastodon sweep: largest id[] chunk", max(batches, default=0),
               "ids", "≤ 20 (portable)", ok=max(batches, default=0) <= 20, timed=False,
               note="" if batches else "no id[] lookups: the sweep paged the timeline"),
        Result("mastodon.sweep", f"Mastodon sweep N={n} (collect)", sweep, "s", "≤ 1.5 × ref",
               ok=sweep <= 1.5 * ref and correct, reference="bare httpx paging",
               reference_value=ref, ratio=sweep / ref, ratio_label=" × ref", samples=sweeps,
               details={"counts_match_server": correct},
               note="" if correct else f"{len(wrong)} posts' stored counts differ from the server"),
    ]
    if naive:
        nv = median(naive)
        out.append(Result(
            "mastodon.vs_naive", "Mastodon sweep vs naive Mastodon.py", sweep, "s", "≥ 15 × faster",
            ok=nv / sweep >= 15 and naive_ok, reference=f"Mastodon.py status(id) × {naive_req}",
            reference_value=nv, ratio=nv / sweep, ratio_label=" × faster", samples=naive,
            note="" if naive_ok else "Mastodon.py read different counts than the bare loop"))
    out.append(_no_change_row("storage.no_change_mastodon", "Mastodon sweep with no changes",
                              before, after))
    return out


def _timed_collect(collect: Any, rt: Any, account: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    summary = collect(rt, accounts=[account], force=True)
    return time.perf_counter() - t, summary


def _no_change_row(key: str, name: str, before: dict[str, int], after: dict[str, int]) -> Result:
    added = {t: after[t] - before[t] for t in before}
    total = sum(added.values())
    return Result(key, f"{name}: rows added", total, "rows", "0", ok=total == 0, timed=False,
                  details={"added": added})


# --- 2. Weibo --------------------------------------------------------------------------------


def bench_weibo(ctx: Context) -> list[Result]:
    from outreach.collect.counts import collect
    from outreach.runtime import Runtime
    from tests.weibo_server import WeiboServer

    n = int(ctx.params.weibo_n)
    name = "pingan"
    t0 = time.perf_counter()
    with WeiboServer(token="bench-weibo-token", user_limit=0) as weibo:
        root = datasets.platform_workspace(
            ctx.work / "weibo-sweep", platform="weibo", name=name, lang="zh",
            account={"api_base": weibo.url, "token_env": WEIBO_TOKEN_ENV,
                     "share_url": "https://example.gov.cn/safety", "rip": "203.0.113.7"})
        os.environ[WEIBO_TOKEN_ENV] = weibo.token
        rt = Runtime(datasets.load(root))
        try:
            client: Any = rt.client(name)
            client.refresh_budget()  # the fake's hourly limit (no limit) instead of the default 150
            texts = [f"【反诈提醒】第{i}条：陌生来电让你转账的，先挂断，再拨打96110核实。" for i in range(n)]
            ids = [client.publish(t, idempotency_key=f"k{i}").remote_id for i, t in enumerate(texts)]
        finally:
            rt.close()
        for k, sid in enumerate(ids[:: max(1, int(1 / ctx.params.engage_share))]):
            weibo.engage(sid, reposts=k % 7 + 1, likes=k % 11 + 2,
                         comments=[{"author": "市民", "text": "请问96110可以直接打吗？"}] * (k % 3))
        ctx.log(f"weibo: {n} statuses published on the fake server")
        rt = Runtime(datasets.load(root))
        try:
            datasets.insert_posts(rt, datasets.published_rows(name, ids, texts, datetime.now(UTC)))
        finally:
            rt.close()
        ctx.builds[f"fake Weibo, {n} statuses"] = time.perf_counter() - t0
        rt = Runtime(datasets.load(root))
        account = rt.settings.accounts[name]
        try:
            _timed_collect(collect, rt, account)  # first sweep: snapshots and comments
        finally:
            rt.close()
        before = datasets.table_counts(root / "outreach.db")
        calls: list[int] = []
        sweeps: list[float] = []
        refs: list[float] = []
        for _ in range(ctx.reps):
            seen = len(weibo.requests(COUNT_PATH))
            rt = Runtime(datasets.load(root))  # a fresh client: its own hourly budget, as a CLI run
            try:
                seconds, summary = _timed_collect(collect, rt, rt.settings.accounts[name])
            finally:
                rt.close()
            if summary.skipped:
                raise RuntimeError(f"the sweep skipped the account: {summary.skipped}")
            sweeps.append(seconds)
            calls.append(len(weibo.requests(COUNT_PATH)) - seen)
            t = time.perf_counter()
            _weibo_bare(weibo.url, weibo.token, ids)
            refs.append(time.perf_counter() - t)
        after = datasets.table_counts(root / "outreach.db")
    want = math.ceil(n / 100)
    sweep, ref = median(sweeps), median(refs)
    return [
        Result("weibo.calls", f"Weibo sweep N={n}: statuses/count calls", max(calls), "calls",
               f"= ⌈N/100⌉ = {want}", ok=all(c == want for c in calls), timed=False,
               details={"calls": calls}),
        Result("weibo.sweep", f"Weibo sweep N={n} (collect)", sweep, "s", "info",
               reference="bare httpx statuses/count loop", reference_value=ref,
               ratio=sweep / ref, ratio_label=" × ref", samples=sweeps),
        _no_change_row("storage.no_change_weibo", "Weibo sweep with no changes", before, after),
    ]


def _weibo_bare(url: str, token: str, ids: list[str]) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"OAuth2 {token}"},
                      timeout=30.0) as http:
        for start in range(0, len(ids), 100):
            http.get(COUNT_PATH, params={"ids": ",".join(ids[start:start + 100])}).json()
