"""The reply part of the client contract, on every platform: a reply is found again where
replies live (reconciling a reply whose answer was lost)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.test_contract import (  # noqa: F401  (fixtures)
    Harness,
    _texts,
    fresh_text,
    harness,
    weibo_server,
)


def test_a_reply_is_found_again_by_its_target_and_text(harness: Harness) -> None:  # noqa: F811
    client = harness.client
    published = client.publish(fresh_text(harness.lang), idempotency_key=f"k-{next(_texts)}")
    harness.engage(published.remote_id, comment="请问这个怎么举报？" if harness.lang == "zh"
                   else "How do I report this?")
    theirs = [c for c in client.fetch_comments([published.remote_id], None) if not c.is_own]
    assert theirs
    target = client.reply_target(published.remote_id, theirs[0].remote_id)
    text = (f"感谢关注，可拨打96110咨询。{next(_texts)}" if harness.lang == "zh"
            else f"Thanks, call 110. {next(_texts)}")
    before = min(datetime.now(UTC), theirs[0].created_at) - timedelta(minutes=1)
    sent = client.reply(target, text, idempotency_key=f"r-{next(_texts)}")
    found = client.find_reply(target, text, before)
    assert found is not None and found.remote_id == sent.remote_id
    assert client.find_reply(target, text + "!", before) is None  # another text
