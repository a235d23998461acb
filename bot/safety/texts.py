"""What safety messages say: the numbers filled in, the tier messages, buttons, clinic alerts.

Every word comes from messages/<lang>/redflags.toml. Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.numbers import CRISIS_FALLBACK_KEY, LOCAL_NUMBER_KEY, Numbers
from jobs.outgoing import Buttons
from messages.catalog import Catalog, Html

QUOTE_LIMIT = 1000  # characters of the person's words quoted to the clinic
FLAG_CODES = frozenset(
    [f"E{i}" for i in range(1, 10)]
    + [f"U{i}" for i in range(1, 10)]
    + [f"S{i}" for i in range(1, 8)]
)  # every flag with texts in messages/<lang>/redflags.toml


def number_params(catalog: Catalog, lang: str, nums: Numbers) -> dict[str, Any]:
    """{emergency_number}, {urgent_number} and {crisis_line} for one person, in their language.

    An unknown country gets the default number "or your local emergency number"; a country
    without a national same-day line gets a plain phrase (its catalogue text, never the key).
    """
    emergency = nums.emergency
    if not nums.known:
        emergency = f"{emergency} ({catalog.text(lang, LOCAL_NUMBER_KEY)})"
    if nums.urgent is None:
        urgent = emergency
    elif nums.urgent_is_phrase:
        urgent = catalog.text(lang, nums.urgent)
    else:
        urgent = nums.urgent
    crisis = nums.crisis or catalog.text(lang, CRISIS_FALLBACK_KEY)
    return {"emergency_number": emergency, "urgent_number": urgent, "crisis_line": crisis}


def buttons(
    catalog: Catalog, lang: str, pairs: list[tuple[str, str]], *, row: bool = False
) -> Buttons:
    """Buttons labelled from redflags.btn.<key>: one per row, or all in one row."""
    labelled = tuple(
        (catalog.text(lang, key if "." in key else f"redflags.btn.{key}"), data)
        for key, data in pairs
    )
    return (labelled,) if row else tuple((b,) for b in labelled)


def person_buttons(catalog: Catalog, lang: str, tier: str, esc_id: int) -> Buttons:
    """Buttons under a tier message: every episode can be closed, or corrected, by the person."""
    if tier == "crisis":
        return buttons(catalog, lang, [("all_clear", f"rf:clear:{esc_id}")])
    if tier == "soon":
        pairs = [("booked", f"rf:booked:{esc_id}"), ("all_clear", f"rf:clear:{esc_id}")]
    else:
        pairs = [("getting_help", f"rf:help:{esc_id}"), ("all_clear", f"rf:clear:{esc_id}")]
    pairs.append(("didnt_mean", f"rf:undo:{esc_id}"))
    return buttons(catalog, lang, pairs)


def checkin_buttons(catalog: Catalog, lang: str, tier: str, esc_id: int) -> Buttons:
    if tier == "soon":
        return buttons(
            catalog, lang, [("booked", f"rf:booked:{esc_id}"), ("all_clear", f"rf:clear:{esc_id}")]
        )
    return buttons(
        catalog,
        lang,
        [
            ("getting_help", f"rf:help:{esc_id}"),
            ("all_clear", f"rf:clear:{esc_id}"),
            ("not_yet", f"rf:notyet:{esc_id}"),
        ],
    )


def tier_message(
    catalog: Catalog,
    lang: str,
    flag: str,
    params: dict[str, str],
    *,
    has_reminders: bool,
    third_party: bool = False,
) -> Html:
    """The full message for a flag, with the right last line for someone with or without reminders."""
    tier = tier_of_flag(flag)
    body = catalog.text(lang, f"redflags.{flag}.message", **params)
    tail_key = f"redflags.tail.{tier}_{'paused' if has_reminders else 'none'}"
    if tier in ("emergency", "urgent"):
        body = Html(f"{body}\n{catalog.text(lang, tail_key, **params)}")
    if third_party:
        return Html(catalog.text(lang, "redflags.third_party", **params) + "\n\n" + body)
    return body


def crisis_message(
    catalog: Catalog, lang: str, params: dict[str, str], *, has_reminders: bool
) -> Html:
    body = catalog.text(lang, "redflags.crisis", **params)
    if has_reminders:
        return Html(f"{body} {catalog.text(lang, 'redflags.tail.crisis_paused')}")
    return body


def checkin_text(
    catalog: Catalog, lang: str, key: str, params: dict[str, str], *, has_reminders: bool
) -> Html:
    text = catalog.text(lang, f"redflags.checkin.{key}", **params)
    if has_reminders and key in ("emergency_4h", "emergency_morning", "no_reply"):
        return Html(f"{text} {catalog.text(lang, 'redflags.tail.still_paused')}")
    return text


def tier_of_flag(flag: str) -> str:
    return {"E": "emergency", "U": "urgent", "S": "soon"}.get(flag[:1], "emergency")


# -- the clinic ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reach:
    """How clinic staff reach a person: their Telegram id, name and @username (never stored)."""

    user_id: int
    name: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class Profile:
    """What the clinic needs to know about the person beside how to reach them."""

    reach: Reach
    language: str  # the person's language code
    timezone: str
    country: str | None
    numbers: Numbers


def quote(text: str | None) -> str:
    """The person's words for the clinic, short enough for one Telegram message."""
    if not text:
        return ""
    return text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "…"


