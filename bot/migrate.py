"""Alembic, driven from code: `walkwell migrate` and the test suite both use these."""

from __future__ import annotations

import asyncio
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import StartupError
from bot.db import check_database, create_engine, describe_url

# The `migrations` package ships in the wheel (env.py, script.py.mako, versions/*.py); a wheel is
# installed unpacked, so its folder is a real directory Alembic can read.
MIGRATIONS_DIR = resources.files("migrations")


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
    """Upgrade the database at `url` to head (used by `walkwell migrate` and `walkwell run`).
    A database that cannot be reached is a StartupError (one line naming DATABASE_URL)."""

    async def _main() -> None:
        try:
            engine = create_engine(url)
        except OSError as exc:
            raise StartupError(
                f"cannot open the database {describe_url(url)} (DATABASE_URL): "
                f"{exc.strerror or type(exc).__name__}"
            ) from None
        try:
            await check_database(engine, url)
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(_main())
