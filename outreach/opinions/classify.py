"""Classifying the public's comments (民意) by the loaded rules and the model; evaluation.

Pure functions over text and a rule set (:mod:`outreach.opinions.rules` loads it); nothing
here touches the database or prints.

Rules live in ``content/opinions.toml`` so officers can edit them without code:

- one ``[class.CODE]`` table for each code in :data:`CLASS_ORDER`: ``zh``/``en`` display names,
  ``keywords = { zh = [...], en = [...] }`` (usually written as a ``[class.CODE.keywords]``
  sub-table), ``patterns`` (regular expressions, case-insensitive), ``negations`` (phrases),
  ``negation_patterns`` (regular expressions), ``weight``, ``needs_reply``,
  ``reply_within_hours`` and ``yields_to``;
- one ``[flag.NAME]`` table for each lexical flag in :data:`LEXICAL_FLAGS` (keywords, patterns,
  negations, negation_patterns).

How a comment is classified:

1. The text is normalised: ANSI sequences and control characters go, then NFKC (full-width
   letters and digits become ASCII), case folding, and runs of white space become one space.
2. Every class collects hits. A keyword with a CJK character matches anywhere in the text with
   its spaces removed (``救 命`` is ``救命``); any other keyword matches as a whole word
   (``help me`` does not match ``helpful``). Patterns are searched in the spaced text. A hit
   that overlaps a negation of the same class (``报警`` inside ``不是报警``, ``emergency``
   inside ``not an emergency``) does not count; other hits still do, so ``不是报警，有人持刀``
   is an emergency. Personal data (see :func:`redact`) is a hit for ``privacy``.
3. A class's score is its ``weight`` × (1 per distinct keyword + :data:`PATTERN_WEIGHT` per
   pattern). When the caller gives ``lang``, keywords from the other language's list count
   half (comments mix languages, so they still count).
4. **Any emergency hit makes the comment an emergency**, whatever else it says. Otherwise a
   class that ``yields_to`` another matched class drops out (praise yields to complaint, so
   sarcastic thanks are a complaint), and the highest score wins; ties go to the earlier
   class in :data:`CLASS_ORDER`. Nothing matched: ``chatter``.
5. With the learned model (:mod:`outreach.opinions.model`), a model emergency probability at
   or above its threshold also makes an emergency, and the rules' emergency signal counts
   unless it is a single keyword or pattern and the model is all but sure the comment is
   something else (its emergency probability under :data:`RULE_FLOOR` and another class at
   :data:`MODEL_SURE` or more: a joke, a question or a past event the negations did not
   frame; several signs of danger are never overruled; a comment the model knows nothing
   about is sure of nothing, so a keyword an officer adds still takes effect at once).
   Otherwise the rules and the model vote: each class gets the model's probability plus
   :data:`RULE_VOTE` times its share of the rules' score (``yields_to`` decides which matched
   classes share it). ``fired`` says who recognised the class. A
   comment no rule matched and the model is not sure of (:data:`MODEL_SURE`) takes the model's
   likeliest class (:data:`MODEL_LEAN`) and the ``unmatched`` label. The weights
   (:data:`VOTE`) were chosen by grouped cross-validation on the training corpus.

Every other class that matched becomes a label, followed by the derived flags (:data:`FLAGS`).

A keyword lexicon only knows the phrasings someone wrote into it. Measured on fresh comments
written before the rules saw them, successive versions caught between a fifth and a half of
the emergencies; the model, trained on a corpus of many phrasings, is beside them for that
reason. What neither recognises carries the ``unmatched`` label (without a model, and so
without a likeliest class, it is ``chatter``): callers route those to a person as unread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from outreach.errors import InputError
from outreach.i18n import _
from outreach.opinions.matching import PATTERN_WEIGHT as PATTERN_WEIGHT
from outreach.opinions.matching import Matcher as Matcher
from outreach.opinions.matching import Text as _Text
from outreach.opinions.matching import normalise as normalise
from outreach.opinions.redact import has_personal_data
from outreach.states import OpinionClass

if TYPE_CHECKING:
    from outreach.opinions.model import OpinionModel
    from outreach.opinions.rules import OpinionRules

log = logging.getLogger(__name__)

CLASS_ORDER: tuple[str, ...] = tuple(OpinionClass)
"""The opinion classes, most urgent first; ties are broken in this order."""

EMERGENCY: str = OpinionClass.EMERGENCY
FALLBACK: str = OpinionClass.CHATTER
LEXICAL_FLAGS: tuple[str, ...] = ("police_related", "location_mentioned", "question")
"""Flags read from ``[flag.NAME]`` tables in opinions.toml."""
HAS_PERSONAL_DATA = "has_personal_data"
UNMATCHED = "unmatched"
FLAGS: tuple[str, ...] = (
    "police_related", "location_mentioned", HAS_PERSONAL_DATA, "question", UNMATCHED,
)
"""Derived labels, in the order they follow the class labels. ``unmatched``: neither a rule
nor the model recognised the comment, so ``chatter`` is only the fallback — the inbox lists
it as unread."""

RULES = "rules"
MODEL = "model"
BOTH = "both"
RULE_VOTE = 0.2
"""How much the rules' vote weighs against the model's probabilities (which sum to 1): each
class the rules matched (after ``yields_to``) adds its share of the rules' score, times this.
``yields_to`` shapes the rules' vote only: a class yielding to another the rules matched gets
no share of it, but keeps the model's probability."""
MODEL_SURE = 0.5
"""The model alone recognises a comment when its top class has at least this probability;
a comment neither the rules nor the model recognises is labelled ``unmatched``."""
MODEL_LEAN = 0.1
"""A comment no rule matched takes the model's likeliest class when that class has at least
this probability, recognised or not; below it, ``chatter``."""
RULE_FLOOR = 0.15
"""A single emergency keyword or pattern of the rules makes an emergency when the model's
emergency probability is at least this, or when the model is sure of no other class (under
:data:`MODEL_SURE`: a comment it knows nothing about, so a keyword an officer adds takes
effect at once). Otherwise the model is sure the comment is something else (a joke, a
question, a past event) and the rules' other classes and the model vote. Several signs of
danger always make an emergency, whatever the model says (a call for help with a phone number
in it looks like personal data to the model)."""


