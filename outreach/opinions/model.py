"""The learned opinion model: character and word n-grams, a linear classifier, a recall threshold.

The rules in ``content/opinions.toml`` know the phrasings someone wrote into them; this model
learns from the labelled corpus (``content/opinions/corpus.jsonl``) and so also recognises
phrasings nobody listed. :func:`outreach.opinions.rules.classify` asks both.

- Features: TF-IDF of character n-grams (1–3 within word boundaries, 2–4 across them; Chinese
  needs no segmenter) and of English words and word pairs, each L2-normalised, over the same
  normalised text the rules read (NFKC, case-folded, white space collapsed).
- Classifier: multinomial logistic regression with balanced class weights.
- Threshold: the emergency probability above which the model alone makes a comment an
  emergency. :func:`train` picks it by five-fold cross-validation on the corpus only, grouped
  so that the variants of one written comment never sit on both sides of a fold: the highest
  threshold whose out-of-fold emergency recall is at least :data:`TARGET_RECALL`. A missed
  emergency is the worst outcome; a false alarm costs an officer a glance.

The model is saved with skops (no pickle: ``skops.io.load`` runs no code from the file and
refuses any type not listed in :data:`TRUSTED_TYPES`). :func:`dumps` writes a normalised zip (sorted entries,
fixed timestamps), so ``outreach opinions train`` rebuilds the shipped file byte for byte.

Classifying does not go through scikit-learn: :func:`read_parts` reads the vocabularies, idf
weights and coefficients straight from the skops file (JSON and ``.npy`` arrays only; any other
type is refused) and :class:`OpinionModel` computes the same probabilities with NumPy, so the
daemon never loads scikit-learn or SciPy and one comment takes a fraction of a millisecond.
scikit-learn is imported only to train (and by the test that checks both agree).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outreach.errors import ContentError, InputError

log = logging.getLogger(__name__)

SHIPPED_MODEL = Path(__file__).parent / "data" / "opinion_model.skops"
"""The model shipped in the package, trained on the repository's corpus."""
CORPUS_FILE = Path("opinions") / "corpus.jsonl"
"""The labelled corpus, relative to the content folder."""
LOCAL_MODEL = Path("opinions") / "model.skops"
"""A model trained on a department's own corpus, relative to the content folder: used
instead of the shipped one when it exists."""

SEED = 0
FOLDS = 5
TARGET_RECALL = 0.995
C = 10.0
MAX_CORPUS_BYTES = 50_000_000
TRUSTED_TYPES = ["sklearn.linear_model._logistic.LogisticRegression"]
"""What ``skops.io.load`` is told to trust in a model file (everything else is plain data)."""
_LABELS = ("emergency", "help", "tip", "complaint", "inquiry", "suggestion", "privacy",
           "spam_abuse", "negative", "praise", "chatter")


@dataclass(frozen=True)
class Row:
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
            raise InputError(f"{where}: file is over {MAX_CORPUS_BYTES} bytes")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{where}:{bad_line}: not valid UTF-8") from None
    rows: list[Row] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}:{n}: not JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise InputError(f"{where}:{n}: each line must be a JSON object")
        body, lang, klass = obj.get("text"), obj.get("lang"), obj.get("class")
        if not isinstance(body, str) or not body.strip():
            raise InputError(f"{where}:{n}: text must be a non-empty string")
        if lang not in ("zh", "en"):
            raise InputError(f"{where}:{n}: lang must be zh or en, not {lang!r}")
        if klass not in _LABELS:
            raise InputError(f"{where}:{n}: unknown class {klass!r} (known: {', '.join(_LABELS)})")
        group = obj.get("group")
        rows.append(Row(body, lang, klass, group if isinstance(group, str) and group else f"line{n}"))
    missing = [c for c in _LABELS if not any(r.klass == c for r in rows)]
    if missing:
        raise InputError(f"{where}: no example of class {', '.join(missing)} (every class needs some)")
    return rows


# --- the model at classification time ------------------------------------------------


# Analyzers as scikit-learn's TfidfVectorizer builds them (lowercase off: the text arrives
# normalised), written out so classifying needs neither scikit-learn nor SciPy in memory;
# a test checks they give the same n-grams.
_WHITE = re.compile(r"\s\s+")


