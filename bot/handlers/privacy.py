"""/export and /delete."""

from __future__ import annotations

import secrets

from telegram import Update

from bot.context import Ctx
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
    # A one-time token: only the buttons of this very confirmation can erase, once.
    token = secrets.token_hex(4)
    turn.person.pending = {**(turn.person.pending or {}), DELETE_TOKEN: token}
    turn.say(
        "ui.delete.confirm",
        buttons=(
            (
                (turn.t("ui.btn.confirm_delete"), f"del:yes:{token}"),
                (turn.t("ui.btn.cancel"), f"del:no:{token}"),
            ),
        ),
    )


@person_handler(consent=False)
async def on_delete_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """del:yes erases every row about the person; del:no changes nothing."""
    assert update.callback_query is not None
    _, answer, token = ((update.callback_query.data or "") + "::").split(":")[:3]
    pending = dict(turn.person.pending or {}) if turn.person is not None else {}
    if turn.person is None or not token or pending.get(DELETE_TOKEN) != token:
        turn.say("ui.err.stale_button")  # forged, old, or already used
        return
    del pending[DELETE_TOKEN]
    turn.person.pending = pending or None
    if answer == "yes":
        await privacy.erase(turn.db, turn.person)
        turn.person = None
        turn.edit_text(turn.t("ui.delete.done"))
    else:
        turn.edit_text(turn.t("ui.delete.cancelled"))
