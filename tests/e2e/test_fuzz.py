"""Thousands of random updates through the stand: no crash, nobody else's rows touched, commands answered."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import COMMANDS
from bot.models import Person, ReminderRule
from tests.e2e.harness import running_bot

CALLBACK_PREFIXES = (
    "w:done:",
    "w:min:1:",
    "w:pain:1:",
    "w:cmp:1:",
    "w:snz:",
    "rf:cf:1:",
    "rf:clear:",
    "rf:ck:",
    "ob:tz:",
    "ob:scr:1:",
    "del:",
    "adm:bc:",
    "op:ack:",
    "lang:",
)
text = st.text(min_size=0, max_size=300)
commands = st.builds(
    lambda c, a: f"/{c} {a}".strip(), st.sampled_from([*COMMANDS, "nope", "stats"]), text
)
callbacks = st.one_of(
    st.builds(lambda p, n: f"{p}{n}", st.sampled_from(CALLBACK_PREFIXES), st.integers(-5, 10**12)),
    st.text(min_size=1, max_size=64).filter(lambda s: len(s.encode()) <= 64),
)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("text"), text.filter(str.strip)),
        st.tuples(st.just("command"), commands),
        st.tuples(st.just("tap"), callbacks),
        st.tuples(st.just("edit"), text.filter(str.strip)),
        st.tuples(st.just("sticker"), st.none()),
        st.tuples(st.just("location"), st.tuples(st.floats(-89, 89), st.floats(-179, 179))),
        st.tuples(
            st.just("raw"),
            st.sampled_from(["future_update_type", "weird", "business_thing"]),
        ),
    ),
    min_size=40,
    max_size=100,
)


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def snapshot(h: Any, user_id: int) -> tuple[Any, ...]:
    async with h.runtime.sessions() as session:
        person = await session.scalar(select(Person).where(Person.telegram_user_id == user_id))
        assert person is not None
        rules = (
            await session.scalars(
                select(ReminderRule)
                .where(ReminderRule.person_id == person.id)
                .order_by(ReminderRule.id)
            )
        ).all()
        return (
            tuple((c.key, getattr(person, c.key)) for c in Person.__table__.columns),
            tuple(
                (r.id, r.kind, r.local_time, r.weekdays, r.next_due_at, r.enabled) for r in rules
            ),
        )


async def run(template: Path, steps: list[tuple[str, Any]]) -> None:
    folder = Path(tempfile.mkdtemp())
    try:
        db = folder / "fuzz.db"
        shutil.copy(template, db)
        async with running_bot(f"sqlite+aiosqlite:///{db}", WALKWELL_FLOOD_PER_MINUTE=100_000) as h:
            alex, eve = (
                h.stand.person(8001, "Alex"),
                h.stand.person(8002, "Eve", language_code="de"),
            )
            await h.onboard(alex)
            await h.onboard(eve)
            before = await snapshot(h, alex.user_id)
            errors = Errors()
            logging.getLogger().addHandler(errors)
            try:
                sent_commands = 0
                last = None
                replies_before = len(h.stand.transcript(eve))
                for kind, value in steps:
                    if kind == "text":
                        last = await h.stand.send(eve, value)
                    elif kind == "command":
                        await h.stand.send(eve, value)
                        sent_commands += 1
                    elif kind == "tap":
                        await h.stand.tap_data(eve, value)
                    elif kind == "edit" and last is not None:
                        await h.stand.edit(eve, last, value)
                    elif kind == "sticker":
                        await h.stand.send_sticker(eve)
                    elif kind == "location":
                        await h.stand.send_location(eve, *value)
                    elif kind == "raw":
                        await h.stand.send_raw_update(
                            {
                                value: {
                                    "id": "1",
                                    "from": {"id": 8002, "is_bot": False, "first_name": "E"},
                                }
                            }
                        )
                    await h.settle()
                assert [r.getMessage() for r in errors.records] == []
                assert len(h.stand.transcript(eve)) - replies_before >= sent_commands
                assert await snapshot(h, alex.user_id) == before
            finally:
                logging.getLogger().removeHandler(errors)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # shrinking a whole bot run is too slow to help
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=actions)
def test_random_updates_never_crash_or_touch_anyone_else(
    sqlite_template: Path, steps: list[tuple[str, Any]]
) -> None:
    asyncio.run(run(sqlite_template, steps))
