"""Red-flag actions (spec §5.3): store first, then tell the person, alert the operator, follow up.

Everything here is written to the outbox in the caller's transaction and returned as Outgoing
items for the priority lane; a crash after commit loses nothing (the dispatcher re-claims rows
whose lease ran out). Reminders are held by `Person.open_tier` while an episode is open.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.logs import person_ref
from bot.models import Delivery, Escalation, Person, SymptomReport
from bot.progression import after_escalation
from bot.services.people import numbers
from bot.services.programme import load_programme, save_programme
from bot.triage import flag_tier
from jobs.outgoing import PRIORITY_RED_FLAG, Buttons, Outgoing
from jobs.recurrence import next_local_time
from messages.catalog import Catalog, Html

# Crisis (distress words) sits between soon and urgent: any urgent or emergency flag raises it.
TIER_RANK = {"none": 0, "soon": 1, "crisis": 1.5, "urgent": 2, "emergency": 3}
QUOTE_LIMIT = 1000  # characters of the person's words quoted to the operator
CONFIRM_SAFETY_NET = timedelta(minutes=15)
MORNING = time(9, 0)


@dataclass(frozen=True)
class Deps:
    catalog: Catalog
    settings: Settings


def number_params(person: Person, settings: Settings) -> dict[str, Any]:
    nums = numbers(person, settings)
    return {
        "emergency_number": nums.emergency,
        "urgent_number": nums.urgent or nums.emergency,
        "crisis_line": nums.crisis or nums.emergency,
    }


def _buttons(catalog: Catalog, lang: str, pairs: list[tuple[str, str]]) -> Buttons:
    return tuple(((catalog.text(lang, f"redflags.btn.{key}"), data),) for key, data in pairs)


def person_buttons(catalog: Catalog, lang: str, tier: str, esc_id: int) -> Buttons:
    """Buttons under a tier message; every episode can be closed by the person."""
    if tier == "crisis":
        return _buttons(catalog, lang, [("all_clear", f"rf:clear:{esc_id}")])
    if tier == "soon":
        return _buttons(
            catalog, lang, [("booked", f"rf:booked:{esc_id}"), ("all_clear", f"rf:clear:{esc_id}")]
        )
    pairs = [("getting_help", f"rf:help:{esc_id}"), ("all_clear", f"rf:clear:{esc_id}")]
    if tier == "emergency":
        pairs.append(("didnt_mean", f"rf:undo:{esc_id}"))
    return _buttons(catalog, lang, pairs)


def checkin_buttons(catalog: Catalog, lang: str, tier: str, esc_id: int) -> Buttons:
    if tier == "soon":
        return _buttons(catalog, lang, [("booked", f"rf:booked:{esc_id}")])
    return _buttons(
        catalog,
        lang,
        [
            ("getting_help", f"rf:help:{esc_id}"),
            ("all_clear", f"rf:clear:{esc_id}"),
            ("not_yet", f"rf:notyet:{esc_id}"),
        ],
    )


def tier_message(
    deps: Deps, person: Person, flags: tuple[str, ...], *, third_party: bool = False
) -> str:
    """The full tier message for the most serious flag (sent again on every re-trigger)."""
    lang = person.language
    params = number_params(person, deps.settings)
    body = deps.catalog.text(lang, f"redflags.{flags[0]}.message", **params)
    if third_party:
        return deps.catalog.text(lang, "redflags.third_party", **params) + "\n\n" + body
    return body


def _outbox(
    session: AsyncSession,
    *,
    chat_id: int,
    person: Person | None,
    kind: str,
    text: str,
    buttons: Buttons,
    due: datetime,
    now: datetime,
    escalation: Escalation | None,
    conditions: dict[str, Any] | None = None,
) -> Delivery:
    payload: dict[str, Any] = {"text": text, "buttons": [list(map(list, row)) for row in buttons]}
    payload.update(conditions or {})
    immediate = due <= now
    row = Delivery(
        person_id=person.id if person else None,
        chat_id=chat_id,
        kind=kind,
        priority=PRIORITY_RED_FLAG,
        escalation_id=escalation.id if escalation else None,
        payload=payload,
        due_at=due,
        status="sending" if immediate else "scheduled",
        claimed_at=now if immediate else None,
        attempts=0,
        answered=False,
    )
    session.add(row)
    return row


async def open_escalation(session: AsyncSession, person: Person) -> Escalation | None:
    return await session.scalar(
        select(Escalation)
        .where(Escalation.person_id == person.id, Escalation.status == "open")
        .order_by(Escalation.id.desc())
        .limit(1)
    )


def _quote(text: str | None) -> str:
    """The person's words for the operator, short enough for one Telegram message."""
    if not text:
        return ""
    return text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "…"


