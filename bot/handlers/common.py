"""The thin layer every handler shares: one session per update, replies sent after commit."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import io
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram import (
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.context import Ctx, Runtime
from bot.conversation import Ask, Pending, new_pending, stored, without_question
from bot.safety import episodes
from bot.services import people
from jobs.delivery import keyboard
from jobs.outgoing import Buttons, Outgoing
from messages.catalog import normalise_language

if TYPE_CHECKING:  # types only: handlers never query or change rows themselves
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.models import Person

log = logging.getLogger(__name__)

CHOSEN = "✓"

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


@dataclass
class _Reply:
    text: str
    markup: Markup = None
    photo: bytes | Callable[[], bytes] | None = None  # a callable is rendered after commit
    document: tuple[bytes, str] | None = None
    edit: bool = False
    chat_id: int | None = None  # another chat (the default: this update's)


@dataclass
class Turn:
    """One update's unit of work: the person, a session, and what to say once it commits."""

    rt: Runtime
    update: Update
    db: AsyncSession
    person: Person | None
    lang: str
    now: datetime
    replies: list[_Reply] = field(default_factory=list)
    outbox: list[Outgoing] = field(default_factory=list)
    callback_note: str | None = None
    # A tap: "chosen" closes the tapped message (its choice shown, its keyboard removed),
    # "stale" only removes its keyboard; None leaves it alone (safety flows decide themselves).
    tap: str | None = None
    chosen_label: str | None = None

    def t(self, key: str, /, **params: Any) -> str:
        """A catalogue text in this person's language."""
        return self.rt.catalog.text(self.lang, key, **params)

    def say(
        self, key: str, /, *, buttons: Buttons = (), markup: Markup = None, **params: Any
    ) -> None:
        self.say_text(self.t(key, **params), buttons=buttons, markup=markup)

    def say_text(self, text: str, *, buttons: Buttons = (), markup: Markup = None) -> None:
        self.replies.append(_Reply(text, markup or keyboard(buttons)))

    def edit_text(self, text: str, *, buttons: Buttons = ()) -> None:
        """Replace the tapped message's text (falls back to a new message)."""
        self.tap = None  # the edit is the answer: nothing else to close
        self.replies.append(_Reply(text, keyboard(buttons), edit=True))

    def tell(self, chat_id: int, text: str) -> None:
        """A message to another person's chat, sent after the commit like every reply."""
        self.replies.append(_Reply(text, chat_id=chat_id))

    def photo(self, data: bytes | Callable[[], bytes], caption: str) -> None:
        """A picture; given as a function, it is drawn after the commit, in a worker thread."""
        self.replies.append(_Reply(caption, photo=data))

    def document(self, data: bytes, filename: str, caption: str) -> None:
        self.replies.append(_Reply(caption, document=(data, filename)))

    def send_priority(self, items: list[Outgoing]) -> None:
        """Red-flag lane items (already stored in the outbox) to hand to the sender after commit."""
        self.outbox.extend(items)

    # -- the conversation -------------------------------------------------------------------
    @property
    def pending(self) -> Pending | None:
        """The question this person is being asked, if it is still open."""
        return Pending.from_json(self.person.pending if self.person else None, self.now)

    def ask(
        self,
        ask: Ask,
        base: str,
        *,
        ref: int | None = None,
        yes: str | None = None,
        no: str | None = None,
        lifetime: Any = None,
    ) -> str:
        """Make `ask` the pending question; returns the prefix its buttons must carry."""
        assert self.person is not None
        pending = new_pending(
            ask, base, secrets.token_hex(2), self.now, ref=ref, yes=yes, no=no, lifetime=lifetime
        )
        self.person.pending = stored(self.person.pending, pending)
        return pending.prefix

    def answered(self) -> None:
        """The question is answered: nothing is pending any more (other flows' state stays)."""
        if self.person is not None and self.person.pending:
            self.person.pending = without_question(self.person.pending)

    def chose(self, label: str | None = None) -> None:
        """Close the tapped message showing `label` (by default the tapped button's text)."""
        self.tap = "chosen"
        self.chosen_label = label

    def stale(self, key: str = "ui.err.stale_button", **params: Any) -> None:
        """Refuse a tap: nothing changes; a brief note on the button and its keyboard removed."""
        self.tap = "stale"
        self.callback_note = self.t(key, **params)

    @property
    def arg_text(self) -> str:
        message = self.update.effective_message
        text = (message.text or message.caption or "") if message else ""
        return text.split(maxsplit=1)[1] if " " in text.strip() else ""


def language_for(update: Update, person: Person | None, rt: Runtime) -> str:
    if person is not None and person.consent_at is not None:
        return normalise_language(
            person.language, rt.catalog.languages, rt.catalog.default_language
        )
    user = update.effective_user
    code = user.language_code if user else None
    return normalise_language(code, rt.catalog.languages, rt.catalog.default_language)


async def open_turn(ctx: Ctx, update: Update, db: AsyncSession, *, create: bool) -> Turn:
    rt = ctx.rt
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    now = rt.clock.now()
    if create:
        person: Person | None = await people.find_or_create(
            db, user.id, chat.id, settings=rt.settings, now=now
        )
    else:
        person = await people.find(db, user.id)
    if person is not None and person.open_tier is not None:
        await episodes.heard_from(db, person, now)  # any message or tap is an answer
    return Turn(rt, update, db, person, language_for(update, person, rt), now)


