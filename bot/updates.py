"""Update processing: concurrent across people, one at a time for each person.

A person's double tap or two quick messages then never race each other in the database, while
thousands of people are still served in parallel.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def _key(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None


class PerPersonProcessor(BaseUpdateProcessor):
    """Up to `max_concurrent_updates` at once, serialised per Telegram user."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self.waiting = 0  # updates accepted but not finished (queued behind a lock or running)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        self.waiting += 1
        try:
            key = _key(update)
            if key is None:
                await coroutine
                return
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = asyncio.Lock()
            async with lock:
                await coroutine
        finally:
            self.waiting -= 1

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
