"""Red-flag episodes (spec §5.3): store first, then tell the person, alert the clinic, follow up.

`raise_flag` opens an episode (or re-sends the full message and raises its tier); `answer` moves
a live episode through `bot.safety.lifecycle.TABLE` and runs the action the table names. All
messages to the clinic, and the person's tier messages and check-ins, are written to the outbox
in the caller's transaction (bot.safety.outbox) and sent in the priority lane after commit.
Reminders are held while an episode is live (`Person.open_tier`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.models import Delivery, Escalation, Person, ReminderRule, SymptomReport
from bot.progression import after_escalation, start_flare
from bot.safety import checkins, lifecycle, texts
from bot.safety.outbox import Post
from bot.safety.texts import Reach
from bot.services.people import numbers
from bot.services.programme import load_programme, save_programme
from bot.services.schedules import local_today
from jobs.outgoing import Buttons, Outgoing
from messages.catalog import Catalog, Html

# Crisis (distress words) sits between soon and urgent: any urgent or emergency flag raises it.
TIER_RANK = {"none": 0, "soon": 1, "crisis": 1.5, "urgent": 2, "emergency": 3}
SPIKE_FLAGS = ("E1", "E3", "E5")  # spec §5.4: bladder/bowel, saddle numbness, both legs
SPIKE_SIGNS = {"E1": "sign_bladder", "E3": "sign_saddle", "E5": "sign_legs"}


@dataclass(frozen=True)
class Deps:
    catalog: Catalog
    settings: Settings

    @property
    def clinic_lang(self) -> str:
        return self.settings.clinic_language


@dataclass
class Said:
    """What an answer produced: replies to the tap (in order) and outbox items for the sender."""

    replies: list[tuple[str, Buttons]] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)

    def say(self, text: str, buttons: Buttons = ()) -> None:
        self.replies.append((text, buttons))


# -- facts about the person ----------------------------------------------------------------------
def params(deps: Deps, person: Person | None, lang: str | None = None) -> dict[str, Any]:
    """The numbers for this person's country, in their language (never a catalogue key)."""
    language = lang or (person.language if person else deps.catalog.default_language)
    return texts.number_params(deps.catalog, language, numbers(person, deps.settings))


def profile(deps: Deps, person: Person, reach: Reach) -> texts.Profile:
    return texts.Profile(
        reach=Reach(reach.user_id, reach.name or person.first_name, reach.username),
        language=person.language,
        timezone=person.timezone,
        country=person.country,
        numbers=numbers(person, deps.settings),
    )


async def has_reminders(session: AsyncSession, person: Person) -> bool:
    """True when the person has walk reminders that an episode pauses."""
    found = await session.scalar(
        select(exists().where(ReminderRule.person_id == person.id, ReminderRule.enabled))
    )
    return bool(found) and person.status == "active"


async def live_episode(session: AsyncSession, person: Person) -> Escalation | None:
    return await session.scalar(
        select(Escalation)
        .where(Escalation.person_id == person.id, Escalation.status.in_(lifecycle.LIVE))
        .order_by(Escalation.id.desc())
        .limit(1)
    )


async def heard_from(session: AsyncSession, person: Person, now: datetime) -> None:
    """The person said or tapped something: no "no response" alert may count from before now."""
    await session.execute(
        update(Escalation)
        .where(Escalation.person_id == person.id, Escalation.status.in_(lifecycle.LIVE))
        .values(last_reply_at=now)
    )


async def known_flags(session: AsyncSession, person: Person) -> set[str]:
    """Signs the person told us a doctor has already checked (recorded during onboarding)."""
    rows = await session.scalars(
        select(SymptomReport.flags).where(
            SymptomReport.person_id == person.id, SymptomReport.source == "known"
        )
    )
    return {flag for row in rows for flag in row.split(",") if flag}


async def record_known(session: AsyncSession, person: Person, flag: str, now: datetime) -> None:
    session.add(
        SymptomReport(
            person_id=person.id, reported_at=now, source="known", text=None,
            tier=texts.tier_of_flag(flag), flags=flag, confirmed=True,
        )
    )  # fmt: skip


