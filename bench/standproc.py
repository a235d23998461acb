"""The stand in a second process, so the fake Telegram does not share the sender's core.

The child serves the stand and answers commands over a pipe: ("limits", bool) switches
Telegram's limits on or off, ("stats",) returns and resets what it saw, ("stop",) ends it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from tests.stand import Stand


@dataclass(frozen=True)
class StandStats:
    """What the stand saw since the last reset."""

    sent: int  # sendMessage answered 200
    too_many: int  # sendMessage answered 429
    other_errors: int
    busiest_second: int  # most successful sends inside any one-second window
    span: float  # seconds from the first to the last successful send
    busy: float  # share of one core the stand process used meanwhile (1.0 = saturated)

    @property
    def rate(self) -> float:
        """Successful sends per second between the first and the last one."""
        return (self.sent - 1) / self.span if self.sent > 1 and self.span > 0 else 0.0


def _stats(stand: Stand, cpu: float, wall: float) -> StandStats:
    calls = stand.calls_to("sendMessage")
    times = sorted(c.time for c in calls if c.status == 200)
    busiest, left = 0, 0
    for right, at in enumerate(times):
        while times[left] <= at - 1.0:
            left += 1
        busiest = max(busiest, right - left + 1)
    return StandStats(
        sent=len(times),
        too_many=sum(1 for c in calls if c.status == 429),
        other_errors=sum(1 for c in calls if c.status not in (200, 429)),
        busiest_second=busiest,
        span=times[-1] - times[0] if times else 0.0,
        busy=cpu / wall if wall > 0 else 0.0,
    )


def _serve(conn: Connection, first_chat: int, chats: int) -> None:
    async def main() -> None:
        stand = Stand()
        for chat in range(first_chat, first_chat + chats):
            stand.person(chat)
        await stand.start()
        conn.send(stand.port)
        loop = asyncio.get_running_loop()
        cpu, wall = time.process_time(), time.monotonic()
        while True:
            command: tuple[Any, ...] = await loop.run_in_executor(None, conn.recv)
            if command[0] == "limits":
                stand.enforce_limits = bool(command[1])
                conn.send(True)
            elif command[0] == "stats":
                conn.send(_stats(stand, time.process_time() - cpu, time.monotonic() - wall))
                stand.calls.clear()
                cpu, wall = time.process_time(), time.monotonic()
            else:
                break
        await stand.stop()

    asyncio.run(main())


class RemoteStand:
    """The parent's handle on the stand process."""

    def __init__(self, conn: Connection, port: int) -> None:
        self._conn = conn
        self.port = port

    async def _ask(self, *command: Any) -> Any:
        self._conn.send(command)
        return await asyncio.to_thread(self._conn.recv)

    async def limits(self, on: bool) -> None:
        """Switch Telegram's limits on or off (on: after a pause, so earlier sends have aged out)."""
        if on:
            await asyncio.sleep(1.1)
        await self._ask("limits", on)

    async def stats(self) -> StandStats:
        """What the stand saw since the last call (and forget it)."""
        stats: StandStats = await self._ask("stats")
        return stats


@asynccontextmanager
async def stand_process(first_chat: int, chats: int) -> AsyncIterator[RemoteStand]:
    """A stand in its own process, knowing private chats first_chat..first_chat+chats-1."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, first_chat, chats), daemon=True)
    proc.start()
    try:
        port: int = await asyncio.to_thread(parent.recv)
        yield RemoteStand(parent, port)
    finally:
        parent.send(("stop",))
        await asyncio.to_thread(proc.join, 10)
        if proc.is_alive():
            proc.kill()
