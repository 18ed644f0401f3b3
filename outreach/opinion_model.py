"""The learned opinion model: character and word n-grams, a linear classifier, a recall threshold.

The rules in ``content/opinions.toml`` know the phrasings someone wrote into them; this model
learns from the labelled corpus (``content/opinions/corpus.jsonl``) and so also recognises
phrasings nobody listed. :func:`outreach.opinions.classify` asks both.

- Features: TF-IDF of character n-grams (1–3 within word boundaries, 2–4 across them; Chinese
  needs no segmenter) and of English words and word pairs, each L2-normalised, over the same
  normalised text the rules read (NFKC, case-folded, white space collapsed).
- Classifier: multinomial logistic regression with balanced class weights.
- Threshold: the emergency probability above which the model alone makes a comment an
  emergency. :func:`train` picks it by five-fold cross-validation on the corpus only, grouped
  so that the variants of one written comment never sit on both sides of a fold: the highest
  threshold whose out-of-fold emergency recall is at least :data:`TARGET_RECALL`. A missed
  emergency is the worst outcome; a false alarm costs an officer a glance.

The model is saved with skops (no pickle: loading runs no code from the file and refuses any
type not listed in :data:`TRUSTED_TYPES`). :func:`save` writes a normalised zip (sorted entries,
fixed timestamps), so ``outreach opinions train`` rebuilds the shipped file byte for byte.

Classifying does not go through scikit-learn's per-call machinery: :class:`OpinionModel` keeps
the vocabularies, idf weights and coefficients as plain dictionaries and arrays, so one comment
takes tens of microseconds. scikit-learn is imported only to load or train a model.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
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
TRUSTED_TYPES = [
    "numpy.dtype", "numpy.ndarray", "numpy.float64", "numpy.int64",
    "builtins.slice",
    "scipy.sparse._csr.csr_matrix", "scipy.sparse._csr.csr_array",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.linear_model._logistic.LogisticRegression",
]
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


@dataclass
class _Block:
    """One TF-IDF vectorizer as plain data: analyzer, vocabulary → column, idf."""

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


def _from_fitted(fitted: dict[str, Any], source: str) -> OpinionModel:
    import numpy as np

    vectorizers = fitted["vectorizers"]
    clf = fitted["classifier"]
    blocks = []
    offset = 0
    for vec in vectorizers:
        blocks.append(_Block(vec.build_analyzer(), dict(vec.vocabulary_), np.asarray(vec.idf_), offset))
        offset += len(vec.vocabulary_)
    classes = tuple(str(c) for c in clf.classes_)
    if set(classes) != set(_LABELS):
        raise ContentError(f"the model knows classes {', '.join(classes)}, not the opinion classes",
                           where=source)
    return OpinionModel(classes=classes, threshold=float(fitted["threshold"]), blocks=blocks,
                        coef=np.ascontiguousarray(np.asarray(clf.coef_).T), intercept=np.asarray(
                            clf.intercept_, dtype=float), meta=dict(fitted.get("meta", {})),
                        source=source)


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
    from skops.io import loads

    try:
        fitted = loads(path.read_bytes(), trusted=TRUSTED_TYPES)
    except Exception as exc:  # skops raises many kinds: untrusted types, bad zip, bad schema
        raise ContentError(f"cannot load the opinion model: {exc}", where=str(path)) from None
    model = _from_fitted(fitted, str(path))
    _cache.clear()
    _cache[key] = model
    log.debug("loaded opinion model %s (threshold %.3f)", path, model.threshold)
    return model


# --- training ------------------------------------------------------------------------


def _vectorizers() -> list[Any]:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    common: dict[str, Any] = {"lowercase": False, "sublinear_tf": True, "dtype": np.float64}
    return [
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2, **common),
        TfidfVectorizer(analyzer="char", ngram_range=(2, 4), min_df=2, **common),
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=1,
                        token_pattern=r"(?u)\b[a-z][a-z0-9']*\b", **common),
    ]


def _fit(texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    vectorizers = _vectorizers()
    x = sp.hstack([v.fit_transform(texts) for v in vectorizers]).tocsr()
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, tol=1e-4,
                             random_state=SEED)
    clf.fit(x, list(labels))
    return {"vectorizers": vectorizers, "classifier": clf}


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
        model = _from_fitted(fitted, f"fold {k}")
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
    for vec in fitted["vectorizers"]:
        vec.__dict__.pop("_stop_words_id", None)  # an id(): differs from run to run
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
    import re

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


