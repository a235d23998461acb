"""Wiring: builds the runtime and the python-telegram-bot Application. Imports everything."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import text
from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot.clock import Clock, DatabaseClock
from bot.config import ConfigError, Settings, StartupError
from bot.context import Ctx, Runtime
from bot.db import check_database, create_engine, describe_url, session_factory
from bot.detector import Detector
from bot.handlers.registry import register
from bot.metrics import Metrics
from bot.telegram_http import AiohttpRequest, UpdatesRequest
from bot.updates import PerPersonProcessor
from bot.web import WEBHOOK_PATH, build_health_app, build_webhook_app, start_listener
from jobs import leases
from jobs.budget import Replies
from jobs.delivery import Sender
from jobs.dispatcher import Dispatcher
from jobs.scheduler import start_scheduling
from messages.catalog import Catalog, load_catalog

log = logging.getLogger(__name__)

# Allocations between two young-generation collections (CPython's default is 700). A morning
# peak builds hundreds of thousands of small objects that live until they are sent: at 700 the
# collector ran about 1,500 times in a tick of 100,000 reminders (0.4-0.5 s), at 50,000 it runs
# 2-6 times (under 0.12 s). Cyclic garbage waits a little longer; there is little of it.
GC_YOUNG_THRESHOLD = 50_000


def settle_gc() -> None:
    """Once start-up is done: keep what it built (it lives as long as the process) out of the
    collector's scans, and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


COMMANDS = (
    "start", "help", "schedule", "contact", "morning", "evening", "meals", "aftermeal", "ate", "pause",
    "resume", "quiet", "timezone", "language", "posture", "stretch", "log", "pain", "progress",
    "symptoms", "redflags", "sos", "export", "delete", "stop",
)  # fmt: skip


class WalkwellApplication(Application):  # type: ignore[type-arg]
    """The Application, counting updates in flight so shutdown (and tests) can wait for them."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.in_flight = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    async def process_update(self, update: object) -> None:
        self.in_flight += 1
        self._quiet.clear()
        started = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            self.in_flight -= 1
            runtime: Runtime | None = self.bot_data.get("runtime")
            if runtime is not None:
                runtime.metrics.handler_latency.observe(time.perf_counter() - started)
                runtime.metrics.updates.labels(_update_kind(update)).inc()
            if self.in_flight == 0:
                self._quiet.set()

    async def idle(self) -> None:
        """Return once no update is queued or being handled."""
        while True:
            await self._quiet.wait()
            waiting = getattr(self.update_processor, "waiting", 0)
            if self.update_queue.empty() and self.in_flight == 0 and waiting == 0:
                return
            await asyncio.sleep(0.005)


def _update_kind(update: object) -> str:
    if not isinstance(update, Update):
        return "other"
    if update.callback_query is not None:
        return "callback"
    if update.edited_message is not None:
        return "edit"
    if update.message is not None:
        return "command" if (update.message.text or "").startswith("/") else "message"
    return "other"


def build_application(settings: Settings, runtime: Runtime) -> WalkwellApplication:
    """The Application, pointed at TELEGRAM_API_BASE_URL, with every handler registered."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as a timedelta
    application = (
        ApplicationBuilder()
        .application_class(WalkwellApplication)
        .token(settings.token())
        .base_url(settings.bot_api_url)
        .base_file_url(settings.bot_file_url)
        .defaults(
            Defaults(parse_mode="HTML", link_preview_options=LinkPreviewOptions(is_disabled=True))
        )
        .context_types(ContextTypes(context=Ctx))
        .concurrent_updates(PerPersonProcessor(16))
        # Replies spend the same sending budget as the sender, ahead of reminders.
        .rate_limiter(Replies(lambda: runtime.sender.budget if runtime.sender else None))
        .request(AiohttpRequest(pool_size=64, pool_timeout=10))
        .get_updates_request(UpdatesRequest(pool_size=1, pool_timeout=10))
        .build()
    )
    application.bot_data["runtime"] = runtime
    register(application)
    return cast(WalkwellApplication, application)


async def set_commands(application: Application, catalog: Catalog) -> None:  # type: ignore[type-arg]
    """Publish the command menu in every language the catalogue has."""
    for lang in catalog.languages:
        commands = [
            BotCommand(name, catalog.text(lang, f"ui.cmd.{name}")[:256]) for name in COMMANDS
        ]
        code = None if lang == catalog.default_language else lang
        await application.bot.set_my_commands(commands, language_code=code)


