"""The runtime every handler and job needs, typed, reachable as `context.rt`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from telegram.ext import CallbackContext, ExtBot

from bot.clock import Clock
from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import (
        AsyncConnection,
        AsyncEngine,
        AsyncSession,
        async_sessionmaker,
    )

    from bot.app import WalkwellApplication
    from bot.detector import Detector
    from bot.handlers.guards import FloodGate
    from bot.metrics import Metrics
    from jobs.delivery import Sender
    from jobs.dispatcher import Dispatcher
    from messages.catalog import Catalog


class Extras(TypedDict, total=False):
    """What start-up adds to the runtime once it exists (each key is set by bot.app.serve)."""

    engine: AsyncEngine
    application: WalkwellApplication
    health_port: int  # the port /healthz, /readyz and /metrics listen on (WALKWELL_HEALTH_PORT)
    webhook_port: int  # the webhook's port, in webhook mode (WALKWELL_LISTEN_PORT)
    flood: FloodGate  # inbound rate per person (bot.handlers.guards), made on first use
    lease_lock: AsyncConnection  # holds this worker's name locked (jobs.leases, PostgreSQL)


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
    extras: Extras = field(default_factory=lambda: Extras())


class Ctx(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """CallbackContext with typed access to the runtime."""

    @property
    def rt(self) -> Runtime:
        runtime: Runtime = self.application.bot_data["runtime"]
        return runtime
