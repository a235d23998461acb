"""Formatting times, days and schedules for a person, in their zone and language."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.handlers.common import Turn
from bot.services import schedules
from jobs.rules import MEAL_KINDS
from jobs.safety_check import schedule_line

WORKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})


def fmt_time(at: time) -> str:
    return at.strftime("%H:%M")


def fmt_days(turn: Turn, days: frozenset[int] | None) -> str:
    if not days or len(days) == 7:
        return turn.t("ui.days.every_day")
    if days == WORKDAYS:
        return turn.t("ui.days.weekdays")
    if days == WEEKEND:
        return turn.t("ui.days.weekends")
    return ", ".join(turn.t(f"ui.weekday.{d}") for d in sorted(days))


def fmt_next(turn: Turn, due: datetime | None) -> str:
    """A due instant as the person's local weekday, date and time."""
    if due is None:
        return "-"
    assert turn.person is not None
    local = due.astimezone(ZoneInfo(turn.person.timezone))
    return f"{turn.t(f'ui.weekday.{local.weekday()}')} {local.strftime('%d.%m. %H:%M')}"


async def schedule_summary(turn: Turn) -> str:
    """Everything set, in local time: zone, reminders, quiet hours, pause, and the next reminder
    that will really come."""
    person = turn.person
    assert person is not None
    lines = [turn.t("ui.schedule.timezone", zone=person.timezone)]
    views = await schedules.views(turn.db, person)
    for view in views:
        if view.local_time is None:
            continue
        label = turn.t(f"ui.kind.{view.kind}")
        if view.held:
            lines.append(
                turn.t("ui.schedule.held_line", label=label, time=fmt_time(view.local_time))
            )
        elif view.merged_into is not None:
            lines.append(
                turn.t(
                    "ui.schedule.merged_line",
                    label=label,
                    time=fmt_time(view.local_time),
                    delay=view.delay_minutes,
                    other=turn.t(f"ui.kind.{view.merged_into}"),
                )  # fmt: skip
            )
        elif view.kind in MEAL_KINDS:
            lines.append(
                turn.t(
                    "ui.schedule.meal_line",
                    label=label,
                    time=fmt_time(view.local_time),
                    delay=view.delay_minutes,
                )
            )
        else:
            lines.append(
                turn.t(
                    "ui.schedule.line",
                    label=label,
                    time=fmt_time(view.local_time),
                    days=fmt_days(turn, view.weekdays),
                )
            )
    if not any(v.local_time for v in views):
        lines.append(turn.t("ui.schedule.none"))
    if person.quiet_start and person.quiet_end:
        lines.append(
            turn.t(
                "ui.schedule.quiet",
                start=fmt_time(person.quiet_start),
                end=fmt_time(person.quiet_end),
            )
        )
    if person.status in ("stopped", "blocked"):
        lines.append(turn.t("ui.schedule.stopped"))
        return "\n".join(lines)
    if schedules.is_paused(person, turn.now):
        assert person.paused_until is not None
        lines.append(
            turn.t("ui.schedule.paused_until", date=person.paused_until.strftime("%d.%m.%Y"))
        )
    lines.append(schedule_line(turn.rt.catalog, turn.lang, person.weekly_day))
    if any(v.local_time for v in views):
        nxt = await schedules.next_sent(turn.db, person, turn.now)
        lines.append(
            turn.t("ui.schedule.next", when=fmt_next(turn, nxt))
            if nxt is not None
            else turn.t("ui.schedule.next_none")
        )
    return "\n".join(lines)
