"""The HTTP side, on two listeners: the Bot API webhook (secret-checked) alone on
WALKWELL_LISTEN_HOST:WALKWELL_LISTEN_PORT, and /healthz, /readyz and /metrics on
WALKWELL_HEALTH_HOST:WALKWELL_HEALTH_PORT, so publishing the webhook publishes nothing else."""

from __future__ import annotations

import errno
import hmac
import json
import logging
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select, text
from telegram import Update

from bot.config import StartupError
from bot.context import Runtime
from bot.models import Escalation
from bot.safety.lifecycle import LIVE
from bot.telegram_http import clean_update_json

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram"
MAX_UPDATE_BYTES = 1 << 20


def build_webhook_app(runtime: Runtime, application: Any) -> web.Application:
    """The public listener (webhook mode): POST /telegram, secret-checked, and nothing else."""
    app = web.Application(client_max_size=MAX_UPDATE_BYTES)
    secret = (
        runtime.settings.webhook_secret.get_secret_value()
        if runtime.settings.webhook_secret
        else None
    )

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if secret is None or not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=403, text="forbidden")
        try:
            data = clean_update_json(await request.read())
            update = Update.de_json(data, application.bot)
        except Exception:
            return web.Response(status=400, text="bad update")
        await application.update_queue.put(update)
        return web.Response(text="ok")

    app.router.add_post(WEBHOOK_PATH, webhook)
    return app


def build_health_app(runtime: Runtime, application: Any) -> web.Application:
    """The operator's listener: /healthz, /readyz and /metrics (never the webhook)."""
    app = web.Application()

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        problems = await readiness_problems(runtime, application)
        body = json.dumps({"ready": not problems, "problems": problems})
        return web.Response(
            status=503 if problems else 200, text=body, content_type="application/json"
        )

    async def metrics(_: web.Request) -> web.Response:
        try:
            async with runtime.sessions() as session:
                count = await session.scalar(
                    select(func.count()).select_from(Escalation).where(Escalation.status.in_(LIVE))
                )
            runtime.metrics.open_escalations.set(count or 0)
        except Exception:
            log.warning("could not count open escalations for /metrics")
        return web.Response(
            body=runtime.metrics.render(), content_type="text/plain", charset="utf-8"
        )

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


async def readiness_problems(runtime: Runtime, application: Any) -> list[str]:
    """Empty when the worker can do its job: database reachable, scheduler running, dispatch recent."""
    problems: list[str] = []
    try:
        async with runtime.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        problems.append("database unreachable")
    job_queue = application.job_queue
    if job_queue is None or not job_queue.scheduler.running:
        problems.append("scheduler not running")
    dispatcher = runtime.dispatcher
    limit = timedelta(seconds=3 * runtime.settings.dispatch_interval_seconds)
    if (
        dispatcher is None
        or dispatcher.last_tick is None
        or runtime.clock.now() - dispatcher.last_tick > limit
    ):
        problems.append("no recent dispatch")
    return problems


async def start_listener(
    app: web.Application, host: str, port: int, *, host_setting: str, port_setting: str
) -> tuple[web.AppRunner, int]:
    """Serve `app` on host:port; returns the runner (clean it up) and the port actually bound.

    A port that cannot be bound (taken, not allowed, no such address) is a StartupError naming
    the port and the setting, and nothing is left open.
    """
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        reason = exc.strerror or type(exc).__name__
        if exc.errno == errno.EADDRINUSE:
            reason = "it is already in use"
        raise StartupError(
            f"cannot listen on {host}:{port} ({host_setting}, {port_setting}): {reason}. "
            f"Stop what holds it or choose another {port_setting}."
        ) from None
    server = site._server
    sockets = list(getattr(server, "sockets", None) or [])
    return runner, int(sockets[0].getsockname()[1]) if sockets else port
