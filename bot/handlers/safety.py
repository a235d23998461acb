"""Red flags win over every other flow: triage on every text, the checklists, the follow-up buttons."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.context import Ctx
from bot.detector import lexicon_everywhere
from bot.handlers.common import Turn, deliver, open_turn, person_handler
from bot.models import Escalation, SymptomReport
from bot.parsing import parse_answer
from bot.services import redflags
from bot.triage import FLAGS, Assessment
from jobs.outgoing import Buttons
from messages.catalog import normalise_language

log = logging.getLogger(__name__)

SPIKE_FLAGS = ("E1", "E3", "E5")  # spec §5.4: bladder/bowel, saddle numbness, both legs
SCREEN_FLAGS = ("E1", "E3", "E5", "E7")  # onboarding screen questions q1..q4


def deps(ctx: Ctx) -> redflags.Deps:
    return redflags.Deps(ctx.rt.catalog, ctx.rt.settings)


def message_text(update: Update) -> str:
    message = update.effective_message
    if message is None:
        return ""
    return (message.text or message.caption or "").strip()


async def triage_text(update: Update, ctx: Ctx) -> None:
    """Group -2: every text, caption and edit is assessed before anything else sees it."""
    text = message_text(update)
    if not text or update.effective_user is None or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    assessment = await detect(ctx, text[:4096])
    answer = parse_answer(text) if len(text) <= 40 else None
    if not (assessment.is_red_flag or assessment.confirm or assessment.question or answer):
        return
    try:
        async with ctx.rt.sessions() as db, db.begin():
            create = assessment.is_red_flag or bool(assessment.confirm)
            turn = await open_turn(ctx, update, db, create=create)
            handled = await _handle(turn, ctx, assessment, answer, text)
    except Exception:
        # Storage failed: a red flag must still get its answer, straight from here.
        log.exception("red-flag handling failed; answering without storage")
        if assessment.is_red_flag or assessment.confirm:
            await _answer_without_storage(update, ctx, assessment)
            raise ApplicationHandlerStop from None
        raise
    if handled:
        ctx.rt.metrics.red_flags.labels(assessment.tier).inc()
        await deliver(ctx, turn)
        raise ApplicationHandlerStop


async def detect(ctx: Ctx, text: str) -> Assessment:
    """The detector's reading of a text in every language WalkWell speaks (bot.detector)."""
    languages = ctx.rt.catalog.languages
    if ctx.rt.detector is None:
        return lexicon_everywhere(text, languages)
    return await ctx.rt.detector.assess(text, languages)


async def _handle(
    turn: Turn, ctx: Ctx, assessment: Assessment, answer: str | None, text: str
) -> bool:
    person = turn.person
    if person is None:
        return False
    pending = person.pending or {}
    if pending.get("ask") == "confirm" and answer is not None and not assessment.is_red_flag:
        await _confirm_answer(turn, ctx, int(pending["report"]), answer)
        return True
    if assessment.is_red_flag or assessment.confirm or assessment.question:
        if person.consent_at is None:
            person.language = turn.lang
        await _act(turn, ctx, assessment, text)
        return True
    return False


async def _answer_without_storage(update: Update, ctx: Ctx, assessment: Assessment) -> None:
    """Last resort when the database is down: the emergency message or the list of signs."""
    rt = ctx.rt
    user = update.effective_user
    lang = normalise_language(user.language_code if user else None, rt.catalog.languages)
    number = rt.settings.emergency_number
    params = {"emergency_number": number, "urgent_number": number, "crisis_line": number}
    key = f"redflags.{assessment.flags[0]}.message" if assessment.flags else "redflags.list"
    if update.effective_chat is not None:
        await ctx.bot.send_message(update.effective_chat.id, rt.catalog.text(lang, key, **params))