def person_block(catalog: Catalog, lang: str, profile: Profile, tier: str, now: datetime) -> Html:
    """Name, @username, a link that opens the chat, language, country, local time, the number given."""
    reach = profile.reach
    local = now.astimezone(ZoneInfo(profile.timezone))
    params = number_params(catalog, profile.language, profile.numbers)
    key = {"urgent": "given_urgent", "crisis": "given_crisis"}.get(tier, "given_emergency")
    return catalog.text(
        lang,
        "safety.clinic.person",
        name=reach.name or "?",
        user_id=str(reach.user_id),
        username=f"@{reach.username}"
        if reach.username
        else catalog.text(lang, "safety.clinic.no_username"),
        language=catalog.text(profile.language, "ui.language.name"),
        local_time=local.strftime("%H:%M"),
        zone=profile.timezone,
        country=profile.country or catalog.text(lang, "safety.clinic.unknown_country"),
        given=catalog.text(lang, f"safety.clinic.{key}", **params),
    )


def tier_word(catalog: Catalog, lang: str, tier: str) -> str:
    if tier == "crisis":
        return catalog.text(lang, "safety.clinic.tier_crisis")
    return catalog.text(lang, f"redflags.tier.{tier}")


def flags_in_words(catalog: Catalog, lang: str, flags: list[str] | tuple[str, ...]) -> str:
    words = [catalog.text(lang, f"redflags.{f}.label") for f in flags if f and f != "crisis"]
    return "; ".join(words) or "-"


def alert(
    catalog: Catalog,
    lang: str,
    profile: Profile,
    *,
    tier: str,
    flags: list[str] | tuple[str, ...],
    text: str | None,
    answers: str,
    now: datetime,
) -> Html:
    """The clinic's alert: who, how to reach them, what they were told, what they said."""
    person = person_block(catalog, lang, profile, tier, now)
    if tier == "crisis":
        return catalog.text(
            lang, "redflags.operator.crisis", person=person, text=quote(text) or "-",
            time_utc=now.strftime("%Y-%m-%d %H:%M"),
        )  # fmt: skip
    return catalog.text(
        lang,
        "redflags.operator.alert",
        tier=tier_word(catalog, lang, tier),
        flags=flags_in_words(catalog, lang, flags),
        person=person,
        text=quote(text) or "-",
        answers=answers or "-",
        time_utc=now.strftime("%Y-%m-%d %H:%M"),
    )


def ack_buttons(catalog: Catalog, lang: str, esc_id: int) -> Buttons:
    """The clinic's "Seen, I'm on it" button for one episode."""
    return (((catalog.text(lang, "redflags.btn.acknowledge"), f"op:ack:{esc_id}"),),)
