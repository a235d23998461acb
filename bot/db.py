"""Engine and session factory. One session per update or job, committed at the service boundary."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from bot.config import StartupError


def prepare_sqlite_file(url: str) -> None:
    """Create the SQLite file's folder, and the file itself with mode 0600 (health data)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout.

    hide_parameters keeps bound values (health data, message text) out of error messages and logs.
    """
    if url.startswith("sqlite"):
        prepare_sqlite_file(url)
        engine = create_async_engine(
            url, echo=echo, hide_parameters=True, connect_args={"timeout": 30}
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_async_engine(
        url, echo=echo, hide_parameters=True, pool_size=10, max_overflow=10, pool_pre_ping=True
    )


def describe_url(url: str) -> str:
    """The database URL for a message: driver, host, port and name, never the password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


async def check_database(engine: AsyncEngine, url: str) -> None:
    """One round trip (SELECT 1); a database that does not answer is a StartupError naming
    DATABASE_URL (without its password) and the reason."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        cause = getattr(exc, "orig", None) or exc
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
        raise StartupError(
            f"cannot reach the database {describe_url(url)} (DATABASE_URL): {reason}"
        ) from None


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