# -- opening ------------------------------------------------------------------------------------
async def raise_flag(
    session: AsyncSession,
    deps: Deps,
    person: Person,
    reach: Reach,
    *,
    flags: tuple[str, ...],
    text: str | None,
    source: str,
    now: datetime,
    third_party: bool = False,
    answers: str = "",
    crisis: bool = False,
) -> list[Outgoing]:
    """Record the report, open (or raise) the episode, queue the message, alert, plan check-ins."""
    tier = "crisis" if crisis else texts.tier_of_flag(flags[0])
    report = SymptomReport(
        person_id=person.id, reported_at=now, source=source, text=text, tier=tier,
        flags=",".join(flags) if flags else "crisis", confirmed=True,
    )  # fmt: skip
    session.add(report)
    await session.flush()
    esc = await live_episode(session, person)
    move = lifecycle.step(esc.status if esc else lifecycle.NONE, lifecycle.FLAG)
    assert move is not None  # a flag applies in every state
    newly_raised = esc is None or TIER_RANK[tier] > TIER_RANK[esc.tier]
    if esc is None:
        esc = Escalation(
            person_id=person.id, report_id=report.id, tier=tier, flags="", opened_at=now,
            status=move.state,
        )  # fmt: skip
        session.add(esc)
    else:
        esc.status = move.state
        if newly_raised:
            esc.tier = tier
            # The higher tier brings its own check-ins: drop the ones planned for the lower tier.
            await _drop_planned(session, esc)
    known = [f for f in esc.flags.split(",") if f]
    esc.flags = ",".join(dict.fromkeys([*known, *(flags or ("crisis",))]))[:120]
    await session.flush()
    if TIER_RANK[tier] >= TIER_RANK.get(person.open_tier or "none", 0):
        person.open_tier = esc.tier
    lang = person.language
    nums = params(deps, person)
    reminders = await has_reminders(session, person)
    post = Post(session, now, person, esc)
    if crisis:
        post.to_person(
            texts.crisis_message(deps.catalog, lang, nums, has_reminders=reminders),
            texts.person_buttons(deps.catalog, lang, "crisis", esc.id),
        )
    else:
        post.to_person(
            texts.tier_message(
                deps.catalog, lang, flags[0], nums, has_reminders=reminders, third_party=third_party
            ),
            texts.person_buttons(deps.catalog, lang, tier, esc.id),
        )
    chat = deps.settings.escalation_chat_id
    who = profile(deps, person, reach)
    if chat is not None and tier in ("emergency", "urgent", "crisis"):
        alert = texts.alert(
            deps.catalog, deps.clinic_lang, who, tier=tier, flags=flags, text=text,
            answers=answers, now=now,
        )  # fmt: skip
        post.to_clinic(chat, alert, texts.ack_buttons(deps.catalog, deps.clinic_lang, esc.id))
    if tier == "emergency" and person.contact_chat_id is not None:
        post.to_contact(person.contact_chat_id, _contact_alert(deps, person, now))
        told = deps.catalog.text(lang, "ui.contact.told", contact_name=person.contact_name or "?")
        post.to_person(told)
    if newly_raised and not crisis:
        _plan_checkins(post, deps, who, esc, tier, reminders)
    return await post.flush()


async def _drop_planned(session: AsyncSession, esc: Escalation) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.escalation_id == esc.id, Delivery.status == "scheduled")
        .values(status="skipped")
    )


def _contact_alert(deps: Deps, person: Person, now: datetime) -> Html:
    """The opted-in trusted contact hears of an emergency (never of anything else)."""
    return deps.catalog.text(
        person.language, "ui.contact.alert", name=person.first_name or "?",
        time=now.astimezone(ZoneInfo(person.timezone)).strftime("%H:%M"), **params(deps, person),
    )  # fmt: skip


def _plan_checkins(
    post: Post, deps: Deps, who: texts.Profile, esc: Escalation, tier: str, reminders: bool
) -> None:
    person, now, lang = post.person, post.now, post.person.language
    nums = params(deps, person)
    buttons = texts.checkin_buttons(deps.catalog, lang, tier, esc.id)
    for checkin in checkins.plan(tier, now, person.timezone):
        text = texts.checkin_text(deps.catalog, lang, checkin.key, nums, has_reminders=reminders)
        post.to_person(text, buttons, at=checkin.due, when=checkin.conditions, kind="checkin")
    chat = deps.settings.escalation_chat_id
    if tier == "emergency" and chat is not None:
        clinic = deps.clinic_lang
        alert = deps.catalog.text(
            clinic,
            "redflags.operator.no_response",
            person=texts.person_block(deps.catalog, clinic, who, tier, now),
            tier=texts.tier_word(deps.catalog, clinic, tier),
            flags=texts.flags_in_words(deps.catalog, clinic, esc.flags.split(",")),
            since=checkins.no_reply_since(now).strftime("%H:%M"),
        )
        post.to_clinic(
            chat, alert, texts.ack_buttons(deps.catalog, clinic, esc.id),
            at=now + checkins.NO_REPLY_AFTER, when=checkins.no_reply_conditions(now),
        )  # fmt: skip


