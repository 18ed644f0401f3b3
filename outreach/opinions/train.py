"""Training the opinion model, and choosing its threshold and the vote's weights.

- Features: TF-IDF of character n-grams (1–3 within word boundaries, 2–4 across them; Chinese
  needs no segmenter) and of English words and word pairs, each L2-normalised, over the same
  normalised text the rules read (NFKC, case-folded, white space collapsed).
- Classifier: multinomial logistic regression with balanced class weights; each row weighs
  1 / √(rows of its group) (:func:`group_weights`), so a core's decorated variants count
  less than as many comments written one at a time.
- Threshold: the emergency probability above which the model alone makes a comment an
  emergency. :func:`train` picks it by five-fold cross-validation on the corpus only, grouped
  so that the variants of one written comment never sit on both sides of a fold: the highest
  threshold whose out-of-fold emergency recall on the comments written one at a time
  (:func:`written_singly`) is at least :data:`TARGET_RECALL`. A missed emergency is the worst
  outcome; a false alarm costs an officer a glance. The decorated variants of a core are
  easy to recognise once its other variants are learnt, so over the whole corpus the recall
  looks better than on comments nobody decorated — and a stranger's comment is one of those.
- The vote's weights (how much the rules' and the model's answers count in
  :func:`outreach.opinions.rules.classify`): :func:`vote_grid` and :func:`choose_vote`, on the
  same out-of-fold probabilities; the floor under which the model overrules the rules'
  emergency signal: :func:`floor_grid` and :func:`choose_floor`.

The model is saved with skops (no pickle: ``skops.io.load`` runs no code from the file and
refuses any type not listed in :data:`~outreach.opinions.model.TRUSTED_TYPES`). :func:`dumps`
writes a normalised zip (sorted entries, fixed timestamps), so ``outreach opinions train``
rebuilds the shipped file byte for byte.

This module imports scikit-learn, SciPy and skops: only training and the benchmarks use it;
classifying is :mod:`outreach.opinions.model`, with NumPy alone.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import random
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from skops.io import dumps as skops_dumps

from outreach.errors import InputError
from outreach.i18n import _
from outreach.opinions.model import CLASSES, from_parts, model_class
from outreach.opinions.rules import OpinionRules, Vote, rule_scores, vote_class
from outreach.states import OpinionClass

SEED = 0
FOLDS = 5
TARGET_RECALL = 0.985
C = 10.0
MAX_CORPUS_BYTES = 50_000_000


# --- the corpus ----------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One labelled comment; ``group`` ties the variants of one written comment together."""

    text: str
    lang: str
    klass: str
    group: str


def read_corpus(path: Path, where: str | None = None) -> list[Row]:
    """Labelled rows of a JSON Lines corpus (text, lang, class; optional group, kind).

    A bad row raises :class:`InputError` naming the file and line; nothing is trained.
    """
    where = where or str(path)
    try:
        if path.stat().st_size > MAX_CORPUS_BYTES:
            raise InputError(f"{where}: " + _("file is over {n} bytes").format(n=MAX_CORPUS_BYTES))
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{where}: " + _("cannot read: {why}").format(why=exc.strerror)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{where}:{bad_line}: " + _("not valid UTF-8")) from None
    rows: list[Row] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}:{n}: " + _("not JSON: {why}").format(why=exc.msg)) from None
        if not isinstance(obj, dict):
            raise InputError(f"{where}:{n}: " + _("each line must be a JSON object"))
        body, lang, klass = obj.get("text"), obj.get("lang"), obj.get("class")
        if not isinstance(body, str) or not body.strip():
            raise InputError(f"{where}:{n}: " + _("text must be a non-empty string"))
        if lang not in ("zh", "en"):
            raise InputError(f"{where}:{n}: " + _("lang must be zh or en, not {value!r}").format(value=lang))
        if klass not in CLASSES:
            raise InputError(f"{where}:{n}: " + _("unknown class {name!r} (known: {known})").format(
                name=klass, known=", ".join(CLASSES)))
        group = obj.get("group")
        rows.append(Row(body, lang, klass, group if isinstance(group, str) and group else f"line{n}"))
    missing = [c for c in CLASSES if not any(r.klass == c for r in rows)]
    if missing:
        raise InputError(f"{where}: " + _("no example of class {names} (every class needs some)").format(
            names=", ".join(missing)))
    return rows


# --- fitting -------------------------------------------------------------------------


BLOCKS: list[dict[str, Any]] = [
    {"analyzer": "char_wb", "ngram_min": 1, "ngram_max": 3, "min_df": 2, "token_pattern": ""},
    {"analyzer": "char", "ngram_min": 2, "ngram_max": 4, "min_df": 2, "token_pattern": ""},
    {"analyzer": "word", "ngram_min": 1, "ngram_max": 2, "min_df": 1,
     "token_pattern": r"(?u)\b[a-z][a-z0-9']*\b"},
]
"""The TF-IDF blocks: character n-grams within and across word boundaries, English words."""


