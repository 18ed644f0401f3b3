"""The learned opinion model at classification time: load a saved model, give a comment's
class probabilities.

The rules in ``content/opinions.toml`` know the phrasings someone wrote into them; this model
learns from the labelled corpus (``content/opinions/corpus.jsonl``) and so also recognises
phrasings nobody listed. :func:`outreach.opinions.rules.classify` asks both. How the model is
trained, and its threshold and the vote's weights chosen, is :mod:`outreach.opinions.train`.

Classifying does not go through scikit-learn: :func:`read_parts` reads the vocabularies, idf
weights and coefficients straight from the skops file (JSON and ``.npy`` arrays only; any other
type is refused, as ``skops.io.load`` with :data:`TRUSTED_TYPES` would) and
:class:`OpinionModel` computes the same probabilities with NumPy, so the daemon never loads
scikit-learn or SciPy and one comment takes a fraction of a millisecond.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from outreach.errors import ContentError
from outreach.i18n import _
from outreach.states import OpinionClass

log = logging.getLogger(__name__)

SHIPPED_MODEL = Path(__file__).parent / "data" / "opinion_model.skops"
"""The model shipped in the package, trained on the repository's corpus."""
CORPUS_FILE = Path("opinions") / "corpus.jsonl"
"""The labelled corpus, relative to the content folder."""
LOCAL_MODEL = Path("opinions") / "model.skops"
"""A model trained on a department's own corpus, relative to the content folder: used
instead of the shipped one when it exists."""

TRUSTED_TYPES = ["sklearn.linear_model._logistic.LogisticRegression"]
"""What ``skops.io.load`` is told to trust in a model file (everything else is plain data)."""
CLASSES: tuple[str, ...] = tuple(c.value for c in OpinionClass)
"""The opinion classes as a model file stores them (plain strings), most urgent first."""

Vector = npt.NDArray[np.float64]


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
    """One TF-IDF block as plain data: analyzer, vocabulary → column (of the whole feature
    vector: the block's offset is added), the block's first column."""

    analyze: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    offset: int


@dataclass
class OpinionModel:
    """A trained model: class probabilities of a comment, and the emergency threshold."""

    classes: tuple[str, ...]
    threshold: float
    blocks: list[_Block] = field(repr=False)
    coef: Vector = field(repr=False)  # features × classes
    intercept: Vector = field(repr=False)
    meta: dict[str, Any] = field(default_factory=dict, repr=False)
    source: str = ""
    idf: Vector = field(default_factory=lambda: np.zeros(0), repr=False)  # every block's, in order

    def probabilities(self, text: str) -> dict[str, float]:
        """Each class's probability for one comment (already normalised, as the rules read it)."""
        return self.probabilities_many([text])[0]

    def probabilities_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Each class's probabilities for each comment (normalised): one pass of NumPy for all,
        so many comments cost little more than their n-grams."""
        n_features = self.coef.shape[0]
        columns: list[int] = []  # each n-gram's column, -1 for one the model does not know
        lengths: list[int] = []
        for text in texts:
            before = len(columns)
            for block in self.blocks:
                columns.extend(map(block.vocabulary.get, block.analyze(text), repeat(-1)))
            lengths.append(len(columns) - before)
        logits = np.tile(self.intercept, (len(texts), 1))
        col = np.asarray(columns, dtype=np.int64)
        known = col >= 0
        if known.any():
            row = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
            keys = row[known] * n_features + col[known]
            found, counts = np.unique(keys, return_counts=True)
            rows, cols = np.divmod(found, n_features)
            # sublinear tf × idf, as trained; each block of each comment L2-normalised
            w = (1.0 + np.log(counts)) * self.idf[cols]
            starts = np.asarray([b.offset for b in self.blocks], dtype=np.int64)
            segment = rows * len(starts) + np.searchsorted(starts, cols, side="right") - 1
            norms = np.sqrt(np.bincount(segment, weights=w * w))
            w /= norms[segment]
            first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            logits[rows[first]] += np.add.reduceat(w[:, None] * self.coef[cols], first, axis=0)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        return [dict(zip(self.classes, map(float, row), strict=True)) for row in p]


def from_parts(parts: Mapping[str, Any], source: str) -> OpinionModel:
    """A model from the saved parts: blocks, features, idf, classes, coef, intercept, threshold."""
    blocks = []
    offset = 0
    idfs = []
    for spec, features, idf in zip(parts["blocks"], parts["features"], parts["idf"], strict=True):
        vocabulary = {str(f): offset + i for i, f in enumerate(features)}
        if len(vocabulary) != len(idf):
            raise ContentError(f"the model's block {spec.get('analyzer')!r} has {len(idf)} idf "
                               f"weights for {len(vocabulary)} features", where=source)
        blocks.append(_Block(analyzer(spec), vocabulary, offset))
        idfs.append(np.asarray(idf, dtype=float))
        offset += len(vocabulary)
    classes = tuple(str(c) for c in parts["classes"])
    if set(classes) != set(CLASSES):
        raise ContentError(f"the model knows classes {', '.join(classes)}, not the opinion classes",
                           where=source)
    coef = np.asarray(parts["coef"], dtype=float)
    if coef.shape != (len(classes), offset):
        raise ContentError(f"the model's coefficients have shape {coef.shape}, not "
                           f"{(len(classes), offset)}", where=source)
    return OpinionModel(classes=classes, threshold=float(parts["threshold"]), blocks=blocks,
                        coef=np.ascontiguousarray(coef.T),
                        intercept=np.asarray(parts["intercept"], dtype=float),
                        meta=dict(parts.get("meta") or {}), source=source,
                        idf=np.concatenate(idfs) if idfs else np.zeros(0))


_LOADERS = {"DictNode", "ListNode", "JsonNode", "NdArrayNode", "ObjectNode", "TypeNode"}
_READABLE = {("builtins", "dict"), ("builtins", "list"), ("builtins", "str"), ("builtins", "int"),
             ("builtins", "float"), ("builtins", "bool"), ("builtins", "NoneType"),
             ("numpy", "ndarray"), ("sklearn.linear_model._logistic", "LogisticRegression")}


def read_parts(raw: bytes) -> dict[str, Any]:
    """The parts of a saved model, read from the skops file without building any object.

    Only JSON values, ``.npy`` arrays (never pickled) and the one LogisticRegression are
    read; anything else is refused, as ``skops.io.load`` with :data:`TRUSTED_TYPES` would.
    """
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
        raise ContentError(_("missing opinion model (run `outreach opinions train`)"),
                           where=str(path)) from None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    try:
        parts = read_parts(path.read_bytes())
        model = from_parts(parts, str(path))
    except ContentError:
        raise
    except Exception as exc:  # a bad zip, schema, array or type: all mean the same to a user
        raise ContentError(_("cannot load the opinion model: {why}").format(why=exc),
                           where=str(path)) from None
    _cache.clear()
    _cache[key] = model
    log.debug("loaded opinion model %s (threshold %.3f)", path, model.threshold)
    return model


def model_class(p: Mapping[str, float], threshold: float) -> str:
    """The model's own answer: emergency at or above the threshold, else its likeliest class."""
    if p[OpinionClass.EMERGENCY] >= threshold:
        return OpinionClass.EMERGENCY
    return max((c for c in CLASSES if c != OpinionClass.EMERGENCY), key=lambda c: p[c])