# -- one question before the tier message ---------------------------------------------------------
async def ask_confirm(
    session: AsyncSession,
    deps: Deps,
    person: Person,
    reach: Reach,
    *,
    flag: str,
    text: str | None,
    now: datetime,
    recheck: bool = False,
) -> list[Outgoing]:
    """One short confirming question with buttons; a safety-net line if it goes unanswered.

    `recheck`: the sign is one a doctor already checked; the question is whether it changed.
    """
    report = SymptomReport(
        person_id=person.id, reported_at=now, source="recheck" if recheck else "message",
        text=text, tier=texts.tier_of_flag(flag), flags=flag, confirmed=None,
    )  # fmt: skip
    session.add(report)
    await session.flush()
    person.pending = {"ask": "confirm", "flag": flag, "report": report.id}
    lang = person.language
    nums = params(deps, person)
    buttons = texts.buttons(
        deps.catalog,
        lang,
        [
            ("yes", f"rf:cf:{report.id}:y"),
            ("no", f"rf:cf:{report.id}:n"),
            ("not_sure", f"rf:cf:{report.id}:u"),
        ],
        row=True,
    )
    post = Post(session, now, person)
    key = "safety.known.changed" if recheck else f"redflags.{flag}.confirm"
    post.to_person(deps.catalog.text(lang, key, **nums), buttons)
    if texts.tier_of_flag(flag) == "emergency":
        _safety_net(post, deps, reach, report.id, flag, text)
    return await post.flush()


def _safety_net(
    post: Post, deps: Deps, reach: Reach, report_id: int, flag: str, text: str | None
) -> None:
    """At 15 minutes, unless answered: the safety line to the person and an alert to the clinic."""
    person, due = post.person, post.now + checkins.CONFIRM_SAFETY_NET
    cond = {"unless_report_answered": report_id}
    net = deps.catalog.text(person.language, "redflags.safety_net", **params(deps, person))
    post.to_person(net, at=due, when=cond, kind="safety_net")
    chat = deps.settings.escalation_chat_id
    if chat is not None:  # the clinic hears of it only if the question goes unanswered
        clinic = deps.clinic_lang
        alert = texts.alert(
            deps.catalog, clinic, profile(deps, person, reach), tier="emergency", flags=(flag,),
            text=text, answers=deps.catalog.text(clinic, "safety.clinic.unanswered"), now=due,
        )  # fmt: skip
        post.to_clinic(chat, alert, at=due, when=cond)


async def send_now(
    session: AsyncSession, person: Person, text: str, buttons: Buttons, now: datetime
) -> list[Outgoing]:
    """A red-flag-lane message to the person (stored first, then sent)."""
    post = Post(session, now, person)
    post.to_person(text, buttons)
    return await post.flush()


# -- the pain-spike screen (spec §5.4) -----------------------------------------------------------
async def spike_screen(
    session: AsyncSession,
    deps: Deps,
    person: Person,
    now: datetime,
    then: list[tuple[str, Buttons]],
) -> list[Outgoing]:
    """The three questions, first and alone; `then` (the rest of the answer) waits for the reply.

    Unanswered after 15 minutes: the safety-net line. The waiting messages are sent once the
    person answers "No to all" (they are dropped after a "yes", which opens an episode).
    """
    report = SymptomReport(
        person_id=person.id, reported_at=now, source="spike", text=None, tier="emergency",
        flags=",".join(SPIKE_FLAGS), confirmed=None,
    )  # fmt: skip
    session.add(report)
    await session.flush()
    person.pending = {
        "ask": "spike",
        "report": report.id,
        "then": [[text, [list(map(list, row)) for row in buttons]] for text, buttons in then],
    }
    catalog, lang = deps.catalog, person.language
    lines: list[str] = [catalog.text(lang, "redflags.spike.intro")]
    lines += [f"• {catalog.text(lang, f'redflags.spike.q{i}')}" for i in (1, 2, 3)]
    buttons = texts.buttons(
        catalog,
        lang,
        [("no_to_all", f"rf:sp:{report.id}:n"), ("yes_to_one", f"rf:sp:{report.id}:y")],
    )
    post = Post(session, now, person)
    post.to_person(Html("\n".join(lines)), buttons)
    net = catalog.text(lang, "redflags.safety_net", **params(deps, person))
    post.to_person(
        net, at=now + checkins.CONFIRM_SAFETY_NET, when={"unless_report_answered": report.id},
        kind="safety_net",
    )  # fmt: skip
    return await post.flush()