def vectorizer(spec: Mapping[str, Any]) -> TfidfVectorizer:
    """scikit-learn's TfidfVectorizer for one block spec (lowercase off, sublinear tf)."""
    extra = {"token_pattern": spec["token_pattern"]} if spec["token_pattern"] else {}
    return TfidfVectorizer(analyzer=spec["analyzer"], ngram_range=(spec["ngram_min"], spec["ngram_max"]),
                           min_df=spec["min_df"], lowercase=False, sublinear_tf=True,
                           dtype=np.float64, **extra)


def group_weights(groups: Sequence[str]) -> npt.NDArray[np.float64]:
    """Each row's weight in the fit: 1 / √(rows of its group), scaled to a mean of 1.

    A core written once and decorated into four variants is one comment's phrasing, not
    four; a comment written singly is a phrasing of its own. Weighting by the square root
    keeps the variants' spread of openers and endings without letting them outvote the
    comments written one at a time."""
    sizes = Counter(groups)
    w = np.array([1.0 / math.sqrt(sizes[g]) for g in groups], dtype=np.float64)
    return w * (len(w) / w.sum())


def _fit(texts: Sequence[str], labels: Sequence[str], groups: Sequence[str]) -> dict[str, Any]:
    """Fit the blocks and the classifier; the parts that are saved (plus threshold and meta)."""
    vectorizers = [vectorizer(spec) for spec in BLOCKS]
    x = sp.hstack([v.fit_transform(texts) for v in vectorizers]).tocsr()
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, tol=1e-4,
                             random_state=SEED)
    clf.fit(x, list(labels), sample_weight=group_weights(groups))
    features = []
    for v in vectorizers:
        vocabulary = v.vocabulary_
        features.append(np.array(sorted(vocabulary, key=vocabulary.__getitem__), dtype=str))
    return {"blocks": [dict(spec) for spec in BLOCKS], "features": features,
            "idf": [np.asarray(v.idf_, dtype=np.float64) for v in vectorizers], "classifier": clf}


def _parts_of(fitted: Mapping[str, Any]) -> dict[str, Any]:
    """The parts :func:`~outreach.opinions.model.from_parts` reads, from a fitted model."""
    clf = fitted["classifier"]
    return {**fitted, "classes": clf.classes_, "coef": clf.coef_, "intercept": clf.intercept_}


def _folds(rows: Sequence[Row]) -> list[int]:
    """A fold for each row: groups stay together, classes spread evenly, seeded."""
    rnd = random.Random(SEED)
    by_class: dict[str, list[str]] = {}
    for r in rows:
        groups = by_class.setdefault(r.klass, [])
        if r.group not in groups:
            groups.append(r.group)
    fold_of: dict[str, int] = {}
    for klass in sorted(by_class):
        groups = sorted(by_class[klass])
        rnd.shuffle(groups)
        for i, g in enumerate(groups):
            fold_of.setdefault(g, i % FOLDS)
    return [fold_of[r.group] for r in rows]


def out_of_fold(rows: Sequence[Row], normalise: Callable[[str], str]) -> list[dict[str, float]]:
    """Each row's class probabilities from a model trained on the other folds."""
    texts = [normalise(r.text) for r in rows]
    folds = _folds(rows)
    result: list[dict[str, float]] = [{} for _ in rows]
    for k in range(FOLDS):
        train_idx = [i for i, f in enumerate(folds) if f != k]
        test_idx = [i for i, f in enumerate(folds) if f == k]
        fitted = _fit([texts[i] for i in train_idx], [rows[i].klass for i in train_idx],
                      [rows[i].group for i in train_idx])
        fitted["threshold"] = 1.0
        model = from_parts(_parts_of(fitted), f"fold {k}")
        for i, p in zip(test_idx, model.probabilities_many([texts[i] for i in test_idx]), strict=True):
            result[i] = p
    return result


def written_singly(rows: Sequence[Row]) -> list[bool]:
    """For each row: was it written one at a time (its group holds only it), not one of the
    decorated variants of a core? The figures that foretell how comments from strangers are
    read are those on these rows."""
    sizes = Counter(r.group for r in rows)
    return [sizes[r.group] == 1 for r in rows]