def who(person: Person) -> Html:
    """The person for an operator: a tap-to-open link and a hashed reference (no other data)."""
    name = html.escape(person.first_name or "?")
    return Html(
        f'<a href="tg://user?id={person.telegram_user_id}">{name}</a> ({person_ref(person.telegram_user_id)})'
    )


def operator_alert(
    deps: Deps,
    person: Person,
    *,
    tier: str,
    flags: str,
    esc_id: int | None,
    text: str | None,
    now: datetime,
    answers: str = "",
) -> tuple[str, Buttons]:
    """The alert for the escalation chat: tier, flags, the person's words, UTC and local time."""
    lang = deps.catalog.default_language
    local = now.astimezone(ZoneInfo(person.timezone))
    label = ", ".join(
        f"{flag} {deps.catalog.text(lang, f'redflags.{flag}.label')}"
        for flag in flags.split(",")
        if flag and flag != "crisis"
    )
    if tier == "crisis":
        body = deps.catalog.text(
            lang,
            "redflags.operator.crisis",
            person=who(person),
            text=_quote(text),
            time_utc=now.strftime("%Y-%m-%d %H:%M"),
        )
    else:
        body = deps.catalog.text(
            lang,
            "redflags.operator.alert",
            tier=deps.catalog.text(lang, f"redflags.tier.{tier}"),
            flags=label or flags,
            person=who(person),
            text=_quote(text) or "-",
            time_utc=now.strftime("%Y-%m-%d %H:%M"),
            time_local=local.strftime(f"%Y-%m-%d %H:%M {person.timezone}"),
            answers=answers or "-",
        )
    return body, () if esc_id is None else ack_buttons(deps, esc_id)


def ack_buttons(deps: Deps, esc_id: int) -> Buttons:
    """The operator's Acknowledge button for one episode."""
    label = deps.catalog.text(deps.catalog.default_language, "redflags.btn.acknowledge")
    return (((label, f"op:ack:{esc_id}"),),)


