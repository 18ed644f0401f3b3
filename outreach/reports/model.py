"""The report as a typed model: what ``build_report`` returns and every format renders.

Fields are declared in the order the JSON shows them, so ``Report.to_dict()`` is the JSON of
``outreach report --json`` key for key. Instants stay ISO 8601 strings in UTC and days
``YYYY-MM-DD`` strings, as the JSON writes them; ``schemas/report.schema.json`` is generated
from these classes (``outreach.reports.schema``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from outreach.states import PostStatus

Instant = Annotated[str, Field(pattern=r"\+00:00$", json_schema_extra={"format": "date-time"})]
Day = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"})]
Name = Annotated[str, Field(min_length=1)]
Count = Annotated[int, Field(ge=0)]
Weekday = Annotated[int, Field(ge=0, le=6)]
Hour = Annotated[int, Field(ge=0, le=23)]
# a figure that is an integer when whole (reply deadlines: 24, 1.5)
Hours = int | float
Lang = Literal["zh", "en"]
PeriodKind = Literal["day", "week", "month", "custom"]
Partial = Literal["reposts", "comments", "likes", "followers"]
SectionKey = Literal["overview", "interaction", "opinions", "content", "compliance", "notes"]
CommentFigure = Literal["received", "on_period_posts", "collected"]
SheetName = Annotated[str, Field(min_length=1, max_length=31, pattern=r"^[^\[\]:*?/\\]+$")]
DISPLAY_NAME = "config display_name, else the name"


class Part(BaseModel):
    """A closed record: no key beyond those declared."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ReportPeriod(Part):
    """A period's bounds (UTC), days (in its zone) and label."""

    start: Instant
    end: Instant
    timezone: str
    first_day: Day
    last_day: Day
    days: int = Field(ge=1)
    kind: PeriodKind
    label: str


class Figures(Part):
    """Posts, engagement, followers and the rates drawn from them (an account or the total)."""

    posts: Count
    reposts: int | None
    comments: int | None
    likes: int | None
    followers_start: int | None
    followers_end: int | None
    follower_change: int | None
    partial: list[Partial]
    bci: float
    bci_likes_unknown: bool
    posts_per_day: float | None
    avg_reposts: float | None
    avg_comments: float | None
    avg_likes: float | None
    repost_rate: float | None
    comment_rate: float | None
    like_rate: float | None


class Platform(Part):
    platform: str
    simulated: bool


class Totals(Figures, Platform):
    """The figures of every account together (platform: their platforms, comma-separated)."""


class Who(Part):
    name: Name
    display_name: Name = Field(description=DISPLAY_NAME)
    platform: str
    simulated: bool
    timezone: str


class BestTime(Part):
    weekday: Weekday
    hour: Hour
    posts: int = Field(ge=1)
    per_post: float


class PreviousAccount(Figures, Who):
    """An account's figures in the previous period."""


class Account(Figures, Who):
    best_times: list[BestTime] = Field(max_length=3)


class TopPost(Part):
    id: int
    account: str
    published_at: Instant
    category: str | None
    tip_id: str | None
    text: str
    url: str | None
    status: Literal[PostStatus.PUBLISHED, PostStatus.RETRACTED]
    reposts: int | None
    comments: int | None
    likes: int | None
    engagement: int
    category_name: str = Field(
        description="the category's name in the report's language (categories.toml), "
        "else its code, else 未分类/Uncategorised")
    pictures: Count = Field(default=0, description="how many pictures the post carried")
    picture_alt: str | None = Field(default=None,
                                    description="the alt text of its first picture")
    thumbnail: str | None = Field(default=None, exclude=True)  # HTML only: a data: URI


class Category(Part):
    code: str | None
    name: str
    name_zh: str
    name_en: str
    posts: Count
    reposts: int | None
    comments: int | None
    likes: int | None
    partial: list[Partial]
    avg_reposts: float | None
    avg_comments: float | None
    avg_likes: float | None
    posts_with_pictures: Count = Field(
        default=0, description="of ``posts``, those that carried at least one picture")
    per_post_with_pictures: float | None = Field(
        default=None, description="engagement (reposts + comments + likes) per post with "
        "pictures published in the period; null when there were none")
    per_post_without_pictures: float | None = Field(
        default=None, description="the same for the posts without pictures")


class HourCell(Part):
    account: str
    weekday: Weekday
    hour: Hour
    posts: int = Field(ge=1)
    reposts: int
    comments: int
    likes: int | None
    engagement: int
    per_post: float


class FollowerPoint(Part):
    date: Day
    accounts: dict[str, int | None]
    total: int | None


class Replies(Part):
    """How the comments that wanted a reply were answered (a class's, or all of them)."""

    needs_reply: Count
    replied: Count
    reply_rate: float | None
    median_reply_hours: float | None
    overdue_unanswered: Count
    late_replies: Count
    handled: Count  # replied, handed over or closed
    handled_rate: float | None
    handled_in_time: Count  # handled within the class's deadline (by the first of these)


