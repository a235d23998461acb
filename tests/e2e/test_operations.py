"""Webhook mode with Telegram's secret token, health, readiness and metrics, operator commands."""

from __future__ import annotations

import httpx

from tests.e2e.harness import ADMIN_ID, running_bot
from tests.e2e.test_process import free_port

SECRET = "s3cret-webhook-token-0123456789"


async def test_webhook_mode_processes_updates_only_with_the_right_secret(database_url: str) -> None:
    port = free_port()
    async with running_bot(
        database_url, webhook=True, WALKWELL_LISTEN_PORT=port,
        WALKWELL_WEBHOOK_URL=f"http://127.0.0.1:{port}", WALKWELL_WEBHOOK_SECRET=SECRET,
    ) as h:  # fmt: skip
        assert h.stand.webhook is not None
        assert h.stand.webhook.secret_token == SECRET
        alex = h.stand.person(5001)
        forged = {"update_id": 99, "message": {"message_id": 1, "date": 0, "text": "/start",
                  "chat": {"id": 5001, "type": "private"}, "from": {"id": 5001, "is_bot": False, "first_name": "X"}}}  # fmt: skip
        async with httpx.AsyncClient() as client:
            missing = await client.post(f"http://127.0.0.1:{port}/telegram", json=forged)
            wrong = await client.post(
                f"http://127.0.0.1:{port}/telegram",
                json=forged,
                headers={"X-Telegram-Bot-Api-Secret-Token": "nope"},
            )
            # The published listener serves the webhook and nothing else.
            health_elsewhere = await client.get(f"http://127.0.0.1:{port}/healthz")
            metrics_elsewhere = await client.get(f"http://127.0.0.1:{port}/metrics")
        assert (missing.status_code, wrong.status_code) == (403, 403)
        assert (health_elsewhere.status_code, metrics_elsewhere.status_code) == (404, 404)
        assert h.runtime.extras["health_port"] not in (0, port)
        await h.application.idle()
        assert h.stand.transcript(alex) == []  # never processed
        await h.stand.send(alex, "/start")
        reply = await h.stand.next_message(alex, timeout=10)
        assert "WalkWell" in reply.plain


async def test_health_readiness_and_metrics(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(5002)
        await h.send(alex, "/help")
        await h.tick()
        port = h.runtime.extras["health_port"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/healthz")
            ready = await client.get("/readyz")
            metrics = await client.get("/metrics")
            webhook = await client.post("/telegram", json={"update_id": 1})
        assert health.status_code == 200
        assert webhook.status_code == 404  # the operator's listener never takes updates
        assert ready.status_code == 200, ready.text
        for name in ("walkwell_updates_total", "walkwell_handler_seconds", "walkwell_reminders_total",
                     "walkwell_send_seconds", "walkwell_lateness_seconds", "walkwell_429_total",
                     "walkwell_blocked_total", "walkwell_open_escalations"):  # fmt: skip
            assert name in metrics.text


async def test_operator_commands_refuse_everyone_else(database_url: str) -> None:
    async with running_bot(database_url) as h:
        eve = h.stand.person(5003)
        unknown = h.runtime.catalog.text("en", "ui.err.unknown_command")
        for command in ("/stats", "/escalations", "/broadcast hello"):
            (reply,) = await h.send(eve, command)
            assert reply.plain == unknown


async def test_stats_and_broadcast_for_an_operator(database_url: str) -> None:
    async with running_bot(database_url) as h:
        admin = h.stand.person(ADMIN_ID, "Op")
        alex = h.stand.person(5004)
        await h.onboard(alex)
        (stats,) = await h.send(admin, "/stats")
        assert "1 active" in stats.plain
        preview_intro, preview = await h.send(admin, "/broadcast Clinic closed on Friday <3")
        assert h.stand.transcript(alex)[-1].plain != "Clinic closed on Friday <3"
        await h.tap(admin, preview, 0)
        await h.tick()
        assert h.stand.transcript(alex)[-1].plain == "Clinic closed on Friday <3"