async def raise_flag(
    session: AsyncSession,
    deps: Deps,
    person: Person,
    *,
    flags: tuple[str, ...],
    text: str | None,
    source: str,
    now: datetime,
    third_party: bool = False,
    answers: str = "",
    crisis: bool = False,
) -> list[Outgoing]:
    """Record the report, open (or raise) the episode, queue the message, alert, and plan check-ins."""
    tier = "crisis" if crisis else flag_tier(flags[0])
    report = SymptomReport(
        person_id=person.id, reported_at=now, source=source, text=text, tier=tier,
        flags=",".join(flags) if flags else "crisis", confirmed=True,
    )  # fmt: skip
    session.add(report)
    await session.flush()
    esc = await open_escalation(session, person)
    newly_raised = esc is None or TIER_RANK[tier] > TIER_RANK[esc.tier]
    if esc is None:
        esc = Escalation(
            person_id=person.id,
            report_id=report.id,
            tier=tier,
            flags="",
            status="open",
            opened_at=now,
        )
        session.add(esc)
    elif newly_raised:
        esc.tier = tier
        # The higher tier brings its own check-ins: drop the ones planned for the lower tier.
        await session.execute(
            update(Delivery)
            .where(Delivery.escalation_id == esc.id, Delivery.status == "scheduled")
            .values(status="skipped")
        )
    known = [f for f in esc.flags.split(",") if f]
    esc.flags = ",".join(dict.fromkeys([*known, *(flags or ("crisis",))]))[:120]
    await session.flush()
    if TIER_RANK[tier] >= TIER_RANK.get(person.open_tier or "none", 0):
        person.open_tier = esc.tier
    lang = person.language
    params = number_params(person, deps.settings)
    rows: list[Delivery] = []
    if crisis:
        body: str = deps.catalog.text(lang, "redflags.crisis", **params)
        buttons = person_buttons(deps.catalog, lang, "crisis", esc.id)
    else:
        body = tier_message(deps, person, flags, third_party=third_party)
        buttons = person_buttons(deps.catalog, lang, tier, esc.id)
    rows.append(
        _outbox(
            session,
            chat_id=person.chat_id,
            person=person,
            kind="redflag",
            text=body,
            buttons=buttons,
            due=now,
            now=now,
            escalation=esc,
        )
    )
    chat = deps.settings.escalation_chat_id
    if chat is not None and tier in ("emergency", "urgent", "crisis"):
        alert, alert_buttons = operator_alert(
            deps,
            person,
            tier=tier,
            flags=",".join(flags) or "crisis",
            esc_id=esc.id,
            text=text,
            now=now,
            answers=answers,
        )
        rows.append(
            _outbox(
                session,
                chat_id=chat,
                person=person,
                kind="operator",
                text=alert,
                buttons=alert_buttons,
                due=now,
                now=now,
                escalation=esc,
            )
        )
    if tier == "emergency" and person.contact_chat_id is not None:
        rows.append(_contact_alert(session, deps, person, esc, now))
        told = deps.catalog.text(lang, "ui.contact.told", contact_name=person.contact_name or "?")
        rows.append(
            _outbox(
                session,
                chat_id=person.chat_id,
                person=person,
                kind="redflag",
                text=told,
                buttons=(),
                due=now,
                now=now,
                escalation=esc,
            )  # fmt: skip
        )
    if newly_raised and not crisis:
        _plan_checkins(session, deps, person, esc, tier, now)
    await session.flush()
    return [Outgoing.from_row(r) for r in rows]


def _contact_alert(
    session: AsyncSession, deps: Deps, person: Person, esc: Escalation, now: datetime
) -> Delivery:
    """The opted-in trusted contact hears of an emergency (never of anything else)."""
    assert person.contact_chat_id is not None
    text = deps.catalog.text(
        person.language, "ui.contact.alert", name=person.first_name or "?",
        time=now.astimezone(ZoneInfo(person.timezone)).strftime("%H:%M"), **number_params(person, deps.settings),
    )  # fmt: skip
    return _outbox(
        session, chat_id=person.contact_chat_id, person=person, kind="operator", text=text,
        buttons=(), due=now, now=now, escalation=esc,
    )  # fmt: skip


def _plan_checkins(
    session: AsyncSession, deps: Deps, person: Person, esc: Escalation, tier: str, now: datetime
) -> None:
    lang = person.language
    params = number_params(person, deps.settings)
    text = deps.catalog.text
    buttons = checkin_buttons(deps.catalog, lang, tier, esc.id)
    plan: list[tuple[str, datetime]] = []
    if tier == "emergency":
        four = now + timedelta(hours=4)
        plan = [("emergency_1h", now + timedelta(hours=1)), ("emergency_4h", four),
                ("emergency_morning", next_local_time(MORNING, person.timezone, four))]  # fmt: skip
        since = (now + timedelta(hours=1)).isoformat()
        cond = {"only_if_open": True, "unless_replied_since": since}
        nudge_at = now + timedelta(hours=2)
        _outbox(
            session,
            chat_id=person.chat_id,
            person=person,
            kind="checkin",
            text=text(lang, "redflags.checkin.no_reply", **params),
            buttons=buttons,
            due=nudge_at,
            now=now,
            escalation=esc,
            conditions=cond,
        )
        chat = deps.settings.escalation_chat_id
        if chat is not None:
            alert = text(
                deps.catalog.default_language,
                "redflags.operator.no_response",
                person=who(person),
                tier=text(deps.catalog.default_language, "redflags.tier.emergency"),
                since=now.strftime("%H:%M UTC"),
            )
            _outbox(
                session,
                chat_id=chat,
                person=person,
                kind="operator",
                text=alert,
                buttons=ack_buttons(deps, esc.id),
                due=nudge_at,
                now=now,
                escalation=esc,
                conditions=cond,
            )
    elif tier == "urgent":
        four = now + timedelta(hours=4)
        plan = [
            ("urgent_4h", four),
            ("urgent_morning", next_local_time(MORNING, person.timezone, four)),
        ]
    elif tier == "soon":
        plan = [("soon_3d", now + timedelta(days=3)), ("soon_7d", now + timedelta(days=7))]
    for key, due in plan:
        _outbox(
            session,
            chat_id=person.chat_id,
            person=person,
            kind="checkin",
            text=text(lang, f"redflags.checkin.{key}", **params),
            buttons=buttons,
            due=due,
            now=now,
            escalation=esc,
            conditions={"only_if_open": True},
        )


