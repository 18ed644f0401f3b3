"""The matrix report as a typed model: what ``build_matrix`` returns and every format renders.

Fields are declared in the order the JSON shows them; ``schemas/matrix.schema.json`` is
generated from these classes (:func:`matrix_schema`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field

from outreach.reports.model import Count, Instant, Lang, Name, Part, ReportPeriod

RANKED_BY = ("bci", "posts", "engagement", "reply_rate", "median_reply_hours",
             "days_without_post")
"""The figures each account is ranked on; the ranking's order is the first (BCI)."""


class Ranks(Part):
    """An account's place on each figure (1 = best; equal figures share a place; a figure
    nobody could have, such as a reply rate with nothing to reply to, has no place)."""

    bci: int = Field(ge=1)
    posts: int = Field(ge=1)
    engagement: int = Field(ge=1)
    reply_rate: int | None = Field(ge=1)
    median_reply_hours: int | None = Field(ge=1)
    days_without_post: int = Field(ge=1)


class MatrixFigures(Part):
    """Posts, engagement, BCI, replies and compliance (an account's, or the group's)."""

    posts: Count
    reposts: int | None
    comments: int | None
    likes: int | None
    engagement: int = Field(description="reposts + comments + likes, the known ones")
    bci: float
    followers_end: int | None
    follower_change: int | None
    needs_reply: Count
    replied: Count
    reply_rate: float | None
    median_reply_hours: float | None
    days_without_post: Count = Field(description="days of the period so far (in the "
                                     "period's zone) with no post published")
    longest_gap_days: float
    gap_warning: bool = Field(description="longest gap ≥ gap_warning_days (国办秘函〔2019〕19号)")


class MatrixAccount(MatrixFigures):
    rank: int = Field(ge=1, description="by BCI, 1 = highest; equal BCIs share a place")
    previous_rank: int = Field(ge=1)
    rank_change: int = Field(description="previous_rank - rank: up is positive")
    name: Name
    display_name: Name
    platform: str
    simulated: bool
    previous_bci: float
    previous_posts: Count
    ranks: Ranks


class MatrixTotals(MatrixFigures):
    """The group's figures: sums, and the BCI of the sums; ``average_bci`` the accounts' mean.
    ``days_without_post`` is the accounts' sum, ``longest_gap_days`` the longest of any."""

    accounts: Count
    average_bci: float
    accounts_with_gap_warning: Count
    previous_posts: Count
    previous_engagement: int
    previous_bci: float


class Laggard(Part):
    """An account named for the group's attention, with every reason why."""

    name: Name
    display_name: Name
    rank: int = Field(ge=1)
    reasons: list[str] = Field(min_length=1)


class MatrixReport(Part):
    """The JSON of `outreach report --matrix @group --format json`: the accounts of a group
    ranked against each other over one period, with each account's rank in the previous
    period, the group's totals and the laggards named."""

    model_config = ConfigDict(title="outreach matrix report")

    title: str
    department: str
    lang: Lang
    group: Name = Field(description="the group reported on, as written (@guangdong)")
    generated_at: Instant
    period: ReportPeriod
    previous_period: ReportPeriod
    simulated: bool
    simulated_accounts: list[str]
    lifetime: bool
    gap_warning_days: int
    ranked_by: list[str]
    accounts: list[MatrixAccount]
    totals: MatrixTotals
    laggards: list[Laggard]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


MATRIX_SCHEMA_ID = "https://outreach.invalid/schemas/matrix.schema.json"
MATRIX_SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "matrix.schema.json"


def matrix_schema_text() -> str:
    """The matrix report's JSON Schema as the committed file holds it (the report's
    generator: no titles but the report's own, nullable plain values as ``[T, "null"]``)."""
    from outreach.reports.schema import _Generator

    schema = MatrixReport.model_json_schema(by_alias=True, schema_generator=_Generator,
                                            mode="serialization")
    schema["$id"] = MATRIX_SCHEMA_ID
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def write_matrix_schema(path: Path = MATRIX_SCHEMA_FILE) -> None:
    path.write_text(matrix_schema_text(), encoding="utf-8")
