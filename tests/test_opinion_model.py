"""The learned opinion model beside the rules: corpus, decision, speed, and the shipped file."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import scipy.sparse as sp
from skops.io import get_untrusted_types, loads
from threadpoolctl import threadpool_limits

from outreach.clients.local.audience import COMMENTS as _COMMENTS
from outreach.errors import ContentError, InputError
from outreach.opinions.classify import classify_many
from outreach.opinions.model import SHIPPED_MODEL, TRUSTED_TYPES, analyzer, load_model
from outreach.opinions.redact import could_hold_personal_data, personal_spans
from outreach.opinions.rules import (
    CLASS_ORDER,
    MODEL_SURE,
    VOTE,
    Vote,
    classify,
    evaluate,
    load_rules,
    normalise,
    rule_scores,
)
from outreach.opinions.train import (
    Row,
    choose_floor,
    choose_threshold,
    choose_vote,
    dumps,
    floor_grid,
    out_of_fold,
    read_corpus,
    vectorizer,
    vote_grid,
    written_singly,
)
from tests.conftest import ROOT

CORPUS = ROOT / "content" / "opinions" / "corpus.jsonl"
GENERATOR = ROOT / "content" / "opinions" / "generate_corpus.py"
SHIPPED_RULES = (ROOT / "content" / "opinions.toml").read_text(encoding="utf-8")
KINDS = ("violence", "domestic_violence", "kidnapping_extortion", "fire_smoke", "gas", "drowning",
         "traffic_injury", "overdose_medical", "suicide_risk", "stalking", "trapped_confined",
         "fraud_in_progress")


@pytest.fixture(scope="module")
def rules():
    return load_rules(ROOT / "content")


@pytest.fixture(scope="module")
def model():
    return load_model(ROOT / "content")


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- the corpus ----------------------------------------------------------------------


def test_the_corpus_covers_classes_languages_and_kinds_of_danger(corpus):
    assert len(corpus) >= 2000
    langs = Counter(r["lang"] for r in corpus)
    assert langs["zh"] >= 800 and langs["en"] >= 800
    classes = Counter(r["class"] for r in corpus)
    assert set(classes) == set(CLASS_ORDER) and min(classes.values()) >= 60, classes
    kinds = Counter(r["kind"] for r in corpus if r["class"] == "emergency" and "kind" in r)
    assert set(KINDS) <= set(kinds)
    for kind in KINDS:
        zh = sum(r.get("kind") == kind and r["lang"] == "zh" for r in corpus)
        en = sum(r.get("kind") == kind and r["lang"] == "en" for r in corpus)
        assert zh >= 20 and en >= 20, kind
    texts = [r["text"] for r in corpus]
    assert len(set(texts)) == len(texts)  # no comment twice


def test_the_corpus_holds_confusers_that_are_not_emergencies(corpus):
    """Questions about "if", past events, news, jokes and our own tips are labelled too."""
    others = [r["text"] for r in corpus if r["class"] != "emergency"]
    for marker in ("如果", "万一", "what should i do if", "去年", "last month", "新闻", "news",
                   "哈哈", "lol", "“"):
        assert any(marker in t.lower() for t in others), marker


def test_the_corpus_is_what_its_generator_writes(corpus):
    spec = importlib.util.spec_from_file_location("generate_corpus", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate() == corpus


def test_a_bad_corpus_row_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"text": "救命", "lang": "zh", "class": "emergency"}\n'
                    '{"text": "x", "lang": "zh", "class": "rumour"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"corpus.jsonl:2: unknown class 'rumour'"):
        read_corpus(path, "corpus.jsonl")
    path.write_text('{"text": "救命", "lang": "fr", "class": "emergency"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r":1: lang must be zh or en"):
        read_corpus(path)
    path.write_text('{"text": "救命", "lang": "zh", "class": "emergency"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="no example of class help"):
        read_corpus(path)


# --- the shipped model ---------------------------------------------------------------


def test_the_shipped_model_was_trained_on_the_shipped_corpus(model):
    assert Path(model.source) == SHIPPED_MODEL
    assert model.meta["corpus_sha256"] == hashlib.sha256(CORPUS.read_bytes()).hexdigest(), (
        "the corpus changed: run `outreach opinions train`")
    assert set(model.classes) == set(CLASS_ORDER)
    assert 0 < model.threshold < 1


def test_the_threshold_was_chosen_for_recall_by_cross_validation(model):
    """On the comments written one at a time: the decorated variants of a core are easier."""
    cv, single = model.meta["cv"], model.meta["cv_singly"]
    assert model.meta["folds"] == 5 and model.meta["written_singly"] >= 2000
    assert single["emergency"]["recall"] >= model.meta["target_recall"]
    assert cv["emergency"]["recall"] >= single["emergency"]["recall"]
    assert single["emergency"]["precision"] >= 0.6 and single["overall"]["accuracy"] >= 0.8


def test_written_singly_is_a_group_of_one():
    rows = [Row("a", "en", "chatter", "core.1"), Row("b", "en", "chatter", "core.1"),
            Row("c", "en", "chatter", "voices.chatter.3"), Row("d", "en", "help", "blind4.7")]
    assert written_singly(rows) == [False, False, True, True]


def test_choose_threshold_keeps_the_target_recall():
    probs = [0.9, 0.8, 0.7, 0.2, 0.1, 0.05]
    em = [True, True, True, True, False, False]
    t = choose_threshold(probs, em, target=0.75)
    assert 0.2 < t <= 0.7 and sum(p >= t for p, e in zip(probs, em, strict=True) if e) == 3
    t = choose_threshold(probs, em, target=1.0)
    assert 0.1 < t <= 0.2


def test_choose_vote_keeps_recall_and_a_vote_for_the_rules():
    grid = [{"rule_vote": 0.0, "model_lean": 0.0, "accuracy": 0.9, "emergency_recall": 1.0},
            {"rule_vote": 0.5, "model_lean": 0.0, "accuracy": 0.88, "emergency_recall": 0.98},
            {"rule_vote": 0.5, "model_lean": 0.5, "accuracy": 0.85, "emergency_recall": 0.995},
            {"rule_vote": 1.0, "model_lean": 0.5, "accuracy": 0.85, "emergency_recall": 0.995},
            {"rule_vote": 1.0, "model_lean": 0.2, "accuracy": 0.84, "emergency_recall": 1.0}]
    # the model alone is never chosen, nor weights that lose emergencies; ties: more rule vote
    assert choose_vote(grid) == grid[3]
    with pytest.raises(ValueError, match="recall"):
        choose_vote(grid, target=1.01)


def test_vote_grid_judges_each_pair_of_weights_as_classify_does(rules, model):
    rows = [Row("家门口有人吵架，能帮忙协调吗", "zh", "help", "a"), Row("谢谢民警同志", "zh", "praise", "b"),
            Row("xq zv 7", "en", "chatter", "c"), Row("救命有人持刀", "zh", "emergency", "d")]
    oof = [model.probabilities(normalise(r.text)) for r in rows]
    grid = vote_grid(rows, oof, rules, model.threshold, rule_votes=(0.5, 1.0), model_leans=(0.0, 0.5))
    assert [(g["rule_vote"], g["model_lean"]) for g in grid] == [
        (0.5, 0.0), (0.5, 0.5), (1.0, 0.0), (1.0, 0.5)]
    for g in grid:
        vote = Vote(g["rule_vote"], g["model_lean"])
        got = [classify(r.text, rules, r.lang, model, vote).klass for r in rows]
        assert g["accuracy"] == round(sum(k == r.klass for k, r in zip(got, rows, strict=True)) / 4, 4)
        assert g["emergency_recall"] == 1.0


def test_choose_floor_keeps_recall_and_prefers_the_rules():
    grid = [{"rule_floor": 0.0, "accuracy": 0.84, "emergency_recall": 0.997},
            {"rule_floor": 0.02, "accuracy": 0.85, "emergency_recall": 0.997},
            {"rule_floor": 0.03, "accuracy": 0.85, "emergency_recall": 0.996},
            {"rule_floor": 0.05, "accuracy": 0.86, "emergency_recall": 0.985}]
    # the one that loses emergencies is never chosen; ties: the lower floor
    assert choose_floor(grid) == grid[1]
    with pytest.raises(ValueError, match="recall"):
        choose_floor(grid, target=0.999)


def test_a_confident_model_overrules_a_rule_signal_in_a_frame_the_rules_miss(rules, model):
    """An emergency word in a joke no negation frames: the model is all but sure it is not one."""
    text = "老板今天要杀了我，方案改到第八版了"
    assert rule_scores(text, rules, "zh")["emergency"] > 0
    assert model.probabilities(normalise(text))["emergency"] < VOTE.rule_floor
    opinion = classify(text, rules, "zh", model)
    assert opinion.klass != "emergency" and "emergency" in opinion.labels
    # without the floor, the rules' word alone made it an emergency
    assert classify(text, rules, "zh", model, VOTE._replace(rule_floor=0.0)).klass == "emergency"
    assert classify(text, rules, "zh").klass == "emergency"  # the rules alone: still theirs


def test_the_model_never_overrules_several_signs_of_danger(rules, model):
    """A call for help with a phone number in it: the model sees personal data above all, the
    rules see several signs of danger; those are never overruled."""
    text = "快来人！有人持刀砸门，我在朝阳路12号，电话13812345678"
    assert model.probabilities(normalise(text))["emergency"] < VOTE.rule_floor
    opinion = classify(text, rules, "zh", model)
    assert opinion.klass == "emergency" and opinion.fired == "rules"


@pytest.mark.slow
def test_the_shipped_vote_is_the_cross_validated_choice(rules, model):
    """The vote's weights are what grouped five-fold cross-validation on the corpus picks."""
    rows = read_corpus(CORPUS)
    with threadpool_limits(limits=1):
        oof = out_of_fold(rows, normalise)
    single = written_singly(rows)
    rows = [r for r, s in zip(rows, single, strict=True) if s]
    oof = [p for p, s in zip(oof, single, strict=True) if s]
    floor = choose_floor(floor_grid(rows, oof, rules, model.threshold, VOTE))
    grid = vote_grid(rows, oof, rules, model.threshold, rule_floor=floor["rule_floor"])
    best = choose_vote(grid)
    assert (best["rule_vote"], best["model_lean"], floor["rule_floor"]) == tuple(VOTE)
    old = next(g for g in grid if g["rule_vote"] == 1.0 and g["model_lean"] == 0.5)
    assert best["accuracy"] > old["accuracy"] and best["emergency_recall"] >= 0.99


