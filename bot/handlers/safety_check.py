"""The safety check's buttons (sc:*) and typed yes / no / not sure answers to it."""

from __future__ import annotations

import contextlib
import re

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import filters

from bot.context import Ctx
from bot.handlers import fallback
from bot.handlers.common import Turn, deliver, open_turn, person_handler
from bot.handlers.safety import deps, message_text, reach
from bot.parsing import parse_answer
from bot.safety import safety_check
from jobs.safety_check import ANSWERS

# sc:<check>:<n|y|u> answers the check; sc:<check>:w:<sign> picks the sign after a yes.
CALLBACK = re.compile(r"sc:([0-9]{1,9}):(?:([nyu])|w:([bosl]))")
TYPED_LIMIT = 40  # longer text is not a one-word answer


class _TypedAnswer(filters.MessageFilter):
    """A short yes / no / not sure in English or German (bot.parsing.parse_answer)."""

    def filter(self, message: Message) -> bool:
        text = message.text or ""
        return 0 < len(text) <= TYPED_LIMIT and parse_answer(text) is not None


TYPED_ANSWER = filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE & _TypedAnswer()


def _show(turn: Turn, outcome: safety_check.Outcome) -> None:
    if outcome.not_yours:
        turn.say("ui.err.not_yours")
        return
    turn.send_priority(outcome.outgoing)
    if outcome.edit is not None and outcome.edit_message_id is None:
        turn.edit_text(outcome.edit)  # the tapped message: the answer shown, the keyboard gone
    for text, buttons in outcome.texts:
        turn.say_text(text, buttons=buttons)


@person_handler()
async def on_check_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """A tap on the check or on its follow-up question."""
    assert update.callback_query is not None and turn.person is not None
    match = CALLBACK.fullmatch(update.callback_query.data or "")
    if match is None:
        turn.say("ui.err.stale_button")
        return
    d, who = deps(ctx), reach(turn)
    check_id, reply, sign = int(match[1]), match[2], match[3]
    if reply is not None:
        outcome = await safety_check.answer(
            turn.db, d, turn.person, who, turn.lang, check_id, ANSWERS[reply], turn.now
        )
    else:
        outcome = await safety_check.choose_sign(
            turn.db, d, turn.person, who, turn.lang, check_id, sign, turn.now
        )
    _show(turn, outcome)


async def on_typed_answer(update: Update, ctx: Ctx) -> None:
    """A typed yes / no / not sure: the answer to a check sent in the last day, if one waits;
    anything else goes on to the ordinary text handler."""
    answer = parse_answer(message_text(update))
    outcome: safety_check.Outcome | None = None
    async with ctx.rt.sessions() as db, db.begin():
        turn = await open_turn(ctx, update, db, create=False)
        person = turn.person
        if answer is not None and person is not None and person.consent_at is not None:
            outcome = await safety_check.answer_typed(
                db, deps(ctx), person, reach(turn), turn.lang, answer, turn.now
            )
            if outcome is not None:
                _show(turn, outcome)
    if outcome is None:
        await fallback.on_text(update, ctx)
        return
    await deliver(ctx, turn)
    chat = update.effective_chat
    if outcome.edit is not None and outcome.edit_message_id is not None and chat is not None:
        with contextlib.suppress(TelegramError):  # closing the old keyboard is a courtesy
            await ctx.bot.edit_message_text(outcome.edit, chat.id, outcome.edit_message_id)
