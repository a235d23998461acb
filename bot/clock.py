"""Clocks: the one place that reads the wall clock, so tests can move time instead of sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current instant (aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class DatabaseClock:
    """This host's clock corrected to the database server's.

    Leases and due times are compared across workers, so they must all read one clock: a worker
    whose host clock runs ahead would otherwise see every other worker's lease as expired and
    send reminders early. `sync()` measures the offset (round trip halved) and is run at start-up
    and then every minute.
    """

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def host_now(self) -> datetime:
        return datetime.now(UTC)

    def now(self) -> datetime:
        return self.host_now() + self.offset

    async def sync(self, read_database_now: Callable[[], Awaitable[datetime]]) -> timedelta:
        """Measure the offset to the database's clock; returns it."""
        before = self.host_now()
        database = await read_database_now()
        after = self.host_now()
        self.offset = database - (before + (after - before) / 2)
        return self.offset


class FakeClock:
    """A clock that only moves when told to; listeners are called on every move."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        return self._now

    def on_move(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def set(self, instant: datetime) -> None:
        self._now = instant.astimezone(UTC)
        for listener in self._listeners:
            listener()

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)

    async def advance_and_settle(self, delta: timedelta) -> None:
        """Advance and give the event loop a turn so woken tasks run."""
        self.advance(delta)
        await asyncio.sleep(0)
