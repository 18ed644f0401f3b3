"""Personal data in the public's comments is redacted however it is written.

``fixtures/redaction_corpus.jsonl`` holds phones, IDs, cards and e-mails written to get past
a filter (separators, zero-width characters, circled or mathematical digits, a wrong check
digit, Unicode e-mail names and domains, an author name that is a phone number) and
look-alikes that must stay as written (dates, prices, order and tracking numbers, times,
hotlines, years, versions). Each row: ``expect`` (redacted | kept), ``field`` (text |
author), ``text``, ``secret`` (what must not survive) and a ``note``.

The end-to-end test publishes on the fake Weibo server, has the public comment with the
whole corpus, runs ``metrics collect`` on a real database and reads the comments back from
the database, ``opinions --json`` and every report format; only the alert command gets the
original text.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import unicodedata
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from outreach.opinions.redact import has_personal_data, redact
from tests.conftest import DATABASE_URL, PG_URL, Result
from tests.weibo_server import WeiboServer

Cli = Callable[..., Result]
CORPUS_FILE = Path(__file__).parent / "fixtures" / "redaction_corpus.jsonl"
CORPUS: list[dict[str, Any]] = [json.loads(line) for line in
                                CORPUS_FILE.read_text("utf-8").splitlines() if line.strip()]
VARIANTS = [r for r in CORPUS if r["expect"] == "redacted"]
LOOKALIKES = [r for r in CORPUS if r["expect"] == "kept"]
TOKEN = "redaction-weibo-token"
EMERGENCY = "救命！有人持刀抢劫，"


def _flat(text: str) -> str:
    """What a reader recovers: NFKC, format characters and marks gone, digits as ASCII."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Cf", "Mn", "Me"):
            continue
        out.append(str(unicodedata.decimal(ch)) if cat == "Nd" else
                   unicodedata.normalize("NFKC", ch))
    return "".join(out)


def leaks(stored: str, secret: str) -> bool:
    """True if ``secret`` can still be read from ``stored`` (digits across any separator)."""
    flat = _flat(stored)
    if secret in flat:
        return True
    digits = re.sub(r"[^0-9xX]", "", secret)
    return len(digits) >= 6 and digits == secret and digits in re.sub(r"[^0-9xX]", "", flat)


def test_the_corpus_is_large_enough() -> None:
    assert len(VARIANTS) >= 60 and len(LOOKALIKES) >= 30
    assert len({r["text"] for r in CORPUS}) == len(CORPUS)
    kinds = {r["kind"] for r in VARIANTS}
    assert kinds == {"mobile", "landline", "id", "card", "email"}
    assert any(r["field"] == "author" for r in VARIANTS)
    assert any(r["field"] == "author" for r in LOOKALIKES)


@pytest.mark.parametrize("row", VARIANTS, ids=[f"{r['kind']}-{r['note']}" for r in VARIANTS])
def test_every_variant_is_redacted(row: dict[str, Any]) -> None:
    text, changed = redact(row["text"], row["field"] == "author")
    assert changed, row
    assert not leaks(text, row["secret"]), text
    assert has_personal_data(row["text"]) and has_personal_data(text)


@pytest.mark.parametrize("row", LOOKALIKES, ids=[r["note"] for r in LOOKALIKES])
def test_every_lookalike_is_kept(row: dict[str, Any]) -> None:
    author = row["field"] == "author"
    assert redact(row["text"], author) == (row["text"], False)
    if not author:
        assert not has_personal_data(row["text"])


# --- end to end: the fake Weibo server, a real database, every output -------------------------


@pytest.fixture(scope="module")
def weibo_server() -> Iterator[WeiboServer]:
    with WeiboServer(token=TOKEN, user_limit=0) as server:
        yield server


def _comments() -> list[dict[str, str]]:
    """One comment a corpus row; text rows also come back once as an emergency."""
    comments = []
    for i, row in enumerate(CORPUS):
        if row["field"] == "author":
            comments.append({"author": row["text"], "text": f"第{i}条：谢谢提醒"})
        else:
            comments.append({"author": f"网友{i}", "text": row["text"]})
    for i, row in enumerate(VARIANTS):
        if row["field"] == "text":
            comments.append({"author": f"求助{i}", "text": EMERGENCY + row["text"]})
    return comments


