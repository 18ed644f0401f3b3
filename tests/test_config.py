"""config.toml → frozen settings; every mistake names the key (and line), secrets stay masked."""

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from outreach.config.load import load_settings
from outreach.config.secrets import Secret
from outreach.config.settings import Settings
from outreach.errors import ConfigError
from tests.conftest import ROOT, local_config


def load(tmp_path: Path, text: str) -> Settings:
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    return load_settings(p)


def test_starter_config_loads():
    s = load_settings(ROOT / "config.toml")
    assert set(s.accounts) == {"pingan-local", "pingan-weibo", "safety-mastodon"}
    weibo = s.accounts["pingan-weibo"]
    assert weibo.options["share_url"].startswith("https://")
    assert weibo.timezone.key == "Asia/Shanghai"
    assert s.policy.quiet_hours is not None
    assert s.database_url.startswith("sqlite:////")  # made absolute, next to the file


def test_request_deadline_defaults_to_a_minute(tmp_path):
    assert load(tmp_path, local_config()).request_deadline_seconds == 60
    text = local_config().replace('data_dir = "data"', 'data_dir = "data"\nrequest_deadline_seconds = 15')
    assert load(tmp_path, text).request_deadline_seconds == 15


def test_settings_are_frozen(tmp_path):
    s = load(tmp_path, local_config())
    with pytest.raises(AttributeError):
        s.timezone = ZoneInfo("UTC")  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.accounts["x"] = None  # type: ignore[index]


@pytest.mark.parametrize("text, key, line", [
    ('[outreach]\ntimezon = "UTC"\n', "outreach.timezon", 2),
    ('[outreach]\ntimezone = "Mars/Base"\n', "outreach.timezone", 2),
    ('[accounts.a]\nplatform = "myspace"\n', "accounts.a.platform", 2),
    ('[accounts.a]\nplatform = "local"\nslots = [{ cron = "61 * * * *" }]\n',
     "accounts.a.slots[0].cron", 3),
    ('[accounts.a]\nplatform = "local"\nlang = "fr"\n', "accounts.a.lang", 3),
    ('[accounts.a]\nplatform = "local"\nshare_url = "https://x.cn"\n', "accounts.a.share_url", 3),
    ('[outreach]\nrequest_deadline_seconds = 0\n', "outreach.request_deadline_seconds", 2),
    ('[outreach]\nrequest_deadline_seconds = "1m"\n', "outreach.request_deadline_seconds", 2),
    ('[policy]\nmax_attempts = "five"\n', "policy.max_attempts", 2),
    ('[policy]\nlease_seconds = -1\n', "policy.lease_seconds", 2),
    ('[policy]\nquiet_hours = "25:00-07:00"\n', "policy.quiet_hours", 2),
    ('[policy]\nblackout_dates = ["2027-02-30"]\n', "policy.blackout_dates[0]", 2),
    ('[policy]\nrequire_approval = 1\n', "policy.require_approval", 2),
    ('[metrics]\npoll = [{ age_hours = 0, every_minutes = 5 }]\n', "metrics.poll[0].age_hours",
     2),
    ('[accounts.a]\nplatform = "weibo"\nrip = "not-an-ip"\nshare_url = "https://x.cn/a"\n',
     "accounts.a.rip", 3),
    ('[accounts.a]\r\nplatform = "local"\r\nmax_length = "x"\r\n', "accounts.a.max_length", 3),
    ('[accounts.a]\nplatform = "local"\nslots = [\n  { cron = "0 8 * * *" },\n'
     '  { cron = "0 8 * *" },\n]\n', "accounts.a.slots[1].cron", 5),
    ('accounts.a.platform = "local"\naccounts.a.lang = "fr"\n', "accounts.a.lang", 2),
    ('[notify]\ndigest_at = "25:00"\n', "notify.digest_at", 2),
    ('[notify]\nlang = "fr"\n', "notify.lang", 2),
    ('[notify]\nescalate_after_minutes = 0\n', "notify.escalate_after_minutes", 2),
    ('[[notify.targets]]\nname = "duty"\nevents = ["emergency",\n  "fire"]\ncommand = "x"\n',
     "notify.targets[0].events[1]", 4),
    ('[[notify.targets]]\nname = "duty"\nevents = []\ncommand = "x"\nurl_env = "U"\n',
     "notify.targets[0]", 1),
    ('[[notify.targets]]\nname = "duty"\ncommand = "x"\n', "notify.targets[0].events", 1),
    ('[[notify.targets]]\nname = "a"\nevents = []\ncommand = "x"\n'
     '[[notify.targets]]\nname = "a"\nevents = []\ncommand = "y"\n', "notify.targets[1].name", 6),
    ('[[notify.targets]]\nname = "a"\nevents = []\nurl_env = "1X"\n',
     "notify.targets[0].url_env", 4),
])
def test_config_errors_name_key_and_line(tmp_path, text, key, line):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, text)
    assert key in str(exc.value)
    assert f"config.toml:{line}: {key}: " in str(exc.value)
    assert "\n" not in str(exc.value)


def test_truncated_toml_names_the_line(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, '[outreach]\ntimezone = "Asia/Sha')
    assert "config.toml:2: invalid TOML" in str(exc.value)


def test_invalid_utf8_names_the_line(tmp_path):
    p = tmp_path / "config.toml"
    p.write_bytes(b'[outreach]\n# \xff\xfe\n')
    with pytest.raises(ConfigError, match=r"config.toml:2: not valid UTF-8"):
        load_settings(p)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_token_from_env_is_masked(tmp_path, monkeypatch):
    s = load(tmp_path, '[accounts.w]\nplatform = "mastodon"\napi_base = "https://m.example"\n'
                       'token_env = "T_FOR_TEST"\n')
    monkeypatch.setenv("T_FOR_TEST", "sekrit-token-123")
    token = s.accounts["w"].token()
    assert isinstance(token, Secret) and token.reveal() == "sekrit-token-123"
    assert "sekrit" not in repr(token) and "sekrit" not in str(token)
    assert "sekrit" not in repr(s)


def test_account_without_token_is_unconfigured(tmp_path, monkeypatch):
    monkeypatch.delenv("T_FOR_TEST", raising=False)
    s = load(tmp_path, '[accounts.w]\nplatform = "mastodon"\napi_base = "https://m.example"\n'
                       'token_env = "T_FOR_TEST"\n')
    assert s.accounts["w"].token() is None


def test_world_readable_token_file_is_refused(tmp_path):
    s = load(tmp_path, '[accounts.w]\nplatform = "weibo"\nshare_url = "https://x.cn/a"\n'
                       'rip = "203.0.113.7"\n')
    path = s.accounts["w"].token_file
    path.parent.mkdir(parents=True)
    path.write_text("tok")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        s.accounts["w"].token()
    path.chmod(0o600)
    token = s.accounts["w"].token()
    assert token is not None and token.reveal() == "tok"
