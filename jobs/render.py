"""Rendering the walk reminder: a variant for the kind, the target, one posture cue, three buttons."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from jobs.outgoing import Buttons
from messages.catalog import Catalog, Html
from messages.select import ContentProfile, posture_cue, reminder_variant

DEFAULT_TARGET_MINUTES = 10


def content_profile(stenosis: bool, programme: dict[str, Any] | None) -> ContentProfile:
    programme = programme or {}
    return _profile(
        stenosis,
        int(programme.get("comfortable_walks", 0)),
        bool(programme.get("core_cleared", False)),
        bool(programme.get("floor_ok", True)),
    )


@lru_cache(maxsize=256)
def _profile(
    stenosis: bool, comfortable_walks: int, core_cleared: bool, floor_ok: bool
) -> ContentProfile:
    return ContentProfile(
        stenosis=stenosis, comfortable_walks=comfortable_walks, core_cleared=core_cleared,
        floor_ok=floor_ok,
    )  # fmt: skip


@lru_cache(maxsize=64)
def _labels(catalog: Catalog, lang: str) -> tuple[str, str, str]:
    return tuple(catalog.text(lang, f"ui.btn.{k}") for k in ("done", "snooze", "skip"))  # type: ignore[return-value]


def reminder_buttons(catalog: Catalog, lang: str, delivery_id: int) -> Buttons:
    """Done / Snooze 15 min / Skip today, each carrying the delivery it answers."""
    done, snooze, skip = _labels(catalog, lang)
    ref = str(delivery_id)
    return (((done, "w:done:" + ref), (snooze, "w:snz:" + ref)), ((skip, "w:skip:" + ref),))


SLOTS = {"morning": 0, "breakfast": 1, "lunch": 2, "dinner": 3, "evening": 4, "ate": 5, "snooze": 6}


def render_reminder(
    catalog: Catalog,
    *,
    lang: str,
    kind: str,
    person_id: int,
    delivery_id: int,
    local_day: date,
    programme: dict[str, Any] | None,
    stenosis: bool,
) -> tuple[str, Buttons]:
    """The reminder text and its buttons; rotation is by person and local day (pure)."""
    programme = programme or {}
    n = local_day.toordinal() * 8 + SLOTS.get(kind, 7)
    target = int(programme.get("target_minutes", DEFAULT_TARGET_MINUTES))
    variant = reminder_variant(person_id, n, catalog.variants(lang, f"reminders.{kind}"))
    step = None
    interval = rounds = 0
    if programme.get("mode") == "interval":
        interval = int(programme.get("interval_minutes", 5))
        rounds = max(1, int(programme.get("interval_rounds", max(1, target // max(1, interval)))))
        step = reminder_variant(person_id, n, catalog.variants(lang, "reminders.interval"))
    cue = posture_cue(
        person_id, n, catalog.posture_cues(lang), content_profile(stenosis, programme)
    )
    text = _compose(catalog, lang, variant, step, cue.text, target, interval, rounds)
    return text, reminder_buttons(catalog, lang, delivery_id)


@lru_cache(maxsize=4096)
def _compose(
    catalog: Catalog,
    lang: str,
    variant: str,
    step: str | None,
    cue: str,
    target: int,
    interval: int,
    rounds: int,
) -> str:
    """The text from its chosen parts; few combinations exist, so the morning peak hits the cache."""
    parts = [catalog.render(variant, minutes=target)]
    if step is not None:
        parts.append(catalog.render(step, interval=interval, rounds=rounds, minutes=target))
    parts.append(catalog.text(lang, "ui.reminder.footer_cue", cue=Html(cue)))
    return "\n\n".join(parts)
