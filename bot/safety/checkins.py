"""The check-in schedule after an episode opens (clinical spec §5.3). PURE.

Every check-in goes only while the episode is live (`only_if_open`). After an emergency, a
nudge and a "no response" alert to the clinic follow at 2 hours, unless the person has said or
tapped anything since the 1-hour check-in went out (`unless_replied_since`).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, NamedTuple

from jobs.recurrence import next_local_time

MORNING = time(9, 0)  # "the next morning" (local), after quiet hours
CONFIRM_SAFETY_NET = timedelta(minutes=15)  # an unanswered confirming question or screen
FIRST_CHECKIN = timedelta(hours=1)
NO_REPLY_AFTER = timedelta(hours=2)


class Checkin(NamedTuple):
    key: str  # redflags.checkin.<key>
    due: datetime
    conditions: dict[str, Any]


def plan(tier: str, now: datetime, zone: str) -> list[Checkin]:
    """The check-ins to the person for an episode of this tier opened (or raised) at `now`."""
    live = {"only_if_open": True}
    four = now + timedelta(hours=4)
    if tier == "emergency":
        return [
            Checkin("emergency_1h", now + FIRST_CHECKIN, live),
            Checkin("no_reply", now + NO_REPLY_AFTER, no_reply_conditions(now)),
            Checkin("emergency_4h", four, live),
            Checkin("emergency_morning", next_local_time(MORNING, zone, four), live),
        ]
    if tier == "urgent":
        return [
            Checkin("urgent_4h", four, live),
            Checkin("urgent_morning", next_local_time(MORNING, zone, four), live),
        ]
    if tier == "soon":
        return [
            Checkin("soon_3d", now + timedelta(days=3), live),
            Checkin("soon_7d", now + timedelta(days=7), live),
        ]
    return []  # distress: the clinic is alerted; no scheduled check-ins


def no_reply_conditions(opened: datetime) -> dict[str, Any]:
    """Sent only if the person has not answered anything since the 1-hour check-in went out."""
    since = opened + FIRST_CHECKIN
    return {"only_if_open": True, "unless_replied_since": since.isoformat()}


def no_reply_since(opened: datetime) -> datetime:
    """The instant a "no response" alert counts from: the 1-hour check-in."""
    return opened + FIRST_CHECKIN
