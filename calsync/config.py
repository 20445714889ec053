"""calsync's configuration: `CALSYNC_*` environment variables, optionally a `calsync.toml` file.

Nothing is read at import time: call `load_settings()` where the settings are needed (the CLI,
the web app factory) and pass the result down. Precedence, highest first: keyword arguments to
`load_settings`, environment variables, the TOML file (`CALSYNC_CONFIG`, else `./calsync.toml`;
keys are the field names, e.g. `database_url = "..."`), then the defaults below.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from calsync.errors import ConfigError
from calsync.sides.google import endpoints

CONFIG_ENV = "CALSYNC_CONFIG"
"""Environment variable naming the TOML file to read (default: `calsync.toml` in the cwd)."""
DEFAULT_CONFIG_FILE = "calsync.toml"


def config_file() -> Path | None:
    """Return the TOML file to read, or None when there is none."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV} names {path}, which is not a file")
        return path
    local = Path.cwd() / DEFAULT_CONFIG_FILE
    return local if local.is_file() else None


class Settings(BaseSettings):
    """Everything calsync reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="CALSYNC_", extra="ignore", frozen=True)

    data_dir: Path = Path("./data")
    """Where the default SQLite databases and the generated secret key file live."""
    database_url: str = ""
    """State database (SQLAlchemy URL); default `sqlite:///<data_dir>/calsync.db`."""
    secret_key: SecretStr | None = None
    """Key for secrets at rest (Fernet key or any passphrase; comma-separated for rotation,
    newest first). Unset: a key file is generated in the data dir."""

    google_api_url: str = endpoints.API_URL
    google_auth_url: str = endpoints.AUTH_URL
    google_token_url: str = endpoints.TOKEN_URL
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None

    crm: Literal["local", "vtiger"] = "local"
    """Which CRM to sync with: the embedded calendar or a vtiger instance."""
    local_crm_url: str = ""
    """Embedded CRM database (SQLAlchemy URL); default `sqlite:///<data_dir>/crm.db`."""
    vtiger_url: str | None = None
    vtiger_user: str | None = None
    vtiger_access_key: SecretStr | None = None
    vtiger_db_url: SecretStr | None = None
    """Optional read-only connection to vtiger's database (SQLAlchemy URL): its series tables
    link the occurrences of a series, which then reach Google as one recurring event even
    where the webservice alone leaves it uncertain. Give it a user that may only SELECT."""

    broker_url: str | None = None
    """Celery broker (`redis://host:6379/0`; needs the `celery` extra and a PostgreSQL state
    store); unset means the embedded in-process scheduler."""
    broker_visibility_timeout: int = Field(default=600, ge=1)
    """Seconds before a job a worker took and never acknowledged (the worker died mid-round)
    is handed to another worker. Longer than the longest round: a job redelivered while its
    round still runs finds the user's lock taken and waits its turn."""
    sync_interval: float = Field(default=900.0, ge=1)
    """Seconds between two scheduled rounds of every user (±10 % jitter)."""

    public_url: str = ""
    """Base URL users reach the web UI at (e.g. `https://calsync.example.com`): the OAuth
    redirect URI is built from it, and an https one marks the session cookie Secure. Unset:
    `calsync serve` uses its own address (fine for a demo on http://127.0.0.1)."""
    redis_url: str | None = None
    """Redis for the web app's failed sign-in counters and the Google per-minute rate limits
    shared by every process (needs the `redis` extra); unset: sign-in counters are kept in
    the state database, which every web process shares too, and the rate limits in a
    `redis://` broker if there is one, else in each process."""
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    """Addresses or networks of reverse proxies whose `X-Forwarded-For` is believed
    (comma-separated, e.g. `127.0.0.1,10.0.0.0/8`). Default: none, so the peer's address
    counts, whatever headers it sends."""

    google_daily_budget: int = Field(default=500_000, ge=1)
    """Calendar API calls the whole project may make per quota day: half of the 1,000,000 a
    day past which Google bills Calendar API use. (Named before the Tasks API had its own
    budget; it is the Calendar API's.)"""
    google_user_daily_budget: int = Field(default=20_000, ge=1)
    """Calendar API calls one user's syncs may make per quota day."""
    google_tasks_daily_budget: int = Field(default=40_000, ge=1)
    """Tasks API calls the whole project may make per quota day (Google's courtesy limit is
    50,000)."""
    google_tasks_user_daily_budget: int = Field(default=5_000, ge=1)
    """Tasks API calls one user's syncs may make per quota day."""
    google_user_calls_per_minute: int = Field(default=600, ge=1, le=1_000_000)
    """Google calls one user's syncs may make per minute (Google's default quota: 600 per
    minute per user; raise it with the quota Google granted). calsync waits for room."""
    google_project_calls_per_minute: int = Field(default=10_000, ge=1, le=10_000_000)
    """Google calls the whole project may make per minute, every process together (Google's
    default quota: 10,000). Shared through Redis when `redis_url` or a `redis://` broker
    is set, else counted per process."""
    pool_size: int = Field(default=8, ge=1, le=256)
    """Users synced at once by one process's round of every user (1: one after another)."""
    processes: int = Field(default=1, ge=1, le=64)
    """Processes on this machine that share a round of every user when no broker is set
    (`calsync sync --all`, the embedded scheduler), each syncing `pool_size` users at once;
    1 keeps the round in the calling process. Rounds are CPU-bound when Google answers fast,
    and one process's threads use one core. Needs a state store on file or a server."""

    google_batch_size: int = Field(default=50, ge=1, le=1000)
    """Google API calls sent in one batch request (one round trip); Google takes at most
    1,000 per batch and counts each call against the quota."""

    max_occurrences_per_series: int = Field(default=1000, ge=1, le=100_000)
    """Occurrences of one recurring series created in a CRM that stores one record per
    occurrence (vtiger); later ones are skipped with a line in the user's sync log."""
    max_occurrences_per_round: int = Field(default=2000, ge=1, le=1_000_000)
    """Occurrences created in one user's round; the rest follow in the next rounds."""

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value:
            url = urlsplit(value)
            if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
                raise ValueError("an http(s) base URL such as https://calsync.example.com")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [p for p in (part.strip() for part in value.split(",")) if p]
        for item in value:
            ipaddress.ip_network(item, strict=False)  # ValueError names the wrong entry
        return value

    @model_validator(mode="after")
    def _check_rates(self) -> Settings:
        if self.google_user_calls_per_minute > self.google_project_calls_per_minute:
            raise ValueError(
                "google_user_calls_per_minute cannot exceed google_project_calls_per_minute"
            )
        return self

    def rate_redis_url(self) -> str | None:
        """Return the Redis the Google rate limits are shared through: `redis_url`, else a
        `redis://` (or `rediss://`) broker; None keeps them in each process."""
        if self.redis_url:
            return self.redis_url
        if self.broker_url and urlsplit(self.broker_url).scheme in ("redis", "rediss"):
            return self.broker_url
        return None

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        # Defaults that depend on data_dir; the model is frozen, hence object.__setattr__.
        data = self.data_dir.expanduser()
        object.__setattr__(self, "data_dir", data)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{data / 'calsync.db'}")
        if not self.local_crm_url:
            object.__setattr__(self, "local_crm_url", f"sqlite:///{data / 'crm.db'}")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def secret_key_value(self) -> str | None:
        """Return the configured secret key in clear, or None."""
        return self.secret_key.get_secret_value() if self.secret_key else None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _validation_message(err: ValidationError) -> str:
    """Return pydantic's errors as one line naming each setting by its variable."""
    parts = []
    for e in err.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        name = f"CALSYNC_{field.upper()}" if field else "settings"
        # Secrets are never echoed back, even when they are what is wrong.
        secret = "key" in field or "secret" in field
        given = "" if secret or "input" not in e else f" (got {_shown(e['input'])})"
        parts.append(f"{name}: {e['msg']}{given}")
    return "bad setting " + "; ".join(parts)


def _read(make: Any, **values: Any) -> Settings:
    try:
        settings: Settings = make(**values)
    except ValidationError as err:
        raise ConfigError(_validation_message(err)) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"cannot read {config_file()}: {err}") from None
    except OSError as err:
        raise ConfigError(f"cannot read the configuration: {err}") from None
    return settings


def load_settings(**overrides: Any) -> Settings:
    """Return the settings from the environment and config file; `overrides` win over both.

    Raise ConfigError, with one line naming the setting, when a value cannot be used.
    """
    return _read(Settings, **overrides)


class _Isolated(Settings):
    """Settings read from the given values and the defaults only."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def isolated_settings(**values: Any) -> Settings:
    """Return settings made of `values` and the defaults, ignoring the environment and any
    config file (`calsync demo`, which must never touch the installation beside it)."""
    return _read(_Isolated, **values)


def configured_names() -> list[str]:
    """Return the `CALSYNC_*` variables set in the environment (names only, never values)."""
    return sorted(k for k in os.environ if k.startswith("CALSYNC_") and os.environ[k])
