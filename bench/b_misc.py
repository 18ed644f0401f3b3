"""Benchmark 8 (storage of the department database) and the opinions benchmark."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from bench import datasets
from bench.harness import ROOT, Context, Result
from outreach.opinions.model import OpinionModel

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


BLIND = ROOT / "tests" / "fixtures" / "opinions_blind.jsonl"
BLIND2 = ROOT / "tests" / "fixtures" / "opinions_blind2.jsonl"
BLIND3 = ROOT / "tests" / "fixtures" / "opinions_blind3.jsonl"
BLIND4 = ROOT / "tests" / "fixtures" / "opinions_blind4.jsonl"
BLIND_SETS = {"blind": BLIND, "blind2": BLIND2, "blind3": BLIND3, "blind4": BLIND4}
"""The blind sets; the targets are judged on the fourth (never seen while the classifier was
changed); the first three were measured and then studied while it was: development sets,
whose figures show regressions."""
JUDGED = "blind4"
BLIND_TARGETS = {"emergency_recall": 0.97, "emergency_precision": 0.60, "accuracy": 0.85}


def _labelled(path: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def bench_opinions(ctx: Context) -> list[Result]:
    """Rules alone, the model alone and both: on the blind sets and by five-fold
    cross-validation on the training corpus, with the vote's weights chosen there
    (``--quick``: the blind sets only)."""
    from outreach.opinions.model import CORPUS_FILE, load_model, model_class
    from outreach.opinions.rules import classify, load_rules, normalise
    from outreach.opinions.train import FOLDS, metrics, out_of_fold, read_corpus

    rules = load_rules(ROOT / "content")
    model = load_model(ROOT / "content")
    results: list[Result] = []
    sets: list[tuple[str, list[tuple[str, str, str]], list[dict[str, float]] | None]] = []
    for name, path in BLIND_SETS.items():
        if path.is_file():
            sets.append((name, [(r["text"], r.get("lang", ""), r["class"]) for r in _labelled(path)],
                         None))
    if not ctx.quick:
        from threadpoolctl import threadpool_limits

        rows = read_corpus(ROOT / "content" / CORPUS_FILE)
        with threadpool_limits(limits=1):
            folded = out_of_fold(rows, normalise)
        sets.append((f"cv{FOLDS}", [(r.text, r.lang, r.klass) for r in rows], folded))
        results.append(_vote_choice(rows, folded, rules, model.threshold))
    for name, data, oof in sets:
        expected = [k for _, _, k in data]
        got: dict[str, list[str]] = {"rules": [], "model": [], "both": []}
        # CPU time: on a shared machine the wall clock also counts other people's work
        t = time.process_time()
        for text, lang, _ in data:
            got["rules"].append(classify(text, rules, lang or None).klass)
        rules_seconds = time.process_time() - t
        used: list[OpinionModel] = [model if oof is None else _Fixed(
            model.classes, model.threshold, [], model.coef, model.intercept, p=oof[i])
            for i in range(len(data))]
        t = time.process_time()
        for (text, lang, _), m_i in zip(data, used, strict=True):
            got["both"].append(classify(text, rules, lang or None, m_i).klass)
        both_seconds = time.process_time() - t
        for (text, _, _), m_i in zip(data, used, strict=True):
            got["model"].append(model_class(m_i.probabilities(normalise(text)), m_i.threshold))
        for who, predicted in got.items():
            m = metrics(expected, predicted)
            em = m["emergency"]
            overall = m["overall"]
            ok = None
            target = "info"
            if name == JUDGED and who == "both":
                target = "emergency recall ≥ 97 %, precision ≥ 60 %, accuracy ≥ 85 %"
                ok = (em["recall"] >= BLIND_TARGETS["emergency_recall"]
                      and em["precision"] >= BLIND_TARGETS["emergency_precision"]
                      and overall["accuracy"] >= BLIND_TARGETS["accuracy"])
            per_comment = (rules_seconds if who == "rules" else both_seconds) / max(len(data), 1)
            note = (f"emergency recall {em['recall']:.3f} ({int(em['recall'] * em['support'])}/"
                    f"{int(em['support'])}), precision {em['precision']:.3f}")
            if who != "model":
                note += f"; {per_comment * 1e6:.0f} µs of CPU a comment"
            results.append(Result(
                f"opinions.{name}.{who}", f"Opinions, {who}, {name} ({len(data)} comments): accuracy",
                overall["accuracy"], "", target, ok=ok, timed=False,
                details={"per_class": {k: v for k, v in m.items() if k != "overall"},
                         "overall": overall, "set": name, "classifier": who,
                         "seconds_a_comment": per_comment},
                note=note))
        if name in BLIND_SETS:
            results.extend(_blind_kinds(name, got["both"]))
        if name == JUDGED:
            per_comment = both_seconds / max(len(data), 1)
            results.append(Result(
                "opinions.speed", f"Opinions: classifying with rules and model ({name})",
                per_comment * 1000, "ms", "≤ 1 ms of CPU a comment", ok=per_comment < 0.001,
                details={"seconds_a_comment": per_comment, "comments": len(data)},
                note="CPU time (process_time), the wall clock counts other work on the box"))
    if not results:  # no blind set and --quick: the labelled fixture keeps the bench honest
        data = [(r["text"], r.get("lang", ""), r["class"]) for r in
                _labelled(ROOT / "tests" / "fixtures" / "opinions_labelled.jsonl")]
        m = metrics([k for _, _, k in data], [classify(t, rules, lang or None, model).klass
                                               for t, lang, _ in data])
        results.append(Result("opinions.fixture.both", f"Opinions, both, fixture ({len(data)})",
                              m["overall"]["accuracy"], "", "info", timed=False,
                              details={"per_class": {k: v for k, v in m.items() if k != "overall"},
                                       "overall": m["overall"]}))
    return results


def _vote_choice(rows: Any, folded: list[dict[str, float]], rules: Any, threshold: float) -> Result:
    """The vote's weights by cross-validation: the floor under which the model overrules the
    rules' emergency signal, then the grid of the two weights at that floor, the choice, and
    whether it is the one that runs (:data:`outreach.opinions.rules.VOTE`)."""
    from outreach.opinions.rules import VOTE
    from outreach.opinions.train import (
        TARGET_RECALL,
        TARGET_VOTE_RECALL,
        choose_floor,
        choose_vote,
        floor_grid,
        vote_grid,
    )

    floors = floor_grid(rows, folded, rules, threshold, VOTE)
    floor = choose_floor(floors)
    grid = vote_grid(rows, folded, rules, threshold, rule_floor=floor["rule_floor"])
    best = choose_vote(grid)
    chosen = (best["rule_vote"], best["model_lean"], floor["rule_floor"])
    shipped = chosen == tuple(VOTE)
    return Result("opinions.cv.vote", "Vote weights chosen by cross-validation are those shipped",
                  best["accuracy"], "", "the shipped weights", ok=shipped, timed=False,
                  details={"grid": grid, "chosen": best, "shipped": list(VOTE),
                           "floors": floors, "chosen_floor": floor,
                           "target_recall": TARGET_VOTE_RECALL, "floor_target_recall": TARGET_RECALL},
                  note=f"rule_vote {best['rule_vote']}, model_lean {best['model_lean']}, "
                       f"rule_floor {floor['rule_floor']} (shipped {VOTE.rule_vote}, "
                       f"{VOTE.model_lean}, {VOTE.rule_floor}): accuracy {best['accuracy']:.4f}, "
                       f"emergency recall {best['emergency_recall']:.4f}")


def _blind_kinds(name: str, got: list[str]) -> list[Result]:
    kinds: dict[str, list[bool]] = {}
    for row, klass in zip(_labelled(BLIND_SETS[name]), got, strict=True):
        if row["class"] == "emergency":
            kinds.setdefault(str(row.get("kind", "?")), []).append(klass == "emergency")
    shown = ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in sorted(kinds.items()))
    return [Result(f"opinions.{name}.kinds", f"Emergencies of {name} caught (both), by kind of danger",
                   float(sum(sum(v) for v in kinds.values())), "comments", "info", timed=False,
                   details={"kinds": {k: [sum(v), len(v)] for k, v in kinds.items()}}, note=shown)]


@dataclass
class _Fixed(OpinionModel):
    """A model whose probabilities were computed out of fold (cross-validation)."""

    p: dict[str, float] = field(default_factory=dict)

    def probabilities(self, text: str) -> dict[str, float]:
        return self.p