def test_the_fast_path_gives_scikit_learns_probabilities(model, corpus):
    """The file is a scikit-learn model skops loads; classifying reads it without them."""
    raw = SHIPPED_MODEL.read_bytes()
    assert set(get_untrusted_types(data=raw)) <= set(TRUSTED_TYPES)
    saved = loads(raw, trusted=TRUSTED_TYPES)
    vectorizers = []
    for spec, features, idf in zip(saved["blocks"], saved["features"], saved["idf"], strict=True):
        vec = vectorizer(spec)
        vec.set_params(vocabulary={str(f): i for i, f in enumerate(features)})
        vec.idf_ = idf
        vectorizers.append(vec)
    texts = [normalise(r["text"]) for r in corpus[::37]] + ["", "🙂", "a", "救", " a  b "]
    for vec, spec in zip(vectorizers, saved["blocks"], strict=True):
        ours = analyzer(spec)
        assert all(ours(t) == vec.build_analyzer()(t) for t in texts), spec
    x = sp.hstack([v.transform(texts) for v in vectorizers]).tocsr()
    expected = saved["classifier"].predict_proba(x)
    classes = list(saved["classifier"].classes_)
    for text, row in zip(texts, expected, strict=True):
        got = model.probabilities(text)
        assert all(abs(got[c] - row[i]) < 1e-9 for i, c in enumerate(classes)), text


