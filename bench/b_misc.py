"""Benchmark 8 (storage of the department database) and the opinions benchmark."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from bench import datasets
from bench.harness import ROOT, Context, Result

SEED_COMMENTS_PER_POST = 17_739 / 971  # the origin article's officer account


def bench_storage(ctx: Context, ws: datasets.Workspace) -> list[Result]:
    size = sum(f.stat().st_size for f in ws.db_files() if f.exists()) / 1_000_000
    conn = sqlite3.connect(f"file:{ws.db_path}?mode=ro", uri=True)
    try:
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("posts", "post_metrics", "account_metrics", "comments", "audit_log")}
        try:
            pages = dict(conn.execute(
                "SELECT tbl_name, SUM(pgsize) FROM dbstat JOIN sqlite_master USING (name) "
                "GROUP BY tbl_name").fetchall())
        except sqlite3.OperationalError:  # SQLite built without dbstat
            pages = {}
    finally:
        conn.close()
    note = ""
    details: dict[str, Any] = {"rows": rows, "bytes_by_table": pages,
                               "bytes_per_post": round(size * 1_000_000 / max(rows["posts"], 1))}
    if pages.get("comments") and rows["comments"]:
        per_comment = pages["comments"] / rows["comments"]
        extra = (SEED_COMMENTS_PER_POST * rows["posts"] - rows["comments"]) * per_comment / 1_000_000
        details["bytes_per_comment"] = round(per_comment)
        details["projected_mb_at_seed_comment_rate"] = round(size + extra)
        note = (f"{rows['comments'] / rows['posts']:.1f} comments a post; at the origin article's "
                f"{SEED_COMMENTS_PER_POST:.0f} a post it would be ≈{size + extra:.0f} MB "
                f"({per_comment:.0f} B a comment with its indexes)")
    shape = ws.shape
    return [Result("storage.size", f"Database {shape.accounts}×{shape.days}×{shape.posts_per_day} "
                   f"({rows['posts'] // 1000}k posts, {rows['post_metrics'] // 1000}k snapshots)",
                   size, "MB", "≤ 500 MB", ok=size <= 500, timed=False, details=details, note=note)]


def bench_opinions(ctx: Context) -> list[Result]:
    from outreach.opinions import evaluate, load_rules

    fixture = ROOT / "tests" / "fixtures" / "opinions_labelled.jsonl"
    rows = [json.loads(line) for line in fixture.read_text(encoding="utf-8").splitlines() if line.strip()]
    rules = load_rules(ROOT / "content")
    data = [(r["text"], r.get("lang", ""), r["class"]) for r in rows]
    t = time.perf_counter()
    result = evaluate(data, rules)
    seconds = time.perf_counter() - t
    per_class = {k: v for k, v in result.items() if k != "overall"}
    overall = result.get("overall", {})
    emergency = per_class.get("emergency", {})
    macro = [v["recall"] for v in per_class.values() if v.get("support")]
    return [Result(
        "opinions.accuracy", f"Opinion classes on {len(rows)} labelled comments: accuracy",
        float(overall.get("accuracy", 0.0)), "", "info", timed=False,
        details={"per_class": per_class, "overall": overall, "seconds": seconds},
        note=(f"emergency recall {emergency.get('recall', 0):.2f}, precision "
              f"{emergency.get('precision', 0):.2f}; macro recall "
              f"{sum(macro) / max(len(macro), 1):.2f}; {seconds / max(len(rows), 1) * 1e6:.0f} µs a "
              "comment"))]
