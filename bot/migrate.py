"""Alembic, driven from code: `walkwell migrate` and the test suite both use these."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def _run(engine: AsyncEngine, fn: str, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))

    def _do(connection) -> None:  # type: ignore[no-untyped-def]
        cfg.attributes["connection"] = connection
        getattr(command, fn)(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_do)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database schema up to `revision`."""
    await _run(engine, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _run(engine, "downgrade", revision)


def migrate_url(url: str) -> None:
    """Upgrade the database at `url` to head (used by `walkwell migrate`)."""

    async def _main() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(_main())
