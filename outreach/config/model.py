"""The shape of config.toml as pydantic models: which keys each table has and their types
and bounds. What the values mean (a cron that parses, a zone that exists, a platform's own
rules) is checked by :mod:`outreach.config.load` once the shape is right."""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, create_model

from outreach.config.describe import type_name
from outreach.config.toml import Shape
from outreach.i18n import _

Lang = Literal["zh", "en"]


def _scalar_option(value: Any) -> Any:
    """A platform option is a string, an integer or a boolean."""
    if not isinstance(value, str | int | bool):
        raise ValueError(_("expected a string, got {value}").format(value=type_name(value)))
    return value


Option = Annotated[Any, BeforeValidator(_scalar_option)]


class OutreachShape(Shape):
    database: str = "sqlite:///outreach.db"
    timezone: str = "Asia/Shanghai"
    content_dir: str = "content"
    data_dir: str = "data"
    media_dir: str | None = None  # the media store; default: beside a SQLite file, else data_dir
    request_deadline_seconds: int = Field(default=60, ge=1, le=3600)


class SlotShape(Shape):
    cron: str
    categories: list[Annotated[str, Field(min_length=1)]] = []


class AccountShape(Shape):
    """The keys every account has; a platform's own keys are added by :func:`account_shape`."""

    platform: str
    api_base: str | None = None
    token_env: str | None = None
    lang: Lang = "zh"
    timezone: str | None = None
    max_length: int | None = Field(default=None, gt=0)
    vars: dict[str, Any] = {}
    slots: list[SlotShape] = []
    display_name: str = ""
    allow_insecure_http: bool = False


@functools.cache
def account_shape(platform: str, config_keys: frozenset[str]) -> type[AccountShape]:
    """The account shape of one platform: the common keys and the platform's ``config_keys``."""
    fields: dict[str, Any] = {key: (Option, None) for key in sorted(config_keys)}
    return create_model(f"{platform.title()}AccountShape", __base__=AccountShape, **fields)


class PolicyShape(Shape):
    require_approval: bool = True
    allow_self_approval: bool = False
    lease_seconds: int = Field(default=60, ge=5, le=3600)
    cooldown_days: int = Field(default=30, ge=0, le=3650)
    catch_up_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    min_gap_minutes: int = Field(default=30, ge=0, le=24 * 60)
    max_attempts: int = Field(default=5, ge=1, le=100)
    materialise_hours: int = Field(default=24, ge=1, le=24 * 31)
    quiet_hours: str = ""
    blackout_dates: list[Any] = []  # dates, or "YYYY-MM-DD" strings: checked when loading


class PollTierShape(Shape):
    age_hours: int = Field(default=24, ge=1, le=24 * 3660)
    every_minutes: int = Field(default=30, ge=1, le=30 * 24 * 60)


class MetricsShape(Shape):
    poll: list[PollTierShape] | None = None


class OpinionsShape(Shape):
    keep_days: int = Field(default=180, ge=1, le=36600)
    alert_command: str = ""


class ReportShape(Shape):
    department: str = ""
    title: str = ""
    department_en: str = ""
    title_en: str = ""


class NotifyTargetShape(Shape):
    name: str
    events: list[str]
    url_env: str | None = None
    url_file: str | None = None
    command: str | None = None
    lang: Lang | None = None


class NotifyShape(Shape):
    targets: list[NotifyTargetShape] = []
    escalate_after_minutes: int = Field(default=10, ge=1, le=7 * 24 * 60)
    lang: Lang = "zh"
    digest_at: str = "08:00"


class ConfigShape(Shape):
    """config.toml; each account is checked on its own by its platform's shape."""

    outreach: OutreachShape = OutreachShape()
    accounts: dict[str, dict[str, Any]] = {}
    policy: PolicyShape = PolicyShape()
    metrics: MetricsShape = MetricsShape()
    opinions: OpinionsShape = OpinionsShape()
    report: ReportShape = ReportShape()
    notify: NotifyShape = NotifyShape()
    groups: dict[str, list[Annotated[str, Field(min_length=1)]]] = {}  # checked when loading
