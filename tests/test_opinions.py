"""The public's comments (民意): classes, hard cases, redaction, and the rules file's errors."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from outreach.errors import ContentError, InputError
from outreach.opinions.classify import CLASS_ORDER, FLAGS, classify, evaluate
from outreach.opinions.redact import has_personal_data, id_check_ok, luhn_ok, redact
from outreach.opinions.rules import load_rules
from tests.conftest import ROOT

LABELLED = Path(__file__).parent / "fixtures" / "opinions_labelled.jsonl"
SHIPPED = (ROOT / "content" / "opinions.toml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rules():
    return load_rules(ROOT / "content")


@pytest.fixture(scope="module")
def labelled() -> list[dict]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- the shipped rules ---------------------------------------------------------------


def test_shipped_rules_load_with_every_class_and_the_reply_deadlines(rules):
    assert tuple(rules.classes) == CLASS_ORDER
    hours = {code: c.reply_within_hours for code, c in rules.classes.items()}
    assert hours == {"emergency": 0, "help": 24, "tip": 24, "complaint": 24, "inquiry": 120,
                     "suggestion": None, "privacy": None, "spam_abuse": None, "negative": None,
                     "praise": None, "chatter": None}
    assert {code for code, c in rules.classes.items() if c.needs_reply} == {
        "emergency", "help", "tip", "complaint", "inquiry"}
    assert set(rules.flags) == {"police_related", "location_mentioned", "question"}


def test_class_names_in_both_languages(rules):
    zh, en = rules.class_names("zh"), rules.class_names("en")
    assert list(zh) == list(en) == list(CLASS_ORDER)
    assert zh["emergency"] == "紧急警情" and zh["help"] == "求助" and zh["tip"] == "举报线索"
    assert en["complaint"] == "Complaint" and all(zh.values()) and all(en.values())


def test_loading_twice_uses_the_cache_until_the_file_changes(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    path = content / "opinions.toml"
    path.write_text(SHIPPED, encoding="utf-8")
    first = load_rules(content)
    assert load_rules(content) is first
    path.write_text(SHIPPED + "\n# edited\n", encoding="utf-8")
    assert load_rules(content) is not first


# --- the labelled set ----------------------------------------------------------------


def test_the_labelled_set_covers_every_class_in_both_languages(labelled):
    assert len(labelled) >= 160
    assert sum(r["lang"] == "zh" for r in labelled) >= 100
    assert sum(r["lang"] == "en" for r in labelled) >= 60
    for code in CLASS_ORDER:
        assert sum(r["class"] == code for r in labelled) >= 8, code
    for row in labelled:
        assert set(row) <= {"text", "lang", "class", "note", "personal"}, row
        assert row["class"] in CLASS_ORDER and row["lang"] in ("zh", "en")
        assert all(p in row["text"] for p in row.get("personal", [])), row


def test_every_emergency_is_caught(rules, labelled):
    emergencies = [row for row in labelled if row["class"] == "emergency"]
    missed = [(row["text"], opinion.klass) for row in emergencies
              if (opinion := classify(row["text"], rules, row["lang"])).klass != "emergency"]
    assert missed == []


def test_accuracy_and_recall_on_the_labelled_set(rules, labelled):
    result = evaluate(((r["text"], r["lang"], r["class"]) for r in labelled), rules)
    print(f"\n{'class':<12} {'precision':>9} {'recall':>7} {'support':>8}")
    for code in CLASS_ORDER:
        m = result[code]
        print(f"{code:<12} {m['precision']:>9.2f} {m['recall']:>7.2f} {int(m['support']):>8}")
    overall = result["overall"]
    print(f"overall accuracy {overall['accuracy']:.3f} on {int(overall['support'])} comments")
    assert result["emergency"]["recall"] == 1.0
    assert result["overall"]["accuracy"] >= 0.85
    for code in CLASS_ORDER:
        if result[code]["support"] >= 8:
            assert result[code]["recall"] >= 0.7, code


def test_evaluate_refuses_an_unknown_class(rules):
    with pytest.raises(InputError, match="unknown class 'rumour'"):
        evaluate([("谣言", "zh", "rumour")], rules)
    assert evaluate([], rules)["overall"] == {"accuracy": 0.0, "support": 0.0}


def test_the_simulated_public_says_what_it_was_written_to_say(rules):
    from outreach.clients.local.audience import COMMENTS as _COMMENTS

    said = {text: klass for klass, (zh, en) in _COMMENTS.items() for text in zh + en}
    wrong = [(klass, text, got) for text, klass in said.items()
             if (got := classify(text, rules).klass) != klass]
    assert wrong == []


# --- hard cases ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "klass"), [
    ("你们可真厉害，报警三次都没人管", "complaint"),  # sarcasm is not praise
    ("谢谢你们啊，报警说邻居噪音，来了看一眼就走了", "complaint"),
    ("Great job guys, three reports and still nothing.", "complaint"),
    ("Wow, another tip nobody asked for. Very useful.", "negative"),
    ("不是报警，就是问问身份证丢了在哪里补办", "inquiry"),  # a negated emergency word
    ("Not an emergency, just asking: how long does a clearance certificate take?", "inquiry"),
    ("this isn't urgent, but who do I contact about a lost wallet?", "inquiry"),
    ("不是报警，有人持刀在楼道里", "emergency"),  # the negation cancels only what it contains
    ("救命啊有人砸门", "emergency"),
    ("救 命 有人要杀我", "emergency"),
    ("my ex is outside with a knife pls", "emergency"),
    ("hlep some1 is tryin to get in my door", "emergency"),
    ("遇到持刀歹徒应该怎么自保？", "inquiry"),  # advice, not happening now
    ("为什么我报案都两个月了还没有任何进展？", "complaint"),  # a question that is a complaint
    ("傻X警察，就知道罚款", "spam_abuse"),  # abuse ...
    ("天天发这些有什么用，骗子还是那么多", "negative"),  # ... and criticism
    ("😂😂😂", "chatter"),
    ("👍👍👍", "chatter"),
    ("", "chatter"),
])
def test_hard_cases(rules, text, klass):
    assert classify(text, rules).klass == klass


@pytest.mark.parametrize("text", [
    # a question about what to do if it happened
    "要是半夜有人撬我家门锁，我应该先报警还是先喊人？",
    "万一孩子在游乐场走丢了，第一步该做什么",
    "What should a cyclist do if a driver threatens them with a knife at the lights?",
    "If my neighbour's flat catches fire while they're away, can I break the door?",
    "怎么判断老人是不是中风了",
    "请问被困电梯的时候能不能打110",
    # the past, over now
    "前年我被人抢过包，现在晚上出门还会紧张",
    "When I was a kid my uncle nearly drowned in the reservoir, so I never swim there.",
    # the news, rumours
    "听说隔壁市有人在加油站放火，是真的吗",
    "Apparently there was a stabbing in another city, scary stuff.",
    # fiction, drills, dreams, jokes
    "昨晚那部灾难片里整栋楼都着火了，特效好真",
    "公司今天搞消防演练，全楼的人都在楼下站着",
    "My flatmate says he'll stab me if I eat his noodles again lol",
    "the fire drill today took forever, everyone standing in the car park",
    "考试考得我想跳楼哈哈哈",
    # quotes of our own advice
    "“陌生人敲门不要开”这条我让孩子背下来了，谢谢",
    "Remembered your 'stop, drop and roll' tip when my sleeve caught the stove, thanks",
])
def test_danger_words_in_a_question_the_past_the_news_fiction_or_a_quote_are_not_an_emergency(
        rules, text):
    assert classify(text, rules).klass != "emergency", text


@pytest.mark.parametrize("text", [
    "去年他就打过我，现在又拿着刀在门口",  # a "now" word ends the past
    "不是开玩笑，楼下有人拿刀追人",
    "Not joking, there's a man with a knife outside my door",
    "不是演习，楼道里全是浓烟",
    "this is not a drill, the kitchen is on fire",
    "he said he'll kill me if i call the police, what do i do",  # a threat, not a question
    "如果你们再不来他就要砍人了",
    "上周跟踪我的那个人现在还在楼下，我好害怕",
])
def test_an_emergency_that_mentions_the_past_or_a_joke_is_still_one(rules, text):
    assert classify(text, rules).klass == "emergency", text


def test_a_phone_number_inside_a_tip_is_a_tip_with_personal_data(rules):
    opinion = classify("举报一个诈骗电话：138 0013 8000，自称京东客服说要关闭百万保障", rules, "zh")
    assert opinion.klass == "tip" and opinion.needs_reply
    assert "privacy" in opinion.labels and "has_personal_data" in opinion.labels
    assert "police_related" in opinion.labels


def test_an_id_number_in_a_help_request_is_help_with_personal_data(rules):
    opinion = classify("身份证丢了，还被人拿去办了网贷，我该怎么办，身份证号11010519491231002X", rules)
    assert opinion.klass == "help"
    assert {"privacy", "has_personal_data"} <= set(opinion.labels)


def test_a_redacted_comment_still_counts_as_personal_data(rules):
    text, changed = redact("我的手机号13900139000，有活动通知我")
    assert changed and classify(text, rules).klass == "privacy"


def test_labels_flags_scores_and_reply(rules):
    opinion = classify("救命，有人在砸我家门，地址是朝阳区某小区3号楼，请问怎么办？", rules)
    assert opinion.klass == "emergency" and opinion.needs_reply
    assert list(opinion.score) == list(CLASS_ORDER)
    assert opinion.score["emergency"] > 0 and "emergency" not in opinion.labels
    assert {"location_mentioned", "question"} <= set(opinion.labels)
    flags = [label for label in opinion.labels if label in FLAGS]
    assert flags == sorted(flags, key=FLAGS.index)  # classes first, then flags in FLAGS order
    praise = classify("Thanks for the reminder!", rules, "en")
    assert praise.klass == "praise" and not praise.needs_reply


def test_a_comment_no_rule_knows_is_chatter_marked_unmatched(rules):
    opinion = classify("今天北京好冷啊", rules)
    assert opinion.klass == "chatter" and "unmatched" in opinion.labels
    assert "unmatched" not in classify("第一", rules).labels  # chatter the rules recognise


def test_the_other_languages_keywords_count_half(rules):
    mixed, en = classify("thank you", rules, "zh"), classify("thank you", rules, "en")
    assert mixed.klass == en.klass == "praise"
    assert mixed.score["praise"] < en.score["praise"]
    assert classify("thank you", rules, "fr").score == classify("thank you", rules).score


@pytest.mark.parametrize("text", [
    "\x1b[31m救命\x1b[0m 有人砸门\x07",
    "救\u200b命，有人拿刀",
    "\x1b]0;title\x07\x1b[2J\x1b[H",
    "\x00\x01\x02\x7f\x9b31m",
    "ｈｅｌｐ！！ 有人在打人",
])
def test_control_characters_and_ansi_sequences_do_not_crash(rules, text):
    opinion = classify(text, rules)
    assert opinion.klass in CLASS_ORDER
    if "救" in text or "ｈｅｌｐ" in text:
        assert opinion.klass == "emergency"


def test_a_long_comment_is_classified_quickly(rules):
    text = ("我们小区门口 请问 怎么 138 0013 8000 " * 400) + "a" * 5000
    started = time.perf_counter()
    classify(text, rules)
    redact(text)
    assert time.perf_counter() - started < 1.0


# --- redaction -----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("电话13800138000", "电话[手机号]"),
    ("电话 138 0013 8000 找我", "电话 [手机号] 找我"),
    ("电话138-0013-8000", "电话[手机号]"),
    ("电话+86 138 0013 8000", "电话[手机号]"),
    ("电话+8613800138000", "电话[手机号]"),
    ("电话0086-13800138000", "电话[手机号]"),
    ("电话１３８００１３８０００", "电话[手机号]"),  # full-width digits
    ("call +86-139-0013-9000 now", "call [phone] now"),
    ("座机010-62345678", "座机[电话]"),
    ("座机 0755-8888 6666", "座机 [电话]"),
    ("座机(010)62345678", "座机[电话]"),
    ("身份证号11010519491231002X", "身份证号[身份证号]"),
    ("身份证号11010519491231002x", "身份证号[身份证号]"),
    ("ID 110101199003071233 lost", "ID [id] lost"),
    ("老身份证110105491231002", "老身份证[身份证号]"),  # 15 digits, no check digit
    # a typo in the check digit still gives the region and the birth day away
    ("身份证号110101199003071234", "身份证号[身份证号]"),
    ("卡号6222 0200 1234 5671", "卡号[银行卡号]"),
    ("卡号6222020012345671", "卡号[银行卡号]"),
    ("card 6217-0000-1234-5678-907", "card [card]"),
    ("card 6222 0000 0000 0000 004 please", "card [card] please"),
    ("邮箱 lihua@example.com", "邮箱 [邮箱]"),
    ("mail jane.doe+police@example.co.uk.", "mail [email]."),
    ("我叫李华，电话 +86 137 0013 7000，邮箱 lihua@example.com", "我叫李华，电话 [手机号]，邮箱 [邮箱]"),
])
def test_redact_replaces_personal_data(text, expected):
    assert redact(text) == (expected, True)


@pytest.mark.parametrize("text", [
    "打110，反诈专线96110，市民热线12345",
    "我被骗了2000块，2027年1月10日报的案",
    "2027-01-10 下午3点",
    "转了5,000 yuan on 2027-01-10",
    "身份证号110101199013071234",  # no thirteenth month: not a birth day
    "卡号6222 0200 1234 5672",  # fails Luhn
    "订单号12345678",
    "客服400-810-8888",
    "not an e-mail: lihua@ or @example.com",
])
def test_redact_keeps_what_is_not_personal(text):
    assert redact(text) == (text, False)


def test_the_check_digit_and_luhn_helpers():
    assert id_check_ok("11010519491231002X") and id_check_ok("11010519491231002x")
    assert id_check_ok("440304198511110018")
    assert not id_check_ok("110101199003071234") and not id_check_ok("1101011990030712")
    assert luhn_ok("6222020012345671") and luhn_ok("4111111111111111")
    assert not luhn_ok("6222020012345672") and not luhn_ok("")
    # the invalid-ID sample above must not be rescued as a card number
    assert not luhn_ok("110101199003071234")


def test_nothing_personal_survives_redaction_in_the_labelled_set(labelled):
    marked = [row for row in labelled if row.get("personal")]
    assert len(marked) >= 20
    for row in marked:
        text, changed = redact(row["text"])
        assert changed, row["text"]
        digits = re.sub(r"\D", "", text)
        for secret in row["personal"]:
            assert secret not in text, row["text"]
            secret_digits = re.sub(r"\D", "", secret)
            assert not secret_digits or secret_digits not in digits, row["text"]
        assert has_personal_data(text)
        zh_tokens, en_tokens = r"\[(手机号|电话|身份证号|银行卡号|邮箱)\]", r"\[(phone|id|card|email)\]"
        assert re.search(zh_tokens if row["lang"] == "zh" else en_tokens, text), text


def test_redaction_leaves_the_other_labelled_comments_alone(labelled):
    changed = [row["text"] for row in labelled if not row.get("personal") and redact(row["text"])[1]]
    assert changed == []


# --- mistakes in opinions.toml -------------------------------------------------------


def _load_edited(tmp_path: Path, text: str):
    content = tmp_path / "content"
    content.mkdir(exist_ok=True)
    (content / "opinions.toml").write_text(text, encoding="utf-8")
    return load_rules(content)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _insert_after(text: str, anchor: str, new_line: str) -> str:
    return _edit(text, anchor + "\n", anchor + "\n" + new_line + "\n")


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


@pytest.mark.parametrize(("old", "new", "bad_line", "message"), [
    ("[class.help]\n", "[class.help]\ncolour = \"red\"\n", "colour", "class.help.colour: unknown key"),
    ("[class.tip]\n", "[class.tip]\nnegation_patterns = ['(unclosed']\n", "(unclosed",
     "class.tip.negation_patterns[0]: bad pattern '(unclosed': missing ), unterminated subpattern"),
    ("[class.complaint]\n", "[class.complaint]\nyields_to = [\"gossip\"]\n", "gossip",
     "class.complaint.yields_to[0]: names unknown class 'gossip'"),
    ('en = "Praise"\nweight = 1\n', 'en = "Praise"\nweight = -1\n', "weight = -1",
     "class.praise.weight: must be positive, got -1"),
    ('en = "Chatter"\nweight = 0.5\nneeds_reply = false\n',
     'en = "Chatter"\nweight = 0.5\nneeds_reply = "yes"\n',
     'needs_reply = "yes"', "class.chatter.needs_reply: expected a boolean (true/false), got a string"),
    ("reply_within_hours = 120\n", "", '[class.inquiry]',
     "class.inquiry.needs_reply: true needs reply_within_hours"),
    ("[class.help.keywords]\n", "[class.help.keywords]\nfr = [\"aidez-moi\"]\n", "aidez-moi",
     "class.help.keywords.fr: unknown key (known: en, zh)"),
    ('zh = "表扬"\n', "", "[class.praise]", "class.praise.zh: required key is missing"),
    ("[flag.question]\n", "[flag.question]\nnegation_patterns = ['[z-a]']\n", "[z-a]",
     "flag.question.negation_patterns[0]: bad pattern '[z-a]'"),
])
def test_a_mistake_names_the_file_line_class_and_key(tmp_path, old, new, bad_line, message):
    text = _edit(SHIPPED, old, new)
    with pytest.raises(ContentError) as err:
        _load_edited(tmp_path, text)
    line = _line_of(text, bad_line)
    if bad_line == "[class.inquiry]":  # the class has needs_reply = true: that line is named
        line = _line_of(text[text.index("[class.inquiry]"):], "needs_reply") + line - 1
    assert err.value.where == f"content/opinions.toml:{line}"
    assert message in err.value.message


def test_a_bad_pattern_in_a_long_list_points_at_its_own_line(tmp_path):
    good = "  '请问|想问|问一下|问下|问问|咨询一下|打听一下|请教',"
    assert good in SHIPPED
    text = SHIPPED.replace(good, good + "\n  '(?P<x>a)(?P<x>b)',", 1)
    with pytest.raises(ContentError) as err:
        _load_edited(tmp_path, text)
    assert err.value.where == f"content/opinions.toml:{_line_of(text, '(?P<x>a)(?P<x>b)')}"
    assert err.value.message.startswith("class.inquiry.patterns[")
    assert "(?P<x>a)(?P<x>b)" in err.value.message


def test_an_unknown_class_or_flag_is_named(tmp_path):
    text = SHIPPED + "\n[class.rumour]\nzh = \"谣言\"\nen = \"Rumour\"\n"
    with pytest.raises(ContentError) as err:
        _load_edited(tmp_path, text)
    assert err.value.where == f"content/opinions.toml:{_line_of(text, '[class.rumour]')}"
    assert err.value.message.startswith("class.rumour: unknown class")
    text = SHIPPED + "\n[flag.has_personal_data]\npatterns = ['x']\n"
    with pytest.raises(ContentError, match=r"flag\.has_personal_data: unknown flag \(it is computed"):
        _load_edited(tmp_path, text)


def test_a_missing_class_is_named(tmp_path):
    text = SHIPPED[:SHIPPED.index("[class.suggestion]")] + SHIPPED[SHIPPED.index("# --- privacy"):]
    with pytest.raises(ContentError, match=r"class\.suggestion: is missing: add a \[class\.suggestion\]"):
        _load_edited(tmp_path, text)


def test_several_mistakes_report_the_first_and_count_the_rest(tmp_path):
    text = _insert_after(_insert_after(SHIPPED, "[class.praise]", "tone = 1"), "[class.help]", "mood = 2")
    with pytest.raises(ContentError) as err:
        _load_edited(tmp_path, text)
    assert err.value.where == f"content/opinions.toml:{_line_of(text, 'mood = 2')}"
    assert err.value.message.endswith("(and 1 more problem)")


def test_invalid_toml_and_a_missing_file(tmp_path):
    text = _insert_after(SHIPPED, "[class.help]", "weight = = 2")
    with pytest.raises(ContentError) as err:
        _load_edited(tmp_path, text)
    assert err.value.where == f"content/opinions.toml:{_line_of(text, 'weight = = 2')}"
    assert err.value.message.startswith("invalid TOML")
    empty = tmp_path / "elsewhere" / "content"
    empty.mkdir(parents=True)
    with pytest.raises(ContentError) as err:
        load_rules(empty)
    assert err.value.where == "content/opinions.toml" and "missing" in err.value.message