class Vote(NamedTuple):
    """The vote's weights: see :data:`RULE_VOTE`, :data:`MODEL_LEAN` and :data:`RULE_FLOOR`.

    :data:`VOTE` was chosen by grouped cross-validation on the training corpus
    (:func:`outreach.opinions.model.vote_grid`, printed by ``bench/run.py --only opinions``):
    the best accuracy with the rules voting and emergency recall kept."""

    rule_vote: float
    model_lean: float
    rule_floor: float = 0.0


VOTE = Vote(RULE_VOTE, MODEL_LEAN, RULE_FLOOR)
PERSONAL_DATA_WEIGHT = 2.0  # what finding a phone/ID/card/e-mail adds to ``privacy``
_LANGS = ("zh", "en")


@dataclass(frozen=True)
class Opinion:
    """What a comment is: one primary class, the other classes and flags it shows, the scores."""

    klass: str
    labels: tuple[str, ...]
    needs_reply: bool
    score: dict[str, float]
    fired: str = ""
    """Who recognised the class: ``rules``, ``model``, ``both``, or ``""`` (nobody: unread)."""
    probability: float | None = None
    """The model's emergency probability (None: classified by the rules alone)."""


# --- classifying ---------------------------------------------------------------------


def classify(text: str, rules: OpinionRules, lang: str | None = None,
             model: OpinionModel | None = None, vote: Vote | None = None) -> Opinion:
    """Classify one comment (raw or already redacted) by the rules and, if given, the model.

    ``lang`` is the comment's or the account's language when known (``zh``/``en``): keywords
    from the other language's list then count half. Any emergency signal of the rules that is
    not negated makes the comment an ``emergency`` (with a model: unless it is one sign, the
    model's emergency probability is under :data:`RULE_FLOOR` and it is sure of another class),
    and so does a model emergency probability at or above the model's threshold. Otherwise
    the rules and the model vote (see :data:`RULE_VOTE`), a class that ``yields_to`` another
    class the rules matched getting no share of the rules' vote. A comment neither recognises
    is labelled ``unmatched``; it takes the model's likeliest class (:data:`MODEL_LEAN`), or
    ``chatter``. ``vote`` overrides the vote's weights (:data:`VOTE`; cross-validation tries
    others)."""
    t = _Text.of(text)
    p = model.probabilities(t.spaced) if model is not None else None
    return _classify(text, t, rules, lang, p, model.threshold if model is not None else 1.0, vote)


