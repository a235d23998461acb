"""Shared fixtures: a migrated database on SQLite and on PostgreSQL (skipped, visibly, without it)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

# python-telegram-bot 22 warns about integer time periods (RetryAfter) unless opted in; the app
# opts in too (bot.app), and the suite turns warnings into errors.
os.environ.setdefault("PTB_TIMEDELTA", "true")

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_URL = os.environ.get(
    "WALKWELL_TEST_PG", f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/test"
)
TABLES = (
    "deliveries",
    "walk_logs",
    "pain_logs",
    "escalations",
    "symptom_reports",
    "reminder_rules",
    "people",
)


def postgres_available() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=0.5):
            return True
    except OSError:
        return False


async def _pg_execute(url: str, *statements: str) -> None:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def run_blocking(coro_factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine to completion on its own loop (session fixtures may be set up inside one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result()


def _pg_database_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def pg_database() -> str:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    if not postgres_available():
        pytest.skip(f"PostgreSQL is not answering on {PG_HOST}:{PG_PORT}")
    name = f"walkwell_test_{os.getpid()}"

    async def create() -> None:
        await _pg_execute(
            PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'
        )
        from bot.db import create_engine
        from bot.migrate import upgrade

        engine = create_engine(_pg_database_url(name))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    run_blocking(create)
    yield _pg_database_url(name)
    run_blocking(
        lambda: _pg_execute(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for every test (migrating each time would be slow)."""
    path = tmp_path_factory.mktemp("template") / "walkwell.db"

    async def create() -> None:
        from bot.db import create_engine
        from bot.migrate import upgrade

        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    run_blocking(create)
    return path


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A clean, migrated database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "walkwell.db"
        target.write_bytes(template.read_bytes())
        target.chmod(0o600)
        yield f"sqlite+aiosqlite:///{target}"
        return
    url: str = request.getfixturevalue("pg_database")
    await _pg_execute(url, f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    yield url
