"""The HTTP side: the Bot API webhook (secret-checked), /healthz, /readyz and /metrics."""

from __future__ import annotations

import hmac
import json
import logging
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select, text
from telegram import Update

from bot.context import Runtime
from bot.models import Escalation
from bot.safety.lifecycle import LIVE

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram"
MAX_UPDATE_BYTES = 1 << 20


def build_web_app(runtime: Runtime, application: Any) -> web.Application:
    """Routes for one worker; the webhook route exists only when a secret is configured."""
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
            data = await request.json(loads=json.loads)
            update = Update.de_json(data, application.bot)
        except Exception:
            return web.Response(status=400, text="bad update")
        await application.update_queue.put(update)
        return web.Response(text="ok")

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

    if secret is not None:
        app.router.add_post(WEBHOOK_PATH, webhook)
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


async def start_web(runtime: Runtime, application: Any) -> web.AppRunner:
    runner = web.AppRunner(build_web_app(runtime, application), access_log=None, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, runtime.settings.listen_host, runtime.settings.listen_port)
    await site.start()
    sockets = site._server.sockets if site._server is not None else []  # type: ignore[union-attr]
    runtime.extras["web_port"] = (
        sockets[0].getsockname()[1] if sockets else runtime.settings.listen_port
    )
    return runner
