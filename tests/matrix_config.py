"""A province's account matrix on the local platform: 广东 (gd) → 3 cities → 2 counties each,
every account with its own city name and hotline."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DATABASE_URL, PG_URL, reset_postgres
from tests.factories import make_workspace

CITIES = {
    "gz": ("广州", [("gz-th", "天河"), ("gz-yx", "越秀")]),
    "sz": ("深圳", [("sz-ft", "福田"), ("sz-ns", "南山")]),
    "fs": ("佛山", [("fs-cc", "禅城"), ("fs-nh", "南海")]),
}
PROVINCE = ("gd", "广东")
# in the group's order: the province, then each city followed by its counties
ORDER = ["gd", "gz", "gz-th", "gz-yx", "sz", "sz-ft", "sz-ns", "fs", "fs-cc", "fs-nh"]
CITY = {"gd": "广东", **{c: n for c, (n, _) in CITIES.items()},
        **{k: n for _, (_, ks) in CITIES.items() for k, n in ks}}


def account_block(name: str, city: str, *, extra: str = "") -> str:
    return (f'[accounts.{name}]\nplatform = "local"\nlang = "zh"\n{extra}'
            f'vars = {{ city = "{city}", hashtag = "平安{city}", hotline = {{ police = "110", '
            f'fraud = "96110", fire = "119", traffic = "122", medical = "120" }} }}\n\n')


def matrix_config(*, short: tuple[str, ...] = (), groups: str | None = None,
                  require_approval: bool = True, database: str = DATABASE_URL) -> str:
    """The config: ``short`` names accounts whose ``max_length`` is too small for a tip."""
    text = (f'[outreach]\ndatabase = "{database}"\ntimezone = "Asia/Shanghai"\n'
            'content_dir = "content"\ndata_dir = "data"\n\n')
    for name in ORDER:
        text += account_block(name, CITY[name],
                              extra="max_length = 20\n" if name in short else "")
    text += (f"[policy]\nrequire_approval = {str(require_approval).lower()}\n"
             "allow_self_approval = false\n\n")
    if groups is None:
        groups = ('[groups]\nguangdong = ["gd", "@guangzhou", "@shenzhen", "@foshan"]\n'
                  'guangzhou = ["gz", "gz-th", "gz-yx"]\nshenzhen = ["sz", "sz-ft", "sz-ns"]\n'
                  'foshan = ["fs", "fs-cc", "fs-nh"]\n')
    return text + groups


def matrix_workspace(root: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with this config, on an empty database (PostgreSQL too)."""
    if PG_URL:
        reset_postgres(PG_URL)
    return make_workspace(root, text, monkeypatch)