async def deliver(ctx: Ctx, turn: Turn) -> None:
    """After commit: red-flag lane first, then the replies, in order."""
    if turn.outbox and ctx.rt.sender is not None:
        ctx.rt.sender.submit(turn.outbox)
    query = turn.update.callback_query
    if query is not None:
        with contextlib.suppress(BadRequest):  # too old to answer: harmless
            await query.answer(turn.callback_note)
        if turn.tap is not None:
            await _close_tapped(ctx, turn)
    chat = turn.update.effective_chat
    if chat is None:
        return
    for reply in turn.replies:
        if callable(reply.photo):  # drawn off the event loop, once the transaction is over
            reply.photo = await asyncio.to_thread(reply.photo)
        try:
            await _with_retry(functools.partial(_send, ctx, reply, reply.chat_id or chat.id, query))
        except Forbidden:
            log.info("person blocked the bot; reply dropped")
            if reply.chat_id is None:
                return


def tapped_label(query: Any) -> str | None:
    """The text of the button that was tapped, from the message's own keyboard."""
    message = query.message
    markup = message.reply_markup if isinstance(message, Message) else None
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == query.data:
                return str(button.text)
    return None


async def _close_tapped(ctx: Ctx, turn: Turn) -> None:
    """After a tap: show the choice under the question and remove its keyboard (best effort)."""
    query = turn.update.callback_query
    message = query.message if query is not None else None
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    own = tapped_label(query)
    if own is None:
        return  # data that is not on this message's keyboard (forged): leave the keyboard be
    label = turn.chosen_label or own
    chat_id, message_id = message.chat.id, message.message_id
    with contextlib.suppress(BadRequest, Forbidden, NetworkError):
        if turn.tap == "chosen" and label and message.text:
            text = f"{message.text_html}\n\n{CHOSEN} {html.escape(label)}"
            if len(text) <= 4096:
                await ctx.bot.edit_message_text(text, chat_id, message_id, reply_markup=None)
                return
        await ctx.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)


async def _with_retry(send: Callable[[], Awaitable[None]], attempts: int = 3) -> None:
    """Replies honour 429 retry_after (up to 30 s) and retry connection failures."""
    for attempt in range(1, attempts + 1):
        try:
            await send()
            return
        except RetryAfter as exc:
            delay = (
                exc.retry_after.total_seconds()
                if hasattr(exc.retry_after, "total_seconds")
                else float(exc.retry_after)
            )
            if attempt == attempts or delay > 30:
                raise
            await asyncio.sleep(delay)
        except BadRequest:
            raise  # a refusal, not a network problem: sending again changes nothing
        except NetworkError as exc:
            # A timed-out request may have been delivered: do not send it twice.
            if attempt == attempts or isinstance(exc, TimedOut):
                raise
            await asyncio.sleep(0.5 * attempt)


async def _send(ctx: Ctx, reply: _Reply, chat_id: int, query: Any) -> None:
    bot = ctx.bot
    if reply.photo is not None:
        photo = reply.photo
        data = photo if isinstance(photo, bytes) else await asyncio.to_thread(photo)
        await bot.send_photo(chat_id, io.BytesIO(data), caption=reply.text)
    elif reply.document is not None:
        data, name = reply.document
        await bot.send_document(chat_id, io.BytesIO(data), filename=name, caption=reply.text)
    elif reply.edit and reply.chat_id is None and query is not None and query.message is not None:
        markup = reply.markup if isinstance(reply.markup, InlineKeyboardMarkup) else None
        try:
            await bot.edit_message_text(
                reply.text, chat_id, query.message.message_id, reply_markup=markup
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                await bot.send_message(chat_id, reply.text, reply_markup=reply.markup)
    else:
        await bot.send_message(chat_id, reply.text, reply_markup=reply.markup)


TurnHandler = Callable[[Update, Ctx, Turn], Awaitable[None]]


def person_handler(
    *, consent: bool = True, create: bool = False, button: bool = False
) -> Callable[[TurnHandler], Callable[[Update, Ctx], Coroutine[Any, Any, None]]]:
    """Open one session for the update, load the person, run the handler, commit, then reply.

    With consent=True, someone who has not agreed yet gets one line pointing to /start.
    With button=True (a tap): unless the handler refuses it (turn.stale) or edits the message
    itself, the tapped message is closed afterwards, its choice shown and its keyboard removed.
    """

    def wrap(fn: TurnHandler) -> Callable[[Update, Ctx], Coroutine[Any, Any, None]]:
        @functools.wraps(fn)
        async def handler(update: Update, ctx: Ctx) -> None:
            async with ctx.rt.sessions() as db, db.begin():
                turn = await open_turn(ctx, update, db, create=create)
                if button:
                    turn.tap = "chosen"
                if consent and (turn.person is None or turn.person.consent_at is None):
                    if button:
                        turn.stale("ui.err.need_start")
                    else:
                        turn.say("ui.err.need_start")
                else:
                    await fn(update, ctx, turn)
            await deliver(ctx, turn)

        return handler

    return wrap