def test_a_page_of_comments_is_classified_as_each_one_alone(rules, model, corpus):
    """The inbox classifies a page at once: the same opinions, the same probabilities."""
    rows = corpus[::23] + [{"text": t, "lang": "zh"} for t in ("", "🙂", "救", "xq zv 7")]
    page = classify_many([(r["text"], r["lang"]) for r in rows], rules, model)
    assert page == [classify(r["text"], rules, r["lang"], model) for r in rows]
    texts = [normalise(r["text"]) for r in rows]
    assert model.probabilities_many(texts) == [model.probabilities(t) for t in texts]
    assert model.probabilities_many([]) == [] and classify_many([], rules, model) == []
    assert classify_many([("救命啊有人砸门", "zh")], rules) == [classify("救命啊有人砸门", rules, "zh")]


def test_skipping_work_changes_no_rule_answer(rules, corpus):
    """A negation that reaches back over a sentence is tried only where its phrase is, and
    personal data only looked for where digits or an @ are: what is skipped never matches."""
    texts = [r["text"] for r in corpus[::4]]
    texts += [json.loads(line)["text"] for line in (ROOT / "tests" / "fixtures" / "redaction_corpus.jsonl")
              .read_text(encoding="utf-8").splitlines() if line.strip()]
    skipping = [(p, need) for k in rules.classes.values()
                for p, need in zip(k.matcher.neg_patterns, k.matcher.neg_needed, strict=True) if need]
    assert skipping  # the shipped rules have such negations
    matchers = [*(k.matcher for k in rules.classes.values()), *rules.flags.values()]
    scripted = [(p, script) for m in matchers
                for p, script in zip(m.patterns, m.scripts, strict=True) if script]
    assert {s for _, s in scripted} == {"cjk", "latin"}
    has = {"cjk": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff]"),
           "latin": re.compile("[a-z]")}
    for text in texts:
        norm = normalise(text)
        for view in (norm, norm.replace(" ", "")):
            assert all(need.search(view) for p, need in skipping if p.search(view)), text
        assert all(has[script].search(norm) for p, script in scripted if p.search(norm)), text
        assert could_hold_personal_data(text) or not personal_spans(text), text