def _stored_comments(workspace: Path) -> list[tuple[str, str]]:
    """(author, text) of every comment row, read from the database itself."""
    if PG_URL:
        engine = sa.create_engine(PG_URL)
        with engine.connect() as pg:
            rows = pg.execute(sa.text("SELECT author, text FROM comments")).all()
        engine.dispose()
        return [(r[0] or "", r[1] or "") for r in rows]
    conn = sqlite3.connect(workspace / "outreach.db")
    try:
        return [(a or "", t or "") for a, t in conn.execute("SELECT author, text FROM comments")]
    finally:
        conn.close()


def test_redaction_end_to_end(workspace: Path, cli: Cli, weibo_server: WeiboServer,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    weibo_server.reset()
    monkeypatch.setenv("OUTREACH_REDACTION_WEIBO_TOKEN", TOKEN)
    alert_log = workspace / "alerts.jsonl"
    script = workspace / "alert.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a', encoding='utf-8').write("
                      "sys.stdin.read().replace('\\n', ' ') + '\\n')\n", encoding="utf-8")
    (workspace / "config.toml").write_text(f"""\
[outreach]
database = "{DATABASE_URL}"
content_dir = "content"
data_dir = "data"

[accounts.wb]
platform = "weibo"
api_base = "{weibo_server.url}"
token_env = "OUTREACH_REDACTION_WEIBO_TOKEN"
share_url = "https://example.gov.cn/safety"
rip = "203.0.113.7"
lang = "zh"

[policy]
require_approval = false
min_gap_minutes = 0

[opinions]
alert_command = "{sys.executable} {script} {alert_log}"
""", encoding="utf-8")
    r = cli("queue", "add", "--account", "wb", "--text", "陌生来电要求转账，先挂断再核实。", "--json")
    assert r.code == 0, r.err
    assert cli("run", "--once").code == 0
    [status] = weibo_server.statuses()
    comments = _comments()
    weibo_server.engage(status["idstr"], comments=comments)
    r = cli("metrics", "collect", "--json")
    assert r.code == 0, r.err
    assert r.json["comments_stored"] == len(comments)

    stored = _stored_comments(workspace)
    assert len(stored) == len(comments)
    r = cli("opinions", "--json")
    assert r.code == 0, r.err
    listed = [(row["author"] or "", row["text"] or "") for row in r.json]
    assert len(listed) == len(comments)
    outputs = {"database": stored, "opinions --json": listed}
    for where, rows in outputs.items():
        authors = {a for a, _ in rows}
        texts = [t for _, t in rows]
        blob = "\n".join(a + "\t" + t for a, t in rows)
        for row in VARIANTS:
            assert not leaks(blob, row["secret"]), (where, row["note"], row["secret"])
        for row in LOOKALIKES:  # stored as written
            assert row["text"] in (authors if row["field"] == "author" else texts), (where, row)
        kept = {r["text"] for r in LOOKALIKES if r["field"] == "author"}
        assert all(a.startswith(("网友", "求助")) or a in kept or a in ("[phone]", "[id]")
                   for a in authors), (where, authors)

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    since, until = (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()
    reports = {}
    for fmt in ("json", "md", "html", "csv"):
        r = cli("report", "--format", fmt, "--since", since, "--until", until)
        assert r.code == 0, (fmt, r.err)
        reports[fmt] = r.out
    assert json.loads(reports["json"])["opinions"]["emergency_items"], "no emergency listed"
    for fmt, out in reports.items():
        for row in VARIANTS:
            assert not leaks(out, row["secret"]), (fmt, row["note"])

    # the responder alone gets what the person wrote, phone number included
    alerts = [json.loads(line) for line in alert_log.read_text("utf-8").splitlines()]
    alerted = {a["text"] for a in alerts}
    for row in VARIANTS:
        if row["field"] == "text":
            assert EMERGENCY + row["text"] in alerted, row["note"]