def _char_wb(text: str, lo: int, hi: int) -> list[str]:
    grams: list[str] = []
    for word in _WHITE.sub(" ", text).split():
        w = f" {word} "
        for n in range(lo, hi + 1):
            offset = 0
            grams.append(w[offset:offset + n])
            while offset + n < len(w):
                offset += 1
                grams.append(w[offset:offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return grams


def _char(text: str, lo: int, hi: int) -> list[str]:
    text = _WHITE.sub(" ", text)
    grams: list[str] = list(text) if lo == 1 else []
    for n in range(2 if lo == 1 else lo, min(hi + 1, len(text) + 1)):
        grams.extend(text[i:i + n] for i in range(len(text) - n + 1))
    return grams


def _words(text: str, lo: int, hi: int, token: re.Pattern[str]) -> list[str]:
    tokens = token.findall(text)
    grams = list(tokens) if lo == 1 else []
    for n in range(max(lo, 2), min(hi + 1, len(tokens) + 1)):
        grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return grams


def analyzer(spec: dict[str, Any]) -> Callable[[str], list[str]]:
    """The n-gram function of one block spec (analyzer, ngram_min, ngram_max, token_pattern)."""
    kind, lo, hi = spec["analyzer"], int(spec["ngram_min"]), int(spec["ngram_max"])
    if kind == "char_wb":
        return lambda text: _char_wb(text, lo, hi)
    if kind == "char":
        return lambda text: _char(text, lo, hi)
    if kind == "word":
        token = re.compile(spec["token_pattern"])
        return lambda text: _words(text, lo, hi, token)
    raise ValueError(f"unknown analyzer {kind!r}")


@dataclass
class _Block:
    """One TF-IDF block as plain data: analyzer, vocabulary → column, idf."""

    analyze: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: Any  # numpy array
    offset: int


@dataclass
class OpinionModel:
    """A trained model: class probabilities of a comment, and the emergency threshold."""

    classes: tuple[str, ...]
    threshold: float
    blocks: list[_Block] = field(repr=False)
    coef: Any = field(repr=False)  # numpy array, features × classes
    intercept: Any = field(repr=False)
    meta: dict[str, Any] = field(default_factory=dict, repr=False)
    source: str = ""

    def probabilities(self, text: str) -> dict[str, float]:
        """Each class's probability for one comment (already normalised, as the rules read it)."""
        import numpy as np

        logits = self.intercept.copy()
        for block in self.blocks:
            get = block.vocabulary.get
            found = [i for i in map(get, block.analyze(text)) if i is not None]
            if not found:
                continue
            idx, counts = np.unique(np.asarray(found), return_counts=True)
            w = (1.0 + np.log(counts)) * block.idf[idx]  # sublinear tf × idf, as trained
            w /= math.sqrt(float(w @ w))
            logits += w @ self.coef[idx + block.offset]
        logits -= logits.max()
        p = np.exp(logits)
        p /= p.sum()
        return {c: float(v) for c, v in zip(self.classes, p, strict=True)}


def _from_parts(parts: dict[str, Any], source: str) -> OpinionModel:
    """A model from the saved parts: blocks, features, idf, classes, coef, intercept, threshold."""
    import numpy as np

    blocks = []
    offset = 0
    for spec, features, idf in zip(parts["blocks"], parts["features"], parts["idf"], strict=True):
        vocabulary = {str(f): i for i, f in enumerate(features)}
        blocks.append(_Block(analyzer(spec), vocabulary, np.asarray(idf, dtype=float), offset))
        offset += len(vocabulary)
    classes = tuple(str(c) for c in parts["classes"])
    if set(classes) != set(_LABELS):
        raise ContentError(f"the model knows classes {', '.join(classes)}, not the opinion classes",
                           where=source)
    coef = np.asarray(parts["coef"], dtype=float)
    if coef.shape != (len(classes), offset):
        raise ContentError(f"the model's coefficients have shape {coef.shape}, not "
                           f"{(len(classes), offset)}", where=source)
    return OpinionModel(classes=classes, threshold=float(parts["threshold"]), blocks=blocks,
                        coef=np.ascontiguousarray(coef.T),
                        intercept=np.asarray(parts["intercept"], dtype=float),
                        meta=dict(parts.get("meta") or {}), source=source)


def _parts_of(fitted: dict[str, Any]) -> dict[str, Any]:
    clf = fitted["classifier"]
    return {**fitted, "classes": clf.classes_, "coef": clf.coef_, "intercept": clf.intercept_}


_LOADERS = {"DictNode", "ListNode", "JsonNode", "NdArrayNode", "ObjectNode", "TypeNode"}
_READABLE = {("builtins", "dict"), ("builtins", "list"), ("builtins", "str"), ("builtins", "int"),
             ("builtins", "float"), ("builtins", "bool"), ("builtins", "NoneType"),
             ("numpy", "ndarray"), ("sklearn.linear_model._logistic", "LogisticRegression")}


def read_parts(raw: bytes) -> dict[str, Any]:
    """The parts of a saved model, read from the skops file without building any object.

    Only JSON values, ``.npy`` arrays (never pickled) and the one LogisticRegression are
    read; anything else is refused, as ``skops.io.load`` with :data:`TRUSTED_TYPES` would.
    """
    import numpy as np

    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        schema = json.loads(z.read("schema.json"))

        def value(node: Any) -> Any:
            loader = node.get("__loader__")
            kind = (node.get("__module__"), node.get("__class__"))
            if loader not in _LOADERS or kind not in _READABLE:
                raise ValueError(f"untrusted type {kind[0]}.{kind[1]} ({loader})")
            if loader == "JsonNode":
                return json.loads(node["content"])
            if loader == "NdArrayNode":
                if node.get("type") != "numpy":
                    raise ValueError("an array not stored as .npy")
                return np.load(io.BytesIO(z.read(node["file"])), allow_pickle=False)
            if loader == "ListNode":
                return [value(v) for v in node["content"]]
            if loader in ("DictNode", "ObjectNode"):
                inner = node["content"] if loader == "DictNode" else node["content"]["content"]
                return {k: value(v) for k, v in inner.items()}
            return None  # TypeNode: the type of a dict key

        top = value(schema)
    clf = top.pop("classifier")
    return {**top, "classes": clf["classes_"], "coef": clf["coef_"], "intercept": clf["intercept_"]}


_cache: dict[tuple[str, int, int], OpinionModel] = {}


def model_path(content_dir: Path | None) -> Path:
    """The model in use: the content folder's own ``opinions/model.skops``, else the shipped one."""
    if content_dir is not None:
        local = content_dir / LOCAL_MODEL
        if local.is_file():
            return local
    return SHIPPED_MODEL


def load_model(content_dir: Path | None = None, path: Path | None = None) -> OpinionModel:
    """Load (and cache until the file changes) the model in use; see :func:`model_path`."""
    path = path or model_path(content_dir)
    try:
        stat = path.stat()
    except OSError:
        raise ContentError("missing opinion model (run `outreach opinions train`)", where=str(path)) from None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    try:
        parts = read_parts(path.read_bytes())
        model = _from_parts(parts, str(path))
    except ContentError:
        raise
    except Exception as exc:  # a bad zip, schema, array or type: all mean the same to a user
        raise ContentError(f"cannot load the opinion model: {exc}", where=str(path)) from None
    _cache.clear()
    _cache[key] = model
    log.debug("loaded opinion model %s (threshold %.3f)", path, model.threshold)
    return model


# --- training ------------------------------------------------------------------------


BLOCKS: list[dict[str, Any]] = [
    {"analyzer": "char_wb", "ngram_min": 1, "ngram_max": 3, "min_df": 2, "token_pattern": ""},
    {"analyzer": "char", "ngram_min": 2, "ngram_max": 4, "min_df": 2, "token_pattern": ""},
    {"analyzer": "word", "ngram_min": 1, "ngram_max": 2, "min_df": 1,
     "token_pattern": r"(?u)\b[a-z][a-z0-9']*\b"},
]
"""The TF-IDF blocks: character n-grams within and across word boundaries, English words."""


def vectorizer(spec: dict[str, Any]) -> Any:
    """scikit-learn's TfidfVectorizer for one block spec (lowercase off, sublinear tf)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    extra = {"token_pattern": spec["token_pattern"]} if spec["token_pattern"] else {}
    return TfidfVectorizer(analyzer=spec["analyzer"], ngram_range=(spec["ngram_min"], spec["ngram_max"]),
                           min_df=spec["min_df"], lowercase=False, sublinear_tf=True,
                           dtype=np.float64, **extra)


def _fit(texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Fit the blocks and the classifier; the parts that are saved (plus threshold and meta)."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    vectorizers = [vectorizer(spec) for spec in BLOCKS]
    x = sp.hstack([v.fit_transform(texts) for v in vectorizers]).tocsr()
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, tol=1e-4,
                             random_state=SEED)
    clf.fit(x, list(labels))
    features = []
    for v in vectorizers:
        vocabulary = v.vocabulary_
        features.append(np.array(sorted(vocabulary, key=vocabulary.__getitem__), dtype=str))
    return {"blocks": [dict(spec) for spec in BLOCKS], "features": features,
            "idf": [np.asarray(v.idf_, dtype=np.float64) for v in vectorizers], "classifier": clf}


def _folds(rows: Sequence[Row]) -> list[int]:
    """A fold for each row: groups stay together, classes spread evenly, seeded."""
    import random

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
        fitted = _fit([texts[i] for i in train_idx], [rows[i].klass for i in train_idx])
        fitted["threshold"] = 1.0
        model = _from_parts(_parts_of(fitted), f"fold {k}")
        for i in test_idx:
            result[i] = model.probabilities(texts[i])
    return result


def choose_threshold(probs: Sequence[float], is_emergency: Sequence[bool],
                     target: float = TARGET_RECALL) -> float:
    """The highest threshold whose recall on these emergencies is at least ``target``."""
    scores = sorted((p for p, e in zip(probs, is_emergency, strict=True) if e), reverse=True)
    if not scores:
        return 0.5
    need = math.ceil(target * len(scores))
    # every emergency scoring at least scores[need - 1] is caught; stay a hair below it
    return round(max(scores[need - 1] * 0.999, 1e-4), 4)


def model_class(p: dict[str, float], threshold: float) -> str:
    """The model's own answer: emergency at or above the threshold, else its likeliest class."""
    if p["emergency"] >= threshold:
        return "emergency"
    return max((c for c in _LABELS if c != "emergency"), key=lambda c: p[c])


def metrics(expected: Sequence[str], got: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per-class precision/recall/support and overall accuracy (the shape of ``evaluate``)."""
    result: dict[str, dict[str, float]] = {}
    for c in _LABELS:
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

    The same corpus and library versions give the same bytes.
    """
    from threadpoolctl import threadpool_limits

    rows = read_corpus(corpus, where)
    raw = corpus.read_bytes()
    with threadpool_limits(limits=1):  # one thread: the same sums in the same order
        oof = out_of_fold(rows, normalise)
        em = [p["emergency"] for p in oof]
        threshold = choose_threshold(em, [r.klass == "emergency" for r in rows])
        fitted = _fit([normalise(r.text) for r in rows], [r.klass for r in rows])
    got = [model_class(p, threshold) for p in oof]
    cv = metrics([r.klass for r in rows], got)
    fitted["threshold"] = threshold
    fitted["meta"] = {
        "corpus_sha256": hashlib.sha256(raw).hexdigest(), "rows": len(rows), "folds": FOLDS,
        "target_recall": TARGET_RECALL,
        "cv": {c: {k: round(v, 4) for k, v in m.items()} for c, m in cv.items()},
    }
    return dumps(fitted)


def dumps(obj: Any) -> bytes:
    """skops bytes, normalised so the same model always gives the same file.

    skops names objects and array files by their Python ``id()``, which differs from run
    to run; they are renumbered in order of first appearance. Entries are sorted, with fixed
    timestamps and one compression level.
    """
    from skops.io import dumps as skops_dumps

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
        raise InputError(f"{path}: cannot write: {exc.strerror}") from None




# --- the vote's weights --------------------------------------------------------------


RULE_VOTES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0)
"""The weights of the rules' vote tried by :func:`vote_grid` (0 is the model alone, shown for
reference: the rules must keep a vote, so it is never chosen)."""
MODEL_LEANS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
"""The probabilities from which a comment no rule matched takes the model's likeliest class
rather than ``chatter``, tried by :func:`vote_grid` (from 0.5 on the model recognises it anyway)."""
TARGET_VOTE_RECALL = 0.99
"""The out-of-fold emergency recall the chosen vote must keep."""


def vote_grid(rows: Sequence[Row], oof: Sequence[dict[str, float]], rules: Any, threshold: float,
              rule_votes: Sequence[float] = RULE_VOTES, model_leans: Sequence[float] = MODEL_LEANS,
              ) -> list[dict[str, Any]]:
    """Cross-validated figures of :func:`outreach.opinions.rules.classify` for each pair of weights.

    ``oof`` are the rows' out-of-fold probabilities (:func:`out_of_fold`), so every comment is
    judged by a model that never saw it; the rules are those given. Each entry holds
    ``rule_vote``, ``model_lean``, ``accuracy``, ``emergency_recall``, ``emergency_precision``.
    """
    from outreach.opinions.rules import Vote, rule_scores, vote_class

    expected = [r.klass for r in rows]
    scores = [rule_scores(r.text, rules, r.lang) for r in rows]
    grid = []
    for rule_vote in rule_votes:
        for model_lean in model_leans:
            vote = Vote(rule_vote, model_lean)
            got = [vote_class(s, rules, p, threshold, vote) for s, p in zip(scores, oof, strict=True)]
            m = metrics(expected, got)
            grid.append({"rule_vote": rule_vote, "model_lean": model_lean,
                         "accuracy": round(m["overall"]["accuracy"], 4),
                         "emergency_recall": round(m["emergency"]["recall"], 4),
                         "emergency_precision": round(m["emergency"]["precision"], 4)})
    return grid


def choose_vote(grid: Sequence[dict[str, Any]], target: float = TARGET_VOTE_RECALL) -> dict[str, Any]:
    """The entry of :func:`vote_grid` with the best accuracy among those where the rules vote
    (``rule_vote`` > 0) and emergency recall is at least ``target``; ties go to the larger
    ``rule_vote``, then the higher ``model_lean``."""
    eligible = [g for g in grid if g["rule_vote"] > 0 and g["emergency_recall"] >= target]
    if not eligible:
        raise ValueError(f"no weights keep an emergency recall of {target}")
    return max(eligible, key=lambda g: (g["accuracy"], g["rule_vote"], g["model_lean"]))