def test_classifying_loads_neither_scikit_learn_nor_scipy():
    """The daemon classifies every five minutes: it should not carry scikit-learn's memory."""
    code = ("import sys; from outreach.opinions.model import load_model, SHIPPED_MODEL; "
            "m = load_model(path=SHIPPED_MODEL); m.probabilities('救命'); "
            "print(sorted({k.split('.')[0] for k in sys.modules} & {'sklearn', 'scipy', 'skops'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_a_file_with_an_untrusted_type_is_refused(tmp_path):
    bad = tmp_path / "model.skops"
    bad.write_bytes(dumps({"threshold": 0.5, "hook": Counter()}))
    with pytest.raises(ContentError, match="cannot load the opinion model") as err:
        load_model(path=bad)
    assert err.value.where == str(bad)
    (tmp_path / "broken.skops").write_bytes(b"not a zip")
    with pytest.raises(ContentError, match="cannot load"):
        load_model(path=tmp_path / "broken.skops")


def test_a_content_folder_model_is_used_instead_of_the_shipped_one(tmp_path):
    content = tmp_path / "content"
    (content / "opinions").mkdir(parents=True)
    (content / "opinions" / "model.skops").write_bytes(SHIPPED_MODEL.read_bytes())
    assert Path(load_model(content).source) == content / "opinions" / "model.skops"
    assert Path(load_model(tmp_path / "elsewhere").source) == SHIPPED_MODEL


# --- the decision --------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "隔壁女的尖叫了半个小时了，还有砸东西的声音",
    "电话里说孩子在他们手上，电话还没挂，让我马上转钱",
    "our door handle is hot and smoke keeps coming in, we're stuck",
    "strong smell of gas on our landing and the old man next door won't answer",
])
def test_emergencies_the_rules_miss_are_caught_by_the_model(rules, model, text):
    opinion = classify(text, rules, None, model)
    assert opinion.klass == "emergency", (text, opinion)
    assert opinion.fired in ("model", "both") and opinion.probability is not None
    assert opinion.probability >= model.threshold or opinion.fired == "both"


def test_a_rule_signal_alone_makes_an_emergency(rules, model, tmp_path):
    """A keyword an officer adds takes effect at once, unless the model is all but sure the
    comment is something else (see the next test)."""
    text = "紫色代码，三号库房"
    assert classify(text, rules, "zh", model).klass != "emergency"
    content = tmp_path / "content"
    content.mkdir()
    (content / "opinions.toml").write_text(
        SHIPPED_RULES.replace('  "快来人", "有人持刀",', '  "紫色代码", "快来人", "有人持刀",', 1),
        encoding="utf-8")
    opinion = classify(text, load_rules(content), "zh", model)
    assert opinion.klass == "emergency" and opinion.fired in ("rules", "both")


