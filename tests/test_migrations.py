"""The stairway: every migration goes up and down cleanly, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bot.db import create_engine
from bot.migrate import MIGRATIONS_DIR, alembic_config, downgrade, upgrade
from bot.models import Base
from tests.conftest import PG_ADMIN_URL, _pg_database_url, _pg_execute, postgres_available


def revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def _stairway(url: str) -> None:
    engine = create_engine(url)
    try:
        previous = "base"
        for revision in revisions():
            await upgrade(engine, revision)
            await downgrade(engine, previous)
            await upgrade(engine, revision)
            previous = revision
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert set(Base.metadata.tables) <= tables
        await downgrade(engine, "base")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert tables <= {"alembic_version"}
    finally:
        await engine.dispose()


async def test_stairway_on_sqlite(tmp_path: Path) -> None:
    await _stairway(f"sqlite+aiosqlite:///{tmp_path / 'stairs.db'}")


async def test_stairway_on_postgres() -> None:
    if not postgres_available():
        pytest.skip("PostgreSQL is not answering on 127.0.0.1:5432")
    name = "walkwell_stairway"
    await _pg_execute(
        PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )
    try:
        await _stairway(_pg_database_url(name))
    finally:
        await _pg_execute(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    """Autogenerate finds nothing to add: the models and the migrations describe one schema."""
    import asyncio

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = f"sqlite+aiosqlite:///{tmp_path / 'diff.db'}"

    async def diff() -> list[object]:
        engine = create_engine(url)
        try:
            await upgrade(engine)
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
                )
        finally:
            await engine.dispose()

    assert asyncio.run(diff()) == []
    assert MIGRATIONS_DIR.is_dir()