def build_runtime(
    settings: Settings, *, clock: Clock | None = None, catalog: Catalog | None = None
) -> Runtime:
    catalog = catalog or load_catalog()
    if settings.clinic_language not in catalog.languages:
        raise ConfigError(f"WALKWELL_CLINIC_LANGUAGE must be one of {', '.join(catalog.languages)}")
    engine = create_engine(settings.database_url)
    runtime = Runtime(
        settings=settings,
        clock=clock or DatabaseClock(),
        catalog=catalog,
        sessions=session_factory(engine),
        metrics=Metrics(),
    )
    runtime.extras["engine"] = engine
    return runtime


def _once(close: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """`close`, made safe to call twice (on the way out and again by the exit stack)."""
    done = False

    async def run() -> None:
        nonlocal done
        if not done:
            done = True
            await close()

    return run


# Start-up retries an unreachable Bot API: 1 s, 2 s, 4 s ... at most 30 s apart, until
# WALKWELL_BOT_API_WAIT has passed (a network blip or a Bot API restart should not need a human).
BOT_API_FIRST_DELAY = 1.0
BOT_API_MAX_DELAY = 30.0


async def connect_bot_api(
    application: Application,  # type: ignore[type-arg]
    settings: Settings,
    stop: asyncio.Event,
) -> bool:
    """Initialise the Application (getMe), retrying network failures with backoff.

    Returns False if `stop` was set while waiting. A rejected token or a Bot API that stays
    unreachable is a StartupError; whatever the attempt opened is closed first.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.bot_api_wait_seconds
    delay = BOT_API_FIRST_DELAY
    where = f"the Bot API at {settings.telegram_api_base_url} (TELEGRAM_API_BASE_URL)"
    attempts = 0
    while True:
        attempts += 1
        try:
            await application.initialize()
            return True
        except InvalidToken:  # its message quotes the token: never shown
            await application.bot.shutdown()
            raise StartupError(
                f"{where} rejected TELEGRAM_BOT_TOKEN: copy the token again from @BotFather"
            ) from None
        except NetworkError as exc:  # TimedOut included
            await application.bot.shutdown()
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            if loop.time() + delay > deadline:
                raise StartupError(
                    f"cannot reach {where} after {attempts} attempt(s) in "
                    f"{settings.bot_api_wait_seconds:g} s (WALKWELL_BOT_API_WAIT): {reason}"
                ) from None
            log.warning("cannot reach %s (%s); retrying in %g s", where, reason, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        if stop.is_set():
            return False
        delay = min(delay * 2, BOT_API_MAX_DELAY)


# Start-up calls that fail on a Bot API hiccup (deleteWebhook before polling) are retried.
BOOTSTRAP_RETRIES = 5


async def _start_updates(
    application: Application,  # type: ignore[type-arg]
    settings: Settings,
    webhook: bool,
) -> None:
    """Register the webhook, or start long polling; never drop pending updates."""
    assert application.updater is not None
    if webhook:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        await application.bot.set_webhook(
            url=f"{settings.webhook_url}{WEBHOOK_PATH}", secret_token=secret,
            allowed_updates=Update.ALL_TYPES, drop_pending_updates=False,
        )  # fmt: skip
    else:
        # Never drop pending updates: a red-flag message could be among them.
        await application.updater.start_polling(
            allowed_updates=Update.ALL_TYPES, drop_pending_updates=False, timeout=30,
            bootstrap_retries=BOOTSTRAP_RETRIES,
        )  # fmt: skip


async def sync_clock(runtime: Runtime) -> None:
    """Correct a DatabaseClock to the database server's clock (leases and due times are compared
    across workers); a no-op for other clocks."""
    clock = runtime.clock
    if isinstance(clock, DatabaseClock):
        await clock.sync(lambda: database_now(runtime))


async def database_now(runtime: Runtime) -> datetime:
    async with runtime.sessions() as session:
        if runtime.settings.is_sqlite:  # one host: the database's clock is this host's
            return datetime.now(UTC)
        value = await session.scalar(text("SELECT clock_timestamp()"))
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
    ready: asyncio.Event | None = None,
    runtime_out: list[Runtime] | None = None,
    webhook: bool = False,
) -> None:
    """Run the bot until `stop` is set, then shut down without losing sends.

    Long polling by default; with `webhook`, Telegram posts updates to WALKWELL_WEBHOOK_URL
    (checked against WALKWELL_WEBHOOK_SECRET), served alone on
    WALKWELL_LISTEN_HOST:WALKWELL_LISTEN_PORT. /healthz, /readyz and /metrics are served on
    WALKWELL_HEALTH_HOST:WALKWELL_HEALTH_PORT either way.

    Start-up checks the database, binds both listeners, then reaches the Bot API; any failure is
    a StartupError (one line) and everything opened so far is closed before it propagates.
    """
    if webhook and (not settings.webhook_url or settings.webhook_secret is None):
        raise ConfigError("webhook mode needs WALKWELL_WEBHOOK_URL and WALKWELL_WEBHOOK_SECRET")
    try:
        runtime = build_runtime(settings, clock=clock, catalog=catalog)
    except OSError as exc:
        raise StartupError(
            f"cannot open the database {describe_url(settings.database_url)} (DATABASE_URL): "
            f"{exc.strerror or type(exc).__name__}"
        ) from None
    if runtime_out is not None:
        runtime_out.append(runtime)
    async with contextlib.AsyncExitStack() as resources:
        resources.push_async_callback(runtime.extras["engine"].dispose)
        await check_database(runtime.extras["engine"], settings.database_url)
        application = build_application(settings, runtime)
        runtime.extras["application"] = application
        health, runtime.extras["health_port"] = await start_listener(
            build_health_app(runtime, application), settings.health_host, settings.health_port,
            host_setting="WALKWELL_HEALTH_HOST", port_setting="WALKWELL_HEALTH_PORT",
        )  # fmt: skip
        resources.push_async_callback(health.cleanup)
        if webhook:
            hook, runtime.extras["webhook_port"] = await start_listener(
                build_webhook_app(runtime, application), settings.listen_host,
                settings.listen_port, host_setting="WALKWELL_LISTEN_HOST",
                port_setting="WALKWELL_LISTEN_PORT",
            )  # fmt: skip
            close_hook = _once(hook.cleanup)
            resources.push_async_callback(close_hook)
        if not await connect_bot_api(application, settings, stop):
            return  # stopped while the Bot API was unreachable
        resources.push_async_callback(application.shutdown)
        runtime.sender = Sender(application.bot, runtime)
        runtime.dispatcher = Dispatcher(runtime)
        runtime.detector = Detector()
        # in the background: the lexicon answers until the layer is ready
        runtime.detector.start(
            runtime.catalog.languages,
            layer=settings.triage_layer != "lexicon",
            embeddings=settings.triage_layer == "full",
        )
        try:
            await set_commands(application, runtime.catalog)
        except TelegramError as exc:  # the command menu is a convenience: never a reason to stop
            log.warning("could not set the command menu (%s); carrying on", type(exc).__name__)
        # Rows a killed run of this worker was sending go back to the outbox now: the first
        # tick sends them, instead of waiting for their leases to run out.
        await sync_clock(runtime)
        await leases.take_over_own_leases(runtime)
        await application.start()
        try:
            await runtime.sender.start()
            settle_gc()
            assert application.updater is not None
            try:
                await _start_updates(application, settings, webhook)
            except NetworkError as exc:  # TimedOut included; the retries are spent
                reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
                raise StartupError(
                    f"the Bot API at {settings.telegram_api_base_url} (TELEGRAM_API_BASE_URL) "
                    f"failed while WalkWell was starting to receive updates: {reason}"
                ) from None
            # Updates first: a backlog of due reminders (after downtime) is claimed once
            # people's messages, a red flag among them, are already being fetched.
            start_scheduling(application, runtime)
            if isinstance(runtime.clock, DatabaseClock) and application.job_queue is not None:

                async def resync(_: object) -> None:
                    with contextlib.suppress(Exception):  # the next minute tries again
                        await sync_clock(runtime)

                application.job_queue.run_repeating(resync, interval=60.0, first=60.0, name="clock")
            log.info("WalkWell is running (%s)", "webhook" if webhook else "polling")
            if ready is not None:
                ready.set()
            await stop.wait()
        finally:
            log.info("WalkWell is stopping")
            if webhook:
                await close_hook()  # no new webhook updates from here on
            with contextlib.suppress(Exception):
                await application.updater.stop()  # type: ignore[union-attr]
            await application.idle()  # type: ignore[attr-defined]
            if application.job_queue is not None:  # no tick may claim rows from here on
                await application.job_queue.stop(wait=True)
            await runtime.sender.stop()
            await application.stop()
            runtime.detector.close()
            await leases.close(runtime)
