"""Red flags win over every other flow: triage on every text, the checklists, the follow-up buttons.

The safety rules themselves live in bot/safety/ (the lifecycle table, check-ins, texts); this
module only reads Telegram updates, calls them, and replies after the commit.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.context import Ctx
from bot.detector import lexicon_everywhere
from bot.handlers.common import Turn, deliver, open_turn, person_handler
from bot.models import Escalation, SymptomReport
from bot.parsing import parse_answer
from bot.safety import episodes, lifecycle
from bot.safety.texts import Reach
from bot.triage import FLAGS, Assessment
from jobs.outgoing import Buttons
from messages.catalog import normalise_language

log = logging.getLogger(__name__)

SCREEN_FLAGS = ("E1", "E3", "E5", "E7")  # onboarding screen questions q1..q4


def deps(ctx: Ctx) -> episodes.Deps:
    return episodes.Deps(ctx.rt.catalog, ctx.rt.settings)


def reach(turn: Turn) -> Reach:
    """How the clinic can reach the person who sent this update (name and @username as now)."""
    user = turn.update.effective_user
    if user is None:
        return Reach(turn.person.telegram_user_id if turn.person else 0)
    return Reach(user.id, user.first_name, user.username)


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
    if answer is not None and not assessment.is_red_flag:
        if pending.get("ask") == "confirm":
            await _confirm_answer(turn, ctx, int(pending["report"]), answer)
            return True
        if pending.get("ask") == "spike":  # typed "no" = no to all; "yes" or "not sure" = yes
            await _spike_answer(turn, ctx, int(pending["report"]), "n" if answer == "no" else "y")
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
    params = episodes.params(deps(ctx), None, lang)
    if assessment.flags:  # the message without its last line: nothing can be paused or planned
        text = rt.catalog.text(lang, f"redflags.{assessment.flags[0]}.message", **params)
    else:
        text = rt.catalog.text(lang, "redflags.list", **params)
    if update.effective_chat is not None:
        await ctx.bot.send_message(update.effective_chat.id, text)


async def _act(turn: Turn, ctx: Ctx, assessment: Assessment, text: str) -> None:
    person = turn.person
    assert person is not None
    d = deps(ctx)
    if assessment.tier != "none":
        flags = assessment.flags
        if (
            assessment.tier in lifecycle.SERIOUS_TIERS
            and not assessment.third_party
            and set(flags) <= await episodes.known_flags(turn.db, person)
        ):  # a sign a doctor already checked: ask once whether it is new or worse
            turn.send_priority(
                await episodes.ask_confirm(
                    turn.db, d, person, reach(turn), flag=flags[0], text=text, now=turn.now,
                    recheck=True,
                )
            )  # fmt: skip
        else:
            turn.send_priority(
                await episodes.raise_flag(
                    turn.db, d, person, reach(turn), flags=flags, text=text, source="message",
                    now=turn.now, third_party=assessment.third_party,
                )
            )  # fmt: skip
    if assessment.crisis:
        turn.send_priority(
            await episodes.raise_flag(
                turn.db, d, person, reach(turn), flags=(), text=text, source="message",
                now=turn.now, crisis=True,
            )
        )  # fmt: skip
    if assessment.tier != "none" and assessment.confirm:
        # answered at a lower tier while an emergency is suspected: ask about that too
        turn.send_priority(
            await episodes.ask_confirm(
                turn.db, d, person, reach(turn), flag=assessment.confirm, text=text, now=turn.now
            )
        )
    if assessment.tier != "none" or assessment.crisis:
        return
    if assessment.question:
        buttons: Buttons = ((
            (turn.t("redflags.btn.yes"), "rf:q:y"), (turn.t("redflags.btn.no"), "rf:q:n"),
        ),)  # fmt: skip
        question = turn.t("redflags.question", **episodes.params(d, person, turn.lang))
        turn.send_priority(await episodes.send_now(turn.db, person, question, buttons, turn.now))
        return
    if assessment.confirm:
        turn.send_priority(
            await episodes.ask_confirm(
                turn.db, d, person, reach(turn), flag=assessment.confirm, text=text, now=turn.now
            )
        )


async def _confirm_answer(turn: Turn, ctx: Ctx, report_id: int, answer: str) -> None:
    assert turn.person is not None
    report = await turn.db.get(SymptomReport, report_id)
    turn.person.pending = None
    if report is None or report.person_id != turn.person.id or report.confirmed is not None:
        turn.say("ui.err.stale_button")
        return
    d = deps(ctx)
    if answer in ("yes", "unsure"):  # "not sure" counts as yes (spec §5.1)
        report.confirmed = True
        turn.send_priority(
            await episodes.raise_flag(
                turn.db, d, turn.person, reach(turn), flags=(report.flags.split(",")[0],),
                text=report.text, source="confirm", now=turn.now, answers=answer,
            )
        )  # fmt: skip
    else:
        report.confirmed = False
        key = "safety.known.same" if report.source == "recheck" else "redflags.checklist.none"
        turn.say(key, **episodes.params(d, turn.person, turn.lang))


async def _spike_answer(turn: Turn, ctx: Ctx, report_id: int, choice: str) -> None:
    assert turn.person is not None
    said = await episodes.answer_spike(
        turn.db, deps(ctx), turn.person, reach(turn), report_id, choice, turn.now
    )
    if said is None:
        turn.say("ui.err.stale_button")
        return
    for text, buttons in said.replies:
        turn.say_text(text, buttons=buttons)
    turn.send_priority(said.outgoing)


async def spike_screen(turn: Turn, ctx: Ctx, then: list[tuple[str, Buttons]]) -> None:
    """The pain-spike screen (spec §5.4) first and alone; `then` waits until it is answered."""
    assert turn.person is not None
    turn.send_priority(await episodes.spike_screen(turn.db, deps(ctx), turn.person, turn.now, then))


# -- buttons ------------------------------------------------------------------------------------
EPISODE_BUTTONS = {
    "help": 3,
    "clear": 3,
    "undo": 3,
    "notyet": 3,
    "booked": 3,
    "ex": 4,
    "wk": 4,
    "fix": 4,
}


@person_handler(consent=False, create=True)
async def on_redflag_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """rf:* buttons: confirming answers, the spike screen, episode answers, checklists."""
    assert update.callback_query is not None and turn.person is not None
    parts = (update.callback_query.data or "").split(":")
    person = turn.person
    d = deps(ctx)
    params = episodes.params(d, person, turn.lang)
    action = parts[1] if len(parts) > 1 else ""
    if action == "cf" and len(parts) == 4 and parts[2].isdigit() and parts[3] in ("y", "n", "u"):
        await _confirm_answer(
            turn, ctx, int(parts[2]), {"y": "yes", "n": "no", "u": "unsure"}[parts[3]]
        )
        return
    if action == "sp" and len(parts) == 4 and parts[2].isdigit():
        await _spike_answer(turn, ctx, int(parts[2]), parts[3])
        return
    if EPISODE_BUTTONS.get(action) == len(parts) and parts[2].isdigit():
        esc = await turn.db.get(Escalation, int(parts[2]))
        if esc is None or esc.person_id != person.id:
            turn.say("ui.err.not_yours")
            return
        button = action if len(parts) == 3 else f"{action}:{parts[3]}"
        said = None
        if esc.status in lifecycle.LIVE:
            said = await episodes.answer(turn.db, d, person, reach(turn), esc, button, turn.now)
        if said is None:
            turn.say("ui.err.stale_button")
            return
        for text, buttons in said.replies:
            turn.say_text(text, buttons=buttons)
        turn.send_priority(said.outgoing)
        return
    if action == "q" and len(parts) == 3:
        if parts[2] == "y":
            turn.say("redflags.checklist.intro")
            checklist_question(turn, 0)
        else:
            turn.say("redflags.checklist.none", **params)
        return
    if action == "ck" and len(parts) == 4 and parts[2].isdigit() and parts[3] in ("y", "n", "a"):
        index = int(parts[2])
        if index >= len(FLAGS):
            turn.say("ui.err.stale_button")
            return
        if parts[3] == "y":
            flag = FLAGS[index]
            question = ctx.rt.catalog.text(d.clinic_lang, f"redflags.{flag}.check")
            answers = ctx.rt.catalog.text(
                d.clinic_lang, "safety.clinic.answered_yes", question=question
            )
            turn.send_priority(
                await episodes.raise_flag(
                    turn.db, d, person, reach(turn), flags=(flag,), text=None,
                    source="checklist", now=turn.now, answers=answers,
                )
            )  # fmt: skip
        elif parts[3] == "a" or index + 1 >= len(FLAGS):
            turn.say("redflags.checklist.none", **params)
        else:
            checklist_question(turn, index + 1)
        return
    turn.say("ui.err.stale_button")


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
    params = episodes.params(deps(ctx), turn.person, turn.lang)
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
            rt.settings.clinic_language,
            "redflags.operator.acknowledged",
            by=by,
            time=now.strftime("%Y-%m-%d %H:%M UTC"),
        )
        text = getattr(query.message, "text_html", None) or ""
        try:
            await ctx.bot.edit_message_text(f"{text}\n\n{note}", chat.id, query.message.message_id)
        except Exception:
            await ctx.bot.send_message(chat.id, note)
