"""find_reply: a reply whose answer was lost is found where replies live (Mastodon: the
context of the status it answers), so reconciling never sends it twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import respx

from outreach.clients.mastodon.client import MastodonClient
from tests.test_mastodon_client import (  # noqa: F401  (fixtures)
    API,
    NOW,
    account_json,
    api,
    client,
    clock,
    http,
    make_client,
    status_json,
)

TARGET = "109400000000000777"
ANSWER = "Thanks, please call 110 if it happens again."


def context(*descendants: dict[str, Any]) -> dict[str, Any]:
    return {"ancestors": [], "descendants": list(descendants)}


def test_our_reply_is_found_in_the_context_of_the_status_it_answers(
    client: MastodonClient, api: respx.MockRouter  # noqa: F811
) -> None:
    stranger = account_json("109000000000000042", "citizen")
    api.get(f"{API}/api/v1/statuses/{TARGET}/context").respond(200, json=context(
        status_json("109400000000000800", ANSWER, account=stranger, in_reply_to_id=TARGET,
                    created_at="2026-11-28T07:59:30.000Z"),  # the same words, someone else's
        status_json("109400000000000801", ANSWER, in_reply_to_id="109400000000000999",
                    created_at="2026-11-28T07:59:40.000Z"),  # ours, but to another status
        status_json("109400000000000802", ANSWER, in_reply_to_id=TARGET,
                    created_at="2026-11-28T07:59:50.000Z",
                    content=f'<p><span class="h-card"><a href="{API}/@citizen">@<span>citizen'
                            f'</span></a></span> {ANSWER}</p>'),
    ))
    found = client.find_reply(TARGET, ANSWER, NOW - timedelta(minutes=2))
    assert found is not None and found.remote_id == "109400000000000802"
    assert client.find_reply(TARGET, "Another answer entirely.", NOW - timedelta(minutes=2)) is None
    assert client.find_reply(TARGET, ANSWER, NOW + timedelta(minutes=5)) is None  # too old


def test_a_status_that_is_gone_has_no_reply(
    client: MastodonClient, api: respx.MockRouter  # noqa: F811
) -> None:
    api.get(f"{API}/api/v1/statuses/{TARGET}/context").respond(
        404, json={"error": "Record not found"})
    assert client.find_reply(TARGET, ANSWER, NOW) is None
