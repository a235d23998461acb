"""Merging close reminders and the daily limit (pure table tests)."""

from __future__ import annotations

from datetime import time

import pytest

from bot.services.schedules import HELD, plan_reminders

EVERY_DAY = 0b1111111
WEEKDAYS = 0b0011111


@pytest.mark.parametrize(
    ("rules", "budget", "expected"),
    [
        pytest.param([], 3, {}, id="nothing set"),
        pytest.param(
            [("morning", time(8), 0, EVERY_DAY), ("evening", time(19), 0, EVERY_DAY)], 3, {},
            id="two walks far apart",
        ),
        pytest.param(
            [("morning", time(8), 0, EVERY_DAY), ("breakfast", time(8), 20, EVERY_DAY)], 3,
            {"breakfast": "morning"}, id="after breakfast 20 minutes after the walk: one message",
        ),
        pytest.param(
            [("morning", time(8), 0, EVERY_DAY), ("breakfast", time(8), 30, EVERY_DAY)], 3,
            {"breakfast": "morning"}, id="30 minutes apart still merge",
        ),
        pytest.param(
            [("morning", time(8), 0, EVERY_DAY), ("breakfast", time(8), 31, EVERY_DAY)], 3, {},
            id="31 minutes apart do not",
        ),
        pytest.param(
            [("morning", time(8), 0, EVERY_DAY), ("breakfast", time(7, 30), 20, EVERY_DAY)], 3,
            {"morning": "breakfast"}, id="the earlier one carries the later",
        ),
        pytest.param(
            [("morning", time(8), 0, WEEKDAYS), ("breakfast", time(8), 20, EVERY_DAY)], 3, {},
            id="a weekday walk cannot carry an every-day meal reminder",
        ),
        pytest.param(
            [("morning", time(8), 0, EVERY_DAY), ("breakfast", time(8), 20, WEEKDAYS)], 3,
            {"breakfast": "morning"}, id="an every-day walk carries a weekday meal reminder",
        ),
        pytest.param(
            [
                ("morning", time(7), 0, EVERY_DAY), ("evening", time(19), 0, EVERY_DAY),
                ("breakfast", time(8), 20, EVERY_DAY), ("lunch", time(13), 20, EVERY_DAY),
                ("dinner", time(16), 20, EVERY_DAY),
            ],
            3, {"lunch": HELD, "dinner": HELD}, id="past the limit: walks first, then meals in order",
        ),
        pytest.param(
            [
                ("morning", time(7), 0, EVERY_DAY), ("evening", time(19), 0, EVERY_DAY),
                ("breakfast", time(8), 20, EVERY_DAY), ("lunch", time(13), 20, EVERY_DAY),
            ],
            5, {}, id="a higher limit keeps them all",
        ),
        pytest.param(
            [
                ("morning", time(8), 0, EVERY_DAY), ("evening", time(19), 0, EVERY_DAY),
                ("breakfast", time(8), 20, EVERY_DAY),
            ],
            1, {"breakfast": "morning", "evening": HELD}, id="a limit of one",
        ),
        pytest.param(
            [
                ("morning", time(8), 0, WEEKDAYS), ("evening", time(19), 0, 0b1100000),
                ("lunch", time(13), 0, EVERY_DAY),
            ],
            1, {"lunch": HELD}, id="counted per day: weekday and weekend walks both fit",
        ),
    ],
)  # fmt: skip
def test_plan_reminders(
    rules: list[tuple[str, time, int, int]], budget: int, expected: dict[str, str]
) -> None:
    assert plan_reminders(rules, budget) == expected