class _ClassCount(Part):
    class_: str = Field(alias="class")
    name: str
    count: Count
    share: float | None


class _Deadline(Part):
    deadline_hours: Hours | None


class ClassTally(_Deadline, Replies, _ClassCount):
    """The comments of one opinion class and how they were answered."""


class Emergency(Part):
    id: int
    account: str
    post_id: int | None
    created_at: Instant
    text: str | None
    url: str | None
    replied_at: Instant | None


class _Comments(Part):
    total: Count
    by_class: list[ClassTally]
    emergencies: Count
    emergency_items: list[Emergency]


class _Deadlines(Part):
    deadlines_hours: dict[str, Hours]
    as_of: Instant


class Concern(Part):
    """A word the public's comments keep using: in how many comments of the period, of the
    previous period, and the change."""

    word: Name
    count: Count
    previous: Count
    change: int


class ClassConcerns(Part):
    class_: str = Field(alias="class")
    name: str
    comments: Count
    concerns: list[Concern]


class Place(Part):
    place: Name
    count: Count
    previous: Count
    change: int


class Example(Part):
    """A comment quoted as an example of a concern (as stored: redacted)."""

    id: int
    word: str
    class_: str = Field(alias="class")
    created_at: Instant
    text: str


class Analysis(Part):
    """民意分析: what the period's comments talk about. Words from the redacted texts (jieba for
    Chinese, a plain tokenizer for English, content/stopwords.txt left out), counted once per
    comment; places from content/places.txt; spam and abuse left out of the concerns."""

    comments: Count = Field(description="comments of the period with a text to read")
    previous_comments: Count
    keywords: list[Concern]
    by_class: list[ClassConcerns]
    places: list[Place]
    examples: list[Example]


class Opinions(_Deadlines, Replies, _Comments):
    """The public's comments of the period by class, and how they were answered."""

    analysis: Analysis


class ComplianceAccount(Part):
    account: str
    display_name: Name
    longest_gap_days: float
    gap_from: Instant
    gap_to: Instant
    warning: bool
    failed: Count
    missed: Count
    retracted: Count
    drafts_waiting: Count


class Compliance(Part):
    gap_warning_days: int
    accounts: list[ComplianceAccount]
    longest_gap_days: float
    failed: Count
    missed: Count
    retracted: Count
    drafts_waiting: Count
    warnings: list[str]


class CommentDefinition(Part):
    key: CommentFigure
    label: Name
    definition: Name
    value: int | None
    headline: bool


class CommentCounts(Part):
    """Each comment figure with its one definition. received: the rise of the platform's
    comment counts over the period (the headline's figure); on_period_posts: the lifetime
    counts of the period's posts; collected: the public's comments made in the period that
    were read and classified (the opinions section's total)."""

    received: int | None
    on_period_posts: int | None
    collected: Count
    definitions: list[CommentDefinition] = Field(min_length=3, max_length=3)


class UnconfiguredAccount(Part):
    name: Name
    display_name: Name
    platform: str


class Table(Part):
    key: str = Field(pattern=r"^[a-z_]+$")
    title: Name
    sheet: SheetName


class Section(Part):
    key: SectionKey
    title: Name
    tables: list[Table]


class Previous(Part):
    period: ReportPeriod
    accounts: list[PreviousAccount]
    totals: Totals


class Headline(Part):
    zh: str
    en: str


class Report(Part):
    """The JSON of `outreach report --format json`: an engagement and public-opinion report
    over one period. Instants are ISO 8601 in UTC; ids are integers; a count a platform does
    not provide is null, never 0."""

    model_config = ConfigDict(title="outreach report")

    title: str
    department: str = Field(description="[report] department from config.toml (the header of "
                            "every format); empty when not set")
    lang: Lang
    generated_at: Instant
    period: ReportPeriod
    simulated: bool = Field(
        description="true when any account's audience is simulated (the local platform)")
    simulated_accounts: list[str]
    lifetime: bool
    accounts: list[Account]
    totals: Totals
    previous: Previous
    top_posts: list[TopPost]
    categories: list[Category]
    hours: list[HourCell]
    followers: list[FollowerPoint]
    opinions: Opinions
    compliance: Compliance
    headline: Headline
    comment_counts: CommentCounts
    unconfigured_accounts: list[UnconfiguredAccount] = Field(
        description="Accounts with no token that never published: left out of every table and "
        "of the compliance checks, listed here once")
    sections: list[Section] = Field(
        description="The report's sections in the order every format shows them; each table "
        "is the CSV file KEY.csv (with -o DIR/) and the xlsx sheet SHEET")
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The report as the JSON gives it: plain values, keys in the JSON's order."""
        return self.model_dump(mode="json", by_alias=True)