async def _act(turn: Turn, ctx: Ctx, assessment: Assessment, text: str) -> None:
    assert turn.person is not None
    d = deps(ctx)

    async def crisis() -> None:
        assert turn.person is not None
        turn.send_priority(
            await redflags.raise_flag(
                turn.db,
                d,
                turn.person,
                flags=(),
                text=text,
                source="message",
                now=turn.now,
                crisis=True,
            )
        )

    if assessment.tier != "none":
        turn.send_priority(
            await redflags.raise_flag(
                turn.db,
                d,
                turn.person,
                flags=assessment.flags,
                text=text,
                source="message",
                now=turn.now,
                third_party=assessment.third_party,
            )  # fmt: skip
        )
        if assessment.crisis:
            await crisis()
        return
    if assessment.crisis:
        await crisis()
        return
    if assessment.question:
        buttons: Buttons = ((
            (turn.t("redflags.btn.yes"), "rf:q:y"), (turn.t("redflags.btn.no"), "rf:q:n"),
        ),)  # fmt: skip
        params = redflags.number_params(turn.person, ctx.rt.settings)
        turn.send_priority(
            await redflags.send_now(
                turn.db, turn.person, turn.t("redflags.question", **params), buttons, turn.now
            )
        )
        return
    if assessment.confirm:
        turn.send_priority(
            await redflags.ask_confirm(
                turn.db, d, turn.person, flag=assessment.confirm, text=text, now=turn.now
            )
        )


async def _confirm_answer(turn: Turn, ctx: Ctx, report_id: int, answer: str) -> None:
    assert turn.person is not None
    report = await turn.db.get(SymptomReport, report_id)
    turn.person.pending = None
    if report is None or report.person_id != turn.person.id or report.confirmed is not None:
        turn.say("ui.err.stale_button")
        return
    if answer in ("yes", "unsure"):  # "not sure" counts as yes (spec §5.1)
        report.confirmed = True
        turn.send_priority(
            await redflags.raise_flag(
                turn.db,
                deps(ctx),
                turn.person,
                flags=(report.flags.split(",")[0],),
                text=report.text,
                source="confirm",
                now=turn.now,
                answers=answer,
            )  # fmt: skip
        )
    else:
        report.confirmed = False
        turn.say("redflags.checklist.none", **redflags.number_params(turn.person, ctx.rt.settings))


# -- buttons ------------------------------------------------------------------------------------
@person_handler(consent=False, create=True)
async def on_redflag_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """rf:* buttons: confirming answers, check-in replies, checklists."""
    assert update.callback_query is not None and turn.person is not None
    parts = (update.callback_query.data or "").split(":")
    person = turn.person
    params = redflags.number_params(person, ctx.rt.settings)
    action = parts[1] if len(parts) > 1 else ""
    if action == "cf" and len(parts) == 4 and parts[2].isdigit() and parts[3] in ("y", "n", "u"):
        await _confirm_answer(
            turn, ctx, int(parts[2]), {"y": "yes", "n": "no", "u": "unsure"}[parts[3]]
        )
        return
    if (
        action in ("help", "clear", "undo", "notyet", "booked")
        and len(parts) == 3
        and parts[2].isdigit()
    ):
        esc = await turn.db.get(Escalation, int(parts[2]))
        if esc is None or esc.person_id != person.id:
            turn.say("ui.err.not_yours")
            return
        if esc.status != "open":
            turn.say("ui.err.stale_button")
            return
        esc.last_reply_at = turn.now
        if action == "help":
            turn.say("redflags.ack.getting_help", **params)
        elif action == "notyet":
            flags = tuple(f for f in esc.flags.split(",") if f in FLAGS) or ("E1",)
            turn.send_priority(
                await redflags.send_now(
                    turn.db,
                    person,
                    redflags.tier_message(deps(ctx), person, flags),
                    redflags.person_buttons(ctx.rt.catalog, turn.lang, esc.tier, esc.id),
                    turn.now,
                )
            )
        elif action == "booked":
            turn.say("redflags.ack.booked", **params)
        elif action == "clear":
            await redflags.resolve(turn.db, person, esc, turn.now)
            turn.say("redflags.ack.all_clear", **params)
            turn.say("redflags.resumed", **params)
        else:
            await redflags.resolve(turn.db, person, esc, turn.now, status="withdrawn")
            turn.say("redflags.ack.didnt_mean", **params)
        return
    if action == "q" and len(parts) == 3:
        if parts[2] == "y":
            _spike_question(turn, 0)
        else:
            turn.say("redflags.checklist.none", **params)
        return
    if (
        action in ("sp", "ck")
        and len(parts) == 4
        and parts[2].isdigit()
        and parts[3] in ("y", "n", "a")
    ):
        order = SPIKE_FLAGS if action == "sp" else FLAGS
        index = int(parts[2])
        if index >= len(order):
            turn.say("ui.err.stale_button")
            return
        if parts[3] == "y":
            turn.send_priority(
                await redflags.raise_flag(
                    turn.db,
                    deps(ctx),
                    person,
                    flags=(order[index],),
                    text=None,
                    source="checklist",
                    now=turn.now,
                    answers=f"{order[index]}: yes",
                )
            )
        elif parts[3] == "a" or index + 1 >= len(order):
            turn.say("redflags.checklist.none", **params)
        elif action == "sp":
            _spike_question(turn, index + 1)
        else:
            checklist_question(turn, index + 1)
        return
    turn.say("ui.err.stale_button")


