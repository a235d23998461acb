"""The opt-in trusted contact: told only when the person reports emergency warning signs.

The person sends /contact and forwards the link to someone they trust; that person opens it,
reads what they are agreeing to and taps Yes. /contact off removes them at any time.
"""

from __future__ import annotations

from telegram import Update

from bot.context import Ctx
from bot.handlers.common import Turn, person_handler
from bot.services import contact

CODE_PREFIX = "c_"


@person_handler()
async def contact_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/contact: an invitation link; /contact off: remove the contact."""
    person = turn.person
    assert person is not None
    if turn.arg_text.strip().lower() in ("off", "aus", "stop"):
        contact.remove(person)
        turn.say("ui.contact.removed")
        return
    code = contact.invite(person)
    turn.say("ui.contact.invite", link=f"https://t.me/{ctx.bot.username}?start={CODE_PREFIX}{code}")


async def invitation(turn: Turn, code: str) -> None:
    """/start c_<code> from the invited contact: explain, then ask for consent."""
    user = turn.update.effective_user
    inviter = await contact.inviter_of(turn.db, code, user.id if user else 0)
    if inviter is None:
        turn.say("ui.err.stale_button")
        return
    turn.say(
        "ui.contact.ask", name=inviter.first_name or "?",
        buttons=(((turn.t("ui.btn.yes"), f"ct:y:{code}"), (turn.t("ui.btn.no"), f"ct:n:{code}")),),
    )  # fmt: skip


@person_handler(consent=False, button=True)
async def on_contact_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """ct:y|n:<code>: the contact agrees (or not), once; the person is told after the commit."""
    query = update.callback_query
    assert (
        query is not None
        and update.effective_user is not None
        and update.effective_chat is not None
    )
    parts = (query.data or "").split(":", 2)
    code = parts[2] if len(parts) == 3 else ""
    inviter = await contact.inviter_of(turn.db, code, update.effective_user.id)
    if inviter is None or parts[1] not in ("y", "n"):
        turn.stale()
        return
    accepted = parts[1] == "y"
    contact.answer(inviter, accepted, update.effective_chat.id, update.effective_user.first_name)
    if not accepted:
        turn.say("ui.contact.declined")
        return
    turn.say("ui.contact.accepted", name=inviter.first_name or "?")
    turn.tell(
        inviter.chat_id,
        ctx.rt.catalog.text(
            inviter.language, "ui.contact.linked", contact_name=inviter.contact_name
        ),
    )
