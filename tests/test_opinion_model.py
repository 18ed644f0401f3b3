"""The learned opinion model beside the rules: corpus, decision, speed, and the shipped file."""

from __future__ import annotations

import hashlib
import importlib.util
import json
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
from outreach.opinions.model import SHIPPED_MODEL, TRUSTED_TYPES, analyzer, load_model
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
    cv = model.meta["cv"]
    assert model.meta["folds"] == 5
    assert cv["emergency"]["recall"] >= model.meta["target_recall"]
    assert cv["emergency"]["precision"] >= 0.6 and cv["overall"]["accuracy"] >= 0.8


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
            {"rule_floor": 0.05, "accuracy": 0.86, "emergency_recall": 0.99}]
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
# Written by people who saw neither the rules nor the corpus (tests/fixtures/opinions_blind*.md),
# each copied here only after the corpus, the model, its threshold and the vote's weights were
# committed. They measure; they never train, set a threshold or a weight, or edit a rule.
# The second set is the one the targets are judged on; the first was seen while the vote was
# being reworked, so it only guards against regressions.

BLIND = ROOT / "tests" / "fixtures" / "opinions_blind.jsonl"
BLIND2 = ROOT / "tests" / "fixtures" / "opinions_blind2.jsonl"
BLIND3 = ROOT / "tests" / "fixtures" / "opinions_blind3.jsonl"
BLIND4 = ROOT / "tests" / "fixtures" / "opinions_blind4.jsonl"
BLIND_SETS = {"blind": BLIND, "blind2": BLIND2, "blind3": BLIND3, "blind4": BLIND4}


def _read_blind(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def blind() -> list[dict]:
    return _read_blind(BLIND)


@pytest.fixture(scope="module")
def blind2() -> list[dict]:
    return _read_blind(BLIND2)


@pytest.fixture(scope="module")
def blind_result(rules, model, blind):
    return evaluate(((r["text"], r["lang"], r["class"]) for r in blind), rules, model)


@pytest.fixture(scope="module")
def blind2_result(rules, model, blind2):
    return evaluate(((r["text"], r["lang"], r["class"]) for r in blind2), rules, model)


def _show(result: dict, n: int) -> None:
    print(f"\n{'class':<12} {'precision':>9} {'recall':>7} {'support':>8}")
    for code in CLASS_ORDER:
        m = result[code]
        print(f"{code:<12} {m['precision']:>9.2f} {m['recall']:>7.2f} {int(m['support']):>8}")
    print(f"accuracy {result['overall']['accuracy']:.3f} on {n} comments")


@pytest.mark.parametrize("name,emergencies,per_kind", [("blind", 180, 15), ("blind2", 120, 10),
                                                       ("blind3", 120, 10)])
def test_each_blind_set_has_every_kind_of_emergency_none_in_the_corpus(name, emergencies, per_kind,
                                                                       corpus):
    rows = _read_blind(BLIND_SETS[name])
    kinds = Counter(r["kind"] for r in rows if r["class"] == "emergency")
    assert len(kinds) == 12 and set(kinds.values()) == {per_kind}, kinds
    assert sum(kinds.values()) == emergencies
    trained = {r["text"] for r in corpus}
    assert [r["text"] for r in rows if r["class"] == "emergency" and r["text"] in trained] == []
    # a few formulaic one-word comments ("转发", "first!") exist in both, written independently
    shared = [r for r in rows if r["text"] in trained]
    assert all(r["class"] == "chatter" and len(r["text"]) <= 6 for r in shared), shared


def test_blind2_emergency_recall_and_precision(blind2_result, blind2):
    _show(blind2_result, len(blind2))
    assert blind2_result["emergency"]["recall"] >= 0.97  # measured 0.992 (119/120)
    assert blind2_result["emergency"]["precision"] >= 0.60  # measured 0.881 (0.810 before)


def test_blind2_accuracy(blind2_result):
    assert blind2_result["overall"]["accuracy"] >= 0.85  # measured 0.882 (0.844 before)


@pytest.fixture(scope="module")
def blind3_result(rules, model):
    rows = _read_blind(BLIND3)
    return evaluate(((r["text"], r["lang"], r["class"]) for r in rows), rules, model)


def test_blind3_emergency_recall_and_precision(blind3_result):
    _show(blind3_result, int(blind3_result["overall"]["support"]))
    assert blind3_result["emergency"]["recall"] >= 0.97  # measured 0.992 (119/120)
    assert blind3_result["emergency"]["precision"] >= 0.60  # measured 0.763 (0.700 before)


@pytest.mark.xfail(strict=True, reason="rules and model together: 0.801 on the third blind set "
                   "(0.700 the first time the classifier met it, 0.759 before the model could "
                   "overrule a rule signal; the model alone 0.814): help, small talk and "
                   "cynicism written by strangers are still the weakest classes")
def test_blind3_accuracy(blind3_result):
    assert blind3_result["overall"]["accuracy"] >= 0.85


@pytest.fixture(scope="module")
def blind4_result(rules, model):
    rows = _read_blind(BLIND4)
    return evaluate(((r["text"], r["lang"], r["class"]) for r in rows), rules, model)


def test_the_fourth_blind_set_has_ten_of_every_kind_none_in_the_corpus(corpus):
    rows = _read_blind(BLIND4)
    kinds = Counter(r["kind"] for r in rows if r["class"] == "emergency")
    assert len(kinds) == 12 and min(kinds.values()) >= 10, kinds
    trained = {r["text"] for r in corpus}
    assert [r["text"] for r in rows if r["class"] == "emergency" and r["text"] in trained] == []


def test_blind4_emergency_recall_and_precision(blind4_result):
    """The fourth set is the judge: written from the class definitions alone and measured
    once, after the work on the first three."""
    _show(blind4_result, int(blind4_result["overall"]["support"]))
    assert blind4_result["emergency"]["recall"] >= 0.97  # measured 0.993 (135/136)
    assert blind4_result["emergency"]["precision"] >= 0.60  # measured 0.75


@pytest.mark.xfail(strict=True, reason="rules and model together: 0.805 on the fourth blind set, "
                   "measured once (the model alone 0.827): tips, chatter and negative comments "
                   "written by strangers are read worst")
def test_blind4_accuracy(blind4_result):
    assert blind4_result["overall"]["accuracy"] >= 0.85


def test_the_first_blind_set_does_not_regress(blind_result, blind):
    _show(blind_result, len(blind))
    assert blind_result["emergency"]["recall"] >= 0.98  # measured 0.994 (179/180)
    assert blind_result["emergency"]["precision"] >= 0.88  # measured 0.937
    assert blind_result["overall"]["accuracy"] >= 0.88  # measured 0.920


@pytest.mark.parametrize("name", ["blind", "blind2", "blind3", "blind4"])
def test_every_kind_of_blind_emergency_is_mostly_caught(rules, model, name):
    caught: dict[str, list[bool]] = {}
    for r in _read_blind(BLIND_SETS[name]):
        if r["class"] == "emergency":
            caught.setdefault(r["kind"], []).append(
                classify(r["text"], rules, r["lang"], model).klass == "emergency")
    assert all(sum(v) / len(v) >= 0.8 for v in caught.values()), {
        k: f"{sum(v)}/{len(v)}" for k, v in caught.items()}