@pytest.mark.parametrize(("text", "klass"), [
    ("如果有人跟踪我，我应该往哪里跑？", "inquiry"),
    ("this exam is going to be the death of me haha", "chatter"),
    ("开会开得想原地去世😂", "chatter"),
    ("看新闻说昨天高速上有车祸，大家开车注意", "chatter"),
    ("谢谢你们啊，报警说邻居噪音，来了看一眼就走了", "complaint"),  # yields_to still holds
    ("不是报警，就是问问身份证丢了在哪里补办", "inquiry"),
])
def test_confusers_are_not_emergencies(rules, model, text, klass):
    assert classify(text, rules, None, model).klass == klass


def test_what_nobody_recognises_is_unread(rules, model):
    opinion = classify("xq zv 7", rules, None, model)
    assert opinion.klass == "chatter" and opinion.fired == ""
    assert "unmatched" in opinion.labels
    known = classify("转发", rules, None, model)
    assert known.fired and "unmatched" not in known.labels


@pytest.mark.parametrize("text", ["手机一直没信号", "网一直很卡", "水压一直很低"])
def test_an_unrecognised_comment_takes_the_models_lean_and_stays_unread(rules, model, text):
    """No rule matched and the model is unsure: its likeliest class, labelled ``unmatched``."""
    p = model.probabilities(normalise(text))
    top = max((c for c in CLASS_ORDER if c != "emergency"), key=lambda c: p[c])
    assert not any(rule_scores(text, rules, "zh").values()) and p["emergency"] < model.threshold
    assert p[top] < MODEL_SURE and top != "chatter"
    opinion = classify(text, rules, "zh", model)
    assert (opinion.klass, opinion.fired) == (top, "") and "unmatched" in opinion.labels
    # the old vote's weights sent it to chatter
    assert classify(text, rules, "zh", model, Vote(1.0, 0.5)).klass == "chatter"


def test_without_a_model_the_rules_decide_alone(rules):
    opinion = classify("救命啊有人砸门", rules, "zh")
    assert opinion.klass == "emergency" and opinion.fired == "rules" and opinion.probability is None


def test_the_simulated_public_still_says_what_it_was_written_to_say(rules, model):
    said = {text: klass for klass, (zh, en) in _COMMENTS.items() for text in zh + en}
    wrong = [(klass, text, got) for text, klass in said.items()
             if (got := classify(text, rules, None, model).klass) != klass]
    assert wrong == []


def test_evaluate_with_the_model_on_the_labelled_fixture(rules, model):
    rows = [json.loads(line) for line in (ROOT / "tests" / "fixtures" / "opinions_labelled.jsonl")
            .read_text(encoding="utf-8").splitlines() if line.strip()]
    result = evaluate(((r["text"], r["lang"], r["class"]) for r in rows), rules, model)
    assert result["emergency"]["recall"] == 1.0 and result["overall"]["accuracy"] >= 0.85


# --- training ------------------------------------------------------------------------


@pytest.mark.slow
def test_train_rebuilds_the_shipped_model_byte_for_byte(workspace, tmp_path):
    """`outreach opinions train` as an officer runs it: a fresh process. (In a process that
    has already fitted other models the coefficients can differ in the 12th digit — numpy's
    SIMD sums depend on how arrays happen to be aligned in memory — so not in-process.)"""
    out = tmp_path / "model.skops"
    r = subprocess.run([sys.executable, "-m", "outreach", "opinions", "train", "--corpus",
                        str(CORPUS), "-o", str(out), "--json"], capture_output=True, text=True,
                       timeout=1200, check=False)
    assert r.returncode == 0, r.stderr
    trained = json.loads(r.stdout)
    assert trained["rows"] >= 2000
    assert trained["threshold"] == load_model(path=SHIPPED_MODEL).threshold
    assert out.read_bytes() == SHIPPED_MODEL.read_bytes()


def test_train_refuses_a_bad_corpus_and_writes_nothing(cli, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"text": "救命", "lang": "zh", "class": "emergency"}\nnot json\n', encoding="utf-8")
    out = tmp_path / "model.skops"
    r = cli("opinions", "train", "--corpus", str(corpus), "-o", str(out))
    assert r.code == 1 and "corpus.jsonl:2: not JSON" in r.err and "Traceback" not in r.err
    assert not out.exists()
    r = cli("opinions", "train", "--corpus", str(tmp_path / "missing.jsonl"), "-o", str(out))
    assert r.code == 1 and "cannot read" in r.err and not out.exists()


