"""Settings come from CALSYNC_* variables, then a calsync.toml file, then defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from calsync.config import load_settings
from calsync.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("CALSYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_follow_the_data_dir() -> None:
    s = load_settings()
    assert s.data_dir == Path("data")
    assert s.database_url == "sqlite:///data/calsync.db"
    assert s.local_crm_url == "sqlite:///data/crm.db"
    assert s.google_api_url == "https://www.googleapis.com"
    assert s.crm == "local" and s.secret_key is None and s.broker_url is None
    # Google's default quotas; one process syncs 8 users at once.
    assert s.google_user_calls_per_minute == 600
    assert s.google_project_calls_per_minute == 10_000
    assert s.pool_size == 8
    assert s.rate_redis_url() is None


def test_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CALSYNC_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("CALSYNC_SECRET_KEY", "k")
    monkeypatch.setenv("CALSYNC_CRM", "vtiger")
    monkeypatch.setenv("CALSYNC_VTIGER_ACCESS_KEY", "ak")
    monkeypatch.setenv("CALSYNC_GOOGLE_API_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("CALSYNC_GOOGLE_USER_DAILY_BUDGET", "500")
    s = load_settings()
    assert s.database_url == f"sqlite:///{tmp_path / 'd' / 'calsync.db'}"
    assert s.secret_key_value() == "k" and "k" not in repr(s.secret_key)
    assert s.crm == "vtiger" and s.vtiger_access_key is not None
    assert s.google_api_url == "http://127.0.0.1:9/" and s.google_user_daily_budget == 500


def test_toml_file_under_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "calsync.toml").write_text(
        'database_url = "postgresql+psycopg://db/calsync"\ncrm = "vtiger"\nbroker_url = "redis://r"\n'
    )
    s = load_settings()
    assert s.database_url == "postgresql+psycopg://db/calsync" and s.crm == "vtiger"
    monkeypatch.setenv("CALSYNC_CRM", "local")
    assert load_settings().crm == "local"
    assert load_settings(crm="vtiger").crm == "vtiger"


def test_config_variable_names_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    other = tmp_path / "etc" / "c.toml"
    other.parent.mkdir()
    other.write_text('google_client_id = "cid"\n')
    monkeypatch.setenv("CALSYNC_CONFIG", str(other))
    assert load_settings().google_client_id == "cid"
    monkeypatch.setenv("CALSYNC_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"CALSYNC_CONFIG names .*missing\.toml"):
        load_settings()


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALSYNC_CRM", "salesforce")
    with pytest.raises(ConfigError, match="CALSYNC_CRM: Input should be 'local' or 'vtiger'"):
        load_settings()


def test_one_default_per_google_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings, the Google side's settings and the endpoints module agree on each URL."""
    from calsync.sides.google import endpoints
    from calsync.sides.google.factory import GoogleSettings

    for name in ("GOOGLE_API_URL", "GOOGLE_AUTH_URL", "GOOGLE_TOKEN_URL"):
        monkeypatch.delenv(f"CALSYNC_{name}", raising=False)
    settings = load_settings()
    side = GoogleSettings("id", "secret")
    assert settings.google_api_url == side.api_url == endpoints.API_URL
    assert settings.google_auth_url == side.auth_url == endpoints.AUTH_URL
    assert settings.google_token_url == side.token_url == endpoints.TOKEN_URL
    assert endpoints.revoke_url_for(endpoints.TOKEN_URL) == "https://oauth2.googleapis.com/revoke"


def test_rates_and_pool_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALSYNC_GOOGLE_USER_CALLS_PER_MINUTE", "1200")
    monkeypatch.setenv("CALSYNC_GOOGLE_PROJECT_CALLS_PER_MINUTE", "50000")
    monkeypatch.setenv("CALSYNC_POOL_SIZE", "32")
    s = load_settings()
    assert (s.google_user_calls_per_minute, s.google_project_calls_per_minute) == (1200, 50000)
    assert s.pool_size == 32
    with pytest.raises(ConfigError, match="CALSYNC_POOL_SIZE"):
        load_settings(pool_size=0)
    with pytest.raises(ConfigError, match="CALSYNC_GOOGLE_PROJECT_CALLS_PER_MINUTE"):
        load_settings(google_project_calls_per_minute=0)
    with pytest.raises(ConfigError, match="cannot exceed"):
        load_settings(google_user_calls_per_minute=60_000)


def test_rate_limits_are_shared_through_redis_or_a_redis_broker() -> None:
    assert load_settings(broker_url="redis://r:6379/1").rate_redis_url() == "redis://r:6379/1"
    assert load_settings(broker_url="amqp://mq//").rate_redis_url() is None
    both = load_settings(broker_url="redis://r:6379/1", redis_url="redis://other:6379/0")
    assert both.rate_redis_url() == "redis://other:6379/0"


@pytest.mark.parametrize("size", ["0", "1001", "-5"])
def test_a_batch_size_outside_google_limits_is_refused(
    monkeypatch: pytest.MonkeyPatch, size: str
) -> None:
    """CALSYNC_GOOGLE_BATCH_SIZE takes 1 to 1,000 calls (Google's maximum per batch)."""
    from calsync.sides.google.factory import GoogleSettings

    monkeypatch.setenv("CALSYNC_GOOGLE_BATCH_SIZE", size)
    with pytest.raises(ConfigError, match="CALSYNC_GOOGLE_BATCH_SIZE"):
        load_settings()
    with pytest.raises(ConfigError, match="between 1 and 1000 calls"):
        GoogleSettings("id", "secret", batch_size=int(size))


def test_the_batch_size_defaults_to_50_and_reaches_the_google_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from calsync.sides.google.factory import GoogleSettings, connect

    monkeypatch.delenv("CALSYNC_GOOGLE_BATCH_SIZE", raising=False)
    assert load_settings().google_batch_size == 50 == GoogleSettings("id", "s").batch_size
    monkeypatch.setenv("CALSYNC_GOOGLE_BATCH_SIZE", "1000")
    assert load_settings().google_batch_size == 1000
    http = connect(GoogleSettings("id", "s", batch_size=7), "alice", "refresh")
    assert http.batch_size == 7
    http.close()
