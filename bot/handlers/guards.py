"""Guards that run before everything: private chats only, and inbound flood control."""

from __future__ import annotations

import math
import time
from collections import deque

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.context import Ctx
from bot.handlers.fallback import on_stale_button
from bot.handlers.safety import detect
from messages.catalog import normalise_language

WINDOW_SECONDS = 60.0


def _lang(update: Update, ctx: Ctx) -> str:
    user = update.effective_user
    return normalise_language(user.language_code if user else None, ctx.rt.catalog.languages)


async def private_only(update: Update, ctx: Ctx) -> None:
    """Group -3: in groups, answer commands with one line; ignore the rest. Operator buttons pass."""
    chat = update.effective_chat
    if chat is None or chat.type == "private":
        return
    query = update.callback_query
    if query is not None:
        if (query.data or "").startswith("op:"):
            return
        await query.answer()
        raise ApplicationHandlerStop
    message = update.message
    if message is not None and message.text and message.text.startswith("/"):
        await message.reply_text(ctx.rt.catalog.text(_lang(update, ctx), "ui.err.group_chat"))
    elif message is not None and (message.text or message.caption):
        await _red_flag_in_group(update, ctx, message.text or message.caption or "")
    raise ApplicationHandlerStop


async def _red_flag_in_group(update: Update, ctx: Ctx, text: str) -> None:
    """A red flag wins in a group too: the emergency advice, and an invitation to talk privately
    (nothing is stored: a group is not a person's private space)."""
    rt = ctx.rt
    assessment = await detect(ctx, text[:4096])
    if not (assessment.is_red_flag or assessment.crisis):
        return
    assert update.message is not None
    rt.metrics.red_flags.labels(assessment.tier).inc()
    await update.message.reply_text(
        rt.catalog.text(
            _lang(update, ctx),
            "redflags.group",
            emergency_number=rt.settings.emergency_number,
        )  # fmt: skip
    )


INT32 = 2**31


def forged(data: str) -> bool:
    """Callback data no WalkWell button carries: a digit that is not ASCII ("²", "١"), or a
    number that does not fit a database id (32 bits). Our buttons only ever carry such ids."""
    for part in data.split(":"):
        if any(c.isdigit() and not "0" <= c <= "9" for c in part):
            return True
        digits = part.removeprefix("-")
        if digits.isascii() and digits.isdigit() and int(digits) >= INT32:
            return True
    return False


async def forged_callback(update: Update, ctx: Ctx) -> None:
    """Group -2: forged callback data is answered like any old button, before any handler
    parses it or the database sees it."""
    query = update.callback_query
    if query is None or not forged(query.data or ""):
        return
    await on_stale_button(update, ctx)
    raise ApplicationHandlerStop


class FloodGate:
    """Per-person sliding window of accepted messages. A refused message is answered with when to
    try again (it is not counted, so the wait it names is true); after MAX_NOTES refusals in a
    window the rest are ignored, so a runaway client cannot make the bot flood back."""

    MAX_NOTES = 3

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.seen: dict[int, deque[float]] = {}
        self.notes: dict[int, deque[float]] = {}

    def check(self, user_id: int, now: float) -> tuple[str, int]:
        """('ok', 0), ('refuse', seconds to wait) or ('drop', seconds to wait)."""
        window = self.seen.setdefault(user_id, deque())
        while window and now - window[0] > WINDOW_SECONDS:
            window.popleft()
        if len(window) < self.per_minute:
            window.append(now)
            return "ok", 0
        wait = max(1, math.ceil(WINDOW_SECONDS - (now - window[0])))
        notes = self.notes.setdefault(user_id, deque())
        while notes and now - notes[0] > WINDOW_SECONDS:
            notes.popleft()
        if len(notes) >= self.MAX_NOTES:
            return "drop", wait
        notes.append(now)
        return "refuse", wait

    def forget_idle(self, now: float) -> None:
        for user_id in [u for u, w in self.seen.items() if not w or now - w[-1] > WINDOW_SECONDS]:
            del self.seen[user_id]
            self.notes.pop(user_id, None)


async def flood_control(update: Update, ctx: Ctx) -> None:
    """Group -1 (after red-flag triage, which always runs): too many messages a minute are refused,
    each with when to try again. Taps on the bot's own buttons never count: answering the bot's
    questions is not flooding (a tap only ever changes what its own question allows)."""
    user = update.effective_user
    if user is None or update.callback_query is not None:
        return
    gate: FloodGate = ctx.rt.extras.setdefault("flood", FloodGate(ctx.rt.settings.flood_per_minute))
    now = time.monotonic()
    if len(gate.seen) > 10_000:
        gate.forget_idle(now)
    verdict, wait = gate.check(user.id, now)
    if verdict == "ok":
        return
    if verdict == "refuse" and update.effective_message is not None:
        await update.effective_message.reply_text(
            ctx.rt.catalog.text(_lang(update, ctx), "ui.err.flood", seconds=wait)
        )
    raise ApplicationHandlerStop
