"""Logging: one line per event, secrets redacted everywhere, person ids hashed."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime


def person_ref(telegram_user_id: int | None) -> str:
    """A stable, non-reversible tag for a person in logs."""
    if telegram_user_id is None:
        return "-"
    return hashlib.sha256(f"walkwell:{telegram_user_id}".encode()).hexdigest()[:12]


class RedactingFilter(logging.Filter):
    """Replaces every secret (token, webhook secret) in a record's final text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "[REDACTED]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = self._clean(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, fmt: str, secrets: Iterable[str]) -> None:
    """Configure the root logger once; every handler gets the redacting filter."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, which contains the token, and python-telegram-bot logs every
    # request's parameters (message texts) at DEBUG: keep both quiet (secrets are redacted anyway).
    # Alembic announces each of its plugins at INFO on every migrate: noise before the real lines.
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default", "aiohttp.access",
                  "alembic.runtime.plugins"):  # fmt: skip
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.getLogger("telegram").setLevel(max(logging.INFO, root.level))
    # Database drivers log every statement with its parameters at DEBUG (names, chat ids, the
    # words of red-flag messages): health data never goes to a log, whatever the level.
    for driver in ("aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool"):
        logging.getLogger(driver).setLevel(max(logging.INFO, root.level))
