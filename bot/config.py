"""One place for settings: read from the environment (and an optional .env) once, at start-up."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_API_BASE_URL = "https://api.telegram.org"
DEFAULT_SQLITE_PATH = Path("var") / "walkwell.db"
TOKEN_PATTERN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,64}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable, never its value."""


class StartupError(Exception):
    """Start-up cannot go on (a port taken, the database or the Bot API unreachable): one line
    that names what to fix and the setting involved, never a secret."""


def _int_set(value: object) -> object:
    if isinstance(value, str):
        parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
        return frozenset(int(p) for p in parts)
    return value


class Settings(BaseSettings):
    """Every knob WalkWell has. Environment variable names are given by the aliases."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    telegram_bot_token: SecretStr | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(DEFAULT_API_BASE_URL, alias="TELEGRAM_API_BASE_URL")
    database_url: str = Field(f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}", alias="DATABASE_URL")
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(frozenset(), alias="WALKWELL_ADMIN_IDS")
    escalation_chat_id: int | None = Field(None, alias="WALKWELL_ESCALATION_CHAT_ID")
    emergency_number: str = Field("112", alias="WALKWELL_EMERGENCY_NUMBER")
    # The language of the clinic's alerts in the escalation chat (a catalogue language).
    clinic_language: str = Field("en", alias="WALKWELL_CLINIC_LANGUAGE")
    default_timezone: str = Field("UTC", alias="WALKWELL_DEFAULT_TIMEZONE")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="LOG_LEVEL")
    log_format: Literal["text", "json"] = Field("text", alias="LOG_FORMAT")

    # Reminder engine and delivery.
    missed_after_minutes: int = Field(30, ge=1, le=24 * 60, alias="WALKWELL_MISSED_AFTER_MINUTES")
    dispatch_interval_seconds: float = Field(30.0, gt=0, le=30, alias="WALKWELL_DISPATCH_INTERVAL")
    global_rate: float = Field(30.0, gt=0, le=1000, alias="WALKWELL_GLOBAL_RATE")
    per_chat_rate: float = Field(1.0, gt=0, le=30, alias="WALKWELL_PER_CHAT_RATE")
    # Sends in flight at once: enough to hide Telegram's round trip at the global rate.
    send_concurrency: int = Field(8, ge=1, le=256, alias="WALKWELL_SEND_CONCURRENCY")
    claim_batch: int = Field(2500, ge=1, le=50_000, alias="WALKWELL_CLAIM_BATCH")
    retention_days: int = Field(730, ge=30, alias="WALKWELL_RETENTION_DAYS")
    flood_per_minute: int = Field(20, ge=1, alias="WALKWELL_FLOOD_PER_MINUTE")
    # shared: one budget for all workers in PostgreSQL (send_budget); local: this worker's own.
    send_budget: Literal["shared", "local"] = Field("shared", alias="WALKWELL_SEND_BUDGET")
    # This worker's name on the outbox rows it is sending. Stable across restarts (a restarted
    # worker takes its own dead leases back at once) and unique among running workers.
    worker_id: str = Field(
        default_factory=socket.gethostname, min_length=1, max_length=48, alias="WALKWELL_WORKER_ID"
    )

    # Red-flag detection: "full" = lexicon + learned layer with sentence embeddings;
    # "ngrams" = lexicon + learned layer without embeddings (less memory); "lexicon" = lexicon alone.
    triage_layer: Literal["full", "ngrams", "lexicon"] = Field(
        "full", alias="WALKWELL_TRIAGE_LAYER"
    )

    # Webhook mode (polling is the default). Its listener serves the webhook and nothing else,
    # so publishing it publishes nothing else.
    webhook_url: str | None = Field(None, alias="WALKWELL_WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(None, alias="WALKWELL_WEBHOOK_SECRET")
    listen_host: str = Field("127.0.0.1", alias="WALKWELL_LISTEN_HOST")
    listen_port: int = Field(8080, ge=0, le=65535, alias="WALKWELL_LISTEN_PORT")
    # /healthz, /readyz and /metrics: their own listener, in every mode.
    health_host: str = Field("127.0.0.1", alias="WALKWELL_HEALTH_HOST")
    health_port: int = Field(8081, ge=0, le=65535, alias="WALKWELL_HEALTH_PORT")
    # How long start-up keeps retrying an unreachable Bot API (with backoff) before it gives up.
    bot_api_wait_seconds: float = Field(300.0, ge=0, le=86_400, alias="WALKWELL_BOT_API_WAIT")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        return _int_set(value)

    @field_validator("telegram_api_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value.endswith("/bot"):
            value = value[: -len("/bot")]
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value[len("sqlite:///") :]
        return value

    @field_validator("emergency_number")
    @classmethod
    def _digits(cls, value: str) -> str:
        value = value.strip()
        if not value.isdigit():
            raise ValueError("must be a phone number in digits, such as 112")
        return value

    @field_validator("clinic_language")
    @classmethod
    def _language_code(cls, value: str) -> str:
        value = value.strip().lower()
        if not re.fullmatch(r"[a-z]{2,3}", value):
            raise ValueError("must be a language code such as en or de")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not an IANA time zone such as Europe/Berlin") from exc
        return value

    @property
    def bot_api_url(self) -> str:
        """Base URL in python-telegram-bot's form (it appends the token)."""
        return f"{self.telegram_api_base_url}/bot"

    @property
    def bot_file_url(self) -> str:
        return f"{self.telegram_api_base_url}/file/bot"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def token(self) -> str:
        """The bot token, checked; raises ConfigError naming the variable (never its value)."""
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value():
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set. Ask @BotFather on Telegram for a token, then "
                "run: export TELEGRAM_BOT_TOKEN=<your token>  (or put it in .env). "
                "To try WalkWell without Telegram: make try"
            )
        if not TOKEN_PATTERN.match(self.telegram_bot_token.get_secret_value().strip()):
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is malformed: a token looks like 123456789:AAE... "
                "(digits, a colon, then 35 letters, digits, - or _). Copy it again from @BotFather."
            )
        return self.telegram_bot_token.get_secret_value().strip()


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; any problem becomes one ConfigError line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        alias = Settings.model_fields[field].alias if field in Settings.model_fields else field
        raise ConfigError(
            f"{alias or field} {first['msg'].removeprefix('Value error, ')}"
        ) from None
