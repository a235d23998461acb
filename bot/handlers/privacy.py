"""/export and /delete."""

from __future__ import annotations

from telegram import Update

from bot.context import Ctx
from bot.conversation import Ask
from bot.handlers.common import Turn, person_handler
from bot.services import privacy

DELETE_TOKEN = "delete_token"  # in people.pending, beside whatever else is pending


@person_handler()
async def export_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/export: a JSON file of everything stored, and a CSV of walks and pain."""
    assert turn.person is not None
    blob, table = await privacy.export(turn.db, turn.person)
    turn.document(blob, "walkwell-export.json", turn.t("ui.export.caption"))
    turn.document(table, "walkwell-walks.csv", turn.t("ui.export.caption"))


@person_handler(consent=False)
async def delete_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/delete: asks to confirm first."""
    if turn.person is None:
        turn.say("ui.delete.done")
        return
    prefix = turn.ask(Ask.DELETE, "del")
    turn.say(
        "ui.delete.confirm",
        buttons=(
            (
                (turn.t("ui.btn.confirm_delete"), f"{prefix}:yes"),
                (turn.t("ui.btn.cancel"), f"{prefix}:no"),
            ),
        ),
    )


@person_handler(consent=False, button=True)
async def on_delete_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """del:<token>:yes erases every row about the person; del:<token>:no changes nothing.

    Only the latest /delete question counts: an old confirmation can never erase anything."""
    assert update.callback_query is not None
    pending = turn.pending
    value = (
        pending.value_of(update.callback_query.data or "", turn.now)
        if pending is not None and pending.ask == Ask.DELETE
        else None
    )
    if turn.person is None or value not in ("yes", "no"):
        turn.stale()
        return
    if value == "yes":
        await privacy.erase(turn.db, turn.person)
        turn.person = None
        turn.edit_text(turn.t("ui.delete.done"))
    else:
        turn.answered()
        turn.edit_text(turn.t("ui.delete.cancelled"))
