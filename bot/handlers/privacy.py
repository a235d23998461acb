"""/export and /delete."""

from __future__ import annotations

from telegram import Update

from bot.context import Ctx
from bot.handlers.common import Turn, person_handler
from bot.services import privacy


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
    turn.say(
        "ui.delete.confirm",
        buttons=(
            ((turn.t("ui.btn.confirm_delete"), "del:yes"), (turn.t("ui.btn.cancel"), "del:no")),
        ),
    )


@person_handler(consent=False)
async def on_delete_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """del:yes erases every row about the person; del:no changes nothing."""
    assert update.callback_query is not None
    if turn.person is None:
        turn.say("ui.err.stale_button")
        return
    if update.callback_query.data == "del:yes":
        await privacy.erase(turn.db, turn.person)
        turn.person = None
        turn.edit_text(turn.t("ui.delete.done"))
    else:
        turn.edit_text(turn.t("ui.delete.cancelled"))
