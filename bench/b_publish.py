"""Benchmark 3: 1000 due posts through the real publisher to the Mastodon peer.

``Publisher.run_due`` does all of it per post: the conditional-UPDATE claim, the recheck
of the text, the platform call with the post's idempotency key (a lease keeper thread
alongside), the ``published`` row update and its audit row — each commit durable
(``PRAGMA synchronous = FULL`` in WAL mode, as outreach runs it). The reference is a bare
httpx loop posting the same kind of texts with the same body fields as the client (status,
visibility, language) and Idempotency-Key headers.

Blocks of 100 alternate between the two (and which goes first), so the peer's table
growth weighs on both alike, as in perf-baseline.md; the peer is reset between rounds.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bench import datasets
from bench.b_counts import MASTODON_TOKEN_ENV
from bench.harness import Context, Result, median
from bench.peer import httpx_poster

SYNC_LEVELS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def _text(kind: str, rep: int, i: int) -> str:
    return (f"Safety tip {kind}{rep}-{i}: a caller who asks you to move money to a 'safe account' "
            f"is a scammer. Hang up and call 96110. #SafeBeijing")


def bench_publish(ctx: Context) -> list[Result]:
    from sqlalchemy import event, func, select
    from sqlmodel import col

    from outreach.actions.accounts import sync_accounts
    from outreach.publish.publisher import Publisher
    from outreach.runtime import Runtime
    from outreach.store.models import AuditLog, Post
    from tests.mastodon_peer import BOT_TOKEN, Peer

    assert ctx.peer_url is not None
    n = int(ctx.params.publish_n)
    block = max(1, min(100, n // 10))
    name = "peerbot"
    root = datasets.platform_workspace(
        ctx.work / "publish", platform="mastodon", name=name, lang="en",
        account={"api_base": ctx.peer_url, "token_env": MASTODON_TOKEN_ENV})
    os.environ[MASTODON_TOKEN_ENV] = BOT_TOKEN
    pubs: list[float] = []
    refs: list[float] = []
    problems: list[str] = []
    commits_per_post: list[float] = []
    sync = journal = None
    with Peer(ctx.peer_url) as peer:
        for rep in range(ctx.reps):
            ctx.log(f"publish: round {rep + 1}/{ctx.reps}, {n} posts each way")
            peer.reset()
            for f in root.glob("outreach.db*"):
                f.unlink()
            rt = Runtime(datasets.load(root))
            # the same request body the client sends (the peer spends ~4 % more on it)
            http, post = httpx_poster(ctx.peer_url, BOT_TOKEN, visibility="public", language="en")
            try:
                sync_accounts(rt)
                datasets.insert_posts(rt, datasets.queued_rows(
                    name, [_text("p", rep, i) for i in range(n)], datetime.now(UTC)))
                with rt.db.engine.connect() as conn:
                    sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
                    journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
                # what a running daemon already holds: the library and the client's limits
                _ = rt.library
                _ = rt.client(name).max_length
                commits = [0]

                def on_commit(_conn: Any, box: list[int] = commits) -> None:
                    box[0] += 1

                event.listen(rt.db.engine, "commit", on_commit)
                publisher = Publisher(rt, worker="bench")
                outcomes: Counter[str] = Counter()
                pub_t = ref_t = 0.0
                refs_texts = [_text("r", rep, i) for i in range(n)]
                for b in range(0, n, block):
                    steps = ("pub", "ref") if (b // block) % 2 == 0 else ("ref", "pub")
                    for step in steps:
                        t = time.perf_counter()
                        if step == "pub":
                            outcomes.update(publisher.run_due(limit=block).counts)
                            pub_t += time.perf_counter() - t
                        else:
                            for text in refs_texts[b:b + block]:
                                post(text, uuid.uuid4().hex)
                            ref_t += time.perf_counter() - t
                pubs.append(pub_t)
                refs.append(ref_t)
                commits_per_post.append(commits[0] / n)
                with rt.db.reader() as s:
                    published = s.execute(select(func.count()).where(
                        col(Post.status) == "published", col(Post.remote_id).is_not(None))).scalar()
                    audits = s.execute(select(func.count()).where(
                        col(AuditLog.action) == "published")).scalar()
                on_peer = peer.account().get("statuses_count")
                if outcomes.get("published") != n or published != n or audits != n:
                    problems.append(f"round {rep + 1}: outcomes {dict(outcomes)}, {published} rows "
                                    f"published, {audits} audit rows")
                if on_peer != 2 * n:
                    problems.append(f"round {rep + 1}: the peer has {on_peer} statuses, not {2 * n}")
            finally:
                http.close()
                rt.close()
    pub, ref = median(pubs), median(refs)
    level = SYNC_LEVELS.get(int(sync or -1), str(sync))
    details: dict[str, Any] = {"n": n, "block": block, "publisher_s": pubs, "httpx_s": refs,
                               "ms_per_post": round(pub / n * 1000, 2),
                               "ref_ms_per_post": round(ref / n * 1000, 2),
                               "commits_per_post": commits_per_post, "synchronous": level,
                               "journal_mode": journal}
    return [
        Result("publish.time", f"Publish {n} due posts (Publisher → peer)", pub, "s", "≤ 1.5 × ref",
               ok=pub <= 1.5 * ref and not problems, reference="bare httpx + Idempotency-Key",
               reference_value=ref, ratio=pub / ref, ratio_label=" × ref", samples=pubs,
               details=details, note="; ".join(problems)),
        Result("publish.durability", "Publisher DB durability (PRAGMA synchronous)", None, "",
               "FULL (WAL)", ok=level == "FULL" and str(journal).lower() == "wal", timed=False,
               shown=f"{level}, {journal}",
               note=f"{pub / n * 1000:.2f} ms/post with synchronous={level} "
                    f"({median(commits_per_post):.1f} commits a post) vs {ref / n * 1000:.2f} ms/post bare"),
    ]