def classify_many(comments: Sequence[tuple[str, str | None]], rules: OpinionRules,
                  model: OpinionModel | None = None, vote: Vote | None = None) -> list[Opinion]:
    """:func:`classify` each ``(text, lang)``: the same opinions, the model's probabilities
    computed for all the comments at once (what the inbox does with a page of comments)."""
    texts = [_Text.of(text) for text, _ in comments]
    probs: Sequence[Mapping[str, float] | None] = (
        model.probabilities_many([t.spaced for t in texts]) if model is not None
        else [None] * len(texts))
    threshold = model.threshold if model is not None else 1.0
    return [_classify(text, t, rules, lang, p, threshold, vote)
            for (text, lang), t, p in zip(comments, texts, probs, strict=True)]


def _classify(text: str, t: _Text, rules: OpinionRules, lang: str | None,
              p: Mapping[str, float] | None, threshold: float, vote: Vote | None) -> Opinion:
    if lang not in _LANGS:
        lang = None  # unknown or mixed: every keyword counts in full
    personal = has_personal_data(text)
    score = _scores(t, personal, rules, lang)
    matched = [c for c in CLASS_ORDER if score[c] > 0]
    probability: float | None = None
    if p is None:
        primary = _primary(matched, score, rules)
        fired = RULES if matched else ""
        extra: list[str] = []
    else:
        probability = round(p[EMERGENCY], 4)
        primary, fired, extra = _vote(matched, score, rules, p, threshold, vote)
    labels = [c for c in matched if c != primary]
    labels += [c for c in extra if c != primary and c not in labels]
    for flag in FLAGS:
        if flag == HAS_PERSONAL_DATA:
            if personal:
                labels.append(flag)
        elif flag == UNMATCHED:
            if not fired:
                labels.append(flag)
        elif flag in rules.flags and rules.flags[flag].hits(t, None):
            labels.append(flag)
    klass = rules.classes[primary]
    log.debug("comment classified %s by %s (scores %s, p %s)", primary, fired or "nobody",
              {c: s for c, s in score.items() if s}, probability)
    return Opinion(klass=primary, labels=tuple(labels), needs_reply=klass.needs_reply, score=score,
                   fired=fired, probability=probability)


def _scores(t: _Text, personal: bool, rules: OpinionRules, lang: str | None) -> dict[str, float]:
    """Each class's rule score: its weight × its hits (personal data counts for privacy)."""
    score: dict[str, float] = {}
    for code, klass in rules.classes.items():
        total = sum(h.weight for h in klass.matcher.hits(t, lang))
        if code == OpinionClass.PRIVACY and personal:
            total += PERSONAL_DATA_WEIGHT
        score[code] = round(total * klass.weight, 3)
    return score


def rule_scores(text: str, rules: OpinionRules, lang: str | None = None) -> dict[str, float]:
    """The rules' score of each class for one comment, as :func:`classify` computes it."""
    t = _Text.of(text)
    return _scores(t, has_personal_data(text), rules, lang if lang in _LANGS else None)


def vote_class(score: Mapping[str, float], rules: OpinionRules, p: Mapping[str, float],
               threshold: float, vote: Vote | None = None) -> str:
    """The class :func:`classify` gives a comment from its rule scores and model probabilities."""
    matched = [c for c in CLASS_ORDER if score[c] > 0]
    return _vote(matched, score, rules, p, threshold, vote)[0]


def _primary(matched: list[str], score: Mapping[str, float], rules: OpinionRules) -> str:
    if EMERGENCY in matched:
        return EMERGENCY
    present = set(matched)
    eligible = [c for c in matched if not rules.classes[c].yields_to & present] or matched
    if not eligible:
        return FALLBACK
    order = {c: i for i, c in enumerate(CLASS_ORDER)}
    return max(eligible, key=lambda c: (score[c], -order[c]))


