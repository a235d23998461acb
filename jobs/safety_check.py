"""The safety check (spec §5.4): a one-tap "any of these new?" that does not depend on free text.

Everyone active gets it once a week, on their summary weekday from 11:00 local time (the first
hourly run outside their quiet hours, until 20:00); for 7 days after an urgent or see-soon
episode opened it comes every day instead. It is held while an emergency or crisis episode is
open (the check-ins of that episode do this job then) and cannot be switched off.

Claiming: one `safety_checks` row per person and local day, inserted with ON CONFLICT DO NOTHING
before the message is queued, in the same transaction. Two workers running this chore at the
same moment both try the insert; the database lets one of them have each row, and only the one
that got it queues the message.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.models import Delivery, Escalation, Person, SafetyCheck
from jobs.outgoing import PRIORITY_RED_FLAG, Buttons
from jobs.recurrence import in_quiet_hours, zone
from messages.catalog import Catalog

if TYPE_CHECKING:
    from bot.context import Runtime

log = logging.getLogger(__name__)

SLOT = time(11, 0)  # the earliest local time a check goes out
LAST = time(20, 0)  # none starts at or after this; a day missed entirely is skipped
DAILY_DAYS = 7  # days after an urgent or see-soon episode opened with a daily check
EPISODE_TIERS = ("urgent", "soon")
HOLD_TIERS = ("emergency", "crisis")  # an open episode of these tiers holds the check
BATCH = 500
ANSWERS = {"n": "no", "y": "yes", "u": "unsure"}
ANSWER_BUTTONS = {"no": "no", "yes": "yes", "unsure": "not_sure"}
# The signs, in the order of the follow-up buttons, with the red flag each one raises.
SIGNS = {"b": ("bladder", "E1"), "o": ("bowel", "E2"), "s": ("saddle", "E3"), "l": ("legs", "E5")}


def check_kind(
    local_now: datetime,
    *,
    weekly_day: int,
    quiet_start: time | None,
    quiet_end: time | None,
    open_tier: str | None,
    episode_dates: Iterable[date] = (),
) -> str | None:
    """Which check this person gets now ("daily" or "weekly"), or None. Pure.

    `local_now` is the person's wall clock; `episode_dates` the local dates on which their
    urgent or see-soon episodes opened.
    """
    if open_tier in HOLD_TIERS:
        return None
    at = local_now.time()
    if not SLOT <= at < LAST:
        return None
    if (
        quiet_start is not None
        and quiet_end is not None
        and in_quiet_hours(at, quiet_start, quiet_end)
    ):
        return None
    today = local_now.date()
    if any(1 <= (today - day).days <= DAILY_DAYS for day in episode_dates):
        return "daily"
    if local_now.weekday() == weekly_day:
        return "weekly"
    return None


def check_text(catalog: Catalog, lang: str, kind: str) -> str:
    return catalog.text(lang, f"safetycheck.{kind}", signs=catalog.text(lang, "safetycheck.signs"))


def schedule_line(catalog: Catalog, lang: str, weekly_day: int) -> str:
    """The /schedule line: when the weekly check comes (it cannot be switched off)."""
    day = catalog.text(lang, f"ui.weekday.{weekly_day}")
    return catalog.text(lang, "safetycheck.schedule", day=day, time=SLOT.strftime("%H:%M"))


def check_buttons(catalog: Catalog, lang: str, check_id: int) -> Buttons:
    """[No, none of these] on its own row, then [Yes, one or more] [Not sure]."""

    def button(code: str) -> tuple[str, str]:
        label = catalog.text(lang, f"safetycheck.btn.{ANSWER_BUTTONS[ANSWERS[code]]}")
        return (label, f"sc:{check_id}:{code}")

    return ((button("n"),), (button("y"), button("u")))


def sign_buttons(catalog: Catalog, lang: str, check_id: int) -> Buttons:
    """The follow-up after a yes: one button per sign, one per row."""
    return tuple(
        ((catalog.text(lang, f"safetycheck.btn.{name}"), f"sc:{check_id}:w:{code}"),)
        for code, (name, _) in SIGNS.items()
    )


async def send_safety_checks(rt: Runtime, now: datetime) -> int:
    """Queue today's check for everyone whose slot it is; returns how many this worker claimed."""
    async with rt.sessions() as session:
        zones = list(
            await session.scalars(
                select(Person.timezone)
                .where(Person.status == "active", Person.consent_at.is_not(None))
                .distinct()
            )
        )
    # Only zones whose wall clock is inside the sending window are read further.
    by_day: dict[date, list[str]] = defaultdict(list)
    for name in zones:
        try:
            local = now.astimezone(zone(name))
        except ValueError:
            log.warning("safety check: unknown time zone skipped")
            continue
        if SLOT <= local.time() < LAST:
            by_day[local.date()].append(name)
    queued = 0
    for day, names in sorted(by_day.items()):
        queued += await _send_for_day(rt, now, day, names)
    return queued