def _spike_question(turn: Turn, index: int) -> None:
    if index == 0:
        turn.say("redflags.spike.intro")
    buttons: Buttons = ((
        (turn.t("redflags.btn.yes"), f"rf:sp:{index}:y"), (turn.t("redflags.btn.no"), f"rf:sp:{index}:n"),
    ), ((turn.t("redflags.btn.no_to_all"), f"rf:sp:{index}:a"),))  # fmt: skip
    turn.say(f"redflags.spike.q{index + 1}", buttons=buttons)


def spike_screen(turn: Turn) -> None:
    """The short emergency checklist after a pain spike, a flare or "worst ever" (spec §5.4)."""
    _spike_question(turn, 0)


def checklist_question(turn: Turn, index: int) -> None:
    flag = FLAGS[index]
    buttons: Buttons = ((
        (turn.t("redflags.btn.yes"), f"rf:ck:{index}:y"), (turn.t("redflags.btn.no"), f"rf:ck:{index}:n"),
    ), ((turn.t("redflags.btn.no_to_all"), f"rf:ck:{index}:a"),))  # fmt: skip
    turn.say(f"redflags.{flag}.check", buttons=buttons)


@person_handler(consent=False, create=True)
async def symptoms(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/symptoms: one warning sign at a time, emergency signs first."""
    turn.say("redflags.checklist.intro")
    checklist_question(turn, 0)


@person_handler(consent=False, create=False)
async def redflag_list(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/redflags and /sos: the warning signs and the numbers, any time."""
    params = (
        redflags.number_params(turn.person, ctx.rt.settings)
        if turn.person
        else {
            "emergency_number": ctx.rt.settings.emergency_number,
            "urgent_number": ctx.rt.settings.emergency_number,
            "crisis_line": ctx.rt.settings.emergency_number,
        }
    )
    offer_pin = bool(
        update.effective_message
        and update.effective_message.text
        and update.effective_message.text.startswith("/redflags")
    )
    pin = (((turn.t("redflags.btn.pin"), "rf:pin"),),) if offer_pin else ()
    turn.say("redflags.list", **params, buttons=pin)


async def pin_list(update: Update, ctx: Ctx) -> None:
    """rf:pin: pin the warning-signs message the button sits under."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    if query.message is not None and update.effective_chat is not None:
        try:
            await ctx.bot.pin_chat_message(
                update.effective_chat.id, query.message.message_id, disable_notification=True
            )
        except Exception:  # pinning is a convenience; never fail the chat over it
            log.info("could not pin the warning signs")


async def on_operator_ack(update: Update, ctx: Ctx) -> None:
    """op:ack:<id> in the escalation chat: record who acknowledged and when."""
    query = update.callback_query
    assert query is not None and query.from_user is not None
    rt = ctx.rt
    chat = update.effective_chat
    allowed = (
        chat is not None and chat.id == rt.settings.escalation_chat_id
    ) or query.from_user.id in rt.settings.admin_ids
    parts = (query.data or "").split(":")
    if not allowed or len(parts) != 3 or not parts[2].isdigit():
        await query.answer()
        return
    now = rt.clock.now()
    async with rt.sessions() as db, db.begin():
        esc = await db.get(Escalation, int(parts[2]))
        if esc is not None and esc.acknowledged_at is None:
            esc.acknowledged_at = now
            esc.acknowledged_by = query.from_user.id
        by = query.from_user.full_name
    await query.answer()
    if esc is not None and query.message is not None and chat is not None:
        note = rt.catalog.text(
            rt.catalog.default_language,
            "redflags.operator.acknowledged",
            by=by,
            time=now.strftime("%Y-%m-%d %H:%M UTC"),
        )
        text = getattr(query.message, "text_html", None) or ""
        try:
            await ctx.bot.edit_message_text(f"{text}\n\n{note}", chat.id, query.message.message_id)
        except Exception:
            await ctx.bot.send_message(chat.id, note)