def choose_threshold(probs: Sequence[float], is_emergency: Sequence[bool],
                     target: float = TARGET_RECALL) -> float:
    """The highest threshold whose recall on these emergencies is at least ``target``."""
    scores = sorted((p for p, e in zip(probs, is_emergency, strict=True) if e), reverse=True)
    if not scores:
        return 0.5
    need = math.ceil(target * len(scores))
    # every emergency scoring at least scores[need - 1] is caught; stay a hair below it
    return round(max(scores[need - 1] * 0.999, 1e-4), 4)


def metrics(expected: Sequence[str], got: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per-class precision/recall/support and overall accuracy (the shape of ``evaluate``)."""
    result: dict[str, dict[str, float]] = {}
    for c in CLASSES:
        tp = sum(e == c and g == c for e, g in zip(expected, got, strict=True))
        pred = sum(g == c for g in got)
        sup = sum(e == c for e in expected)
        result[c] = {"precision": tp / pred if pred else 0.0, "recall": tp / sup if sup else 0.0,
                     "support": float(sup), "predicted": float(pred)}
    n = len(expected)
    result["overall"] = {"accuracy": sum(e == g for e, g in zip(expected, got, strict=True)) / n
                         if n else 0.0, "support": float(n)}
    return result


def train(corpus: Path, normalise: Callable[[str], str], where: str | None = None) -> bytes:
    """Train on the corpus, pick the threshold by grouped cross-validation, return the file.

    The same corpus, library versions and number of cores give the same bytes: the BLAS and
    OpenMP pools run at their default size (one thread a core), as when the shipped model was
    trained, and the order of their sums depends on it (one thread gives other last digits).
    """
    rows = read_corpus(corpus, where)
    raw = corpus.read_bytes()
    oof = out_of_fold(rows, normalise)
    single = written_singly(rows)
    if not any(s and r.klass == OpinionClass.EMERGENCY for s, r in zip(single, rows, strict=True)):
        single = [True] * len(rows)  # a corpus of variants only: judge on them all
    em = [p[OpinionClass.EMERGENCY] for p, s in zip(oof, single, strict=True) if s]
    threshold = choose_threshold(em, [r.klass == OpinionClass.EMERGENCY
                                      for r, s in zip(rows, single, strict=True) if s])
    fitted = _fit([normalise(r.text) for r in rows], [r.klass for r in rows], [r.group for r in rows])
    got = [model_class(p, threshold) for p in oof]
    cv = metrics([r.klass for r in rows], got)
    cv_single = metrics([r.klass for r, s in zip(rows, single, strict=True) if s],
                        [g for g, s in zip(got, single, strict=True) if s])
    fitted["threshold"] = threshold
    fitted["meta"] = {
        "corpus_sha256": hashlib.sha256(raw).hexdigest(), "rows": len(rows), "folds": FOLDS,
        "target_recall": TARGET_RECALL, "written_singly": sum(single),
        "cv": {c: {k: round(v, 4) for k, v in m.items()} for c, m in cv.items()},
        "cv_singly": {c: {k: round(v, 4) for k, v in m.items()} for c, m in cv_single.items()},
    }
    return dumps(fitted)


def dumps(obj: Any) -> bytes:
    """skops bytes, normalised so the same model always gives the same file.

    skops names objects and array files by their Python ``id()``, which differs from run
    to run; they are renumbered in order of first appearance. Entries are sorted, with fixed
    timestamps and one compression level.
    """
    raw = skops_dumps(obj)
    with zipfile.ZipFile(io.BytesIO(raw)) as src:
        entries = {name: src.read(name) for name in src.namelist()}
    schema = entries.pop("schema.json").decode("utf-8")
    ids: dict[str, str] = {}
    token = re.compile(r'("__id__": )(\d+)|"(\d+)(\.npy)"')  # .npz/.bin would not be stable

    def renumber(m: re.Match[str]) -> str:
        old = m[2] or m[3]
        new = ids.setdefault(old, str(len(ids) + 1))
        return m[1] + new if m[2] else f'"{new}{m[4]}"'

    schema = token.sub(renumber, schema)
    files = {"schema.json": schema.encode("utf-8")}
    for name, data in entries.items():
        stem = name.removesuffix(".npy")
        if stem not in ids or not name.endswith(".npy"):
            raise AssertionError(f"skops wrote {name}: only .npy arrays named in the schema are stable")
        files[ids[stem] + ".npy"] = data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            dst.writestr(info, files[name], compresslevel=9)
    return out.getvalue()


def write_model(data: bytes, path: Path) -> None:
    """Write a model file whole: a temporary file beside it, then a rename."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"{path}: " + _("cannot write: {why}").format(why=exc.strerror)) from None


# --- the vote's weights --------------------------------------------------------------


RULE_VOTES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0)
"""The weights of the rules' vote tried by :func:`vote_grid` (0 is the model alone, shown for
reference: the rules must keep a vote, so it is never chosen)."""
MODEL_LEANS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
"""The probabilities from which a comment no rule matched takes the model's likeliest class
rather than ``chatter``, tried by :func:`vote_grid` (from 0.5 on the model recognises it anyway)."""
TARGET_VOTE_RECALL = 0.99
"""The out-of-fold emergency recall the chosen vote must keep."""
RULE_FLOORS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
"""The floors tried by :func:`floor_grid`: the model's emergency probability under which a single
emergency keyword or pattern of the rules does not count — when the model is also sure of
another class (:data:`~outreach.opinions.classify.MODEL_SURE`). A comment the model knows
nothing about is sure of nothing, so a keyword an officer adds takes effect at once; the model
never overrules several signs of danger."""