async def _send_for_day(rt: Runtime, now: datetime, day: date, zones: Sequence[str]) -> int:
    since = now - timedelta(days=DAILY_DAYS + 1)
    recent_episode = exists().where(
        Escalation.person_id == Person.id,
        Escalation.tier.in_(EPISODE_TIERS),
        Escalation.opened_at >= since,
    )
    already = exists().where(SafetyCheck.person_id == Person.id, SafetyCheck.local_date == day)
    stmt = (
        select(
            Person.id,
            Person.chat_id,
            Person.language,
            Person.timezone,
            Person.weekly_day,
            Person.quiet_start,
            Person.quiet_end,
            Person.open_tier,
        )  # fmt: skip
        .where(
            Person.status == "active",
            Person.consent_at.is_not(None),
            Person.timezone.in_(zones),
            (Person.weekly_day == day.weekday()) | recent_episode,
            ~already,
        )
        .order_by(Person.id)  # every worker claims in the same order: waits, never deadlocks
    )
    async with rt.sessions() as session:
        people = (await session.execute(stmt)).all()
        ids = [p.id for p in people]
        episodes: dict[int, list[datetime]] = defaultdict(list)
        for start in range(0, len(ids), BATCH):
            found = await session.execute(
                select(Escalation.person_id, Escalation.opened_at).where(
                    Escalation.person_id.in_(ids[start : start + BATCH]),
                    Escalation.tier.in_(EPISODE_TIERS),
                    Escalation.opened_at >= since,
                )
            )
            for person_id, opened_at in found:
                episodes[person_id].append(opened_at)
    due: list[tuple[Any, str]] = []
    for p in people:
        tz = zone(p.timezone)
        kind = check_kind(
            now.astimezone(tz), weekly_day=p.weekly_day, quiet_start=p.quiet_start,
            quiet_end=p.quiet_end, open_tier=p.open_tier,
            episode_dates=[opened.astimezone(tz).date() for opened in episodes[p.id]],
        )  # fmt: skip
        if kind is not None:
            due.append((p, kind))
    queued = 0
    for start in range(0, len(due), BATCH):
        queued += await _claim(rt, now, day, due[start : start + BATCH])
    return queued


async def _claim(rt: Runtime, now: datetime, day: date, due: list[tuple[Any, str]]) -> int:
    """Insert the day's check rows (the claim), then queue a message for each row this got."""
    dialect = postgresql if not rt.settings.is_sqlite else sqlite
    rows = [
        {"person_id": p.id, "local_date": day, "kind": kind, "created_at": now} for p, kind in due
    ]
    claim = (
        dialect.insert(SafetyCheck)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["person_id", "local_date"])
        .returning(SafetyCheck.id, SafetyCheck.person_id)
    )
    catalog = rt.catalog
    async with rt.sessions() as session, session.begin():
        won = dict((person_id, check_id) for check_id, person_id in await session.execute(claim))
        if not won:
            return 0
        mine = [(p, kind, won[p.id]) for p, kind in due if p.id in won]
        deliveries = []
        for p, kind, check_id in mine:
            lang = p.language if p.language in catalog.languages else catalog.default_language
            buttons = check_buttons(catalog, lang, check_id)
            deliveries.append(
                {
                    "person_id": p.id, "chat_id": p.chat_id, "kind": "safety_check",
                    "priority": PRIORITY_RED_FLAG, "rule_id": None, "escalation_id": None,
                    "reminder_kind": None, "due_at": now, "status": "queued", "attempts": 0,
                    "answered": False,
                    "payload": {
                        "text": check_text(catalog, lang, kind),
                        "buttons": [list(map(list, row)) for row in buttons],
                    },
                }
            )  # fmt: skip
        delivery_ids = (
            await session.scalars(
                insert(Delivery).returning(Delivery.id, sort_by_parameter_order=True), deliveries
            )
        ).all()
        await session.execute(
            update(SafetyCheck),
            [
                {"id": check_id, "delivery_id": delivery_id}
                for (_, _, check_id), delivery_id in zip(mine, delivery_ids, strict=True)
            ],
        )
    log.info("safety check: queued %d for %s", len(mine), day.isoformat())
    return len(mine)
