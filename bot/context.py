"""The runtime every handler and job needs, typed, reachable as `context.rt`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext, ExtBot

from bot.clock import Clock
from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.detector import Detector
    from bot.metrics import Metrics
    from jobs.delivery import Sender
    from jobs.dispatcher import Dispatcher
    from messages.catalog import Catalog


@dataclass
class Runtime:
    """Assembled once by bot.app.build_runtime(); handlers read it, never rebuild it."""

    settings: Settings
    clock: Clock
    catalog: Catalog
    sessions: async_sessionmaker[AsyncSession]
    metrics: Metrics
    sender: Sender | None = None
    dispatcher: Dispatcher | None = None
    detector: Detector | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class Ctx(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """CallbackContext with typed access to the runtime."""

    @property
    def rt(self) -> Runtime:
        runtime: Runtime = self.application.bot_data["runtime"]
        return runtime