# --- the blind sets ------------------------------------------------------------------
# Each written by someone who saw neither the rules nor the corpus, from the class
# definitions alone (tests/fixtures/opinions_blind*.md). The first four each judged the
# classifier once and were then retired into the training corpus; the fifth is the judge:
# it is measured once, never trained on, never used for a threshold, a weight or a rule.

RETIRED = ("blind", "blind2", "blind3", "blind4")
JUDGE = ROOT / "tests" / "fixtures" / "opinions_blind5.jsonl"


def _read_blind(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _show(result: dict, n: int) -> None:
    print(f"\n{'class':<12} {'precision':>9} {'recall':>7} {'support':>8}")
    for code in CLASS_ORDER:
        m = result[code]
        print(f"{code:<12} {m['precision']:>9.2f} {m['recall']:>7.2f} {int(m['support']):>8}")
    print(f"accuracy {result['overall']['accuracy']:.3f} on {n} comments")


@pytest.mark.parametrize("name", RETIRED)
def test_a_retired_blind_set_is_in_the_corpus_one_group_a_comment(name, corpus):
    """The retired sets train: every comment is in the corpus, with its class, kind of danger
    and a group of its own (cross-validation never splits what was written as one)."""
    rows = _read_blind(ROOT / "tests" / "fixtures" / f"opinions_{name}.jsonl")
    trained = {r["text"]: r for r in corpus}
    for r in rows:
        got = trained[" ".join(r["text"].split())]
        assert got["class"] == r["class"], r
        if r["class"] == "emergency":
            assert got.get("kind") == r["kind"] or not got["group"].startswith(name + "."), r
    groups = Counter(r["group"] for r in corpus if r["group"].startswith(name + "."))
    assert groups and set(groups.values()) == {1}
    card = (ROOT / "tests" / "fixtures" / f"opinions_{name}.md").read_text(encoding="utf-8")
    assert "Retired as a judge on 2026-12-07 and folded into training" in card


@pytest.fixture(scope="module")
def judge() -> list[dict]:
    if not JUDGE.is_file():
        pytest.skip(f"{JUDGE.relative_to(ROOT)} is not there yet: the blind set that judges the "
                    "classifier is added once it is written (the retired sets train now)")
    return _read_blind(JUDGE)


@pytest.fixture(scope="module")
def judge_result(rules, model, judge):
    return evaluate(((r["text"], r["lang"], r["class"]) for r in judge), rules, model)


def test_the_judging_set_has_ten_of_every_kind_none_in_the_corpus(judge, corpus):
    kinds = Counter(r["kind"] for r in judge if r["class"] == "emergency")
    assert len(kinds) == 12 and min(kinds.values()) >= 10, kinds
    assert len(judge) >= 300
    trained = {r["text"] for r in corpus}
    assert [r["text"] for r in judge if r["class"] == "emergency" and r["text"] in trained] == []


def test_the_judging_set_emergency_recall_and_precision(judge_result):
    _show(judge_result, int(judge_result["overall"]["support"]))
    assert judge_result["emergency"]["recall"] >= 0.97
    assert judge_result["emergency"]["precision"] >= 0.60


def test_the_judging_set_accuracy(judge_result):
    assert judge_result["overall"]["accuracy"] >= 0.85


@pytest.mark.xfail(strict=True, reason="measured once on the fifth blind set: suicide risk is "
                   "caught 8 of 12 times (every other kind 12 of 12); the judge may not be tuned on")
def test_every_kind_of_emergency_in_the_judging_set_is_mostly_caught(rules, model, judge):
    caught: dict[str, list[bool]] = {}
    for r in judge:
        if r["class"] == "emergency":
            caught.setdefault(r["kind"], []).append(
                classify(r["text"], rules, r["lang"], model).klass == "emergency")
    assert all(sum(v) / len(v) >= 0.8 for v in caught.values()), {
        k: f"{sum(v)}/{len(v)}" for k, v in caught.items()}
