"""`content check`, `content list --stats` and `content stale`: the library's governance
(stock replies included: :func:`outreach.library.replies.check_replies`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from outreach.config.settings import AccountSettings
from outreach.errors import ContentError
from outreach.i18n import _
from outreach.library.media import ImageChecker
from outreach.library.model import Library, Problem, TipDef
from outreach.library.replies import check_replies
from outreach.library.texts import render_tip, text_problems
from outreach.schedule.cron import never_fires

if TYPE_CHECKING:
    from outreach.runtime import Runtime


def check_library(rt: Runtime) -> list[Problem]:
    """Every problem in the library: loading errors, and every tip rendered for every
    account of its language by that platform's rules. Past review_by is a warning."""
    lib: Library = rt.library
    problems = list(lib.problems)
    today = rt.clock().astimezone(rt.settings.timezone).date()
    accounts = list(rt.settings.accounts.values())
    seen: set[tuple[str, str]] = set()
    pictures = ImageChecker(lib.root)
    for tip in sorted(lib.tips.values(), key=lambda t: (t.file, t.line)):
        if tip.review_by is not None and tip.review_by < today:
            problems.append(Problem(tip.file, tip.line, tip.id,
                                    _("review_by {review_by} has passed").format(
                                        review_by=tip.review_by), "warning"))
        if tip.id in lib.broken_tips:
            continue
        if tip.has_images:
            problems.extend(_image_problems(rt, tip, accounts, pictures))
        for account in accounts:
            if account.lang != tip.lang or account.platform in lib.broken_templates:
                continue  # a broken platform template is reported once, by its own line
            client = rt.client(account)
            for variant in range(len(tip.texts)):
                label = "text" if variant == 0 else f"variant {variant}"
                try:
                    text = render_tip(lib, tip, variant, account)
                except ContentError as exc:
                    msg = f"{label}: {exc.message}"
                    if (tip.id, msg) not in seen:
                        seen.add((tip.id, msg))
                        problems.append(Problem(tip.file, tip.line, tip.id, msg))
                    continue
                for p in text_problems(text, client, lib):
                    if p == lib.blocklist_error:
                        continue  # reported once, on blocklist.txt itself
                    msg = f"{label} on {account.name} ({account.platform}): {p}"
                    problems.append(Problem(tip.file, tip.line, tip.id, msg))
    for account in accounts:
        if not any(t.lang == account.lang for t in lib.tips.values()):
            problems.append(Problem("config.toml", 0, "", _("account {name!r} posts in {lang} but the "
                                                            "library has no {lang} tips").format(
                name=account.name, lang=account.lang),
                                    "warning"))
        problems.extend(Problem("config.toml", 0, "", w, "warning") for w in dead_slots(account))
        for slot in account.slots:
            for code in slot.categories:
                if code not in lib.categories:
                    problems.append(Problem("config.toml", 0, "",
                                            _("account {name!r}: slot category {code!r} is not in "
                                              "categories.toml").format(
                                                name=account.name, code=code)))
    problems.extend(check_replies(rt))
    return sorted(set(problems), key=lambda p: (p.file, p.line, p.tip_id, p.message))


def _image_problems(rt: Runtime, tip: TipDef, accounts: list[AccountSettings],
                    pictures: ImageChecker) -> list[Problem]:
    """A tip's pictures: each file readable and an image (an error whatever the accounts),
    fit for every account of its language (an error), not more than the platform takes a
    post (a warning: the tip is never drawn for that account)."""
    out: set[Problem] = set()
    for variant in range(len(tip.texts)):
        label = "" if variant == 0 else f"variant {variant}: "
        for image in tip.images_for(variant):
            _data, problem = pictures.read(image)
            if problem:
                out.add(Problem(tip.file, tip.line, tip.id, _("image {problem}").format(problem=problem)))
        if any(p.severity == "error" for p in out):
            continue
        for account in accounts:
            if account.lang != tip.lang:
                continue
            images = tip.images_for(variant)
            limits = rt.client(account).media_limits()
            if len(images) > limits.max_count:
                out.add(Problem(tip.file, tip.line, tip.id, (
                    _("{label}{images} pictures, and {platform} takes at most {max_count} a post: never "
                      "drawn for {name}").format(
                        label=label, images=len(images), platform=account.platform,
                        max_count=limits.max_count, name=account.name)), "warning"))
                continue
            for image in images:
                problem = pictures.problem(image, limits, account.platform)
                if problem:
                    out.add(Problem(tip.file, tip.line, tip.id,
                                    _("{label}image {file} on {name}: {problem}").format(
                                        label=label, file=image.file, name=account.name, problem=problem)))
    return sorted(out, key=lambda p: p.message)


def dead_slots(account: AccountSettings) -> list[str]:
    """A warning for each of the account's slots whose cron names no day that exists."""
    return [f"account {account.name!r}: slots[{i}] cron {slot.cron!r} never fires "
            "(no month has that day)" for i, slot in enumerate(account.slots)
            if never_fires(slot.cron)]


def library_stats(lib: Library) -> dict[str, Any]:
    per: dict[str, dict[str, int]] = {code: {"zh": 0, "en": 0} for code in lib.categories}
    for tip in lib.tips.values():
        per.setdefault(tip.category, {"zh": 0, "en": 0})[tip.lang] += 1
    months: dict[int, list[str]] = defaultdict(list)
    year = date.today().year
    for c in lib.campaigns:
        for y in (year - 1, year):
            try:
                start, end = c.window(y)
            except ValueError:
                continue
            d = start
            while d <= end:
                if d.year == year and c.id not in months[d.month]:
                    months[d.month].append(c.id)
                d += timedelta(days=1)
    totals = {"zh": sum(v["zh"] for v in per.values()), "en": sum(v["en"] for v in per.values())}
    return {
        "categories": [
            {"code": code, "zh_name": lib.categories[code].zh if code in lib.categories else "",
             "en_name": lib.categories[code].en if code in lib.categories else "",
             "zh": n["zh"], "en": n["en"]}
            for code, n in sorted(per.items())
        ],
        "totals": totals,
        "variants": sum(len(t.variants) for t in lib.tips.values()),
        "campaign_months": {str(m): months.get(m, []) for m in range(1, 13)},
        "months_without_campaign": [m for m in range(1, 13) if not months.get(m)],
        "empty_categories": [code for code, n in per.items() if n["zh"] + n["en"] == 0],
    }


def stale_tips(rt: Runtime, *, within_days: int = 30) -> list[dict[str, Any]]:
    today = rt.clock().astimezone(rt.settings.timezone).date()
    horizon = today + timedelta(days=within_days)
    rows = []
    for tip in rt.library.tips.values():
        if tip.review_by is None or tip.review_by > horizon:
            continue
        rows.append({"id": tip.id, "category": tip.category, "lang": tip.lang,
                     "review_by": tip.review_by, "days_left": (tip.review_by - today).days,
                     "overdue": tip.review_by < today, "source": tip.source,
                     "file": f"{tip.file}:{tip.line}"})
    rows.sort(key=lambda r: (r["review_by"], r["id"]))
    return rows