def _vote(matched: list[str], score: Mapping[str, float], rules: OpinionRules,
          p: Mapping[str, float], threshold: float, vote: Vote | None = None
          ) -> tuple[str, str, list[str]]:
    """(class, who recognised it, the model's own class as an extra label) from both."""
    rule_vote, lean_at, floor = vote or VOTE
    # the model may overrule one emergency word or pattern, never several: a comment the
    # rules find many signs of danger in is one, whatever else the model sees in it
    one_sign = score[EMERGENCY] <= PATTERN_WEIGHT * rules.classes[EMERGENCY].weight
    sure_else = max(p[c] for c in CLASS_ORDER if c != EMERGENCY) >= MODEL_SURE
    by_rules = EMERGENCY in matched and (p[EMERGENCY] >= floor or not one_sign or not sure_else)
    by_model = p[EMERGENCY] >= threshold
    if by_rules or by_model:
        return EMERGENCY, BOTH if by_rules and by_model else RULES if by_rules else MODEL, []
    # the model overrules the rules' emergency signal: it stays a label, the others vote
    score = {**score, EMERGENCY: 0.0}
    matched = [c for c in matched if c != EMERGENCY]
    order = {c: i for i, c in enumerate(CLASS_ORDER)}
    present = set(matched)
    eligible = [c for c in matched if not rules.classes[c].yields_to & present] or matched
    total = sum(score[c] for c in eligible)
    # ``yields_to`` decides which matched classes share the rules' vote; it does not silence
    # the model: a comment the model reads as small talk stays small talk when one word of
    # another class turns up in it
    candidates = [c for c in CLASS_ORDER if c != EMERGENCY]
    combined = {c: p[c] + (rule_vote * score[c] / total if c in eligible and total else 0.0)
                for c in candidates}
    primary = max(combined, key=lambda c: (combined[c], -order[c]))
    model_top = max((c for c in CLASS_ORDER if c != EMERGENCY), key=lambda c: (p[c], -order[c]))
    model_sure = p[model_top] >= MODEL_SURE
    if not matched and not model_sure:  # neither knows it: a person should read it
        return primary if p[model_top] >= lean_at else FALLBACK, "", []
    rules_say, model_says = primary in present, model_sure and primary == model_top
    fired = BOTH if rules_say and model_says else RULES if rules_say else MODEL if model_says else ""
    if not fired:  # the vote chose a class neither holds on its own: the model's lean decides
        fired = MODEL
    return primary, fired, [model_top] if model_sure else []


# --- evaluation ----------------------------------------------------------------------


def evaluate(rows: Iterable[tuple[str, str, str]], rules: OpinionRules,
             model: OpinionModel | None = None) -> dict[str, dict[str, float]]:
    """Per-class precision, recall and support of :func:`classify` on labelled rows.

    ``rows`` are ``(text, lang, expected_class)``. The result maps each class code to
    ``{"precision", "recall", "support", "predicted"}`` and ``"overall"`` to
    ``{"accuracy", "support"}``. A class never predicted has precision 0.0; one with no
    rows has recall 0.0.
    """
    support = dict.fromkeys(CLASS_ORDER, 0)
    predicted = dict.fromkeys(CLASS_ORDER, 0)
    correct = dict.fromkeys(CLASS_ORDER, 0)
    n = 0
    for i, (text, lang, expected) in enumerate(rows, 1):
        if expected not in support:
            raise InputError(_("row {n}: unknown class {name!r} (known: {known})").format(
                n=i, name=expected, known=", ".join(CLASS_ORDER)))
        got = classify(text, rules, lang or None, model).klass
        n += 1
        support[expected] += 1
        predicted[got] += 1
        if got == expected:
            correct[expected] += 1
    result: dict[str, dict[str, float]] = {}
    for code in CLASS_ORDER:
        result[code] = {
            "precision": correct[code] / predicted[code] if predicted[code] else 0.0,
            "recall": correct[code] / support[code] if support[code] else 0.0,
            "support": float(support[code]),
            "predicted": float(predicted[code]),
        }
    result["overall"] = {"accuracy": sum(correct.values()) / n if n else 0.0, "support": float(n)}
    return result