async def answer_spike(
    session: AsyncSession,
    deps: Deps,
    person: Person,
    reach: Reach,
    report_id: int,
    choice: str,
    now: datetime,
) -> Said | None:
    """ "n" (no to all), "y" (yes to one or more) or a flag (which one). None: a stale tap."""
    report = await session.get(SymptomReport, report_id)
    if report is None or report.person_id != person.id or report.source != "spike":
        return None
    if report.confirmed is not None:
        return None
    said = Said()
    catalog, lang = deps.catalog, person.language
    pending = person.pending or {}
    waiting = pending.get("then", []) if pending.get("report") == report_id else []
    if choice == "n":
        report.confirmed = False
        person.pending = None
        said.say(catalog.text(lang, "redflags.checklist.none", **params(deps, person)))
        for text, rows in waiting:
            said.say(text, tuple(tuple((str(a), str(b)) for a, b in row) for row in rows))
        return said
    if choice == "y":
        person.pending = None
        rows = [(f"safety.btn.{SPIKE_SIGNS[f]}", f"rf:sp:{report_id}:{f}") for f in SPIKE_FLAGS]
        post = Post(session, now, person)
        post.to_person(
            catalog.text(lang, "safety.spike.which", **params(deps, person)),
            texts.buttons(catalog, lang, rows),
        )
        chat = deps.settings.escalation_chat_id
        if chat is not None:  # yes, but which sign never came: the clinic hears at 15 minutes
            clinic = deps.clinic_lang
            alert = texts.alert(
                catalog, clinic, profile(deps, person, reach), tier="emergency",
                flags=SPIKE_FLAGS, text=None, now=now + checkins.CONFIRM_SAFETY_NET,
                answers=catalog.text(clinic, "safety.clinic.unanswered"),
            )  # fmt: skip
            post.to_clinic(
                chat, alert, at=now + checkins.CONFIRM_SAFETY_NET,
                when={"unless_report_answered": report_id},
            )  # fmt: skip
        said.outgoing = await post.flush()
        return said
    if choice in SPIKE_FLAGS:
        report.confirmed = True
        person.pending = None
        question = catalog.text(
            deps.clinic_lang, f"redflags.spike.q{SPIKE_FLAGS.index(choice) + 1}"
        )
        said.outgoing = await raise_flag(
            session, deps, person, reach, flags=(choice,), text=None, source="spike", now=now,
            answers=catalog.text(deps.clinic_lang, "safety.clinic.answered_yes", question=question),
        )  # fmt: skip
        return said
    return None


# -- the lifecycle: answers to a live episode -------------------------------------------------------
BUTTON_EVENTS = {
    "help": lifecycle.HELP,
    "notyet": lifecycle.NOT_YET,
    "booked": lifecycle.BOOKED,
    "undo": lifecycle.DIDNT_MEAN,
    "ex:y": lifecycle.EXAMINED,
    "ex:n": lifecycle.EXAMINED_NO,
    "wk:ok": lifecycle.WALK_OK,
    "wk:easy": lifecycle.WALK_EASY,
    "wk:unsaid": lifecycle.WALK_UNSAID,
    "fix:all": lifecycle.MISTAKE_ALL,
    "fix:real": lifecycle.ITS_REAL,
}


def event_for(button: str, tier: str) -> str | None:
    """The lifecycle event a person's button stands for ("clear" depends on the tier)."""
    if button == "clear":
        return lifecycle.clear_event(tier)
    if button.startswith("fix:") and button[4:] in texts.FLAG_CODES:
        return lifecycle.MISTAKE_PART
    return BUTTON_EVENTS.get(button)


