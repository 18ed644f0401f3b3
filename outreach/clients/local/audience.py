"""The local platform's simulated audience.

Each status draws, from a seed and its own id, how many reposts, comments and likes it
will gather (rates in the range of the origin article: about 19 reposts and 18 comments
a post) and when they arrive, along a saturating curve; its comments come from the
corpus below, by opinion class. Everything is a pure function of the seed, the status
and the clock, so the same inputs always give the same figures.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from outreach.clients.base import RemoteComment
from outreach.states import OpinionClass

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

# Comments of the simulated public, by opinion class (zh, en). Personal data in
# some of them is fictitious and exists to exercise redaction.
COMMENTS: dict[OpinionClass, tuple[tuple[str, ...], tuple[str, ...]]] = {
    OpinionClass.PRAISE: (
        ("说得太好了，转给爸妈看看", "感谢警察同志的提醒！", "很实用，已收藏", "点赞平安北京，每天都有干货",
         "这个提醒很及时，谢谢"),
        ("Thanks for the reminder!", "Really useful, shared with my parents.",
         "Great advice, thank you officers."),
    ),
    OpinionClass.INQUIRY: (
        ("请问96110可以直接打吗？要不要加区号？", "想问一下国家反诈中心App在哪里下载？",
         "如果已经转账了，多久之内报警还有用？", "电动车上牌需要带什么材料？"),
        ("How do I report a scam call?", "Is there a number for non-emergencies?",
         "Where can I get my bike marked?"),
    ),
    OpinionClass.HELP: (
        ("我刚刚被骗了2000块，现在该怎么办", "家里老人总接到陌生电话，怎么帮他设置拦截？",
         "孩子的游戏账号被盗了，能报案吗"),
        ("I think I just got scammed, what should I do now?",
         "My mum keeps getting these calls, how can I block them?"),
    ),
    OpinionClass.TIP: (
        ("举报：小区门口有人在发刷单兼职传单", "我们楼下有人冒充燃气公司上门收费，已经好几家了",
         "举报一个诈骗电话，自称是公安局的，号码是13812345678"),
        ("There's a van going door to door selling 'roof repairs' on Elm Street.",
         "Someone is handing out fake job flyers outside the station."),
    ),
    OpinionClass.COMPLAINT: (
        ("上周打110半天没人接，这个怎么解释", "路口那个红绿灯坏了一个月了也没人管",
         "报警以后一直没人回访，很失望"),
        ("Reported a break-in two weeks ago and heard nothing back.",
         "The traffic light at the junction has been broken for a month."),
    ),
    OpinionClass.SUGGESTION: (
        ("建议多发一些针对老年人的视频，文字太小了", "可以在社区里多搞几场反诈讲座",
         "建议把这些提示做成方言版"),
        ("Could you post these in other languages too?",
         "Maybe hold a talk at the community centre?"),
    ),
    OpinionClass.NEGATIVE: (
        ("天天发这些有什么用，骗子还是那么多", "说得容易，真遇到了根本来不及反应",
         "又是老生常谈"),
        ("Posting tips won't stop the scammers.", "Same advice every week, not helpful."),
    ),
    OpinionClass.CHATTER: (
        ("来了来了", "第一", "哈哈哈哈", "转发", "路过"),
        ("First!", "lol", "Nice."),
    ),
    OpinionClass.SPAM_ABUSE: (
        ("加V看福利 vx8888", "兼职日结，私聊我，无需押金", "关注我互粉"),
        ("Follow me for crypto gains!!!", "Click my profile for free money"),
    ),
    OpinionClass.EMERGENCY: (
        ("救命，有人在砸我家门，地址是朝阳区某小区3号楼", "我朋友说要跳楼，现在在天台上，怎么办"),
        ("Help, someone is trying to break into my flat right now!",
         "My friend says he wants to end his life, he is on the bridge now"),
    ),
}
CLASS_WEIGHTS: dict[OpinionClass, int] = {
    OpinionClass.PRAISE: 30, OpinionClass.INQUIRY: 16, OpinionClass.CHATTER: 18,
    OpinionClass.SUGGESTION: 7, OpinionClass.NEGATIVE: 8, OpinionClass.COMPLAINT: 6,
    OpinionClass.HELP: 6, OpinionClass.TIP: 5, OpinionClass.SPAM_ABUSE: 3,
    OpinionClass.EMERGENCY: 1,
}


# How much more a status with a picture is reposted and liked than one without. Published
# figures are Twitter's, not Weibo's, and larger: Stone Temple Consulting's study of two
# million tweets (reported by IANS, 19 Dec 2014, e.g. business-standard.com/amp/article/
# news-ians/tweets-with-images-hashtags-get-more-re-tweets-114121900272_1.html) found 68 %
# of tweets with media retweeted against 30 % of text-only ones, and 74 % against 38 %
# favourited; HubSpot's 2013 sample of 400,000 tweets, "94 % more likely to be retweeted".
# Those are shares of tweets retweeted at least once, across brands, not controlled for
# content, so they overstate what one picture adds to one account's safety tip: the
# simulation takes a deliberately smaller 1.5 for reposts and likes, and leaves comments
# alone (no source above measures replies).
PICTURE_BOOST = 1.5


@dataclass(frozen=True)
class Audience:
    """What one status will gather, and how fast (a saturating curve)."""

    reposts: int
    comments: int
    likes: int
    followers_gain: int
    tau_hours: float

    def share(self, age: timedelta) -> float:
        """The part of it gathered at ``age``."""
        hours = max(age.total_seconds() / 3600, 0.0)
        return 1 - math.exp(-hours / self.tau_hours)


def draw_audience(seed: int, account: str, status_id: int, pictures: int = 0) -> Audience:
    """The audience status ``status_id`` of ``account`` will have (reposted and liked
    ``PICTURE_BOOST`` times more when it carries a picture)."""
    rng = random.Random(f"{seed}:{account}:{status_id}")
    appeal = rng.lognormvariate(0, 0.6)  # some tips travel further than others
    boost = PICTURE_BOOST if pictures else 1.0
    return Audience(
        reposts=round(16 * appeal * boost),
        comments=round(15 * appeal),
        likes=round(55 * appeal * boost),
        followers_gain=round(25 * appeal),
        tau_hours=rng.uniform(3, 18),
    )


def comment_id(at: datetime, status_id: int, n: int) -> str:
    """A comment id that sorts by arrival: milliseconds since EPOCH, the status, a number."""
    ms = int((at - EPOCH).total_seconds() * 1000)
    return f"{ms:014d}{status_id % 1_000_000:06d}{n:04d}"


def all_comments(seed: int, account: str, zh: bool, status_id: int, created: datetime,
                 aud: Audience) -> list[RemoteComment]:
    """Every comment a status will ever get, in arrival order."""
    rng = random.Random(f"{seed}:{account}:{status_id}:comments")
    classes = list(CLASS_WEIGHTS)
    weights = list(CLASS_WEIGHTS.values())
    out = []
    for n in range(aud.comments):
        # the n-th comment arrives when the curve reaches (n + 0.5) / total
        share = (n + 0.5) / aud.comments
        at = created + timedelta(hours=-aud.tau_hours * math.log(1 - share))
        klass = rng.choices(classes, weights)[0]
        pool = COMMENTS[klass][0 if zh else 1]
        text = pool[rng.randrange(len(pool))]
        cid = comment_id(at, status_id, n)
        out.append(RemoteComment(
            remote_id=cid, post_remote_id=str(status_id),
            author=f"{'网友' if zh else 'user'}{rng.randrange(10_000, 99_999)}",
            text=text, url=f"local://{account}/status/{status_id}#c{cid}",
            created_at=at))
    return out
