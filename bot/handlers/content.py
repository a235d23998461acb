"""/posture and /stretch: content chosen by messages.select (pure), rendered from the catalogue."""

from __future__ import annotations

from telegram import Update

from bot.context import Ctx
from bot.handlers.common import Turn, person_handler
from bot.services import schedules
from jobs.render import content_profile
from messages.catalog import Html, Stretch
from messages.select import eligible_stretches, posture_cue, stretch_of_the_day


@person_handler()
async def posture(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/posture: the next cue in this person's rotation."""
    person = turn.person
    assert person is not None
    profile = content_profile(person.stenosis, person.programme)
    cue = posture_cue(person.id, person.cue_count, ctx.rt.catalog.posture_cues(turn.lang), profile)
    person.cue_count += 1
    turn.say_text(turn.t("ui.posture.header") + "\n" + cue.text)


def render_stretch(turn: Turn, stretch: Stretch) -> str:
    steps = "\n".join(f"{i}. {step}" for i, step in enumerate(stretch.steps, 1))
    parts = [turn.t("ui.stretch.header", name=Html(stretch.name)), steps, f"⏱ {stretch.dose}"]
    if stretch.picture:
        parts.append(f"<i>{stretch.picture}</i>")
    parts.append(f"✅ {stretch.suits}\n⚠️ {stretch.avoid_if}")
    parts.append(turn.t("ui.stretch.footer"))
    return "\n\n".join(parts)


@person_handler()
async def stretch(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/stretch: today's stretch, the same all day in the person's zone."""
    person = turn.person
    assert person is not None
    profile = content_profile(person.stenosis, person.programme)
    stretches = ctx.rt.catalog.stretches(turn.lang)
    if not eligible_stretches(stretches, profile):
        turn.say("ui.stretch.rest_day")
        return
    today = schedules.local_today(person, turn.now)
    turn.say_text(render_stretch(turn, stretch_of_the_day(person.id, today, stretches, profile)))
