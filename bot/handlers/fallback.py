"""What is left: typed answers the bot waits for, unknown commands, media, edits, other text."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import Ctx
from bot.handlers.common import Turn, language_for, person_handler
from bot.handlers.safety import deps, message_text
from bot.handlers.start import answer_zone
from bot.handlers.walks import answer_minutes
from bot.safety import episodes

log = logging.getLogger(__name__)

MAX_ANSWER = 200


@person_handler(consent=False)
async def on_text(update: Update, ctx: Ctx, turn: Turn) -> None:
    """Free text: an answer the bot asked for, else a short pointer to /help."""
    text = message_text(update)
    message = update.effective_message
    if message is not None and message.forward_origin is not None:
        turn.say("ui.err.forwarded")
        return
    if not text:
        turn.say("ui.err.empty")
        return
    pending = (turn.person.pending or {}) if turn.person else {}
    ask = pending.get("ask")
    if ask and len(text) > MAX_ANSWER:
        turn.say("ui.err.too_long")
        return
    if ask == "tz":
        await answer_zone(turn, text)
    elif ask == "minutes":
        delivery = pending.get("delivery")
        await answer_minutes(turn, ctx, text, int(delivery) if delivery is not None else None)
    elif turn.person is None or turn.person.consent_at is None:
        turn.say("ui.err.need_start")
    else:
        turn.say("ui.fallback.text")


@person_handler(consent=False)
async def on_media(update: Update, ctx: Ctx, turn: Turn) -> None:
    """Stickers, voice, photos, files: we can't read them, but the emergency pointer goes out."""
    turn.say("redflags.unreadable", **episodes.params(deps(ctx), turn.person, turn.lang))


@person_handler(consent=False)
async def on_unknown_command(update: Update, ctx: Ctx, turn: Turn) -> None:
    """A command WalkWell does not have."""
    turn.say("ui.err.unknown_command")


@person_handler(consent=False)
async def on_edit(update: Update, ctx: Ctx, turn: Turn) -> None:
    """An edited message (already triaged): the bot only reads new messages."""
    turn.say("ui.err.edited")


@person_handler(consent=False)
async def on_stale_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """Any callback data no handler claims (old, forged or foreign)."""
    turn.say("ui.err.stale_button")


async def on_error(update: object, ctx: Ctx) -> None:
    """Log without secrets (the log filter redacts them) and tell the person, kindly."""
    log.error("error while handling an update: %s", type(ctx.error).__name__, exc_info=ctx.error)
    if (
        not isinstance(update, Update)
        or update.effective_chat is None
        or update.effective_chat.type != "private"
    ):
        return
    rt = ctx.rt
    text = rt.catalog.text(
        language_for(update, None, rt),
        "ui.err.generic",
        emergency_number=rt.settings.emergency_number,
    )
    try:
        await ctx.bot.send_message(update.effective_chat.id, text)
    except Exception:  # the error reply is best effort
        log.warning("could not send the error reply")