async def answer(
    session: AsyncSession,
    deps: Deps,
    person: Person,
    reach: Reach,
    esc: Escalation,
    button: str,
    now: datetime,
) -> Said | None:
    """Apply the person's answer to their episode; None when it does not apply in this state."""
    event = event_for(button, esc.tier)
    move = lifecycle.step(esc.status, event) if event else None
    if move is None:
        return None
    signs = [f for f in esc.flags.split(",") if f in texts.FLAG_CODES]
    if event == lifecycle.MISTAKE_PART and (button[4:] not in signs or len(signs) < 2):
        return None  # only one of several signs can be taken off; the last one is "all of it"
    esc.last_reply_at = now
    esc.status = move.state
    said = Said()
    run = _Run(session, deps, person, reach, esc, now, said)
    await ACTIONS[move.action](run, button)
    return said


@dataclass
class _Run:
    """What an action works on."""

    session: AsyncSession
    deps: Deps
    person: Person
    reach: Reach
    esc: Escalation
    now: datetime
    said: Said

    def t(self, key: str, **extra: str) -> Html:
        return self.deps.catalog.text(
            self.person.language, key, **params(self.deps, self.person), **extra
        )

    def buttons(self, pairs: list[tuple[str, str]]) -> Buttons:
        return texts.buttons(self.deps.catalog, self.person.language, pairs)

    def flags(self) -> list[str]:
        return [f for f in self.esc.flags.split(",") if f in texts.FLAG_CODES]

    def tell_clinic(self, key: str, flags: list[str] | None = None, **values: str) -> Post:
        """A note to the clinic about this episode (every closing and correction)."""
        post = Post(self.session, self.now, self.person, self.esc)
        chat = self.deps.settings.escalation_chat_id
        if chat is not None:
            clinic, catalog = self.deps.clinic_lang, self.deps.catalog
            who = profile(self.deps, self.person, self.reach)
            text = catalog.text(
                clinic, key, person=texts.person_block(catalog, clinic, who, self.esc.tier, self.now),
                tier=texts.tier_word(catalog, clinic, self.esc.tier),
                flags=texts.flags_in_words(catalog, clinic, self.flags() if flags is None else flags),
                **values,
            )  # fmt: skip
            post.to_clinic(chat, text)
        return post


async def _ack_help(run: _Run, button: str) -> None:
    run.said.say(run.t("redflags.ack.getting_help"))


async def _ack_booked(run: _Run, button: str) -> None:
    run.said.say(run.t("redflags.ack.booked"))


async def _repeat_message(run: _Run, button: str) -> None:
    lang = run.person.language
    # the most serious sign the episode holds ("Not yet" after a 112 answer repeats the 112 one)
    flags = tuple(sorted(run.flags(), key=lambda f: -TIER_RANK[texts.tier_of_flag(f)])) or ("E1",)
    reminders = await has_reminders(run.session, run.person)
    text = texts.tier_message(
        run.deps.catalog, lang, flags[0], params(run.deps, run.person), has_reminders=reminders
    )
    buttons = texts.person_buttons(run.deps.catalog, lang, run.esc.tier, run.esc.id)
    run.said.outgoing = await send_now(run.session, run.person, text, buttons, run.now)


async def _ask_examined(run: _Run, button: str) -> None:
    e = run.esc.id
    run.said.say(
        run.t("safety.close.ask_examined"),
        run.buttons(
            [
                ("safety.btn.examined_yes", f"rf:ex:{e}:y"),
                ("safety.btn.examined_no", f"rf:ex:{e}:n"),
            ]
        ),
    )


async def _ask_walking(run: _Run, button: str) -> None:
    e = run.esc.id
    run.said.say(
        run.t("safety.close.ask_walking"),
        run.buttons([
            ("safety.btn.walk_ok", f"rf:wk:{e}:ok"), ("safety.btn.walk_easy", f"rf:wk:{e}:easy"),
            ("safety.btn.walk_unsaid", f"rf:wk:{e}:unsaid"),
        ]),
    )  # fmt: skip


async def _urge_help(run: _Run, button: str) -> None:
    run.said.say(run.t("safety.close.urge_help"))