def _judge(rows: Sequence[Row], scores: Sequence[Mapping[str, float]],
           oof: Sequence[Mapping[str, float]], rules: OpinionRules, threshold: float,
           vote: Vote) -> dict[str, float]:
    got = [vote_class(s, rules, p, threshold, vote) for s, p in zip(scores, oof, strict=True)]
    m = metrics([r.klass for r in rows], got)
    return {"accuracy": round(m["overall"]["accuracy"], 4),
            "emergency_recall": round(m[OpinionClass.EMERGENCY]["recall"], 4),
            "emergency_precision": round(m[OpinionClass.EMERGENCY]["precision"], 4)}


def vote_grid(rows: Sequence[Row], oof: Sequence[Mapping[str, float]], rules: OpinionRules,
              threshold: float,
              rule_votes: Sequence[float] = RULE_VOTES, model_leans: Sequence[float] = MODEL_LEANS,
              rule_floor: float = 0.0) -> list[dict[str, Any]]:
    """Cross-validated figures of :func:`outreach.opinions.rules.classify` for each pair of weights.

    ``oof`` are the rows' out-of-fold probabilities (:func:`out_of_fold`), so every comment is
    judged by a model that never saw it; the rules are those given, with the rules' emergency
    signal counting from ``rule_floor`` (:func:`floor_grid`). Each entry holds ``rule_vote``,
    ``model_lean``, ``accuracy``, ``emergency_recall``, ``emergency_precision``.
    """
    scores = [rule_scores(r.text, rules, r.lang) for r in rows]
    return [{"rule_vote": rule_vote, "model_lean": model_lean,
             **_judge(rows, scores, oof, rules, threshold, Vote(rule_vote, model_lean, rule_floor))}
            for rule_vote in rule_votes for model_lean in model_leans]


def floor_grid(rows: Sequence[Row], oof: Sequence[Mapping[str, float]], rules: OpinionRules,
               threshold: float, vote: Vote, floors: Sequence[float] = RULE_FLOORS,
               ) -> list[dict[str, Any]]:
    """Cross-validated figures of :func:`outreach.opinions.rules.classify` for each floor under
    which the model overrules the rules' emergency signal, the vote's weights otherwise ``vote``.

    The floor decides only which comments are emergencies and the weights only what the others
    are, so each is chosen with the other fixed. Each entry holds ``rule_floor``,
    ``accuracy``, ``emergency_recall``, ``emergency_precision``.
    """
    scores = [rule_scores(r.text, rules, r.lang) for r in rows]
    return [{"rule_floor": floor,
             **_judge(rows, scores, oof, rules, threshold, vote._replace(rule_floor=floor))}
            for floor in floors]


def choose_floor(grid: Sequence[dict[str, Any]], target: float = TARGET_VOTE_RECALL) -> dict[str, Any]:
    """The entry of :func:`floor_grid` with the best accuracy among those whose emergency
    recall is at least ``target`` (the recall the whole decision keeps: the threshold is chosen
    for the model alone, the rules catch some of what it misses); ties go to the lower floor
    (the rules keep more say)."""
    eligible = [g for g in grid if g["emergency_recall"] >= target]
    if not eligible:
        raise ValueError(f"no floor keeps an emergency recall of {target}")
    return max(eligible, key=lambda g: (g["accuracy"], -g["rule_floor"]))


def choose_vote(grid: Sequence[dict[str, Any]], target: float = TARGET_VOTE_RECALL) -> dict[str, Any]:
    """The entry of :func:`vote_grid` with the best accuracy among those where the rules vote
    (``rule_vote`` > 0) and emergency recall is at least ``target``; ties go to the larger
    ``rule_vote``, then the higher ``model_lean``."""
    eligible = [g for g in grid if g["rule_vote"] > 0 and g["emergency_recall"] >= target]
    if not eligible:
        raise ValueError(f"no weights keep an emergency recall of {target}")
    return max(eligible, key=lambda g: (g["accuracy"], g["rule_vote"], g["model_lean"]))
