"""Operator commands: /stats, /escalations, /broadcast (WALKWELL_ADMIN_IDS only)."""

from __future__ import annotations

import html

from telegram import Update

from bot.context import Ctx
from bot.handlers.common import Turn, person_handler
from bot.safety import texts
from bot.services import admin
from messages.catalog import Html

MAX_BROADCAST = 3500


def _is_admin(update: Update, ctx: Ctx) -> bool:
    user = update.effective_user
    return user is not None and user.id in ctx.rt.settings.admin_ids


@person_handler(consent=False)
async def stats(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/stats: today's figures."""
    if not _is_admin(update, ctx):
        turn.say("ui.err.unknown_command")
        return
    s = await admin.stats(turn.db, turn.now)
    turn.say(
        "ui.admin.stats", active=s.by_status.get("active", 0), paused=s.by_status.get("paused", 0),
        stopped=s.by_status.get("stopped", 0), blocked=s.by_status.get("blocked", 0), sent=s.sent,
        missed=s.missed, unknown=s.unknown, retaken=s.retaken, p50=s.lateness_p50_ms / 1000, p99=s.lateness_p99_ms / 1000, walks=s.walks,
        open=s.open_escalations,
    )  # fmt: skip


@person_handler(consent=False)
async def escalations(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/escalations: open episodes, oldest first, each with an Acknowledge button."""
    if not _is_admin(update, ctx):
        turn.say("ui.err.unknown_command")
        return
    found = await admin.open_escalations(turn.db)
    if not found:
        turn.say("ui.admin.no_escalations")
        return
    for esc, person in found:
        catalog = ctx.rt.catalog
        name = html.escape(person.first_name or "?")
        link = Html(f'<a href="tg://user?id={person.telegram_user_id}">{name}</a>')
        line = turn.t(
            "ui.admin.escalation_line", tier=texts.tier_word(catalog, turn.lang, esc.tier),
            flags=texts.flags_in_words(catalog, turn.lang, esc.flags.split(",")), person=link,
            opened=esc.opened_at.strftime("%Y-%m-%d %H:%M UTC"),
            acknowledged=esc.acknowledged_at.strftime("%H:%M UTC") if esc.acknowledged_at else "-",
        )  # fmt: skip
        turn.say_text(line, buttons=(((turn.t("redflags.btn.acknowledge"), f"op:ack:{esc.id}"),),))


@person_handler(consent=False)
async def broadcast(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/broadcast TEXT: a preview with a confirm button; nothing is sent before the tap."""
    if not _is_admin(update, ctx):
        turn.say("ui.err.unknown_command")
        return
    text = turn.arg_text.strip()
    if not text or len(text) > MAX_BROADCAST:
        turn.say("ui.admin.broadcast_usage")
        return
    chat = update.effective_chat
    assert chat is not None
    draft = await admin.draft_broadcast(turn.db, chat.id, html.escape(text), turn.now)
    turn.say("ui.admin.broadcast_preview")
    turn.say_text(
        html.escape(text),
        buttons=(
            (
                (turn.t("ui.btn.accept"), f"adm:bc:{draft.id}"),
                (turn.t("ui.btn.cancel"), f"adm:no:{draft.id}"),
            ),
        ),
    )


@person_handler(consent=False, button=True)
async def on_broadcast_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """adm:bc:<id> sends the draft to everyone active; adm:no:<id> drops it."""
    assert update.callback_query is not None
    if not _is_admin(update, ctx):
        turn.stale()
        return
    parts = (update.callback_query.data or "").split(":")
    draft = (
        await admin.open_draft(turn.db, int(parts[2]))
        if len(parts) == 3 and parts[2].isdigit()
        else None
    )
    if draft is None:
        turn.stale()
        return
    if parts[1] == "no":
        admin.cancel_draft(draft)
        turn.say("ui.admin.broadcast_cancelled")
        return
    count = await admin.fan_out(turn.db, draft, turn.now)
    turn.say("ui.admin.broadcast_queued", count=count)
    if ctx.rt.dispatcher is not None:
        ctx.rt.dispatcher.schedule_changed(turn.now)
