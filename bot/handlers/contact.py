"""The opt-in trusted contact: told only when the person reports emergency warning signs.

The person sends /contact and forwards the link to someone they trust; that person opens it,
reads what they are agreeing to and taps Yes. /contact off removes them at any time.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from telegram import Update

from bot.context import Ctx
from bot.handlers.common import Turn, person_handler
from bot.models import Person

CODE_PREFIX = "c_"


@person_handler()
async def contact_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/contact: an invitation link; /contact off: remove the contact."""
    person = turn.person
    assert person is not None
    if turn.arg_text.strip().lower() in ("off", "aus", "stop"):
        person.contact_chat_id = person.contact_name = person.contact_code = None
        turn.say("ui.contact.removed")
        return
    person.contact_code = secrets.token_urlsafe(12)
    link = f"https://t.me/{ctx.bot.username}?start={CODE_PREFIX}{person.contact_code}"
    turn.say("ui.contact.invite", link=link)


async def invitation(turn: Turn, code: str) -> None:
    """/start c_<code> from the invited contact: explain, then ask for consent."""
    inviter = await turn.db.scalar(select(Person).where(Person.contact_code == code))
    if inviter is None or inviter.telegram_user_id == turn.update.effective_user.id:  # type: ignore[union-attr]
        turn.say("ui.err.stale_button")
        return
    turn.say(
        "ui.contact.ask", name=inviter.first_name or "?",
        buttons=(((turn.t("ui.btn.yes"), f"ct:y:{code}"), (turn.t("ui.btn.no"), f"ct:n:{code}")),),
    )  # fmt: skip


@person_handler(consent=False)
async def on_contact_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """ct:y|n:<code>: the contact agrees (or not); the person is told."""
    query = update.callback_query
    assert (
        query is not None
        and update.effective_user is not None
        and update.effective_chat is not None
    )
    parts = (query.data or "").split(":", 2)
    code = parts[2] if len(parts) == 3 else ""
    inviter = (
        await turn.db.scalar(select(Person).where(Person.contact_code == code)) if code else None
    )
    if (
        inviter is None
        or parts[1] not in ("y", "n")
        or inviter.telegram_user_id == update.effective_user.id
    ):
        turn.say("ui.err.stale_button")
        return
    inviter.contact_code = None  # one use only
    if parts[1] == "n":
        turn.say("ui.contact.declined")
        return
    inviter.contact_chat_id = update.effective_chat.id
    inviter.contact_name = (update.effective_user.first_name or "")[:64]
    turn.say("ui.contact.accepted", name=inviter.first_name or "?")
    await ctx.bot.send_message(
        inviter.chat_id,
        ctx.rt.catalog.text(
            inviter.language, "ui.contact.linked", contact_name=inviter.contact_name
        ),
    )