async def _close(run: _Run, button: str) -> None:
    """Resolved: reminders back on (walks a little shorter), the clinic told how it ended."""
    gently = button == "wk:easy"
    reminders = await has_reminders(run.session, run.person)
    _finish(run, lifecycle.RESOLVED, gently=gently)
    if run.esc.tier in lifecycle.SERIOUS_TIERS:
        run.said.say(run.t("safety.close.closed"))
        walking = {"wk:ok": "walking_ok", "wk:easy": "walking_easy"}.get(button, "walking_unsaid")
        clinic = run.deps.catalog.text(run.deps.clinic_lang, f"safety.clinic.{walking}")
        how = run.deps.catalog.text(
            run.deps.clinic_lang, "safety.clinic.how_examined", walking=clinic
        )
    else:
        run.said.say(run.t("redflags.ack.all_clear"))
        how = run.deps.catalog.text(run.deps.clinic_lang, "safety.clinic.how_minor")
    if not reminders:
        run.said.say(run.t("safety.close.resumed_none"))
    else:
        run.said.say(run.t("safety.close.resumed_gently" if gently else "redflags.resumed"))
    run.said.outgoing = await run.tell_clinic("safety.clinic.closed", how=how).flush()


async def _ask_which_part(run: _Run, button: str) -> None:
    flags, e, catalog, lang = run.flags(), run.esc.id, run.deps.catalog, run.person.language
    signs = "\n".join(
        f"{i}. {catalog.text(lang, f'redflags.{flag}.label')}" for i, flag in enumerate(flags, 1)
    ) or catalog.text(lang, "safety.clinic.tier_crisis")
    rows: list[tuple[tuple[str, str], ...]] = []
    if len(flags) > 1:
        rows += [
            ((catalog.text(lang, "safety.btn.mistake_one", n=str(i)), f"rf:fix:{e}:{flag}"),)
            for i, flag in enumerate(flags, 1)
        ]
    rows += [
        ((catalog.text(lang, "safety.btn.mistake_all"), f"rf:fix:{e}:all"),),
        ((catalog.text(lang, "safety.btn.its_real"), f"rf:fix:{e}:real"),),
    ]
    run.said.say(run.t("safety.correct.ask", signs=Html(signs)), tuple(rows))


async def _withdraw(run: _Run, button: str) -> None:
    _finish(run, lifecycle.WITHDRAWN, gently=False)
    run.said.say(run.t("redflags.ack.didnt_mean"))
    how = run.deps.catalog.text(run.deps.clinic_lang, "safety.clinic.how_withdrawn")
    run.said.outgoing = await run.tell_clinic("safety.clinic.closed", how=how).flush()


async def _drop_flag(run: _Run, button: str) -> None:
    """One of several signs was a mistake: the episode stays open for the rest (tier may fall)."""
    dropped = button[4:]
    catalog, clinic = run.deps.catalog, run.deps.clinic_lang
    run.esc.flags = ",".join(f for f in run.esc.flags.split(",") if f and f != dropped)
    remaining = run.flags()
    tier = max((texts.tier_of_flag(f) for f in remaining), key=TIER_RANK.__getitem__)
    post = run.tell_clinic(
        "safety.clinic.partial",
        [dropped],
        remaining=texts.flags_in_words(catalog, clinic, remaining),
    )
    if TIER_RANK[tier] < TIER_RANK[run.esc.tier]:
        run.esc.tier = tier
        run.person.open_tier = tier
        await _drop_planned(run.session, run.esc)
        reminders = await has_reminders(run.session, run.person)
        who = profile(run.deps, run.person, run.reach)
        _plan_checkins(post, run.deps, who, run.esc, tier, reminders)
    run.said.say(run.t("safety.correct.dropped"))
    run.said.outgoing = await post.flush()


async def _keep(run: _Run, button: str) -> None:
    run.said.say(run.t("safety.correct.kept"))


def _finish(run: _Run, status: str, *, gently: bool) -> None:
    """The episode is closed: reminders resume; after a real episode walks restart shorter."""
    run.esc.resolved_at = run.now
    run.person.open_tier = None
    person = run.person
    if person.programme and status == lifecycle.RESOLVED:
        programme = after_escalation(load_programme(person))
        if gently:
            programme = start_flare(programme, local_today(person, run.now))
        save_programme(person, programme)


ACTIONS = {
    "ack_help": _ack_help,
    "ack_booked": _ack_booked,
    "repeat_message": _repeat_message,
    "ask_examined": _ask_examined,
    "ask_walking": _ask_walking,
    "urge_help": _urge_help,
    "close": _close,
    "close_gently": _close,
    "ask_which_part": _ask_which_part,
    "withdraw": _withdraw,
    "drop_flag": _drop_flag,
    "keep": _keep,
}
