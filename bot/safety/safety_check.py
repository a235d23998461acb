"""Answers to the safety check (spec §5.4): "no" ends it; "yes" or "not sure" asks which sign,
and the sign goes into the existing emergency flow (bot.safety.episodes.raise_flag).

Each check is answered once: a repeated or stale tap changes nothing and says so. A "yes" that
never gets a sign is not dropped: after 15 minutes the person gets the safety line and the clinic
an alert, the same net as the confirming question of the red-flag flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation import Pending
from bot.models import Delivery, Person, SafetyCheck, SymptomReport
from bot.safety import checkins, episodes, texts
from bot.safety.episodes import Deps
from bot.safety.outbox import Post
from bot.safety.texts import Reach
from jobs.outgoing import Buttons, Outgoing
from jobs.safety_check import ANSWER_BUTTONS, SIGNS, check_text, sign_buttons

SAFETY_NET = checkins.CONFIRM_SAFETY_NET  # a "yes" with no sign chosen by then: the safety line
TYPED_WINDOW = timedelta(days=1)  # a typed yes/no answers a check sent within this time
SIGN_FLAGS = tuple(flag for _, flag in SIGNS.values())
ALL_SIGNS = ",".join(SIGN_FLAGS)


@dataclass
class Outcome:
    """What the handler shows: texts to send, red-flag rows to hand over, the message to edit."""

    texts: list[tuple[str, Buttons]] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)
    edit: str | None = None  # the answered message's new text (its keyboard goes)
    edit_message_id: int | None = None  # that message, when the answer was typed
    not_yours: bool = False


async def answer_typed(
    session: AsyncSession,
    deps: Deps,
    person: Person,
    reach: Reach,
    lang: str,
    reply: str,
    now: datetime,
) -> Outcome | None:
    """A typed yes / no / not sure: the answer to the latest check if it was sent in the last
    day and still waits for an answer (or for its sign); None when no check waits, or when a
    question asked in the conversation takes this typed answer (it was asked later)."""
    question = Pending.from_json(person.pending, now)
    if question is not None and question.typed_choice(reply) is not None:
        return None
    check = await session.scalar(
        select(SafetyCheck)
        .where(SafetyCheck.person_id == person.id, SafetyCheck.created_at >= now - TYPED_WINDOW)
        .order_by(SafetyCheck.id.desc())
        .limit(1)
    )
    if check is None or check.answer == "no" or check.flag is not None:
        return None
    return await answer(session, deps, person, reach, lang, check.id, reply, now, typed=True)


def _answered(deps: Deps, lang: str, question: str, label_key: str) -> str:
    label = deps.catalog.text(lang, label_key)
    return question + "\n\n" + deps.catalog.text(lang, "safetycheck.chosen", answer=label)


async def answer(
    session: AsyncSession,
    deps: Deps,
    person: Person,
    reach: Reach,
    lang: str,
    check_id: int,
    reply: str,
    now: datetime,
    *,
    typed: bool = False,
) -> Outcome:
    """The answer to the check itself: "no", "yes" or "unsure" ("not sure" counts as yes)."""
    check = await session.get(SafetyCheck, check_id)
    if check is None or check.person_id != person.id:
        return Outcome(not_yours=True)
    catalog = deps.catalog
    question = check_text(catalog, lang, check.kind)
    if check.answer is not None:
        if typed and check.flag is None:  # a yes still waiting for its sign: ask again
            return _ask_sign(deps, lang, check.id)
        recorded = _answered(
            deps, lang, question, f"safetycheck.btn.{ANSWER_BUTTONS[check.answer]}"
        )
        return Outcome(texts=[(catalog.text(lang, "safetycheck.already"), ())], edit=recorded)
    check.answer = reply
    check.answered_at = now
    outcome = Outcome(
        edit=_answered(deps, lang, question, f"safetycheck.btn.{ANSWER_BUTTONS[reply]}")
    )
    if typed and check.delivery_id is not None:
        outcome.edit_message_id = await session.scalar(
            select(Delivery.message_id).where(Delivery.id == check.delivery_id)
        )
    params = episodes.params(deps, person, lang)
    if reply == "no":
        outcome.texts.append((catalog.text(lang, "safetycheck.no_thanks", **params), ()))
        return outcome
    report = SymptomReport(
        person_id=person.id, reported_at=now, source="check", text=None, tier="emergency",
        flags=ALL_SIGNS, confirmed=None,
    )  # fmt: skip
    session.add(report)
    await session.flush()
    check.report_id = report.id
    await _plan_safety_net(session, deps, person, reach, lang, check, report.id, now)
    outcome.texts.extend(_ask_sign(deps, lang, check.id).texts)
    return outcome


def _ask_sign(deps: Deps, lang: str, check_id: int) -> Outcome:
    buttons = sign_buttons(deps.catalog, lang, check_id)
    return Outcome(texts=[(deps.catalog.text(lang, "safetycheck.which"), buttons)])


def _operator_answers(deps: Deps, check: SafetyCheck, key: str) -> str:
    """How the check went, for the clinic's alert (in the clinic's language)."""
    lang = deps.clinic_lang
    assert check.answer is not None
    return deps.catalog.text(
        lang, f"safetycheck.operator.{key}",
        check=deps.catalog.text(lang, f"safetycheck.operator.{check.kind}"),
        answer=deps.catalog.text(lang, f"safetycheck.btn.{ANSWER_BUTTONS[check.answer]}"),
    )  # fmt: skip


async def _plan_safety_net(
    session: AsyncSession,
    deps: Deps,
    person: Person,
    reach: Reach,
    lang: str,
    check: SafetyCheck,
    report_id: int,
    now: datetime,
) -> None:
    """If no sign is chosen within 15 minutes: the safety line to the person, an alert to the
    clinic (both dropped by the dispatcher once the report is answered)."""
    due = now + SAFETY_NET
    cond = {"unless_report_answered": report_id}
    post = Post(session, now, person)
    line = deps.catalog.text(lang, "safetycheck.safety_net", **episodes.params(deps, person, lang))
    post.to_person(line, at=due, when=cond, kind="safety_net")
    chat = deps.settings.escalation_chat_id
    if chat is not None:
        alert = texts.alert(
            deps.catalog, deps.clinic_lang, episodes.profile(deps, person, reach),
            tier="emergency", flags=SIGN_FLAGS, text=None, now=due,
            answers=_operator_answers(deps, check, "unanswered"),
        )  # fmt: skip
        post.to_clinic(chat, alert, at=due, when=cond)
    await post.flush()


async def choose_sign(
    session: AsyncSession,
    deps: Deps,
    person: Person,
    reach: Reach,
    lang: str,
    check_id: int,
    code: str,
    now: datetime,
) -> Outcome:
    """The sign after a yes: straight into the emergency flow for that flag."""
    check = await session.get(SafetyCheck, check_id)
    if check is None or check.person_id != person.id:
        return Outcome(not_yours=True)
    catalog = deps.catalog
    which = catalog.text(lang, "safetycheck.which")
    if check.answer not in ("yes", "unsure"):  # forged: the sign buttons come only after a yes
        return Outcome(texts=[(catalog.text(lang, "ui.err.stale_button"), ())])
    if check.flag is not None:
        name = next(n for n, flag in SIGNS.values() if flag == check.flag)
        recorded = _answered(deps, lang, which, f"safetycheck.btn.{name}")
        return Outcome(texts=[(catalog.text(lang, "safetycheck.already"), ())], edit=recorded)
    name, flag = SIGNS[code]
    check.flag = flag
    if check.report_id is not None:
        report = await session.get(SymptomReport, check.report_id)
        if report is not None:
            report.confirmed = True
    outgoing = await episodes.raise_flag(
        session, deps, person, reach, flags=(flag,), text=None, source="check", now=now,
        answers=_operator_answers(deps, check, "answered"),
    )  # fmt: skip
    return Outcome(outgoing=outgoing, edit=_answered(deps, lang, which, f"safetycheck.btn.{name}"))
