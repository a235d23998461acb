"""Conversation state, typed: the named onboarding steps and the one question the bot waits for.

A person's `pending` question says what it asks, which callback prefix answers it (the prefix
carries a fresh token, so the buttons of an older question never match a newer one) and when it
expires. A tap or a typed answer counts only while its question is the pending one. Pure: the
clock and the token come from the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Step(StrEnum):
    """Where onboarding stands (stored in people.onboarding_step; None once it is over)."""

    CONSENT = "consent"
    SCREEN1 = "screen1"
    SCREEN2 = "screen2"
    SCREEN3 = "screen3"
    SCREEN4 = "screen4"
    TZ = "tz"
    EFFECT = "effect"
    MINUTES = "minutes"
    PLAN = "plan"
    TIMES = "times"  # "Change it": the person's own morning and evening times
    MEALS = "meals"  # "Yes, after meals": the person's own meal times


def step_of(value: str | None) -> Step | None:
    """The stored step, or None (unknown values are treated as no step)."""
    try:
        return Step(value) if value else None
    except ValueError:
        return None


class Ask(StrEnum):
    """What the pending question asks."""

    CONSENT = "consent"  # yes / no
    PLACE = "tz"  # a typed place (or a shared location)
    ZONE = "zone"  # pick a zone from buttons; a typed yes/no answers a single proposal
    EFFECT = "effect"
    START_MINUTES = "start_minutes"  # a number: the easy walk length in onboarding
    PLAN = "plan"
    TIMES = "times"  # typed morning and evening times
    MEAL_TIMES = "meal_times"  # typed meal times
    WALK_MINUTES = "minutes"  # a number: how long the walk was (ref = the reminder's delivery)
    PAIN = "pain"  # a number 0-10 (ref = the walk)
    COMPARE = "compare"  # better / same / worse (ref = the walk)
    LANGUAGE = "language"
    SCHEDULE = "schedule"  # the /schedule buttons
    FLARE = "flare"  # yes: gentle mode for a week
    PAIN_SCORE = "pain_score"  # a number 0-10 for today (after "my back hurts")
    DELETE = "delete"  # yes / no


# How long each question stays answerable.
LIFETIME: dict[Ask, timedelta] = {
    Ask.CONSENT: timedelta(days=7),
    Ask.PLACE: timedelta(days=7),
    Ask.ZONE: timedelta(days=7),
    Ask.EFFECT: timedelta(days=7),
    Ask.START_MINUTES: timedelta(days=7),
    Ask.PLAN: timedelta(days=7),
    Ask.TIMES: timedelta(days=7),
    Ask.MEAL_TIMES: timedelta(days=7),
    Ask.WALK_MINUTES: timedelta(hours=12),
    Ask.PAIN: timedelta(hours=12),
    Ask.COMPARE: timedelta(hours=12),
    Ask.LANGUAGE: timedelta(hours=1),
    Ask.SCHEDULE: timedelta(hours=1),
    Ask.FLARE: timedelta(hours=1),
    Ask.PAIN_SCORE: timedelta(hours=1),
    Ask.DELETE: timedelta(minutes=10),
}
# A typed place outside onboarding: a stale "where are you?" must not turn a later message
# into a place look-up.
PLACE_AFTER_ONBOARDING = timedelta(minutes=30)
YES, NO = "yes", "no"


@dataclass(frozen=True)
class Pending:
    """The question the bot waits for."""

    ask: Ask
    prefix: str  # every button answering it has callback data prefix + ":" + value
    expires_at: datetime
    ref: int | None = None  # the delivery or walk it is about
    yes: str | None = None  # the button value a typed "yes" stands for
    no: str | None = None  # ... and a typed "no"

    def value_of(self, data: str, now: datetime) -> str | None:
        """The answer a tap carries, or None when the tap belongs to another question."""
        if now >= self.expires_at or not data.startswith(self.prefix + ":"):
            return None
        return data[len(self.prefix) + 1 :]

    def typed_choice(self, answer: str | None) -> str | None:
        """The button value a typed yes or no stands for, if this question has one."""
        return {YES: self.yes, NO: self.no}.get(answer or "")

    def to_json(self) -> dict[str, Any]:
        return {
            "ask": self.ask.value, "prefix": self.prefix, "expires": self.expires_at.isoformat(),
            "ref": self.ref, "yes": self.yes, "no": self.no,
        }  # fmt: skip

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None, now: datetime) -> Pending | None:
        """The stored question if it is ours, well formed and not expired; else None.

        Other flows keep their own state in the same column (a red-flag confirmation): those,
        like anything malformed or from before this format, read as no question here.
        """
        if raw and not is_ours(raw):  # another flow's state, ours kept beside it
            raw = raw.get(NESTED) if isinstance(raw.get(NESTED), dict) else None
        if not raw:
            return None
        try:
            ask = Ask(raw["ask"])
            expires = datetime.fromisoformat(str(raw["expires"]))
            prefix = str(raw["prefix"])
            ref = raw.get("ref")
            pending = cls(
                ask, prefix, expires, int(ref) if ref is not None else None,
                raw.get("yes"), raw.get("no"),
            )  # fmt: skip
        except (KeyError, ValueError, TypeError):
            return None
        if expires.tzinfo is None or now >= expires:
            return None
        return pending


def new_pending(
    ask: Ask,
    base: str,
    token: str,
    now: datetime,
    *,
    ref: int | None = None,
    yes: str | None = None,
    no: str | None = None,
    lifetime: timedelta | None = None,
) -> Pending:
    """A new question whose buttons are `base:token:value`."""
    return Pending(ask, f"{base}:{token}", now + (lifetime or LIFETIME[ask]), ref, yes, no)


NESTED = "question"  # our question, kept beside another flow's state (a red-flag confirmation)


def is_ours(raw: dict[str, Any] | None) -> bool:
    """True when the stored state is a question of this module (expired or not)."""
    return bool(raw) and str((raw or {}).get("ask", "")) in {a.value for a in Ask}


def stored(current: dict[str, Any] | None, pending: Pending) -> dict[str, Any]:
    """What to store for a new question: it replaces our own, and never another flow's state
    (a red flag wins over every other flow: its confirmation stays answerable)."""
    if current and not is_ours(current):
        return current | {NESTED: pending.to_json()}
    return pending.to_json()


def without_question(current: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored state once our question is answered (another flow's state stays)."""
    if not current or is_ours(current):
        return None
    return {k: v for k, v in current.items() if k != NESTED}