async def ask_confirm(
    session: AsyncSession, deps: Deps, person: Person, *, flag: str, text: str | None, now: datetime
) -> list[Outgoing]:
    """One short confirming question with buttons; a safety-net line if it goes unanswered."""
    report = SymptomReport(
        person_id=person.id,
        reported_at=now,
        source="message",
        text=text,
        tier=flag_tier(flag),
        flags=flag,
        confirmed=None,
    )
    session.add(report)
    await session.flush()
    person.pending = {"ask": "confirm", "flag": flag, "report": report.id}
    lang = person.language
    params = number_params(person, deps.settings)
    buttons = _buttons(
        deps.catalog,
        lang,
        [
            ("yes", f"rf:cf:{report.id}:y"),
            ("no", f"rf:cf:{report.id}:n"),
            ("not_sure", f"rf:cf:{report.id}:u"),
        ],
    )
    buttons = (tuple(b for row in buttons for b in row),)
    row = _outbox(
        session,
        chat_id=person.chat_id,
        person=person,
        kind="redflag",
        text=deps.catalog.text(lang, f"redflags.{flag}.confirm", **params),
        buttons=buttons,
        due=now,
        now=now,
        escalation=None,
    )
    if flag_tier(flag) == "emergency":
        cond = {"unless_report_answered": report.id}
        _outbox(
            session,
            chat_id=person.chat_id,
            person=person,
            kind="safety_net",
            text=deps.catalog.text(lang, "redflags.safety_net", **params),
            buttons=(),
            due=now + CONFIRM_SAFETY_NET,
            now=now,
            escalation=None,
            conditions=cond,
        )
        chat = deps.settings.escalation_chat_id
        if chat is not None:  # the operator hears of it only if the question goes unanswered
            alert, _ = operator_alert(
                deps, person, tier="emergency", flags=flag, esc_id=None, text=text,
                now=now + CONFIRM_SAFETY_NET, answers=deps.catalog.text(deps.catalog.default_language, "redflags.operator.unanswered"),
            )  # fmt: skip
            _outbox(
                session, chat_id=chat, person=person, kind="operator", text=alert, buttons=(),
                due=now + CONFIRM_SAFETY_NET, now=now, escalation=None, conditions=cond,
            )  # fmt: skip
    await session.flush()
    return [Outgoing.from_row(row)]


async def send_now(
    session: AsyncSession,
    person: Person,
    text: str,
    buttons: Buttons,
    now: datetime,
    kind: str = "redflag",
) -> list[Outgoing]:
    """A red-flag-lane message to the person (stored first, then sent)."""
    row = _outbox(
        session,
        chat_id=person.chat_id,
        person=person,
        kind=kind,
        text=text,
        buttons=buttons,
        due=now,
        now=now,
        escalation=None,
    )
    await session.flush()
    return [Outgoing.from_row(row)]


async def resolve(
    session: AsyncSession, person: Person, esc: Escalation, now: datetime, status: str = "resolved"
) -> None:
    """Close the episode; reminders resume, walks restart about a quarter shorter."""
    esc.status = status
    esc.resolved_at = now
    esc.last_reply_at = now
    person.open_tier = None
    if person.programme and status == "resolved":
        save_programme(person, after_escalation(load_programme(person)))
