"""An officer's day through the CLI: schedule changes, edits, bulk approval, what is held and
why, warnings when queueing, times in the account's zone — on a real config and database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import local_config

SHANGHAI = ZoneInfo("Asia/Shanghai")


def cron_in(delta: timedelta) -> str:
    """A daily cron line firing at now + delta (to the minute) in the account's zone."""
    at = (datetime.now(UTC) + delta).astimezone(SHANGHAI)
    return f"{at.minute} {at.hour} * * *"


def use_slots(ws, *crons: str, **kwargs) -> None:
    slots = ", ".join(f'{{ cron = "{c}" }}' for c in crons)
    (ws / "config.toml").write_text(local_config(slots=slots, require_approval=False, **kwargs),
                                    encoding="utf-8")


def slot_posts(cli) -> list[dict]:
    return [p for p in cli("queue", "list", "--json").json if p["kind"] == "slot"]


# --- a schedule change shows at once ---------------------------------------------------


def test_changed_slots_show_at_once_and_a_removed_slots_post_is_cancelled(workspace, cli):
    early, middle, late = (cron_in(timedelta(hours=h)) for h in (1, 2, 4))
    use_slots(workspace, middle, late)
    assert cli("run", "--once").code == 0
    before = slot_posts(cli)
    assert [p["status"] for p in before] == ["queued", "queued"]
    removed = before[0]  # the `middle` slot

    use_slots(workspace, early, late)  # `middle` removed, `early` added (before `late`)
    planned = cli("plan", "--days", "1", "--json").json
    assert [r["status"] for r in planned] == ["planned", "cancelled", "queued"], planned
    assert planned[1]["reason"] == "slot removed from config"

    assert cli("run", "--once").code == 0
    after = {p["id"]: p for p in slot_posts(cli)}
    assert after[removed["id"]]["status"] == "cancelled"
    assert after[removed["id"]]["last_error"] == "slot removed from config"
    shown = cli("queue", "show", str(removed["id"]), "--json").json
    assert shown["audit"][-1]["action"] == "queue_cancel"
    assert shown["audit"][-1]["reason"] == "slot removed from config"
    queued = sorted((p["scheduled_at"], p["status"]) for p in after.values()
                    if p["status"] == "queued")
    assert len(queued) == 2 and queued[0][0] < before[0]["scheduled_at"]

    use_slots(workspace, early, middle, late)  # put back: the slot is drawn again
    assert cli("run", "--once").code == 0
    assert len([p for p in slot_posts(cli) if p["status"] == "queued"]) == 3


@pytest.mark.slow
def test_a_minute_slot_added_to_a_running_daemons_config_publishes_after_a_restart(workspace,
                                                                                   cli):
    from tests.daemon_process import query, start_daemon, stop_daemon, wait_for

    use_slots(workspace, cron_in(timedelta(hours=3)))
    cli("queue", "list")  # creates the database
    proc = start_daemon(workspace)
    try:
        wait_for(lambda: query(workspace, "SELECT count(*) FROM posts")[0][0] == 1, 60,
                 "the daily slot to be materialised")
    finally:
        code, out = stop_daemon(proc)
    assert code == 0, out
    use_slots(workspace, cron_in(timedelta(hours=3)), "* * * * *")
    restarted = datetime.now(UTC)
    proc = start_daemon(workspace)
    try:
        wait_for(lambda: query(workspace, "SELECT count(*) FROM posts WHERE status = "
                                          "'published' AND kind = 'slot'")[0][0] >= 1,
                 120, "a minute slot to be published")
    finally:
        code, out = stop_daemon(proc)
    assert code == 0, out
    first = query(workspace, "SELECT min(published_at) FROM posts WHERE status = 'published'")
    assert datetime.fromisoformat(first[0][0]).replace(tzinfo=UTC) - restarted < timedelta(
        minutes=2)

