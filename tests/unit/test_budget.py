"""The sending budget: slots spaced at the rate, the most urgent waiter first (jobs.budget)."""

from __future__ import annotations

import asyncio
import time

from jobs.budget import Budget


async def test_slots_are_spaced_at_the_rate() -> None:
    budget = Budget(50.0)
    started = time.monotonic()
    for _ in range(11):
        await budget.acquire(5)
    assert time.monotonic() - started >= 0.19  # 10 intervals of 20 ms
    await budget.stop()


async def test_the_most_urgent_waiter_gets_the_next_slot() -> None:
    budget = Budget(20.0)
    await budget.acquire(5)  # the first slot is now: the next ones are 50 ms apart
    order: list[str] = []

    async def wait(name: str, priority: int) -> None:
        await budget.acquire(priority)
        order.append(name)

    tasks = [
        asyncio.create_task(wait(name, priority))
        for name, priority in (("reminder", 5), ("summary", 8), ("reply", 1), ("red flag", 0))
    ]
    await asyncio.gather(*tasks)
    assert order == ["red flag", "reply", "reminder", "summary"]
    await budget.stop()


async def test_a_pause_holds_every_waiter_and_a_cancelled_one_passes_its_turn() -> None:
    budget = Budget(100.0)
    budget.pause(0.3)
    gone = asyncio.create_task(budget.acquire(0))
    await asyncio.sleep(0.05)
    gone.cancel()
    started = time.monotonic()
    await budget.acquire(5)
    assert time.monotonic() - started >= 0.2
    await budget.stop()


def test_the_senders_per_chat_map_keeps_only_chats_still_spaced() -> None:
    from types import SimpleNamespace

    from jobs.delivery import Sender

    settings = SimpleNamespace(
        global_rate=30.0, per_chat_rate=1.0, send_concurrency=8, is_sqlite=True,
        send_budget="local",
    )  # fmt: skip
    sender = Sender(None, SimpleNamespace(settings=settings))  # type: ignore[arg-type]
    sender._chat_next = {chat: 100.0 + chat for chat in range(10_000)}
    assert sender.prune_chats(now=100.0 + 9_990) == 9
