"""What is left: typed answers the bot waits for, unknown commands, media, edits, other text."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import Ctx
from bot.conversation import Ask, Pending, Step, step_of
from bot.handlers import schedule, walks
from bot.handlers.common import Turn, language_for, person_handler
from bot.handlers.safety import deps, message_text
from bot.handlers.start import (
    answer_zone,
    ask_step,
    onboarding_answer,
    typed_onboarding_answer,
)
from bot.parsing import parse_answer
from bot.replies import understand
from bot.safety import episodes, lifecycle, texts

log = logging.getLogger(__name__)

MAX_ANSWER = 200
ONBOARDING_TYPED = (Ask.START_MINUTES, Ask.TIMES, Ask.MEAL_TIMES)
WALK_NUMBERS = (Ask.WALK_MINUTES, Ask.PAIN, Ask.PAIN_SCORE)


@person_handler(consent=False)
async def on_text(update: Update, ctx: Ctx, turn: Turn) -> None:
    """Free text: an answer to the open question, a plain reply we understand, else a pointer."""
    text = message_text(update)
    message = update.effective_message
    if message is not None and message.forward_origin is not None:
        turn.say("ui.err.forwarded")
        return
    if not text:
        turn.say("ui.err.empty")
        return
    person = turn.person
    if person is None or person.consent_at is None:
        turn.say("ui.err.need_start")
        return
    pending = turn.pending
    step = step_of(person.onboarding_step)
    if (pending is not None or step is not None) and len(text) > MAX_ANSWER:
        turn.say("ui.err.too_long")
        return
    if pending is not None and await _answer(turn, ctx, pending, text):
        return
    if step is not None and not step.startswith("screen"):
        if step == Step.TZ:  # the place question, from before questions expired
            await answer_zone(turn, text)
        elif pending is not None:  # its buttons still work: point to them
            turn.say("ui.err.use_buttons")
        else:
            ask_step(turn, step)  # the onboarding question, again
        return
    if await _during_an_episode(turn, ctx):
        return
    if await _plain_reply(turn, ctx, text):
        return
    yes_no = parse_answer(text) if len(text) <= 40 else None
    if yes_no in ("yes", "no") and await walks.typed_morning_answer(turn, ctx, yes_no == "yes"):
        return
    if pending is not None and pending.ask in WALK_NUMBERS:
        key = "ui.err.minutes" if pending.ask == Ask.WALK_MINUTES else "ui.err.pain_typed"
        turn.say(key, text=text[:64])
        return
    turn.say("ui.fallback.text")


async def _during_an_episode(turn: Turn, ctx: Ctx) -> bool:
    """While an emergency or same-day episode is open, words we cannot read ("should I go?",
    "yes", "was at the doctor's") get the way to help and the episode's buttons, never the
    walking pointer."""
    assert turn.person is not None
    esc = await episodes.live_episode(turn.db, turn.person)
    if esc is None or esc.tier not in lifecycle.SERIOUS_TIERS:
        return False
    turn.say(
        f"safety.live.{esc.tier}",
        buttons=texts.person_buttons(ctx.rt.catalog, turn.lang, esc.tier, esc.id),
        **episodes.params(deps(ctx), turn.person, turn.lang),
    )
    return True


async def _answer(turn: Turn, ctx: Ctx, pending: Pending, text: str) -> bool:
    """The text as the answer to the open question; False when it is not one."""
    ask = pending.ask
    yes_no = parse_answer(text) if len(text) <= 40 else None
    choice = pending.typed_choice(yes_no)
    if choice is not None:
        if ask == Ask.FLARE:
            await walks.walk_answer(turn, ctx, ask, choice)
        else:
            await onboarding_answer(turn, ctx, ask, choice)
        return True
    if yes_no == "no" and ask in (Ask.FLARE, Ask.PAIN_SCORE):
        turn.answered()
        turn.say("ui.reply.no_change")
        return True
    if ask in (Ask.PLACE, Ask.ZONE):
        await answer_zone(turn, text)
        return True
    if ask in ONBOARDING_TYPED:
        await typed_onboarding_answer(turn, ctx, ask, text)
        return True
    if ask in WALK_NUMBERS and any(ch.isdigit() for ch in text):
        await walks.typed_walk_answer(turn, ctx, ask, text)
        return True
    return False


async def _plain_reply(turn: Turn, ctx: Ctx, text: str) -> bool:
    """ "done", "walked 20 minutes", "I just ate", "later", "thanks", "my back hurts"."""
    reply = understand(text)
    if reply is None:
        return False
    if reply.kind == "walked":
        await walks.walked(turn, ctx, reply.minutes)
    elif reply.kind == "ate":
        await schedule.ate_now(turn, ctx)
    elif reply.kind == "later":
        await walks.later(turn, ctx)
    elif reply.kind == "pain":
        walks.offer_pain_score(turn)
    else:
        turn.say("ui.reply.thanks")
    return True


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


@person_handler(consent=False, button=True)
async def on_stale_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """Any callback data no handler claims (old, forged or foreign)."""
    turn.stale()


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
